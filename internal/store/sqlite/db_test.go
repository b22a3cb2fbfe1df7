package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/sqlite"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"))
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}
