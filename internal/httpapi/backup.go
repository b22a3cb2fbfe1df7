package httpapi

import (
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse"
)

// backupStore serves POST /admin/v1/backup: a consistent online snapshot
// of the store as a SQLite database file (application/vnd.sqlite3), for
// "gatehouse backup". Owners only: the snapshot holds every digest and
// sealed secret of the server (not the seal key, which is never in the
// store).
func (h *handler) backupStore(w http.ResponseWriter, r *http.Request) error {
	if h.backup == nil {
		return gatehouse.Errorf(gatehouse.NotFound, "This store has no online backup (PostgreSQL: use pg_dump)")
	}
	rc, size, err := h.backup(r.Context())
	if err != nil {
		return gatehouse.Wrap(gatehouse.Unavailable, err, "Backup failed")
	}
	defer rc.Close()
	// A big store takes longer than the server's write timeout to send.
	http.NewResponseController(w).SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "application/vnd.sqlite3")
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.Header().Set("Content-Disposition", `attachment; filename="gatehouse-backup.db"`)
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rc); err != nil {
		h.log.Warn("backup download interrupted", "err", err)
	}
	return nil
}
