package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/session"
)

func (h *Handler) routes() {
	m := http.NewServeMux()
	m.Handle("GET /console/static/", staticFiles())
	m.HandleFunc("GET /console/login", h.loginPage)
	m.HandleFunc("POST /console/login", h.login)
	m.HandleFunc("POST /console/logout", h.authed(h.logout))
	m.HandleFunc("GET /console/{$}", h.authed(h.dashboard))
	m.HandleFunc("GET /console/apps", h.authed(h.apps))
	m.HandleFunc("POST /console/apps", h.authed(h.createApp))
	m.HandleFunc("GET /console/apps/{appId}", h.authed(h.app))
	m.HandleFunc("POST /console/apps/{appId}/settings", h.authed(h.updateApp))
	m.HandleFunc("GET /console/apps/{appId}/keys", h.authed(h.keys))
	m.HandleFunc("POST /console/apps/{appId}/api-keys", h.authed(h.createKey(gatehouse.APIKey)))
	m.HandleFunc("POST /console/apps/{appId}/server-keys", h.authed(h.createKey(gatehouse.ServerKey)))
	m.HandleFunc("POST /console/apps/{appId}/api-keys/{keyId}/revoke", h.authed(h.revokeKey(gatehouse.APIKey)))
	m.HandleFunc("POST /console/apps/{appId}/server-keys/{keyId}/revoke", h.authed(h.revokeKey(gatehouse.ServerKey)))
	m.HandleFunc("POST /console/apps/{appId}/access-token-keys", h.authed(h.addVerificationKey))
	m.HandleFunc("POST /console/apps/{appId}/access-token-keys/{keyId}/remove", h.authed(h.removeVerificationKey))
	m.HandleFunc("GET /console/apps/{appId}/users", h.authed(h.users))
	m.HandleFunc("GET /console/apps/{appId}/users/{userId}", h.authed(h.user))
	m.HandleFunc("POST /console/apps/{appId}/users/{userId}/{action}", h.authed(h.userAction))
	m.HandleFunc("POST /console/apps/{appId}/users/{userId}/sessions/{sessionId}/revoke", h.authed(h.revokeSession))
	m.HandleFunc("GET /console/signing-keys", h.authed(h.signingKeys))
	m.HandleFunc("POST /console/signing-keys/rotate", h.authed(h.rotate))
	m.HandleFunc("GET /console/audit", h.authed(h.auditLog))
	m.HandleFunc("GET /console/admins", h.authed(h.admins))
	m.HandleFunc("POST /console/admins", h.authed(h.createAdmin))
	m.HandleFunc("POST /console/admins/{name}", h.authed(h.updateAdmin))
	m.HandleFunc("GET /console/account", h.authed(h.account))
	m.HandleFunc("POST /console/account/password", h.authed(h.changePassword))
	m.HandleFunc("POST /console/account/tokens", h.authed(h.createToken))
	m.HandleFunc("POST /console/account/tokens/{tokenId}/revoke", h.authed(h.revokeToken))
	m.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		h.render(w, r, http.StatusNotFound, "error", nil, map[string]any{"Message": "There is no such page."})
	})
	h.mux = m
}

// Sign-in and sign-out.

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	h.showLogin(w, r, http.StatusOK, "")
}

