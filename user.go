package gatehouse

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// User is a user of one app.
type User struct {
	// ID is the internal id (`_id` on the wire, MQTT username), 24 hex digits.
	ID    string
	AppID string
	// UserID is the public id chosen by the customer, echoed byte for byte.
	UserID string
	// Type is the kind of user; empty reads as SignedIn.
	Type        UserType
	DisplayName string
	Banned      bool
	Deleted     bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DeletedAt   time.Time
	// TokensValidAfter: tokens the user's backend signed (customer tokens)
	// issued at or before this instant are refused. Set by revoke-all, ban
	// and deletion.
	TokensValidAfter time.Time
}

// DeletedDisplayName replaces the display name of a deleted user, as the
// social.plus service does.
const DeletedDisplayName = "Deleted User"

// Limits on client-supplied identifiers, from the social.plus API reference.
const (
	MaxUserIDLen      = 50
	MaxDeviceIDLen    = 150
	MaxDisplayNameLen = 100
	MaxAuthTokenLen   = 100
)

// ValidateUserID checks a public user id: 1 to 50 characters of valid UTF-8
// with no control or bidirectional-override characters and not only spaces.
// User ids are compared byte for byte; Gatehouse does not normalize them.
func ValidateUserID(s string) error {
	return validateIdent("userId", s, MaxUserIDLen)
}

// ValidateDeviceID checks a device id (1 to 150 characters).
func ValidateDeviceID(s string) error {
	return validateIdent("deviceId", s, MaxDeviceIDLen)
}

// ValidateDisplayName checks a display name (at most 100 characters, no
// control characters). Markup is stored verbatim and escaped on output.
func ValidateDisplayName(s string) error {
	if !utf8.ValidString(s) {
		return Errorf(Invalid, "displayName must be valid UTF-8")
	}
	if utf8.RuneCountInString(s) > MaxDisplayNameLen {
		return Errorf(Invalid, "displayName must be at most %d characters", MaxDisplayNameLen)
	}
	if i := strings.IndexFunc(s, badRune); i >= 0 {
		return Errorf(Invalid, "displayName contains a control character")
	}
	return nil
}

func validateIdent(field, s string, max int) error {
	if s == "" {
		return Errorf(Invalid, "%s is required", field)
	}
	if !utf8.ValidString(s) {
		return Errorf(Invalid, "%s must be valid UTF-8", field)
	}
	if utf8.RuneCountInString(s) > max {
		return Errorf(Invalid, "%s must be at most %d characters", field, max)
	}
	if strings.TrimSpace(s) == "" {
		return Errorf(Invalid, "%s must not be blank", field)
	}
	if strings.IndexFunc(s, badRune) >= 0 {
		return Errorf(Invalid, "%s contains a control character", field)
	}
	return nil
}

// badRune reports control characters (C0, C1, DEL) and the bidirectional
// formatting characters that make an id display as something else.
func badRune(r rune) bool {
	if unicode.IsControl(r) {
		return true
	}
	switch {
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F:
		return true
	}
	return false
}
