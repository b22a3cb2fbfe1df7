package console

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

var pageNames = []string{"login", "dashboard", "apps", "app", "keys", "users", "user", "signing", "audit", "admins", "account", "secret", "error"}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"path":  url.PathEscape,
	"query": url.QueryEscape,
	"add":   func(a, b int) int { return a + b },
	"dict2": func(v view, kind string, items any) map[string]any {
		return map[string]any{"V": v, "Kind": kind, "Items": items}
	},
}

func parsePages() map[string]*template.Template {
	m := map[string]*template.Template{}
	for _, name := range pageNames {
		// Parse errors are programmer errors, caught by every test.
		m[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return m
}

// view is what every page template gets.
type view struct {
	Title     string
	Section   string // the nav entry to highlight
	Admin     *gatehouse.Admin
	CSRF      string
	CanManage bool // may change apps, keys, users
	IsOwner   bool // may manage administrators
	Data      map[string]any
}

// render writes a page. p is nil on pages shown without a session.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page, data map[string]any) {
	v := view{Data: data}
	if t, ok := data["Title"].(string); ok {
		v.Title = t
	}
	if s, ok := data["Section"].(string); ok {
		v.Section = s
	}
	if p != nil {
		v.Admin, v.CSRF = &p.admin, p.sess.CSRF
		v.CanManage = p.admin.Role.Allows(gatehouse.Manage)
		v.IsOwner = p.admin.Role.Allows(gatehouse.ManageAdmins)
	}
	var buf bytes.Buffer
	if err := h.pages[name].Execute(&buf, v); err != nil {
		h.log.Error("render console page", "page", name, "err", err)
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