func (h *Handler) showLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	// The sign-in form has its own anti-CSRF token (double submit: a
	// SameSite=Strict cookie and the form field must match), so another
	// site cannot sign a browser in to an account of its choosing.
	tok := randomToken()
	h.setCookie(w, r, preCookie, tok, 3600)
	h.render(w, r, status, "login", nil, map[string]any{"Title": "Sign in", "Pre": tok, "Error": msg})
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	pre, err := r.Cookie(preCookie)
	if err != nil || !h.sameOrigin(r) || len(pre.Value) != 64 || r.PostFormValue("pre") != pre.Value {
		h.showLogin(w, r, http.StatusForbidden, "The sign-in form expired. Try again.")
		return
	}
	name, password := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("password")
	addr := h.clientAddr(r)
	// Locked names and addresses are refused before the password is
	// looked at, the right one too, with the same answer whether the
	// name exists or not.
	if b1, _ := h.lockName.Blocked(name); b1 {
		h.audit(r, nil, "console.signin", "", name, "locked", gatehouse.Errorf(gatehouse.RateLimited, "locked"))
		h.showLogin(w, r, http.StatusTooManyRequests, "Too many failed sign-ins. Try again later.")
		return
	}
	if b2, _ := h.lockAddr.Blocked(addr); b2 {
		h.audit(r, nil, "console.signin", "", name, "address locked", gatehouse.Errorf(gatehouse.RateLimited, "locked"))
		h.showLogin(w, r, http.StatusTooManyRequests, "Too many failed sign-ins. Try again later.")
		return
	}
	cookie, cs, admin, err := h.svc.SignIn(r.Context(), name, password, addr)
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.Unavailable {
			h.fail(w, r, nil, err)
			return
		}
		h.lockName.Fail(name)
		h.lockAddr.Fail(addr)
		h.audit(r, nil, "console.signin", "", name, "", err)
		h.showLogin(w, r, http.StatusUnauthorized, "Wrong name or password.")
		return
	}
	// Any session id the browser held before is dropped: the new one is
	// fresh (session fixation).
	h.setCookie(w, r, preCookie, "", -1)
	h.setCookie(w, r, sessionCookie, cookie.Reveal(), int(session.ConsoleAbsolute/time.Second))
	h.audit(r, &page{sess: cs, admin: admin}, "console.signin", "", admin.Name, "", nil)
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, p *page) {
	err := h.svc.SignOut(r.Context(), p.sess.ID)
	h.audit(r, p, "console.signout", "", p.admin.Name, "", err)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

// Apps.

func (h *Handler) apps(w http.ResponseWriter, r *http.Request, p *page) {
	apps, err := h.svc.Apps(r.Context())
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.render(w, r, http.StatusOK, "apps", p, map[string]any{"Title": "Apps", "Section": "apps", "Apps": apps})
}

func (h *Handler) createApp(w http.ResponseWriter, r *http.Request, p *page) {
	if !h.allow(w, r, p, gatehouse.Manage, "app.create", "", "") {
		return
	}
	a, key, err := h.svc.CreateApp(r.Context(), r.PostFormValue("name"))
	h.audit(r, p, "app.create", a.ID, "", "name="+a.Name, err)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.showSecret(w, r, p, a, "API key", key, "/console/apps/"+a.ID,
		"The app is created. Give this API key to your app (it identifies the app to the client API); it is shown only once.")
}

// showSecret answers the POST that created a secret with the one page that
// ever shows it.
func (h *Handler) showSecret(w http.ResponseWriter, r *http.Request, p *page, a gatehouse.App, what string, secret gatehouse.Secret, back, note string) {
	h.render(w, r, http.StatusOK, "secret", p, map[string]any{"Title": what + " created", "Section": "apps", "App": a,
		"What": what, "Secret": secret.Reveal(), "Back": back, "Note": note})
}

func (h *Handler) loadApp(w http.ResponseWriter, r *http.Request, p *page) (gatehouse.App, bool) {
	a, err := h.svc.App(r.Context(), r.PathValue("appId"))
	if err != nil {
		h.fail(w, r, p, err)
		return a, false
	}
	return a, true
}

func (h *Handler) app(w http.ResponseWriter, r *http.Request, p *page) {
	a, ok := h.loadApp(w, r, p)
	if !ok {
		return
	}
	live, err := h.svc.LiveSessions(r.Context(), a.ID)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.render(w, r, http.StatusOK, "app", p, map[string]any{"Title": a.Name, "Section": "apps", "App": a, "Tab": "settings",
		"Live": live, "Done": doneMessage(r), "Origins": h.opts.AllowedOrigins()})
}

// AllowedOrigins returns the browser origins allowed to open /mqtt, for
// the settings page.
func (o Options) AllowedOrigins() string {
	if len(o.Origins) == 0 {
		return "*"
	}
	return strings.Join(o.Origins, ", ")
}

func (h *Handler) updateApp(w http.ResponseWriter, r *http.Request, p *page) {
	appID := r.PathValue("appId")
	if !h.allow(w, r, p, gatehouse.Manage, "app.update", appID, "") {
		return
	}
	var u session.AppUpdate
	if v := strings.TrimSpace(r.PostFormValue("name")); v != "" {
		u.Name = &v
	}
	if v := r.PostFormValue("secureMode"); v != "" {
		on := v == "on"
		u.SecureMode = &on
	}
	for field, dst := range map[string]**time.Duration{"accessTokenTTL": &u.AccessTTL, "authTokenTTL": &u.AuthTokenTTL} {
		if v := strings.TrimSpace(r.PostFormValue(field)); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				h.fail(w, r, p, gatehouse.Errorf(gatehouse.Invalid, "%q is not a duration such as 720h or 10m", v))
				return
			}
			*dst = &d
		}
	}
	if v, ok := r.PostForm["allowedOrigins"]; ok {
		o, err := gatehouse.ParseOrigins(strings.Join(v, " "))
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		u.Origins = &o
	}
	_, err := h.svc.UpdateApp(r.Context(), appID, u)
	h.audit(r, p, "app.update", appID, "", u.String(), err)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/console/apps/"+appID+"?done=saved", http.StatusSeeOther)
}

