package mint

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/token"
)

// VisitorSignature signs a device in as a visitor, for apps in secure
// visitor mode: it returns the authSignature and the authSignatureExpiresAt
// text the app passes to loginAsVisitor (React Native SDK) or
// LoginAsVisitor (Go SDK). secret is a visitor secret of the app
// (gatehouse app visitor-secret create); expiresAt must be in the future and
// at most 24 h ahead, or Gatehouse refuses the login. Call it only for a
// device your backend is willing to let in; keep the secret on the backend.
func VisitorSignature(secret, deviceID string, expiresAt time.Time) (signature, expiresAtText string, err error) {
	if secret == "" {
		return "", "", errors.New("mint: the visitor secret is empty")
	}
	if err := gatehouse.ValidateDeviceID(deviceID); err != nil {
		return "", "", err
	}
	expiresAtText = token.FormatVisitorExpiry(expiresAt)
	return token.VisitorSignature([]byte(secret), deviceID, expiresAtText), expiresAtText, nil
}

// VisitorSigner signs visitor logins for apps in secure visitor mode.
type VisitorSigner struct {
	// Secret is a visitor secret of the app.
	Secret string
	// TTL is how long a signature is valid; 10 minutes when zero, at most
	// 24 h (Gatehouse refuses longer ones).
	TTL time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Sign returns the authSignature and authSignatureExpiresAt for a device.
func (v *VisitorSigner) Sign(deviceID string) (signature, expiresAt string, err error) {
	ttl := v.TTL
	if ttl <= 0 {
		ttl = 10 * time.Minute
	}
	if ttl > gatehouse.MaxVisitorSignatureAhead {
		return "", "", errors.New("mint: a visitor signature may be valid for at most 24h")
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	return VisitorSignature(v.Secret, deviceID, now().Add(ttl))
}

// AllowVisitor is the backend's own check of whether a device may browse
// as a visitor (a captcha passed, a rate limit of its own, …).
type AllowVisitor func(r *http.Request, deviceID string) bool

// VisitorSignatureHandler answers the app, which sends its device id
// (?deviceId= or a JSON body {"deviceId"}), with
// 200 {"deviceId","authSignature","authSignatureExpiresAt"} for
// loginAsVisitor; 400 for a missing or bad device id, 403 when allow
// refuses. A nil allow lets every device in.
func VisitorSignatureHandler(v *VisitorSigner, allow AllowVisitor) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "application/json")
		fail := func(status int, msg string) {
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(map[string]string{"error": msg})
		}
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			fail(http.StatusMethodNotAllowed, "use GET or POST")
			return
		}
		deviceID := r.URL.Query().Get("deviceId")
		if deviceID == "" && r.Method == http.MethodPost {
			var body struct {
				DeviceID string `json:"deviceId"`
			}
			json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&body)
			deviceID = body.DeviceID
		}
		if err := gatehouse.ValidateDeviceID(deviceID); err != nil {
			fail(http.StatusBadRequest, gatehouse.ErrorMessage(err))
			return
		}
		if allow != nil && !allow(r, deviceID) {
			fail(http.StatusForbidden, "not allowed to browse as a visitor")
			return
		}
		sig, exp, err := v.Sign(deviceID)
		if err != nil {
			fail(http.StatusInternalServerError, "cannot sign")
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"deviceId": deviceID, "authSignature": sig, "authSignatureExpiresAt": exp})
	})
}
