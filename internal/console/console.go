// Package console serves the operators' web console at /console: apps and
// their settings, API keys, server keys, access-token verification keys,
// signing-key rotation, users and their sessions, bans, administrators and
// their admin API tokens, the audit log and a dashboard.
//
// It is safe by construction rather than by care at each page:
//   - pages are html/template, so user ids and display names (chosen by
//     end users, attacker-controlled) are escaped in every context;
//   - every response carries a strict Content-Security-Policy (no inline
//     script or style, frame-ancestors 'none');
//   - every state change is a POST that must carry the session's anti-CSRF
//     token, and a foreign Origin is refused on top of that;
//   - the session cookie is HttpOnly, SameSite=Strict, Secure over TLS or
//     behind a trusted proxy that says https, and holds a random value whose
//     digest is the stored session id; a new one is made at every sign-in,
//     sign-out deletes it on the server, and it ends after ConsoleIdle
//     without a request and ConsoleAbsolute after sign-in;
//   - repeated failed sign-ins lock the name and the client address for a
//     growing time (internal/ratelimit's back-off);
//   - a secret (API key, server key, admin token, initial password) is
//     rendered once, in the answer to the POST that created it, and never
//     again.
//
// Roles are checked twice: the pages hide what an administrator may not do,
// and every handler refuses it (session.Authorize) whatever the browser
// sends.
package console

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/session"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Cookie names. The session cookie is scoped to /console.
const (
	sessionCookie = "gatehouse_console"
	preCookie     = "gatehouse_console_pre" // anti-CSRF token of the sign-in form
)

// Sign-in failures: a name (existing or not, so locking tells nothing)
// locks after lockNameFailures failures within 15 minutes, and a client
// address after lockAddrFailures, each for a time that doubles with every
// further failure up to lockMax (SECURITY.md case 72: at most 100 failures
// an hour per account, and the lock ends by itself).
const (
	lockNameFailures = 10
	lockAddrFailures = 30
	lockMax          = 15 * time.Minute
)

// csp is the Content-Security-Policy of every console response: only the
// console's own script and style files, no inline code, no framing.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Options are the console's settings.
type Options struct {
	// Proxies are the trusted reverse proxies: their X-Forwarded-For names
	// the client and their X-Forwarded-Proto: https makes cookies Secure.
	Proxies ratelimit.Proxies
	// Activity holds the dashboard's counters; the dashboard shows only
	// stored figures without it.
	Activity *Activity
	// Origins are the browser origins allowed to open /mqtt (shown on the
	// app settings page; set with --allowed-origins).
	Origins []string
	// Now is the clock of the sign-in lockout (time.Now when nil).
	Now func() time.Time
}

// Handler is the console.
type Handler struct {
	log      *slog.Logger
	svc      *session.Service
	opts     Options
	pages    map[string]*template.Template
	mux      *http.ServeMux
	lockName *ratelimit.Backoff
	lockAddr *ratelimit.Backoff
}

// New returns the console handler. Mount it at /console/ (see Mount).
func New(log *slog.Logger, svc *session.Service, opts Options) *Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Handler{log: log, svc: svc, opts: opts, pages: parsePages(),
		lockName: ratelimit.NewBackoff(ratelimit.Rule{Burst: lockNameFailures - 1, Per: 15 * time.Minute}, lockMax, 0, opts.Now),
		lockAddr: ratelimit.NewBackoff(ratelimit.Rule{Burst: lockAddrFailures - 1, Per: 15 * time.Minute}, lockMax, 0, opts.Now),
	}
	h.routes()
	return h
}

// Mount serves the console at /console and everything else with api.
func Mount(api http.Handler, c http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/console/", c)
	mux.Handle("/console", http.RedirectHandler("/console/", http.StatusFound))
	mux.Handle("/", api)
	return mux
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: under no-referrer browsers send
	// "Origin: null" with forms, which the Origin check must refuse.
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	if !strings.HasPrefix(r.URL.Path, "/console/static/") {
		hd.Set("Cache-Control", "no-store")
	}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.log.Error("panic serving console", "path", r.URL.Path, "panic", p)
			http.Error(w, "Internal error", http.StatusInternalServerError)
		}
	}()
	h.mux.ServeHTTP(w, r)
}