// doneMessage turns the ?done= of a redirect after a change into a fixed
// message (never text from the URL).
func doneMessage(r *http.Request) string {
	return map[string]string{
		"saved": "Settings saved.", "revoked": "Key revoked.", "added": "Key added.", "removed": "Key removed.",
		"ban": "User banned: their tokens are refused and their live connections closed.", "unban": "User unbanned. Old tokens stay revoked.",
		"revoke-all": "Every session of the user was revoked.", "session": "Session revoked.", "rotated": "A new signing key is in use.",
		"password": "Password changed. Your other sessions were signed out.", "token-revoked": "Token revoked.", "admin": "Administrator updated.",
	}[r.URL.Query().Get("done")]
}

// Keys.

func (h *Handler) keys(w http.ResponseWriter, r *http.Request, p *page) {
	a, ok := h.loadApp(w, r, p)
	if !ok {
		return
	}
	api, err1 := h.svc.Keys(r.Context(), a.ID, gatehouse.APIKey)
	server, err2 := h.svc.Keys(r.Context(), a.ID, gatehouse.ServerKey)
	vkeys, err3 := h.svc.VerificationKeys(r.Context(), a.ID)
	for _, err := range []error{err1, err2, err3} {
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
	}
	h.render(w, r, http.StatusOK, "keys", p, map[string]any{"Title": a.Name + ": keys", "Section": "apps", "App": a, "Tab": "keys",
		"APIKeys": api, "ServerKeys": server, "VerificationKeys": vkeys, "Done": doneMessage(r)})
}

func kindNames(kind gatehouse.KeyKind) (action, what string) {
	if kind == gatehouse.ServerKey {
		return "server_key", "Server key"
	}
	return "api_key", "API key"
}

func (h *Handler) createKey(kind gatehouse.KeyKind) func(http.ResponseWriter, *http.Request, *page) {
	action, what := kindNames(kind)
	return func(w http.ResponseWriter, r *http.Request, p *page) {
		appID := r.PathValue("appId")
		if !h.allow(w, r, p, gatehouse.Manage, action+".create", appID, "") {
			return
		}
		a, ok := h.loadApp(w, r, p)
		if !ok {
			return
		}
		k, secret, err := h.svc.CreateKey(r.Context(), appID, kind, strings.TrimSpace(r.PostFormValue("name")))
		h.audit(r, p, action+".create", appID, k.ID, "", err)
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		note := "Copy it now: it is shown only once. Afterwards the console shows only its id, " + k.ID + "…"
		if kind == gatehouse.ServerKey {
			note = "Put it in your backend's secret store (it mints auth tokens for secure mode). " + note
		}
		h.showSecret(w, r, p, a, what, secret, "/console/apps/"+appID+"/keys", note)
	}
}

func (h *Handler) revokeKey(kind gatehouse.KeyKind) func(http.ResponseWriter, *http.Request, *page) {
	action, _ := kindNames(kind)
	return func(w http.ResponseWriter, r *http.Request, p *page) {
		appID, keyID := r.PathValue("appId"), r.PathValue("keyId")
		if !h.allow(w, r, p, gatehouse.Manage, action+".revoke", appID, keyID) {
			return
		}
		_, err := h.svc.RevokeKey(r.Context(), appID, kind, keyID)
		h.audit(r, p, action+".revoke", appID, keyID, "", err)
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		http.Redirect(w, r, "/console/apps/"+appID+"/keys?done=revoked", http.StatusSeeOther)
	}
}

