package httpapi

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"encoding/json"
	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
)

// Request ids are a random per-process prefix and a counter: unique, cheap,
// and not guessable across restarts. Errors carry one (X-Request-Id and the
// log line of a server error); with debug logging every request does.
var (
	idPrefix  = newIDPrefix()
	idCounter atomic.Uint64
)

func newIDPrefix() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "-"
}

func nextRequestID() string {
	return idPrefix + strconv.FormatUint(idCounter.Add(1), 36)
}

// requestID returns the request's id, giving it one (and the X-Request-Id
// header) if it has none yet.
func requestID(w http.ResponseWriter) string {
	sw, ok := w.(*statusWriter)
	if ok && sw.id != "" {
		return sw.id
	}
	id := nextRequestID()
	w.Header()["X-Request-Id"] = []string{id}
	if ok {
		sw.id = id
	}
	return id
}

type statusWriter struct {
	http.ResponseWriter
	status int
	id     string
}

func (w *statusWriter) WriteHeader(st int) {
	if w.status == 0 {
		w.status = st
	}
	w.ResponseWriter.WriteHeader(st)
}

// Hijack lets the WebSocket upgrade of /mqtt through the wrapper.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.status = http.StatusSwitchingProtocols
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// observe recovers panics into a 500 envelope, counts every request in the
// Prometheus metrics (route pattern, status, duration) and, with debug
// logging on, gives every request an id and logs it. It logs the route
// pattern, never the URL, headers or body: those may carry credentials.
// Server errors are logged where they are written (writeError), whatever
// the level.
func (h *handler) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer h.recoverPanic(w, r)
		start := time.Now()
		sw := writers.Get().(*statusWriter)
		*sw = statusWriter{ResponseWriter: w}
		debug := h.log.Enabled(r.Context(), slog.LevelDebug)
		if debug {
			sw.id = nextRequestID()
			w.Header()["X-Request-Id"] = []string{sw.id}
		}
		next.ServeHTTP(sw, r)
		d := time.Since(start)
		st := sw.status
		if st == 0 {
			st = http.StatusOK
		}
		metrics.ObserveHTTP(r.Pattern, st, d)
		if debug {
			h.log.LogAttrs(r.Context(), slog.LevelDebug, "request", slog.String("request_id", sw.id), slog.String("method", r.Method),
				slog.String("route", r.Pattern), slog.Int("status", st), slog.Float64("duration_ms", float64(d.Microseconds())/1000),
				slog.String("remote_addr", r.RemoteAddr))
		}
		*sw = statusWriter{}
		writers.Put(sw)
	})
}

// writers recycles the per-request status recorders: the hot routes then
// allocate nothing for the metrics.
var writers = sync.Pool{New: func() any { return new(statusWriter) }}

func (h *handler) recoverPanic(w http.ResponseWriter, r *http.Request) {
	p := recover()
	if p == nil {
		return
	}
	if p == http.ErrAbortHandler {
		panic(p)
	}
	id := requestID(w)
	h.log.Error("panic serving request", "request_id", id, "route", r.Pattern, "panic", p)
	// If the handler had started its answer this may not reach the client;
	// net/http then closes the connection.
	writeJSON(w, http.StatusInternalServerError, internalError(id))
}

// cors answers preflight requests and marks responses readable from any
// origin. The client API is called with bearer tokens and never with
// cookies (the SDKs set withCredentials=false), so "*" without credentials
// is safe (wire spec §1.3). The server-to-server routes — the admin API,
// the auth-token endpoints, the social.plus ban form — get no CORS headers:
// browsers have no business calling them, except the auth-token endpoints
// from the origins the operator allows (Options.ServerKeyOrigins).
func (h *handler) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" {
			allow := "*"
			if serverToServer(r.URL.Path) {
				allow = ""
				if authTokenPath(r.URL.Path) && h.keyOriginAllowed(origin) {
					allow = origin
					w.Header().Add("Vary", "Origin")
				}
			}
			preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
			if allow != "" {
				hd := w.Header()
				hd.Set("Access-Control-Allow-Origin", allow)
				hd.Set("Access-Control-Expose-Headers", "X-Request-Id")
				if preflight {
					hd.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
					hd.Set("Access-Control-Allow-Headers", "authorization, content-type, x-api-key, set-access-token-cookie, x-server-key")
					hd.Set("Access-Control-Max-Age", "600")
				}
			}
			if preflight {
				// Without Access-Control-Allow-Origin the browser stops here.
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (h *handler) keyOriginAllowed(origin string) bool {
	return h.keyOrigins[origin] || h.keyOrigins["*"]
}

// serverToServer reports whether path is called by servers, never by the
// SDKs in a browser.
func serverToServer(path string) bool {
	return strings.HasPrefix(path, "/admin/") || authTokenPath(path) ||
		path == "/api/v2/users/ban" || path == "/api/v2/users/unban"
}

func authTokenPath(path string) bool {
	return path == "/api/v3/authentication/token" || path == "/api/v4/authentication/token"
}

// credentialHeaders carry credentials; each may be sent once. With two,
// which one counts would depend on the reader (Header.Get takes the first,
// a proxy may take the last).
var credentialHeaders = []string{"Authorization", "X-Api-Key", "X-Server-Key", "X-Admin-Token"}

// singleCredentials refuses a request that sends a credential header more
// than once, with 400 and the error envelope.
func (h *handler) singleCredentials(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, k := range credentialHeaders {
			if len(r.Header[k]) > 1 {
				h.writeError(w, r, gatehouse.Errorf(gatehouse.Invalid, "The %s header must be sent once", k))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// MaxBodyBytes bounds request bodies.
const MaxBodyBytes = 64 << 10

// decode reads a JSON body into v. An empty body decodes as {} when
// allowEmpty. Unknown fields are ignored (the SDKs send extra ones);
// wrong types, bad JSON, trailing data and oversized bodies are errors,
// returned for the caller to return.
func decode(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return withStatus(http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		}
	}
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) && allowEmpty {
		return nil
	}
	if err == nil {
		if _, err2 := dec.Token(); !errors.Is(err2, io.EOF) {
			err = errors.New("trailing data after the JSON object")
		}
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooBig):
			return withStatus(http.StatusRequestEntityTooLarge, "Request body is too large")
		case errors.As(err, &typeErr):
			return gatehouse.Errorf(gatehouse.Invalid, "Field %q has the wrong type", typeErr.Field)
		case errors.Is(err, io.EOF):
			return gatehouse.Errorf(gatehouse.Invalid, "Request body is required")
		default:
			return gatehouse.Errorf(gatehouse.Invalid, "Request body is not valid JSON")
		}
	}
	return nil
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}
