package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse"
)

// readyz answers 200 when this node may take traffic, and 503 with the
// retryable error envelope, whose message names the failed check, when it
// may not: the revocation state is not loaded, the node cannot confirm
// within the fail-closed bound that it applied every event of the log, the
// store cannot commit a write, or the realtime listener is down. /healthz
// stays liveness only.
func (h *handler) readyz(w http.ResponseWriter, r *http.Request) error {
	if err := h.sessions.Ready(r.Context()); err != nil {
		return err
	}
	if rt, ok := h.realtime.(interface{ Ready() error }); ok && h.realtime != nil {
		if err := rt.Ready(); err != nil {
			return gatehouse.Wrap(gatehouse.Unavailable, err, "Not ready: the realtime listener is down")
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}