func (h *Handler) addVerificationKey(w http.ResponseWriter, r *http.Request, p *page) {
	appID := r.PathValue("appId")
	if !h.allow(w, r, p, gatehouse.Manage, "access_token_key.add", appID, "") {
		return
	}
	in := session.VerificationKeyInput{Alg: r.PostFormValue("alg")}
	switch r.PostFormValue("kind") {
	case "hmac":
		in.Secret = []byte(r.PostFormValue("secret"))
	case "public":
		in.PublicKey = []byte(strings.TrimSpace(r.PostFormValue("publicKey")))
	case "jwks":
		in.JWKSURL = strings.TrimSpace(r.PostFormValue("jwksUrl"))
	default:
		h.fail(w, r, p, gatehouse.Errorf(gatehouse.Invalid, "choose an HMAC secret, a public key (PEM or JWK) or a JWKS URL"))
		return
	}
	k, err := h.svc.AddVerificationKey(r.Context(), appID, in)
	h.audit(r, p, "access_token_key.add", appID, k.ID, "alg="+in.Alg+" kind="+r.PostFormValue("kind"), err)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/console/apps/"+appID+"/keys?done=added", http.StatusSeeOther)
}

func (h *Handler) removeVerificationKey(w http.ResponseWriter, r *http.Request, p *page) {
	appID, keyID := r.PathValue("appId"), r.PathValue("keyId")
	if !h.allow(w, r, p, gatehouse.Manage, "access_token_key.remove", appID, keyID) {
		return
	}
	err := h.svc.RemoveVerificationKey(r.Context(), appID, keyID)
	h.audit(r, p, "access_token_key.remove", appID, keyID, "", err)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/console/apps/"+appID+"/keys?done=removed", http.StatusSeeOther)
}

// Users.

const usersPerPage = 25

