package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/token"
	"github.com/gatehouse-auth/gatehouse/wire"
)

// lastCachePurge is a fixed date: Gatehouse never asks clients to purge.
var lastCachePurge = wire.Time(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))

var emptyRefreshToken = ""

// login serves POST /api/v{3,4,5}/sessions. One handler for the three
// versions: v3/v4 answer with a refreshToken field (Gatehouse issues no
// refresh tokens: renewal is a new login, so it is empty) and v5 with
// userType.
func (h *handler) login(version string) http.HandlerFunc {
	return h.serve(func(w http.ResponseWriter, r *http.Request) error {
		var req wire.LoginRequest
		raw := bodies.Get().(*bytes.Buffer)
		raw.Reset()
		defer bodies.Put(raw)
		r.Body = teeBody{io.TeeReader(r.Body, raw), r.Body}
		if err := decode(w, r, &req, false); err != nil {
			return err
		}
		if !wellFormedIDs(&req, raw.Bytes()) {
			return errMalformedID
		}
		addr := h.clientAddr(r)
		if err := h.blocked(r, addr, ratelimit.APIKey, ratelimit.AuthToken); err != nil {
			return err
		}
		key := gatehouse.Secret(r.Header.Get("X-API-Key"))
		if _, err := h.admitApp(r, addr, key, req.UserID); err != nil {
			return err
		}
		in := session.LoginInput(req) // the same fields, without the JSON tags
		res, err := h.sessions.Login(r.Context(), key, &in)
		countLogin(&req, err)
		if h.onLogin != nil {
			h.onLogin(err == nil)
		}
		if err != nil {
			if c, ok := session.BadCredential(err); ok {
				h.failed(r, addr, c)
			}
			return err
		}
		writeSession(w, r, &res, version == "v5")
		return nil
	})
}

// bodies hold copies of login bodies while they are decoded.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

type teeBody struct {
	io.Reader
	io.Closer
}

var errMalformedID = gatehouse.Errorf(gatehouse.Invalid, "userId, displayName and deviceId must be valid UTF-8, without lone surrogates")

// wellFormedIDs reports whether the ids of a login were sent as valid
// UTF-8 with no lone surrogate escapes. encoding/json turns each of those
// into U+FFFD, so "a\xff", "a\ud800" and "a\udfff" would all be one user;
// only when a decoded id holds U+FFFD is the body read again, raw.
func wellFormedIDs(req *wire.LoginRequest, body []byte) bool {
	suspect := func(s string) bool { return strings.ContainsRune(s, utf8.RuneError) }
	if !suspect(req.UserID) && !suspect(req.DeviceID) && (req.DisplayName == nil || !suspect(*req.DisplayName)) {
		return true
	}
	var lits struct {
		UserID      json.RawMessage `json:"userId"`
		DeviceID    json.RawMessage `json:"deviceId"`
		DisplayName json.RawMessage `json:"displayName"`
	}
	if json.Unmarshal(body, &lits) != nil {
		return false
	}
	return token.WellFormedJSONString(lits.UserID) && token.WellFormedJSONString(lits.DeviceID) && token.WellFormedJSONString(lits.DisplayName)
}

// visitorLogin serves POST /api/v5/sessions/visitor and /bot (wire spec
// §6): the same answer as a v5 login, with userType visitor or bot.
func (h *handler) visitorLogin(typ gatehouse.UserType) http.HandlerFunc {
	return h.serve(func(w http.ResponseWriter, r *http.Request) error {
		var req wire.VisitorLoginRequest
		raw := bodies.Get().(*bytes.Buffer)
		raw.Reset()
		defer bodies.Put(raw)
		r.Body = teeBody{io.TeeReader(r.Body, raw), r.Body}
		if err := decode(w, r, &req, false); err != nil {
			return err
		}
		if !wellFormedIDs(&wire.LoginRequest{DeviceID: req.DeviceID}, raw.Bytes()) {
			return errMalformedID
		}
		addr := h.clientAddr(r)
		if err := h.blocked(r, addr, ratelimit.APIKey); err != nil {
			return err
		}
		key := gatehouse.Secret(r.Header.Get("X-API-Key"))
		appID, err := h.admitApp(r, addr, key, gatehouse.VisitorUserID(typ, req.DeviceID))
		if err != nil {
			return err
		}
		var (
			admit   func() error
			refused string // the limit that refused a new visitor
			wait    time.Duration
		)
		if h.lim != nil {
			// Asked only for a device that has no user yet, inside the
			// login's transaction: returning visitors never count. The
			// address's budget first, so one address cannot drain the app's.
			admit = func() error {
				if ok, d := h.lim.NewVisitorAddr.Allow(addr); !ok {
					refused, wait = "new_visitor_addr", d
					return errTooManyVisitors
				}
				if ok, d := h.lim.NewVisitorApp.Allow(appID); !ok {
					refused, wait = "new_visitor_app", d
					return errTooManyVisitors
				}
				return nil
			}
		}
		in := session.VisitorLoginInput(req)
		res, err := h.sessions.VisitorLogin(r.Context(), key, typ, &in, admit)
		result := "ok"
		if err != nil {
			result = string(gatehouse.ErrorCode(err))
		}
		metrics.Logins.WithLabelValues(string(typ), result).Inc()
		if err != nil {
			if refused != "" && errors.Is(err, errTooManyVisitors) {
				return h.refuse(r, refused, addr, appID, wait)
			}
			if c, ok := session.BadCredential(err); ok {
				h.failed(r, addr, c)
			}
			return err
		}
		writeSession(w, r, &res, true)
		return nil
	})
}

