package gatehouse

import "log/slog"

// Secret is a credential (API key, server key, admin token, access token,
// auth token). Its String and LogValue never show the value, so a secret
// that reaches a log or an error message by mistake stays hidden.
type Secret string

// Reveal returns the value. Call it only where the value is needed.
func (s Secret) Reveal() string { return string(s) }

// String returns a placeholder.
func (s Secret) String() string { return "[redacted]" }

// GoString returns a placeholder, for %#v.
func (s Secret) GoString() string { return "[redacted]" }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }
