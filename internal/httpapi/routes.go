// Package httpapi serves Gatehouse over HTTP: the social.plus-compatible
// client and server-to-server API under /api, the Gatehouse admin API under
// /admin/v1, the JWKS, and the health check.
//
// Handlers return their error (handlerFunc); errors.go maps every error to
// its HTTP status and social.plus envelope in one place (writeError), logs
// server errors once, and sets Retry-After. Middleware (middleware.go,
// limits.go) answers through the same writer.
package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/session"
)

type handler struct {
	log      *slog.Logger
	sessions *session.Service
	realtime Realtime
	lim      *limiter
	// keyOrigins are the browser origins allowed to send a server key.
	keyOrigins map[string]bool
	// credFailures samples the warn lines of failed credentials.
	credFailures refusalLog
	onLogin      func(ok bool)
	backup       func(ctx context.Context) (io.ReadCloser, int64, error)
}

// Options are the handler's optional settings.
type Options struct {
	// Limits are the rate limits (internal/ratelimit); nil limits nothing,
	// for tests and embedding. gatehouse serve always sets them.
	Limits *ratelimit.Limits
	// OnRefuse, when set, is told of every rate-limit refusal by kind
	// (login_user, login_app, new_visitor_addr, new_visitor_app, api_key,
	// server_key, auth_token, admin_token).
	OnRefuse func(kind string)
	// ServerKeyOrigins are the browser origins (scheme://host[:port]) that
	// may call the auth-token endpoints with a server key; none by
	// default: a server key belongs on the customer's server, and one sent
	// with an Origin header has leaked into a web page.
	ServerKeyOrigins []string
	// OnLogin, when set, is told of every login answered: ok when a token
	// was issued (the console's dashboard counts them).
	OnLogin func(ok bool)
	// Backup, when set, takes a consistent online snapshot of the store
	// for POST /admin/v1/backup (the SQLite store's DB.Backup); without
	// it the route answers 404.
	Backup func(ctx context.Context) (io.ReadCloser, int64, error)
}

// Realtime is the MQTT-over-WebSocket endpoint (internal/realtime.Broker).
type Realtime interface {
	http.Handler
}