var errTooManyVisitors = gatehouse.Errorf(gatehouse.RateLimited, "Too many new visitors")

// writeSession writes a login answer. v5 answers carry userType; v3/v4
// answers carry an empty refreshToken instead. With
// `set-access-token-cookie: true` (which the SDKs send on every session
// creation) the token is also set as the _ascSession cookie, HttpOnly,
// Secure and SameSite=None; Gatehouse itself never reads it.
func writeSession(w http.ResponseWriter, r *http.Request, res *session.LoginResult, v5 bool) {
	body := wire.Session{
		AccessToken:    res.AccessToken.Reveal(),
		IssuedAt:       wire.Time(res.IssuedAt),
		ExpiresAt:      wire.Time(res.ExpiresAt),
		Users:          []wire.User{wire.NewUser(&res.User)},
		Roles:          []string{},
		Files:          []wire.File{},
		LastCachePurge: lastCachePurge,
	}
	if v5 {
		body.UserType = string(res.User.Type.OrSignedIn())
	} else {
		body.RefreshToken = &emptyRefreshToken
	}
	if r.Header.Get("set-access-token-cookie") == "true" {
		http.SetCookie(w, &http.Cookie{Name: "_ascSession", Value: res.AccessToken.Reveal(), Path: "/", Expires: res.ExpiresAt,
			HttpOnly: true, Secure: true, SameSite: http.SameSiteNoneMode})
	}
	writeJSON(w, http.StatusOK, body)
}

var errOrigin = gatehouse.Errorf(gatehouse.Forbidden, "This origin may not log in to this app")

// admitApp runs the per-app checks a login passes before the session
// service sees it, on one lookup of the API key made only when a check
// needs it, and returns the app's id: a browser origin the app does not
// list (gatehouse.Origins) is refused with 403 — requests without an Origin
// header (native apps, servers) and apps without a list pass — then the
// app's login budgets apply (limits.go). An unknown key passes with an
// empty id: the service refuses it with the credential error, which counts
// the failure.
func (h *handler) admitApp(r *http.Request, addr string, key gatehouse.Secret, userID string) (appID string, err error) {
	origin := r.Header.Get("Origin")
	if origin == "" && h.lim == nil {
		return "", nil
	}
	a, ok := h.sessions.AppForAPIKey(key)
	if !ok {
		return "", nil
	}
	if origin != "" && !a.Origins.Allows(origin) {
		return "", errOrigin
	}
	return a.ID, h.admitLogin(r, addr, a.ID, userID)
}

var errTokenRequired = gatehouse.Errorf(gatehouse.Unauthenticated, "Access token is required")

// authenticate returns the principal of the request's bearer token.
func (h *handler) authenticate(r *http.Request) (session.Principal, error) {
	tok := bearer(r)
	if tok == "" {
		return session.Principal{}, errTokenRequired
	}
	p, err := h.sessions.Authenticate(r.Context(), tok)
	if err != nil {
		metrics.ValidationFailed(string(gatehouse.ErrorCode(err)))
		return p, err
	}
	metrics.ValidationOK.Inc()
	return p, nil
}

// countLogin counts a login by kind and result.
func countLogin(req *wire.LoginRequest, err error) {
	switch {
	case err == nil && req.AuthToken == "":
		metrics.LoginAPIKeyOK.Inc()
	case err == nil:
		metrics.LoginAuthTokOK.Inc()
	default:
		kind := "api_key"
		if req.AuthToken != "" {
			kind = "auth_token"
		}
		metrics.Logins.WithLabelValues(kind, string(gatehouse.ErrorCode(err))).Inc()
	}
}

