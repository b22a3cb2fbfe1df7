package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/token"
	"github.com/gatehouse-auth/gatehouse/wire"
)

var errAdminRequired = gatehouse.Errorf(gatehouse.Unauthenticated, "Admin token is required")

// adminCredential returns the request's admin credential, sent as
// "Authorization: Bearer" or "x-admin-token" (both forms appear in the
// social.plus docs).
func adminCredential(r *http.Request) string {
	tok := bearer(r)
	if tok == "" {
		tok = r.Header.Get("x-admin-token")
	}
	return tok
}

// via says whether an admin call came from the gatehouse CLI (which says
// so in its User-Agent) or another client; the audit log records it.
func via(r *http.Request) string {
	if strings.HasPrefix(r.Header.Get("User-Agent"), "gatehouse-cli") {
		return gatehouse.ViaCLI
	}
	return gatehouse.ViaAPI
}

// admin authenticates the request's admin credential (the root token or an
// administrator's token), or returns the refusal: 429 while the client
// address is blocked for failed admin tokens, else 401, counted.
func (h *handler) admin(r *http.Request) (gatehouse.Actor, error) {
	addr := h.clientAddr(r)
	if err := h.blocked(r, addr, ratelimit.AdminToken); err != nil {
		return gatehouse.Actor{}, err
	}
	tok := adminCredential(r)
	if tok == "" {
		h.failed(r, addr, ratelimit.AdminToken)
		return gatehouse.Actor{}, errAdminRequired
	}
	a, err := h.sessions.AuthenticateAdmin(r.Context(), tok, via(r))
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.Unauthenticated {
			h.failed(r, addr, ratelimit.AdminToken)
		}
		return a, err
	}
	return a, nil
}

type actorKey struct{}

// actor returns the authenticated actor of an admin request.
func actor(r *http.Request) gatehouse.Actor {
	a, _ := r.Context().Value(actorKey{}).(gatehouse.Actor)
	return a
}

// requireAdmin authenticates every admin API call; reads need only a
// credential (every role reads), changes go through audited, which checks
// the role.
func (h *handler) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := h.admin(r)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, a)))
	})
}

// auditNote lets a handler name what it acted on and describe the change
// (never a secret) for the audit entry of its request.
type auditNote struct {
	appID, target, detail string
}

type noteKey struct{}

func note(r *http.Request) *auditNote {
	if n, ok := r.Context().Value(noteKey{}).(*auditNote); ok {
		return n
	}
	return &auditNote{}
}

type resultWriter struct {
	http.ResponseWriter
	status int
}

func (w *resultWriter) WriteHeader(st int) {
	if w.status == 0 {
		w.status = st
	}
	w.ResponseWriter.WriteHeader(st)
}

// Unwrap gives http.ResponseController the underlying writer (the backup
// download lifts its write deadline through it).
func (w *resultWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *resultWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// auditResult names the outcome of a request by its status.
func auditResult(st int) string {
	switch {
	case st < 300:
		return "ok"
	case st == http.StatusBadRequest, st == http.StatusRequestEntityTooLarge, st == http.StatusUnsupportedMediaType:
		return string(gatehouse.Invalid)
	case st == http.StatusUnauthorized:
		return string(gatehouse.Unauthenticated)
	case st == http.StatusForbidden:
		return string(gatehouse.Forbidden)
	case st == http.StatusNotFound:
		return string(gatehouse.NotFound)
	case st == http.StatusConflict:
		return string(gatehouse.Conflict)
	case st == http.StatusTooManyRequests:
		return string(gatehouse.RateLimited)
	}
	return "error"
}

// audited serves a state-changing admin call: it refuses an actor without
// perm (403; perm "" leaves the check to the service, as for
// administrators' own tokens), runs next, and records the action with its
// result in the audit log, refusals included.
func (h *handler) audited(action string, perm gatehouse.Permission, next handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := actor(r)
		n := &auditNote{}
		rw := &resultWriter{ResponseWriter: w}
		if perm != "" && !a.Can(perm) {
			h.writeError(rw, r, session.Authorize(a, perm))
		} else {
			h.serve(next)(rw, r.WithContext(context.WithValue(r.Context(), noteKey{}, n)))
		}
		h.recordAudit(r, a, action, n, rw.status)
	})
}