// NewHandler returns the HTTP handler of the whole server. realtime, when
// not nil, serves /mqtt.
func NewHandler(log *slog.Logger, sessions *session.Service, realtime Realtime, opts Options) http.Handler {
	h := &handler{log: log, sessions: sessions, realtime: realtime, keyOrigins: map[string]bool{}, onLogin: opts.OnLogin, backup: opts.Backup}
	for _, o := range opts.ServerKeyOrigins {
		h.keyOrigins[strings.TrimRight(o, "/")] = true
	}
	if opts.Limits != nil {
		h.lim = &limiter{Limits: opts.Limits, log: log, onRefuse: opts.OnRefuse}
	}
	mux := http.NewServeMux()

	// social.plus client API (wire spec §5, §9, §11, §12).
	for _, v := range []string{"v3", "v4", "v5"} {
		mux.HandleFunc("POST /api/"+v+"/sessions", h.login(v))
	}
	mux.HandleFunc("POST /api/v5/sessions/visitor", h.visitorLogin(gatehouse.Visitor))
	mux.HandleFunc("POST /api/v5/sessions/bot", h.visitorLogin(gatehouse.Bot))
	mux.HandleFunc("GET /api/v3/sessions", h.serve(h.validate))
	mux.HandleFunc("DELETE /api/v4/sessions", h.serve(h.logout))
	mux.HandleFunc("DELETE /api/v4/sessions/users/{userId}", h.serve(h.revokeUserTokens))
	mux.HandleFunc("GET /api/v3/users/{userId}", h.serve(h.getUser))
	mux.HandleFunc("GET /api/v3/network-settings/chat", h.serve(h.chatSettings))
	if realtime != nil {
		mux.Handle("GET /mqtt", realtime)
	}

	// social.plus admin API for global bans (wire spec §15).
	mux.HandleFunc("POST /api/v2/users/ban", h.socialBan(true))
	mux.HandleFunc("POST /api/v2/users/unban", h.socialBan(false))

	// Server-to-server: secure-mode auth tokens (wire spec §7). Both
	// versions accept both the GET (query) and the POST (JSON body) form.
	for _, v := range []string{"v3", "v4"} {
		mux.HandleFunc("POST /api/"+v+"/authentication/token", h.serve(h.authToken))
		mux.HandleFunc("GET /api/"+v+"/authentication/token", h.serve(h.authToken))
	}

	// Anything else under /api is not served here: 404 with 400400, never
	// 400100, which would end the SDK's session (wire spec §16 pitfall 6).
	mux.HandleFunc("/api/", h.serve(h.notFound))

	// Gatehouse admin API. Reads need any admin credential; every change
	// names its audit action and the permission it needs (gatehouse.Role).
	admin := http.NewServeMux()
	change := func(pattern, action string, perm gatehouse.Permission, fn handlerFunc) {
		admin.Handle(pattern, h.audited(action, perm, fn))
	}
	const manage = gatehouse.Manage
	change("POST /admin/v1/apps", "app.create", manage, h.createApp)
	admin.HandleFunc("GET /admin/v1/apps", h.serve(h.listApps))
	admin.HandleFunc("GET /admin/v1/apps/{appId}", h.serve(h.getApp))
	change("PATCH /admin/v1/apps/{appId}", "app.update", manage, h.updateApp)
	for kind, noun := range map[string]string{"api-keys": "api_key", "server-keys": "server_key"} {
		change("POST /admin/v1/apps/{appId}/"+kind, noun+".create", manage, h.createKey)
		admin.HandleFunc("GET /admin/v1/apps/{appId}/"+kind, h.serve(h.listKeys))
		change("DELETE /admin/v1/apps/{appId}/"+kind+"/{keyId}", noun+".revoke", manage, h.revokeKey)
	}
	change("POST /admin/v1/apps/{appId}/access-token-keys", "access_token_key.add", manage, h.addVerificationKey)
	admin.HandleFunc("GET /admin/v1/apps/{appId}/access-token-keys", h.serve(h.listVerificationKeys))
	change("DELETE /admin/v1/apps/{appId}/access-token-keys/{keyId}", "access_token_key.remove", manage, h.removeVerificationKey)
	change("POST /admin/v1/apps/{appId}/visitor-secrets", "visitor_secret.create", manage, h.createVisitorSecret)
	admin.HandleFunc("GET /admin/v1/apps/{appId}/visitor-secrets", h.serve(h.listVisitorSecrets))
	change("DELETE /admin/v1/apps/{appId}/visitor-secrets/{secretId}", "visitor_secret.delete", manage, h.deleteVisitorSecret)
	admin.HandleFunc("GET /admin/v1/apps/{appId}/users", h.serve(h.searchUsers))
	admin.HandleFunc("GET /admin/v1/apps/{appId}/users/{userId}", h.serve(h.adminGetUser))
	change("POST /admin/v1/apps/{appId}/users/{userId}/ban", "user.ban", manage, h.banUser)
	change("POST /admin/v1/apps/{appId}/users/{userId}/unban", "user.unban", manage, h.unbanUser)
	change("DELETE /admin/v1/apps/{appId}/users/{userId}", "user.delete", manage, h.deleteUser)
	admin.HandleFunc("GET /admin/v1/apps/{appId}/users/{userId}/sessions", h.serve(h.listSessions))
	change("DELETE /admin/v1/apps/{appId}/users/{userId}/sessions", "session.revoke_all", manage, h.revokeAllSessions)
	change("DELETE /admin/v1/apps/{appId}/sessions/{sessionId}", "session.revoke", manage, h.revokeSession)
	admin.HandleFunc("GET /admin/v1/signing-keys", h.serve(h.listSigningKeys))
	change("POST /admin/v1/signing-keys/rotate", "signing_key.rotate", manage, h.rotateSigningKey)
	// Administrators and their tokens: the service applies the rules
	// (owners manage administrators; tokens are the owners' or, in the
	// console, one's own).
	change("POST /admin/v1/admins", "admin.create", "", h.createAdmin)
	admin.HandleFunc("GET /admin/v1/admins", h.serve(h.listAdmins))
	change("PATCH /admin/v1/admins/{name}", "admin.update", "", h.updateAdmin)
	change("POST /admin/v1/admins/{name}/tokens", "admin_token.create", "", h.createAdminToken)
	admin.HandleFunc("GET /admin/v1/admins/{name}/tokens", h.serve(h.listAdminTokens))
	change("DELETE /admin/v1/admins/{name}/tokens/{tokenId}", "admin_token.revoke", "", h.revokeAdminToken)
	admin.HandleFunc("GET /admin/v1/audit", h.serve(h.auditLog))
	change("POST /admin/v1/backup", "backup", gatehouse.ManageAdmins, h.backupStore)
	admin.HandleFunc("/admin/", h.serve(h.notFound))
	mux.Handle("/admin/", h.requireAdmin(h.knownApp(admin)))

	mux.HandleFunc("GET /.well-known/jwks.json", h.jwks)
	mux.HandleFunc("GET /healthz", h.healthz)
	mux.HandleFunc("GET /readyz", h.serve(h.readyz))
	mux.HandleFunc("/", h.serve(h.notFound))

	return h.observe(h.cors(h.singleCredentials(hot(mux, h))))
}

