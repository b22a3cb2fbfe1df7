package mint

import (
	"errors"
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