func (h *Handler) users(w http.ResponseWriter, r *http.Request, p *page) {
	a, ok := h.loadApp(w, r, p)
	if !ok {
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	pg, _ := strconv.Atoi(r.URL.Query().Get("page"))
	pg = max(pg, 1)
	list, total, err := h.svc.SearchUsers(r.Context(), a.ID, q, (pg-1)*usersPerPage, usersPerPage)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	pages := max(1, (total+usersPerPage-1)/usersPerPage)
	h.render(w, r, http.StatusOK, "users", p, map[string]any{"Title": a.Name + ": users", "Section": "apps", "App": a, "Tab": "users",
		"Users": list, "Total": total, "Query": q, "Page": pg, "Pages": pages, "Prev": pg - 1, "Next": pg + 1, "HasNext": pg < pages,
		"From": min(total, (pg-1)*usersPerPage+1), "To": min(total, pg*usersPerPage)})
}

type sessionRow struct {
	gatehouse.Session
	Live bool
}

func (h *Handler) user(w http.ResponseWriter, r *http.Request, p *page) {
	a, ok := h.loadApp(w, r, p)
	if !ok {
		return
	}
	u, list, err := h.svc.Sessions(r.Context(), a.ID, r.PathValue("userId"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	now := h.svc.Now()
	rows := make([]sessionRow, 0, len(list))
	live := 0
	for _, s := range list {
		rows = append(rows, sessionRow{s, s.Live(now)})
		if s.Live(now) {
			live++
		}
	}
	h.render(w, r, http.StatusOK, "user", p, map[string]any{"Title": a.Name + ": " + u.UserID, "Section": "apps", "App": a, "Tab": "users",
		"User": u, "Sessions": rows, "LiveCount": live, "Done": doneMessage(r)})
}

func (h *Handler) userAction(w http.ResponseWriter, r *http.Request, p *page) {
	appID, userID, act := r.PathValue("appId"), r.PathValue("userId"), r.PathValue("action")
	action := map[string]string{"ban": "user.ban", "unban": "user.unban", "delete": "user.delete", "revoke-all": "session.revoke_all"}[act]
	if action == "" {
		h.fail(w, r, p, gatehouse.Errorf(gatehouse.NotFound, "There is no such action."))
		return
	}
	if !h.allow(w, r, p, gatehouse.Manage, action, appID, userID) {
		return
	}
	var err error
	switch act {
	case "ban":
		_, err = h.svc.Ban(r.Context(), appID, userID)
	case "unban":
		_, err = h.svc.Unban(r.Context(), appID, userID)
	case "revoke-all":
		_, err = h.svc.RevokeAll(r.Context(), appID, userID)
	case "delete":
		// Deletion cannot be undone: the operator types the user id.
		if r.PostFormValue("confirm") != userID {
			err = gatehouse.Errorf(gatehouse.Invalid, "To delete the user, type their user id exactly.")
		} else {
			_, err = h.svc.Delete(r.Context(), appID, userID)
		}
	}
	h.audit(r, p, action, appID, userID, "", err)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	if act == "delete" {
		http.Redirect(w, r, "/console/apps/"+appID+"/users", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/console/apps/"+appID+"/users/"+url.PathEscape(userID)+"?done="+act, http.StatusSeeOther)
}

func (h *Handler) revokeSession(w http.ResponseWriter, r *http.Request, p *page) {
	appID, userID, sid := r.PathValue("appId"), r.PathValue("userId"), r.PathValue("sessionId")
	if !h.allow(w, r, p, gatehouse.Manage, "session.revoke", appID, sid) {
		return
	}
	_, err := h.svc.RevokeSession(r.Context(), appID, sid)
	h.audit(r, p, "session.revoke", appID, sid, "user="+userID, err)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/console/apps/"+appID+"/users/"+url.PathEscape(userID)+"?done=session", http.StatusSeeOther)
}

// Signing keys.

func (h *Handler) signingKeys(w http.ResponseWriter, r *http.Request, p *page) {
	keys, err := h.svc.SigningKeys(r.Context())
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.render(w, r, http.StatusOK, "signing", p, map[string]any{"Title": "Signing keys", "Section": "signing", "Keys": keys, "Done": doneMessage(r)})
}

func (h *Handler) rotate(w http.ResponseWriter, r *http.Request, p *page) {
	if !h.allow(w, r, p, gatehouse.Manage, "signing_key.rotate", "", "") {
		return
	}
	emergency := r.PostFormValue("mode") == "emergency"
	if emergency && r.PostFormValue("confirm") != "log everyone out" {
		h.fail(w, r, p, gatehouse.Errorf(gatehouse.Invalid, "An emergency rotation logs every user out: type \"log everyone out\" to confirm."))
		return
	}
	k, err := h.svc.RotateSigningKey(r.Context(), emergency)
	h.audit(r, p, "signing_key.rotate", "", k.ID, "emergency="+strconv.FormatBool(emergency), err)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/console/signing-keys?done=rotated", http.StatusSeeOther)
}

// Audit log.

func (h *Handler) auditLog(w http.ResponseWriter, r *http.Request, p *page) {
	q := r.URL.Query()
	// The form's datetime-local fields carry no zone; they are UTC.
	for _, k := range []string{"since", "until"} {
		if v := q.Get(k); v != "" && !strings.HasSuffix(v, "Z") && !strings.Contains(v[min(len(v), 10):], "+") {
			if len(v) == 16 {
				v += ":00"
			}
			q.Set(k, v+"Z")
		}
	}
	f, err := gatehouse.ParseAuditFilter(q)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	f.Limit = 100
	entries, err := h.svc.AuditLog(r.Context(), p.actor(), f)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	var older int64
	if len(entries) == f.Limit {
		older = entries[len(entries)-1].ID
	}
	h.render(w, r, http.StatusOK, "audit", p, map[string]any{"Title": "Audit log", "Section": "audit", "Entries": entries,
		"F": r.URL.Query(), "Older": older, "OlderQuery": olderQuery(r, older)})
}

func olderQuery(r *http.Request, before int64) string {
	q := r.URL.Query()
	q.Set("before", strconv.FormatInt(before, 10))
	return q.Encode()
}

// Administrators and the signed-in administrator's account.

func (h *Handler) admins(w http.ResponseWriter, r *http.Request, p *page) {
	list, err := h.svc.Admins(r.Context())
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.render(w, r, http.StatusOK, "admins", p, map[string]any{"Title": "Administrators", "Section": "admins", "Admins": list, "Done": doneMessage(r)})
}

func (h *Handler) createAdmin(w http.ResponseWriter, r *http.Request, p *page) {
	name, role := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("role")
	a, pw, err := h.svc.CreateAdmin(r.Context(), p.actor(), name, gatehouse.Role(role))
	h.audit(r, p, "admin.create", "", name, "role="+role, err)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.render(w, r, http.StatusOK, "secret", p, map[string]any{"Title": "Administrator created", "Section": "admins",
		"What": "Initial password of " + a.Name, "Secret": pw.Reveal(), "Back": "/console/admins",
		"Note": "Give it to " + a.Name + " over a safe channel; it is shown only once. They should change it at their first sign-in (Account)."})
}

func (h *Handler) updateAdmin(w http.ResponseWriter, r *http.Request, p *page) {
	name := r.PathValue("name")
	var c session.AdminChange
	detail := ""
	if v := r.PostFormValue("role"); v != "" {
		role := gatehouse.Role(v)
		c.Role, detail = &role, "role="+v
	}
	if v := r.PostFormValue("disabled"); v != "" {
		d := v == "true"
		c.Disabled, detail = &d, strings.TrimSpace(detail+" disabled="+v)
	}
	_, err := h.svc.UpdateAdmin(r.Context(), p.actor(), name, c)
	h.audit(r, p, "admin.update", "", name, detail, err)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/console/admins?done=admin", http.StatusSeeOther)
}

func (h *Handler) account(w http.ResponseWriter, r *http.Request, p *page) {
	toks, err := h.svc.AdminTokens(r.Context(), p.actor(), p.admin.Name)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	now := h.svc.Now()
	type row struct {
		gatehouse.AdminToken
		Usable bool
	}
	rows := make([]row, 0, len(toks))
	for _, t := range toks {
		rows = append(rows, row{t, t.Usable(now)})
	}
	h.render(w, r, http.StatusOK, "account", p, map[string]any{"Title": "Account", "Section": "account", "Tokens": rows, "Done": doneMessage(r)})
}

func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request, p *page) {
	next := r.PostFormValue("new")
	var err error
	if next != r.PostFormValue("repeat") {
		err = gatehouse.Errorf(gatehouse.Invalid, "The two new passwords differ.")
	} else {
		err = h.svc.ChangePassword(r.Context(), p.admin.ID, r.PostFormValue("current"), next, p.sess.ID)
	}
	h.audit(r, p, "admin.password", "", p.admin.Name, "", err)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/console/account?done=password", http.StatusSeeOther)
}

func (h *Handler) createToken(w http.ResponseWriter, r *http.Request, p *page) {
	var ttl time.Duration
	if v := r.PostFormValue("days"); v != "" {
		days, err := strconv.Atoi(v)
		if err != nil || days <= 0 {
			h.fail(w, r, p, gatehouse.Errorf(gatehouse.Invalid, "The lifetime is a number of days."))
			return
		}
		ttl = time.Duration(days) * 24 * time.Hour
	}
	t, tok, err := h.svc.CreateAdminToken(r.Context(), p.actor(), p.admin.Name, r.PostFormValue("name"), ttl)
	h.audit(r, p, "admin_token.create", "", p.admin.Name, "token="+t.ID, err)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.render(w, r, http.StatusOK, "secret", p, map[string]any{"Title": "Admin API token created", "Section": "account",
		"What": "Admin API token " + t.Name, "Secret": tok.Reveal(), "Back": "/console/account",
		"Note": "It acts with your role (" + string(p.admin.Role) + ") on the admin API and the CLI (--admin-token-file) until " + t.ExpiresAt.UTC().Format("2006-01-02") + ". It is shown only once."})
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request, p *page) {
	id := r.PathValue("tokenId")
	_, err := h.svc.RevokeAdminToken(r.Context(), p.actor(), p.admin.Name, id)
	h.audit(r, p, "admin_token.revoke", "", p.admin.Name, "token="+id, err)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/console/account?done=token-revoked", http.StatusSeeOther)
}
