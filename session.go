package gatehouse

import "time"

// Session is one logged-in device of one user. A device holds at most one
// live session; a login on the same device by the same user extends it (the
// earlier tokens stay valid until their own expiry, as the social.plus SDKs
// expect), a login by another user revokes it and starts a new one.
type Session struct {
	ID             string
	AppID          string
	UserInternalID string // internal user id
	DeviceID       string
	DeviceInfo     DeviceInfo
	CreatedAt      time.Time
	// LastLoginAt is the issue time of the newest token of the session.
	LastLoginAt time.Time
	// ExpiresAt is the expiry of the newest token; revocation state is kept
	// at least until then.
	ExpiresAt time.Time
	RevokedAt time.Time // zero while live
}

// Live reports whether the session is neither revoked nor expired at now.
func (s *Session) Live(now time.Time) bool {
	return s.RevokedAt.IsZero() && now.Before(s.ExpiresAt)
}

// DeviceInfo is what the SDK reports about the device at login.
type DeviceInfo struct {
	Kind       string `json:"kind,omitempty"`
	Model      string `json:"model,omitempty"`
	SDKVersion string `json:"sdkVersion,omitempty"`
}