// hot sends the two hottest routes — the validity probe and the v5 login,
// which every SDK session calls — straight to their handlers, ahead of the
// pattern matching of the mux. Every other request goes through the mux.
func hot(mux *http.ServeMux, h *handler) http.Handler {
	login, validate := h.login("v5"), h.serve(h.validate)
	rest := readOnly(mux, h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/api/v3/sessions":
			r.Pattern = "GET /api/v3/sessions"
			validate(w, r)
		case r.Method == http.MethodPost && r.URL.Path == "/api/v5/sessions":
			r.Pattern = "POST /api/v5/sessions"
			login(w, r)
		default:
			rest.ServeHTTP(w, r)
		}
	})
}

// readOnly refuses, with 403/400301, every request that could change state
// under /api when it carries a visitor's or bot's access token — except
// their own secure logout (DELETE /api/v4/sessions without a userId) and
// logins, which the API key authorizes.
// Today the other such routes need admin or server credentials anyway; the
// rule here keeps any route added later read-only for visitors without
// each handler remembering it. Reads go straight through.
func readOnly(next http.Handler, h *handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		tok := bearer(r)
		if tok == "" || !strings.HasPrefix(r.URL.Path, "/api/") || isOwnLogout(r) || isSessionCreation(r) {
			next.ServeHTTP(w, r)
			return
		}
		if p, err := h.sessions.Authenticate(r.Context(), tok); err == nil && p.UserType.ReadOnly() {
			h.writeError(w, r, errReadOnly)
			return
		}
		next.ServeHTTP(w, r)
	})
}

var errReadOnly = gatehouse.Errorf(gatehouse.PermissionDenied, "Visitor and bot sessions are read-only")

// isSessionCreation reports a login (signed-in, visitor or bot): it is
// authorized by the API key, not by a bearer token, and the official SDKs
// still send the previous session's token with it (the React Native SDK's
// loginAsBot after a visitor session does).
func isSessionCreation(r *http.Request) bool {
	switch r.URL.Path {
	case "/api/v3/sessions", "/api/v4/sessions", "/api/v5/sessions", "/api/v5/sessions/visitor", "/api/v5/sessions/bot":
		return r.Method == http.MethodPost
	}
	return false
}

func isOwnLogout(r *http.Request) bool {
	return r.Method == http.MethodDelete && r.URL.Path == "/api/v4/sessions" && r.URL.Query().Get("userId") == "" && r.ContentLength <= 0
}
