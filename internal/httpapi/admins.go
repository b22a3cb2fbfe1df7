package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/wire"
)

// Administrators, their admin API tokens, the audit log and user search.

type adminJSON struct {
	Name       string `json:"name"`
	Role       string `json:"role"`
	CreatedAt  string `json:"createdAt"`
	DisabledAt string `json:"disabledAt,omitempty"`
}

func newAdminJSON(a gatehouse.Admin) adminJSON {
	j := adminJSON{Name: a.Name, Role: string(a.Role), CreatedAt: wire.Time(a.CreatedAt)}
	if !a.Active() {
		j.DisabledAt = wire.Time(a.DisabledAt)
	}
	return j
}

type adminTokenJSON struct {
	TokenID   string `json:"tokenId"`
	Name      string `json:"name"`
	CreatedAt string `json:"createdAt"`
	ExpiresAt string `json:"expiresAt"`
	RevokedAt string `json:"revokedAt,omitempty"`
	LastUsed  string `json:"lastUsedAt,omitempty"`
}

func newAdminTokenJSON(t gatehouse.AdminToken) adminTokenJSON {
	j := adminTokenJSON{TokenID: t.ID, Name: t.Name, CreatedAt: wire.Time(t.CreatedAt), ExpiresAt: wire.Time(t.ExpiresAt)}
	if !t.RevokedAt.IsZero() {
		j.RevokedAt = wire.Time(t.RevokedAt)
	}
	if !t.LastUsed.IsZero() {
		j.LastUsed = wire.Time(t.LastUsed)
	}
	return j
}

// createAdmin serves POST /admin/v1/admins {"name","role"}: 201 with the
// administrator and its initial password, shown once.
func (h *handler) createAdmin(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	note(r).target = req.Name
	note(r).detail = "role=" + req.Role
	a, pw, err := h.sessions.CreateAdmin(r.Context(), actor(r), req.Name, gatehouse.Role(req.Role))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"admin": newAdminJSON(a), "password": pw.Reveal()})
	return nil
}

func (h *handler) listAdmins(w http.ResponseWriter, r *http.Request) error {
	list, err := h.sessions.Admins(r.Context())
	return writeList(w, "admins", list, err, newAdminJSON)
}

// updateAdmin serves PATCH /admin/v1/admins/{name} {"role", "disabled"}.
func (h *handler) updateAdmin(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Role     *gatehouse.Role `json:"role"`
		Disabled *bool           `json:"disabled"`
	}
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	if req.Role != nil {
		note(r).detail = "role=" + string(*req.Role)
	}
	if req.Disabled != nil {
		note(r).detail += " disabled=" + strconv.FormatBool(*req.Disabled)
	}
	a, err := h.sessions.UpdateAdmin(r.Context(), actor(r), r.PathValue("name"), session.AdminChange{Role: req.Role, Disabled: req.Disabled})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"admin": newAdminJSON(a)})
	return nil
}

// createAdminToken serves POST /admin/v1/admins/{name}/tokens
// {"name", "expiresIn": "8760h"}: 201 {"key": {...}, "token": "ghat_…"},
// the token shown once.
func (h *handler) createAdminToken(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name      string `json:"name"`
		ExpiresIn string `json:"expiresIn"`
	}
	if err := decode(w, r, &req, true); err != nil {
		return err
	}
	var ttl time.Duration
	if req.ExpiresIn != "" {
		d, err := parseTTL(&req.ExpiresIn)
		if err != nil {
			return err
		}
		ttl = *d
	}
	t, tok, err := h.sessions.CreateAdminToken(r.Context(), actor(r), r.PathValue("name"), req.Name, ttl)
	if err != nil {
		return err
	}
	note(r).detail = "token=" + t.ID + " expires=" + wire.Time(t.ExpiresAt)
	writeJSON(w, http.StatusCreated, map[string]any{"key": newAdminTokenJSON(t), "token": tok.Reveal()})
	return nil
}

func (h *handler) listAdminTokens(w http.ResponseWriter, r *http.Request) error {
	list, err := h.sessions.AdminTokens(r.Context(), actor(r), r.PathValue("name"))
	return writeList(w, "tokens", list, err, newAdminTokenJSON)
}

func (h *handler) revokeAdminToken(w http.ResponseWriter, r *http.Request) error {
	note(r).detail = "token=" + r.PathValue("tokenId")
	t, err := h.sessions.RevokeAdminToken(r.Context(), actor(r), r.PathValue("name"), r.PathValue("tokenId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"key": newAdminTokenJSON(t)})
	return nil
}

type auditJSON struct {
	ID        int64  `json:"id"`
	At        string `json:"at"`
	ActorKind string `json:"actorKind"`
	Actor     string `json:"actor"`
	Via       string `json:"via"`
	Action    string `json:"action"`
	AppID     string `json:"appId,omitempty"`
	Target    string `json:"target,omitempty"`
	Addr      string `json:"addr"`
	Result    string `json:"result"`
	Detail    string `json:"detail,omitempty"`
}

func newAuditJSON(e gatehouse.AuditEntry) auditJSON {
	return auditJSON{ID: e.ID, At: wire.Time(e.At), ActorKind: string(e.ActorKind), Actor: e.Actor, Via: e.Via, Action: e.Action,
		AppID: e.AppID, Target: e.Target, Addr: e.Addr, Result: e.Result, Detail: e.Detail}
}

// auditLog serves GET /admin/v1/audit: {"entries": […]}, newest first.
func (h *handler) auditLog(w http.ResponseWriter, r *http.Request) error {
	f, err := gatehouse.ParseAuditFilter(r.URL.Query())
	if err != nil {
		return err
	}
	list, err := h.sessions.AuditLog(r.Context(), actor(r), f)
	return writeList(w, "entries", list, err, newAuditJSON)
}

// searchUsers serves GET /admin/v1/apps/{appId}/users?q=&offset=&limit=:
// {"users": […], "total": n}.
func (h *handler) searchUsers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	offset, _ := strconv.Atoi(q.Get("offset"))
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit <= 0 {
		limit = 50
	}
	list, total, err := h.sessions.SearchUsers(r.Context(), r.PathValue("appId"), q.Get("q"), offset, limit)
	if err != nil {
		return err
	}
	out := make([]wire.User, 0, len(list))
	for i := range list {
		out = append(out, wire.NewUser(&list[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out, "total": total})
	return nil
}
