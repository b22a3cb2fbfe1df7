package gatehouse

import (
	"errors"
	"fmt"
)

// Code classifies an error. Codes are the public contract between the
// server, its protocols and the SDKs; each protocol maps them in one place
// (HTTP statuses and social.plus numeric codes in internal/httpapi).
type Code string

// The error codes. Their social.plus numeric equivalents are given by
// Code.Wire.
const (
	Invalid          Code = "invalid"           // bad input: 400000
	Unauthenticated  Code = "unauthenticated"   // bad, expired or revoked credential: 400100
	Forbidden        Code = "forbidden"         // authenticated but not allowed: 400300
	PermissionDenied Code = "permission_denied" // missing permission: 400301
	Banned           Code = "banned"            // globally banned user: 400312
	NotFound         Code = "not_found"         // 400400
	Conflict         Code = "conflict"          // 400900
	RateLimited      Code = "rate_limited"      // 400311 / HTTP 429
	Unavailable      Code = "unavailable"       // store down; retryable: 500000 / HTTP 503
	Internal         Code = "internal"          // 500000
)

// Wire returns the social.plus numeric error code for c.
func (c Code) Wire() int {
	switch c {
	case Invalid:
		return 400000
	case Unauthenticated:
		return 400100
	case Forbidden:
		return 400300
	case PermissionDenied:
		return 400301
	case Banned:
		return 400312
	case NotFound:
		return 400400
	case Conflict:
		return 400900
	case RateLimited:
		return 400311
	default:
		return 500000
	}
}

// CodeFromWire maps a social.plus numeric code back to a Code. Unknown codes
// in the 4xxxxx range become Invalid, anything else Internal.
func CodeFromWire(n int) Code {
	switch n {
	case 400000:
		return Invalid
	case 400100:
		return Unauthenticated
	case 400300:
		return Forbidden
	case 400301:
		return PermissionDenied
	case 400312:
		return Banned
	case 400400:
		return NotFound
	case 400900:
		return Conflict
	case 400311:
		return RateLimited
	}
	if n >= 400000 && n < 500000 {
		return Invalid
	}
	return Internal
}

// Error is an error with a Code and a message that is safe to show to the
// caller. Err is the cause, kept for logs and errors.Unwrap; it never reaches
// the wire.
type Error struct {
	Code    Code
	Message string
	Err     error
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with the given code and message whose cause is err.
func Wrap(code Code, err error, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, &gatehouse.Error{Code: gatehouse.Banned}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
}

// ErrorCode returns the code of the first *Error in err's chain, or Internal.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// ErrorMessage returns the caller-safe message of the first *Error in err's
// chain, or a generic message.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "Internal server error"
}
