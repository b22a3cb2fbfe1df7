package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/wire"
)

// Status maps an error code to its HTTP status. This is the only place the
// mapping lives; the social.plus numeric code comes from Code.Wire.
func Status(c gatehouse.Code) int {
	switch c {
	case gatehouse.Invalid:
		return http.StatusBadRequest
	case gatehouse.Unauthenticated:
		return http.StatusUnauthorized
	case gatehouse.Forbidden, gatehouse.PermissionDenied, gatehouse.Banned:
		return http.StatusForbidden
	case gatehouse.NotFound:
		return http.StatusNotFound
	case gatehouse.Conflict:
		return http.StatusConflict
	case gatehouse.RateLimited:
		return http.StatusTooManyRequests
	case gatehouse.Unavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// handlerFunc is an HTTP handler that returns its error instead of writing
// it: serve maps every error to its answer in one place (writeError).
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// serve adapts a handlerFunc to net/http: a returned error is written by
// writeError. A handler returns an error only before it has written.
func (h *handler) serve(fn handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.writeError(w, r, err)
		}
	}
}

// statusError is an error whose answer needs more than its code: an HTTP
// status other than Status(code) (413, 415) or a Retry-After in seconds
// (a rate-limit refusal).
type statusError struct {
	err        *gatehouse.Error
	status     int // when not 0, replaces Status(code)
	retryAfter int // seconds, when > 0
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// withStatus returns an Invalid error answered with HTTP status st.
func withStatus(st int, msg string) error {
	return &statusError{err: gatehouse.Errorf(gatehouse.Invalid, "%s", msg), status: st}
}

// writeError writes err in the social.plus error envelope; it is the only
// writer of error answers. Internal and unavailable errors are logged here,
// once, with the request id; their cause never reaches the response.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := gatehouse.ErrorCode(err)
	st := Status(code)
	env := wire.NewError(err)
	id := requestID(w)
	var se *statusError
	if errors.As(err, &se) {
		if se.status != 0 {
			st = se.status
		}
		if se.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(se.retryAfter))
		}
	}
	if st >= 500 {
		h.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("request_id", id), slog.String("route", r.Pattern), slog.Any("err", err))
		if code == gatehouse.Internal {
			env = internalError(id)
		}
	}
	if code == gatehouse.Unavailable {
		// Retryable: the store or the event log is out of reach for now.
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, st, env)
}

// internalError is the envelope of an internal error: the request id, never
// the cause.
func internalError(id string) wire.Error {
	e := wire.NewError(gatehouse.Errorf(gatehouse.Internal, "Internal server error"))
	if id != "" {
		e.Message += " (request " + id + ")"
	}
	return e
}

func writeJSON(w http.ResponseWriter, st int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		st = http.StatusInternalServerError
		b, _ = json.Marshal(internalError(""))
	}
	writeBody(w, st, b)
}

var contentTypeJSON = []string{"application/json; charset=utf-8"}

// writeBody writes a JSON body. Headers are assigned directly, already in
// canonical form; the shared Content-Type slice is never modified.
func writeBody(w http.ResponseWriter, st int, b []byte) {
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(st)
	w.Write(b)
}
