package gatehouse

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// UserType says what kind of session a user holds: a signed-in user of the
// customer's app, or one of the two read-only kinds the social.plus SDKs can
// ask for without an account. It is in every session answer, in the access
// token (claim userType) and in the validation answer.
type UserType string

// The user types, spelled as on the wire.
const (
	SignedIn UserType = "signed-in"
	Visitor  UserType = "visitor"
	Bot      UserType = "bot"
)

// ReadOnly reports whether users of this type may change nothing: visitors
// and bots may read and log themselves out, nothing else, and never connect
// to the realtime broker.
func (t UserType) ReadOnly() bool { return t == Visitor || t == Bot }

// OrSignedIn returns t, or SignedIn when t is empty (records and tokens
// from before user types existed).
func (t UserType) OrSignedIn() UserType {
	if t == "" {
		return SignedIn
	}
	return t
}

// VisitorMode is an app's visitor setting.
type VisitorMode string

// Visitor modes. Off is the default.
const (
	VisitorsOff VisitorMode = "off"
	VisitorsOn  VisitorMode = "on"
	// VisitorsSecure requires a signature from the customer's backend
	// (HMAC-SHA256 with a visitor secret) on every visitor login.
	VisitorsSecure VisitorMode = "secure"
)

// Valid reports whether m is one of the modes.
func (m VisitorMode) Valid() bool {
	return m == VisitorsOff || m == VisitorsOn || m == VisitorsSecure
}

// VisitorUserID returns the public user id of the visitor (or bot) of a
// device: the same device always gets the same user, the two kinds never
// share one, and the id does not reveal the device id. The prefix keeps the
// id readable in lists; a signed-in user who happens to hold such an id
// keeps it (the visitor login is then refused, not merged).
func VisitorUserID(t UserType, deviceID string) string {
	h := sha256.Sum256([]byte(string(t) + "\x00" + deviceID))
	return string(t) + "-" + hex.EncodeToString(h[:16])
}

// VisitorSecret is a secret an app's backend uses to sign secure visitor
// logins. An app holds at most MaxVisitorSecrets, so a backend can move to
// a new one without downtime. The secret is stored sealed: the server needs
// it to compute HMACs.
type VisitorSecret struct {
	ID        string
	AppID     string
	Sealed    []byte
	CreatedAt time.Time
}

// MaxVisitorSecrets is how many visitor secrets an app holds: creating one
// more drops the oldest.
const MaxVisitorSecrets = 2

// MaxVisitorSignatureAhead bounds authSignatureExpiresAt: a signature may
// not be valid for longer than this from now, so a leaked one dies soon.
const MaxVisitorSignatureAhead = 24 * time.Hour

// DefaultVisitorRetention is how long a visitor or bot user is kept after
// its last token expired, unless configured otherwise.
const DefaultVisitorRetention = 7 * 24 * time.Hour