// adminChange authenticates a state-changing admin call outside /admin/v1
// (the social.plus admin forms) and serves it as audited does.
func (h *handler) adminChange(w http.ResponseWriter, r *http.Request, action string, next handlerFunc) {
	h.requireAdmin(h.audited(action, gatehouse.Manage, next)).ServeHTTP(w, r)
}

func (h *handler) recordAudit(r *http.Request, a gatehouse.Actor, action string, n *auditNote, status int) {
	e := gatehouse.AuditEntry{ActorKind: a.Kind, Actor: a.Name, Via: a.Via, Action: action, AppID: n.appID, Target: n.target,
		Addr: h.clientAddr(r), Result: auditResult(status), Detail: n.detail}
	if e.AppID == "" {
		e.AppID = r.PathValue("appId")
	}
	if e.AppID == "" {
		e.AppID = r.URL.Query().Get("appId")
	}
	if e.Target == "" {
		for _, p := range []string{"userId", "keyId", "sessionId", "name"} {
			if v := r.PathValue(p); v != "" {
				e.Target = v
				break
			}
		}
	}
	h.sessions.Audit(r.Context(), e)
}

// knownApp answers 404 for an admin call under /admin/v1/apps/{appId}/…
// that names an unknown app, so a wrong app id is reported as an unknown app
// rather than as an unknown user, key or session.
func (h *handler) knownApp(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rest, ok := strings.CutPrefix(r.URL.Path, "/admin/v1/apps/"); ok {
			if id, sub, ok := strings.Cut(rest, "/"); ok && id != "" && sub != "" {
				if _, err := h.sessions.App(r.Context(), id); err != nil {
					h.writeError(w, r, err)
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// adminApp picks the app of a social.plus-style admin call, which names no
// app: from X-API-Key, the appId query parameter, or the only app there is.
func (h *handler) adminApp(r *http.Request) (string, error) {
	if id := r.URL.Query().Get("appId"); id != "" {
		return id, nil
	}
	if key := r.Header.Get("X-API-Key"); key != "" {
		if a, ok := h.sessions.AppForAPIKey(gatehouse.Secret(key)); ok {
			return a.ID, nil
		}
		return "", gatehouse.Errorf(gatehouse.Unauthenticated, "Invalid API key")
	}
	apps, err := h.sessions.Apps(r.Context())
	if err != nil {
		return "", err
	}
	if len(apps) == 1 {
		return apps[0].ID, nil
	}
	return "", gatehouse.Errorf(gatehouse.Invalid, "Several apps exist: name one with the appId query parameter or X-API-Key")
}

// Admin API shapes.

type appJSON struct {
	AppID          string `json:"appId"`
	NetworkID      string `json:"networkId"`
	Name           string `json:"name"`
	SecureMode     bool   `json:"secureMode"`
	AccessTokenTTL string `json:"accessTokenTTL"`
	AuthTokenTTL   string `json:"authTokenTTL"`
	// What customer-signed access tokens must carry.
	CustomerTokenIssuer   string `json:"customerTokenIssuer"`
	CustomerTokenAudience string `json:"customerTokenAudience"`
	CustomerTokenMaxTTL   string `json:"customerTokenMaxTTL"`
	// Visitor and bot sessions: visitors off, on or secure; bots on/off.
	Visitors string `json:"visitors"`
	Bots     bool   `json:"bots"`
	// Browser origins allowed to log in with the API key; empty: any.
	AllowedOrigins []string `json:"allowedOrigins"`
	CreatedAt      string   `json:"createdAt"`
	UpdatedAt      string   `json:"updatedAt"`
}

func newAppJSON(a gatehouse.App) appJSON {
	return appJSON{AppID: a.ID, NetworkID: a.ID, Name: a.Name, SecureMode: a.SecureMode,
		AccessTokenTTL: a.AccessTTL.String(), AuthTokenTTL: a.AuthTokenTTL.String(),
		CustomerTokenIssuer: a.TokenIssuer, CustomerTokenAudience: a.TokenAudience, CustomerTokenMaxTTL: a.CustomerTokenMaxTTL().String(),
		Visitors: string(a.Visitors), Bots: a.Bots, AllowedOrigins: append([]string{}, a.Origins.List()...),
		CreatedAt: wire.Time(a.CreatedAt), UpdatedAt: wire.Time(a.UpdatedAt)}
}

type keyJSON struct {
	KeyID     string `json:"keyId"`
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Active    bool   `json:"active"`
	CreatedAt string `json:"createdAt"`
	RevokedAt string `json:"revokedAt,omitempty"`
}

func newKeyJSON(k gatehouse.Key) keyJSON {
	j := keyJSON{KeyID: k.ID, Name: k.Name, Kind: string(k.Kind), Active: k.Active(), CreatedAt: wire.Time(k.CreatedAt)}
	if !k.Active() {
		j.RevokedAt = wire.Time(k.RevokedAt)
	}
	return j
}

type sessionJSON struct {
	SessionID   string               `json:"sessionId"`
	DeviceID    string               `json:"deviceId"`
	DeviceInfo  gatehouse.DeviceInfo `json:"deviceInfo"`
	CreatedAt   string               `json:"createdAt"`
	LastLoginAt string               `json:"lastLoginAt"`
	ExpiresAt   string               `json:"expiresAt"`
	RevokedAt   string               `json:"revokedAt,omitempty"`
	Live        bool                 `json:"live"`
}

func newSessionJSON(s gatehouse.Session, now time.Time) sessionJSON {
	j := sessionJSON{SessionID: s.ID, DeviceID: s.DeviceID, DeviceInfo: s.DeviceInfo, CreatedAt: wire.Time(s.CreatedAt),
		LastLoginAt: wire.Time(s.LastLoginAt), ExpiresAt: wire.Time(s.ExpiresAt), Live: s.Live(now)}
	if !s.RevokedAt.IsZero() {
		j.RevokedAt = wire.Time(s.RevokedAt)
	}
	return j
}

// Handlers.

func (h *handler) createApp(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name string `json:"name"`
	}
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	a, key, err := h.sessions.CreateApp(r.Context(), req.Name)
	if err != nil {
		return err
	}
	note(r).appID, note(r).detail = a.ID, "name="+a.Name
	writeJSON(w, http.StatusCreated, struct {
		appJSON
		APIKey string `json:"apiKey"`
	}{newAppJSON(a), key.Reveal()})
	return nil
}

func (h *handler) listApps(w http.ResponseWriter, r *http.Request) error {
	apps, err := h.sessions.Apps(r.Context())
	return writeList(w, "apps", apps, err, newAppJSON)
}

// writeList answers {field: [conv(item)…]}, or returns the error.
func writeList[T, J any](w http.ResponseWriter, field string, items []T, err error, conv func(T) J) error {
	if err != nil {
		return err
	}
	out := make([]J, 0, len(items))
	for _, it := range items {
		out = append(out, conv(it))
	}
	writeJSON(w, http.StatusOK, map[string]any{field: out})
	return nil
}

func (h *handler) getApp(w http.ResponseWriter, r *http.Request) error {
	a, err := h.sessions.App(r.Context(), r.PathValue("appId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newAppJSON(a))
	return nil
}

func parseTTL(s *string) (*time.Duration, error) {
	if s == nil {
		return nil, nil
	}
	d, err := time.ParseDuration(*s)
	if err != nil {
		return nil, gatehouse.Errorf(gatehouse.Invalid, "%q is not a duration such as 720h or 10m", *s)
	}
	return &d, nil
}

func (h *handler) updateApp(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name                  *string   `json:"name"`
		SecureMode            *bool     `json:"secureMode"`
		AccessTokenTTL        *string   `json:"accessTokenTTL"`
		AuthTokenTTL          *string   `json:"authTokenTTL"`
		CustomerTokenIssuer   *string   `json:"customerTokenIssuer"`
		CustomerTokenAudience *string   `json:"customerTokenAudience"`
		CustomerTokenMaxTTL   *string   `json:"customerTokenMaxTTL"`
		Visitors              *string   `json:"visitors"`
		Bots                  *bool     `json:"bots"`
		AllowedOrigins        *[]string `json:"allowedOrigins"`
	}
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	u := session.AppUpdate{Name: req.Name, SecureMode: req.SecureMode, TokenIssuer: req.CustomerTokenIssuer, TokenAudience: req.CustomerTokenAudience,
		Bots: req.Bots}
	if req.Visitors != nil {
		m := gatehouse.VisitorMode(*req.Visitors)
		u.Visitors = &m
	}
	if req.AllowedOrigins != nil {
		o, err := gatehouse.ParseOrigins(strings.Join(*req.AllowedOrigins, " "))
		if err != nil {
			return err
		}
		u.Origins = &o
	}
	var err error
	if u.TokenMaxTTL, err = parseTTL(req.CustomerTokenMaxTTL); err != nil {
		return err
	}
	if u.AccessTTL, err = parseTTL(req.AccessTokenTTL); err != nil {
		return err
	}
	if u.AuthTokenTTL, err = parseTTL(req.AuthTokenTTL); err != nil {
		return err
	}
	note(r).detail = u.String()
	a, err := h.sessions.UpdateApp(r.Context(), r.PathValue("appId"), u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newAppJSON(a))
	return nil
}

func keyKind(r *http.Request) (gatehouse.KeyKind, string) {
	if strings.Contains(r.Pattern, "/server-keys") {
		return gatehouse.ServerKey, "serverKey"
	}
	return gatehouse.APIKey, "apiKey"
}

func (h *handler) createKey(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name string `json:"name"`
	}
	if err := decode(w, r, &req, true); err != nil {
		return err
	}
	kind, field := keyKind(r)
	appID := r.PathValue("appId")
	if _, err := h.sessions.App(r.Context(), appID); err != nil {
		return err
	}
	k, secret, err := h.sessions.CreateKey(r.Context(), appID, kind, req.Name)
	if err != nil {
		return err
	}
	note(r).target = k.ID
	writeJSON(w, http.StatusCreated, map[string]any{"key": newKeyJSON(k), field: secret.Reveal()})
	return nil
}

func (h *handler) listKeys(w http.ResponseWriter, r *http.Request) error {
	kind, _ := keyKind(r)
	keys, err := h.sessions.Keys(r.Context(), r.PathValue("appId"), kind)
	return writeList(w, "keys", keys, err, newKeyJSON)
}

func (h *handler) revokeKey(w http.ResponseWriter, r *http.Request) error {
	kind, _ := keyKind(r)
	k, err := h.sessions.RevokeKey(r.Context(), r.PathValue("appId"), kind, r.PathValue("keyId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"key": newKeyJSON(k)})
	return nil
}

type visitorSecretJSON struct {
	SecretID  string `json:"secretId"`
	CreatedAt string `json:"createdAt"`
}

func newVisitorSecretJSON(v gatehouse.VisitorSecret) visitorSecretJSON {
	return visitorSecretJSON{SecretID: v.ID, CreatedAt: wire.Time(v.CreatedAt)}
}

// createVisitorSecret answers 201 {"secret":{…},"visitorSecret":"…"}: the
// secret itself is shown this once.
func (h *handler) createVisitorSecret(w http.ResponseWriter, r *http.Request) error {
	appID := r.PathValue("appId")
	if _, err := h.sessions.App(r.Context(), appID); err != nil {
		return err
	}
	v, secret, err := h.sessions.CreateVisitorSecret(r.Context(), appID)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, map[string]any{"secret": newVisitorSecretJSON(v), "visitorSecret": secret.Reveal()})
	return nil
}

func (h *handler) listVisitorSecrets(w http.ResponseWriter, r *http.Request) error {
	list, err := h.sessions.VisitorSecrets(r.Context(), r.PathValue("appId"))
	return writeList(w, "secrets", list, err, newVisitorSecretJSON)
}

func (h *handler) deleteVisitorSecret(w http.ResponseWriter, r *http.Request) error {
	if err := h.sessions.DeleteVisitorSecret(r.Context(), r.PathValue("appId"), r.PathValue("secretId")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.Success{Success: true})
	return nil
}

// writeUser answers the user, or returns the error.
func writeUser(w http.ResponseWriter, u gatehouse.User, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.Users{Users: []wire.User{wire.NewUser(&u)}, Files: []wire.File{}})
	return nil
}

func (h *handler) adminGetUser(w http.ResponseWriter, r *http.Request) error {
	u, err := h.sessions.User(r.Context(), r.PathValue("appId"), r.PathValue("userId"))
	return writeUser(w, u, err)
}

func (h *handler) banUser(w http.ResponseWriter, r *http.Request) error {
	u, err := h.sessions.Ban(r.Context(), r.PathValue("appId"), r.PathValue("userId"))
	return writeUser(w, u, err)
}

func (h *handler) unbanUser(w http.ResponseWriter, r *http.Request) error {
	u, err := h.sessions.Unban(r.Context(), r.PathValue("appId"), r.PathValue("userId"))
	return writeUser(w, u, err)
}

func (h *handler) deleteUser(w http.ResponseWriter, r *http.Request) error {
	u, err := h.sessions.Delete(r.Context(), r.PathValue("appId"), r.PathValue("userId"))
	return writeUser(w, u, err)
}

func (h *handler) listSessions(w http.ResponseWriter, r *http.Request) error {
	u, list, err := h.sessions.Sessions(r.Context(), r.PathValue("appId"), r.PathValue("userId"))
	if err != nil {
		return err
	}
	now := h.sessions.Now()
	out := make([]sessionJSON, 0, len(list))
	for _, s := range list {
		out = append(out, newSessionJSON(s, now))
	}
	writeJSON(w, http.StatusOK, map[string]any{"userId": u.UserID, "sessions": out})
	return nil
}

func (h *handler) revokeAllSessions(w http.ResponseWriter, r *http.Request) error {
	list, err := h.sessions.RevokeAll(r.Context(), r.PathValue("appId"), r.PathValue("userId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "revoked": len(list)})
	return nil
}

func (h *handler) revokeSession(w http.ResponseWriter, r *http.Request) error {
	s, err := h.sessions.RevokeSession(r.Context(), r.PathValue("appId"), r.PathValue("sessionId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"session": newSessionJSON(s, h.sessions.Now())})
	return nil
}

// socialBan serves POST /api/v2/users/ban and /unban, the social.plus admin
// form: body {"userId"}, admin token as Bearer or x-admin-token, the app
// picked as for the other social.plus admin calls.
func (h *handler) socialBan(ban bool) http.HandlerFunc {
	action := "user.unban"
	if ban {
		action = "user.ban"
	}
	serve := func(w http.ResponseWriter, r *http.Request) error {
		var req struct {
			UserID string `json:"userId"`
		}
		if err := decode(w, r, &req, false); err != nil {
			return err
		}
		appID, err := h.adminApp(r)
		if err != nil {
			return err
		}
		n := note(r)
		n.appID, n.target = appID, req.UserID
		if ban {
			_, err = h.sessions.Ban(r.Context(), appID, req.UserID)
		} else {
			_, err = h.sessions.Unban(r.Context(), appID, req.UserID)
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, wire.Success{Success: true})
		return nil
	}
	return func(w http.ResponseWriter, r *http.Request) { h.adminChange(w, r, action, serve) }
}

type verificationKeyJSON struct {
	KeyID     string `json:"keyId"`
	Alg       string `json:"alg"`
	Kind      string `json:"kind"`
	JWKSURL   string `json:"jwksUrl,omitempty"`
	CreatedAt string `json:"createdAt"`
}

func newVerificationKeyJSON(k gatehouse.VerificationKey) verificationKeyJSON {
	return verificationKeyJSON{KeyID: k.ID, Alg: k.Alg, Kind: string(k.Kind), JWKSURL: k.JWKSURL, CreatedAt: wire.Time(k.CreatedAt)}
}

// addVerificationKey registers a key that verifies the app's customer-signed
// access tokens: {"alg", and one of "secret", "publicKey" (PEM or JWK), "jwksUrl"}.
// Secrets are never returned.
func (h *handler) addVerificationKey(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Alg       string          `json:"alg"`
		Secret    string          `json:"secret"`
		PublicKey json.RawMessage `json:"publicKey"`
		JWKSURL   string          `json:"jwksUrl"`
	}
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	in := session.VerificationKeyInput{Alg: req.Alg, Secret: []byte(req.Secret), JWKSURL: req.JWKSURL}
	if len(req.PublicKey) > 0 {
		// A PEM arrives as a JSON string, a JWK as an object.
		var pemText string
		if json.Unmarshal(req.PublicKey, &pemText) == nil {
			in.PublicKey = []byte(pemText)
		} else {
			in.PublicKey = req.PublicKey
		}
	}
	k, err := h.sessions.AddVerificationKey(r.Context(), r.PathValue("appId"), in)
	if err != nil {
		return err
	}
	note(r).target, note(r).detail = k.ID, "alg="+k.Alg+" kind="+string(k.Kind)
	writeJSON(w, http.StatusCreated, map[string]any{"key": newVerificationKeyJSON(k)})
	return nil
}

func (h *handler) listVerificationKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := h.sessions.VerificationKeys(r.Context(), r.PathValue("appId"))
	return writeList(w, "keys", keys, err, newVerificationKeyJSON)
}

func (h *handler) removeVerificationKey(w http.ResponseWriter, r *http.Request) error {
	if err := h.sessions.RemoveVerificationKey(r.Context(), r.PathValue("appId"), r.PathValue("keyId")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.Success{Success: true})
	return nil
}

type signingKeyJSON struct {
	KeyID     string `json:"kid"`
	Active    bool   `json:"active"`
	CreatedAt string `json:"createdAt"`
	RetiredAt string `json:"retiredAt,omitempty"`
}

func newSigningKeyJSON(k token.SigningKey) signingKeyJSON {
	j := signingKeyJSON{KeyID: k.ID, Active: k.RetiredAt.IsZero(), CreatedAt: wire.Time(k.CreatedAt)}
	if !k.RetiredAt.IsZero() {
		j.RetiredAt = wire.Time(k.RetiredAt)
	}
	return j
}

func (h *handler) listSigningKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := h.sessions.SigningKeys(r.Context())
	return writeList(w, "keys", keys, err, newSigningKeyJSON)
}

// rotateSigningKey serves POST /admin/v1/signing-keys/rotate
// {"emergency": bool}.
func (h *handler) rotateSigningKey(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Emergency bool `json:"emergency"`
	}
	if err := decode(w, r, &req, true); err != nil {
		return err
	}
	note(r).detail = fmt.Sprintf("emergency=%t", req.Emergency)
	k, err := h.sessions.RotateSigningKey(r.Context(), req.Emergency)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"key": newSigningKeyJSON(k), "emergency": req.Emergency})
	return nil
}