// secure reports whether the browser reached us over https: directly, or
// through a trusted proxy that says so.
func (h *Handler) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return h.opts.Proxies.FromProxy(r) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (h *Handler) clientAddr(r *http.Request) string { return h.opts.Proxies.ClientAddr(r) }

func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/console/", MaxAge: maxAge,
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteStrictMode})
}

// sameOrigin refuses a state change whose Origin (or, without one, Referer)
// names another site. The anti-CSRF token is the real defence; this one
// costs nothing and stops a request even if a token leaked. Behind a
// trusted proxy that rewrites Host, its X-Forwarded-Host is the site.
func (h *Handler) sameOrigin(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" {
		src = r.Header.Get("Referer")
	}
	if src == "" {
		return true // not a browser, or one that sends neither: the token decides
	}
	u, err := url.Parse(src)
	if err != nil {
		return false
	}
	if fh := r.Header.Get("X-Forwarded-Host"); fh != "" && h.opts.Proxies.FromProxy(r) {
		return u.Host == fh
	}
	return u.Host == r.Host
}

// page is one request's view of the console: who is signed in.
type page struct {
	sess  gatehouse.ConsoleSession
	admin gatehouse.Admin
}

func (p *page) actor() gatehouse.Actor {
	return gatehouse.Actor{Kind: gatehouse.ActorAdmin, AdminID: p.admin.ID, Name: p.admin.Name, Role: p.admin.Role, Via: gatehouse.ViaConsole}
}

// authed serves a page that needs a signed-in administrator; without one it
// redirects a GET to the sign-in page and refuses anything else with 401.
// A POST must carry the session's anti-CSRF token and no foreign Origin.
func (h *Handler) authed(next func(w http.ResponseWriter, r *http.Request, p *page)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		var p page
		if err == nil {
			p.sess, p.admin, err = h.svc.ConsoleSession(r.Context(), c.Value)
		}
		if err != nil {
			if gatehouse.ErrorCode(err) == gatehouse.Unavailable {
				h.fail(w, r, nil, err)
				return
			}
			if c != nil {
				h.setCookie(w, r, sessionCookie, "", -1)
			}
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/console/login", http.StatusSeeOther)
				return
			}
			h.render(w, r, http.StatusUnauthorized, "error", nil, map[string]any{"Message": "Your session has ended. Sign in again."})
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !h.sameOrigin(r) || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(p.sess.CSRF)) != 1 {
				h.render(w, r, http.StatusForbidden, "error", &p, map[string]any{"Message": "This form has expired or did not come from the console. Go back, reload the page and try again."})
				return
			}
		}
		next(w, r, &p)
	}
}

// audit records a console action.
func (h *Handler) audit(r *http.Request, p *page, action, appID, target, detail string, err error) {
	e := gatehouse.AuditEntry{ActorKind: gatehouse.ActorAdmin, Via: gatehouse.ViaConsole, Action: action, AppID: appID, Target: target,
		Addr: h.clientAddr(r), Detail: detail, Result: "ok"}
	if p != nil {
		e.Actor = p.admin.Name
	} else {
		e.ActorKind, e.Actor = gatehouse.ActorAnon, "anonymous"
	}
	if err != nil {
		e.Result = string(gatehouse.ErrorCode(err))
	}
	h.svc.Audit(r.Context(), e)
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// fail renders an error page with the error's caller-safe message.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, p *page, err error) {
	st := httpapi.Status(gatehouse.ErrorCode(err))
	if st >= 500 {
		h.log.Error("console request failed", "path", r.URL.Path, "err", err)
	}
	h.render(w, r, st, "error", p, map[string]any{"Message": gatehouse.ErrorMessage(err)})
}

// staticFiles serves the embedded CSS and script.
func staticFiles() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	fsrv := http.StripPrefix("/console/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		fsrv.ServeHTTP(w, r)
	})
}

// allow refuses (403 page, audited) an actor without permission perm.
func (h *Handler) allow(w http.ResponseWriter, r *http.Request, p *page, perm gatehouse.Permission, action, appID, target string) bool {
	if err := session.Authorize(p.actor(), perm); err != nil {
		h.audit(r, p, action, appID, target, "", err)
		h.fail(w, r, p, err)
		return false
	}
	return true
}
