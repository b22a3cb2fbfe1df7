package gatehouse

import (
	"encoding/json"
	"time"
)

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

// MaxDeviceInfoBytes bounds a device info, as JSON. The SDKs send a few
// hundred bytes (a browser's user agent in model is the longest part); no
// single field is capped (wire spec §5.3), only the whole.
const MaxDeviceInfoBytes = 4 << 10

// Validate refuses a device info over MaxDeviceInfoBytes of JSON: it is
// stored with the session, and a login needs only a public API key.
func (d DeviceInfo) Validate() error {
	n := len(d.Kind) + len(d.Model) + len(d.SDKVersion)
	// JSON escaping makes a byte at most 6 (\u00XX), and the member names
	// and punctuation take 40: only a long info needs encoding to measure.
	if n*6+40 <= MaxDeviceInfoBytes {
		return nil
	}
	b, _ := json.Marshal(d)
	if len(b) > MaxDeviceInfoBytes {
		return Errorf(Invalid, "deviceInfo must be at most %d bytes of JSON, got %d", MaxDeviceInfoBytes, len(b))
	}
	return nil
}

// DeviceClaim is what a login does to its device: the session the new token
// belongs to, and whether that is the device's current session extended or
// a new one, and the other user's session it ends, if any.
type DeviceClaim struct {
	// Session is the session the login's token belongs to.
	Session Session
	// Extended is true when Session is the device's current session, with a
	// new LastLoginAt, DeviceInfo and (never shorter) ExpiresAt: update it.
	// Otherwise Session is new: insert it.
	Extended bool
	// Replaced is the device's current session of another user, revoked at
	// the login's time: store its RevokedAt. Nil when there was none.
	Replaced *Session
}

// ClaimDevice applies the one-live-session-per-device rule to a login on a
// device whose unrevoked session is cur (nil when it has none). A session of
// the same user is extended: the earlier tokens stay valid until their own
// expiry, as the social.plus SDKs expect. A session of another user is
// revoked at now and next starts. Otherwise next starts. next must carry the
// logging-in user's internal id, app and device.
//
// Backends read cur and apply the claim inside the login's transaction; the
// decision is made only here.
func ClaimDevice(cur *Session, next Session, now time.Time) DeviceClaim {
	if cur == nil {
		return DeviceClaim{Session: next}
	}
	if cur.UserInternalID == next.UserInternalID {
		s := *cur
		if next.ExpiresAt.After(s.ExpiresAt) {
			s.ExpiresAt = next.ExpiresAt
		}
		s.LastLoginAt, s.DeviceInfo = now, next.DeviceInfo
		return DeviceClaim{Session: s, Extended: true}
	}
	old := *cur
	old.RevokedAt = now
	return DeviceClaim{Session: next, Replaced: &old}
}
