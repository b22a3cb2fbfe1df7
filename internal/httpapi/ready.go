package httpapi

import "net/http"

// readyz answers 200 when this node may take traffic, and 503 with the
// retryable error envelope when it may not: it cannot confirm, within the
// fail-closed bound, that it has applied every event of the log (so it is
// refusing validations).
func (h *handler) readyz(w http.ResponseWriter, r *http.Request) {
	if err := h.sessions.Current(); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
