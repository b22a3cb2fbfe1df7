package httpapi

import (
	"encoding/json"
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

// writeError writes err in the social.plus error envelope. Internal and
// unavailable errors are logged here, once, with the request id; their
// cause never reaches the response.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := gatehouse.ErrorCode(err)
	st := Status(code)
	env := wire.NewError(err)
	id := requestID(w)
	if st >= 500 {
		h.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("request_id", id), slog.String("route", r.Pattern), slog.Any("err", err))
		if code == gatehouse.Internal {
			env.Message = "Internal server error (request " + id + ")"
		}
	}
	if code == gatehouse.Unavailable {
		// Retryable: the store or the event log is out of reach for now.
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, st, env)
}

// writeStatusError writes an error with an explicit HTTP status (413, 415,
// 405) and the bad-request code.
func writeStatusError(w http.ResponseWriter, st int, msg string) {
	writeJSON(w, st, wire.Error{Status: "error", Code: gatehouse.Invalid.Wire(), Message: msg})
}

func writeJSON(w http.ResponseWriter, st int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		st, b = http.StatusInternalServerError, []byte(`{"status":"error","code":500000,"message":"Internal server error"}`)
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