// validate serves GET /api/v3/sessions: the SDKs' validity probe.
func (h *handler) validate(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	// The validity probe is the hottest route: its small body is appended by
	// hand rather than through reflection. TestValidateBodyMatchesWire keeps
	// it equal to json.Marshal(wire.TokenInfo).
	b := make([]byte, 0, 128)
	b = append(b, `{"userId":`...)
	b = appendJSONString(b, p.PublicUserID)
	b = append(b, `,"issuedAt":"`...)
	b = p.IssuedAt.UTC().AppendFormat(b, wire.TimeLayout)
	b = append(b, `","expiresAt":"`...)
	b = p.ExpiresAt.UTC().AppendFormat(b, wire.TimeLayout)
	b = append(b, `","userType":"`...)
	b = append(b, p.UserType.OrSignedIn()...)
	b = append(b, `"}`...)
	writeBody(w, http.StatusOK, b)
	return nil
}

// logout serves DELETE /api/v4/sessions. With a user token and no userId it
// revokes that token's session (secureLogout). With a userId (query or JSON
// body) it revokes all of that user's tokens and needs admin credentials.
func (h *handler) logout(w http.ResponseWriter, r *http.Request) error {
	userID := r.URL.Query().Get("userId")
	if userID == "" && r.ContentLength != 0 {
		var body struct {
			UserID string `json:"userId"`
		}
		if err := decode(w, r, &body, true); err != nil {
			return err
		}
		userID = body.UserID
	}
	if userID != "" {
		h.revokeAllForUser(w, r, userID)
		return nil
	}
	tok := bearer(r)
	if tok == "" {
		return errTokenRequired
	}
	if err := h.sessions.Logout(r.Context(), tok); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.Success{Success: true})
	return nil
}

// revokeUserTokens serves DELETE /api/v4/sessions/users/{userId} (admin).
func (h *handler) revokeUserTokens(w http.ResponseWriter, r *http.Request) error {
	h.revokeAllForUser(w, r, r.PathValue("userId"))
	return nil
}

func (h *handler) revokeAllForUser(w http.ResponseWriter, r *http.Request, userID string) {
	h.adminChange(w, r, "session.revoke_all", func(w http.ResponseWriter, r *http.Request) error { return h.revokeAll(w, r, userID) })
}

func (h *handler) revokeAll(w http.ResponseWriter, r *http.Request, userID string) error {
	appID, err := h.adminApp(r)
	if err != nil {
		return err
	}
	n := note(r)
	n.appID, n.target = appID, userID
	if r.URL.Query().Get("isPublic") == "false" {
		return gatehouse.Errorf(gatehouse.Invalid, "isPublic=false is not supported: pass the public userId")
	}
	if _, err := h.sessions.RevokeAll(r.Context(), appID, userID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.Success{Success: true})
	return nil
}

// getUser serves GET /api/v3/users/{userId} and /api/v3/users/me. The React
// Native SDK does not URL-encode the id; the TS SDK does. Both arrive right.
func (h *handler) getUser(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	id := r.PathValue("userId") // unescaped by the mux; raw ids arrive as they are
	if id == "me" {
		id = p.PublicUserID
	}
	u, err := h.sessions.User(r.Context(), p.AppID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.Users{Users: []wire.User{wire.NewUser(&u)}, Files: []wire.File{}})
	return nil
}

func (h *handler) chatSettings(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.authenticate(r); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.DefaultChatSettings())
	return nil
}

var errServerKeyFromBrowser = gatehouse.Errorf(gatehouse.Forbidden,
	"Server keys are for servers: this request comes from a browser origin that is not allowed to use one (see --server-key-origins)")

// authToken serves the server-to-server auth-token endpoints. The answer is
// the bare token as text/plain, as on social.plus.
func (h *handler) authToken(w http.ResponseWriter, r *http.Request) error {
	if o := r.Header.Get("Origin"); o != "" && !h.keyOriginAllowed(o) {
		// Checked before the key, so the answer says nothing about it.
		return errServerKeyFromBrowser
	}
	addr := h.clientAddr(r)
	if err := h.blocked(r, addr, ratelimit.ServerKey); err != nil {
		return err
	}
	userID := r.URL.Query().Get("userId")
	if r.Method == http.MethodPost && userID == "" {
		var req wire.AuthTokenRequest
		if err := decode(w, r, &req, false); err != nil {
			return err
		}
		userID = req.UserID
	}
	tok, _, err := h.sessions.MintAuthToken(r.Context(), gatehouse.Secret(r.Header.Get("x-server-key")), userID)
	if err != nil {
		if c, ok := session.BadCredential(err); ok {
			h.failed(r, addr, c)
		}
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte(tok.Reveal()))
	return nil
}

func (h *handler) jwks(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(h.sessions.JWKS())
}

func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

var errNotFound = gatehouse.Errorf(gatehouse.NotFound, "Resource Not Found.")

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) error { return errNotFound }

// appendJSONString appends s as a JSON string, escaping as encoding/json
// does.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= 0x80 {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
