package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/gatehouse-auth/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/console"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/jwks"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/realtime"
	"github.com/gatehouse-auth/gatehouse/internal/session"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func newServeCmd(getenv func(string) string) *cobra.Command {
	var cfg serveConfig
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the server (SQLite under --data, or PostgreSQL with --database-url)",
		Long: `Run the Gatehouse server.

Every setting comes, highest first, from its flag, its environment variable
(GATEHOUSE_ and the flag name in upper snake case: --log-level is
GATEHOUSE_LOG_LEVEL), the optional YAML config file (--config; keys are the
flag names), or its default. Secrets can be read from files: --admin-token-file
(GATEHOUSE_ADMIN_TOKEN_FILE) keeps the admin token out of ps and the shell
history.`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.finish(cmd.Flags(), getenv); err != nil {
				return &cliError{Kind: "usage", ExitCode: exitUsage, Message: err.Error()}
			}
			return serve(cmd.Context(), cfg, getenv, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	c.Flags().SortFlags = false
	c.Flags().AddFlagSet(cfg.newFlagSet())
	return c
}

func serve(ctx context.Context, cfg serveConfig, getenv func(string) string, stdout, stderr io.Writer) error {
	if getenv("GOGC") == "" {
		// The server's live heap is small (tens of MiB) and every request
		// allocates, so the default GOGC=100 runs the collector very often:
		// measured, it cost ~3 µs of the ~15 µs of CPU a token validation
		// takes. Trading memory for CPU here is the usual server setting;
		// an operator's GOGC (or GOMEMLIMIT with it) wins.
		debug.SetGCPercent(defaultGCPercent)
	}
	log := cfg.logger(stderr)

	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	driver, where, dbShown, err := storeLocation(cfg.DatabaseURL, cfg.Data)
	if err != nil {
		return err
	}
	if driver == "sqlite" {
		// One server per SQLite store: the second exits at once, naming
		// the first.
		lock, err := lockDataDir(cfg.Data, "serve")
		if err != nil {
			return err
		}
		defer lock.Close()
	}
	db, err := backends[driver].open(ctx, where)
	if err != nil {
		return err
	}
	defer db.Close()
	if st := db.Schema(); len(st.Applied) > 0 {
		log.Info("schema migrated", "version", st.Database, "applied", st.Applied)
	}

	sealKey, sealPath, err := loadSealKey(ctx, cfg, db, log)
	if err != nil {
		return err
	}
	fetcher := jwks.New(jwks.Options{AllowPrivate: cfg.AllowPrivateJWKS})
	limits := ratelimit.NewLimits(cfg.Limits, nil)
	// The broker is built first and handed to the service, which publishes
	// bans, deletions and revocations through it; the broker authenticates
	// through the service, which exists before the broker runs.
	var svc *session.Service
	sessionExpiry := cfg.MQTT.SessionExpiry
	if sessionExpiry == 0 {
		sessionExpiry = -1 // 0 means the default in realtime.Config: here it means at once
	}
	broker, err := realtime.New(log.With("component", "realtime"), realtime.Config{AllowedOrigins: cfg.AllowedOrigins, Ended: session.Ended,
		ConnectTimeout: cfg.MQTT.ConnectTimeout, MaxPending: cfg.MQTT.MaxPending, MaxPendingPerAddr: cfg.MQTT.MaxPendingPerAddr,
		SessionExpiry: sessionExpiry, ClientAddr: cfg.Limits.TrustedProxies.ClientAddr},
		func(tok string) (realtime.Identity, error) {
			// mochi hooks get no context: bound the check (a customer token
			// may need its JWKS fetched).
			actx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			p, err := svc.AuthenticateRealtime(actx, tok)
			return realtime.Identity{AppID: p.AppID, UserInternalID: p.UserInternalID, SessionID: p.SessionID, KeyID: p.KeyID}, err
		})
	if err != nil {
		return err
	}
	svc = session.New(db, log.With("component", "session"), session.Config{SealKey: sealKey, KeyFetcher: fetcher, FailClosedAfter: cfg.FailClosedAfter,
		VisitorRetention: cfg.VisitorRetention, Publisher: broker})
	if err := svc.Load(ctx); err != nil {
		if errors.Is(err, session.ErrSealKey) {
			return fmt.Errorf("%w\nthe seal key in %s is not the key this database was sealed with: restore this data directory's own seal-key file from its backup (or point --seal-key-file at it)", err, sealPath)
		}
		return err
	}
	if err := setupAdminToken(ctx, svc, cfg, log); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	activity := console.NewActivity(nil)
	api := httpapi.NewHandler(log.With("component", "http"), svc, broker,
		httpapi.Options{Limits: limits, ServerKeyOrigins: cfg.ServerKeyOrigins,
			OnLogin: activity.Login, OnRefuse: activity.Refused, Backup: backupOf(db)})
	web := console.New(log.With("component", "console"), svc, console.Options{Proxies: cfg.Limits.TrustedProxies,
		Activity: activity, Origins: cfg.AllowedOrigins})
	srv := httpapi.Harden(&http.Server{
		Handler:  console.Mount(api, web),
		ErrorLog: slog.NewLogLogger(log.With("component", "http").Handler(), slog.LevelWarn),
	})
	g, gctx := errgroup.WithContext(ctx)
	metricsNote := ""
	if cfg.MetricsAddr != "" {
		// Metrics get their own listener, never the public one.
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("metrics listener: %w", err)
		}
		metrics.GaugeFuncs("gatehouse_cache_entries", "Entries in the server's in-memory state, by cache.", "cache", svc.CacheSizes)
		metrics.GaugeFuncs("gatehouse_visitor_users", "Visitor and bot users (deleted ones excluded), by type: recounted from the store every 10 minutes, counted up by this node's new visitors in between.", "type", svc.VisitorUsers)
		metrics.GaugeFuncs("gatehouse_event_lag_seconds", "Time since this node last confirmed it had applied every event of the log (it refuses validations past --fail-closed-after), by store.", "store", func() map[string]float64 {
			return map[string]float64{driver: svc.EventLag().Seconds()}
		})
		metrics.GaugeFuncs("gatehouse_event_last_applied_id", "Id of the last event of the log this node applied, by store (compare nodes).", "store", func() map[string]float64 {
			return map[string]float64{driver: float64(svc.LastEventApplied())}
		})
		metrics.GaugeFuncs("gatehouse_cache_bytes", "Bytes the bounded caches count, by cache (within the cache budget).", "cache", svc.CacheBytes)
		metrics.GaugeFuncs("gatehouse_realtime_connections", "MQTT connections open now.", "transport", func() map[string]float64 {
			return map[string]float64{"websocket": float64(broker.Connections())}
		})
		metrics.GaugeFuncs("gatehouse_realtime_pending_sockets", "Upgraded /mqtt WebSockets that have not authenticated yet.", "transport", func() map[string]float64 {
			return map[string]float64{"websocket": float64(broker.Pending())}
		})
		metrics.GaugeFuncs("gatehouse_realtime_sessions", "MQTT sessions the broker holds, connected or kept for resumption.", "transport", func() map[string]float64 {
			return map[string]float64{"websocket": float64(broker.Sessions())}
		})
		mmux := http.NewServeMux()
		mmux.Handle("GET /metrics", metrics.Handler())
		msrv := &http.Server{Handler: mmux, ReadHeaderTimeout: 5 * time.Second}
		metricsNote = fmt.Sprintf("; metrics on http://%s/metrics", mln.Addr())
		log.Info("metrics enabled", "addr", mln.Addr().String())
		g.Go(func() error {
			if err := msrv.Serve(mln); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("metrics server: %w", err)
			}
			return nil
		})
		g.Go(func() error { <-gctx.Done(); return msrv.Close() })
	}
	fmt.Fprintf(stdout, "gatehouse listening on http://%s (data in %s%s)\n", ln.Addr(), cfg.Data, metricsNote)
	log.Info("serving", "addr", ln.Addr().String(), "store", driver, "database", dbShown)

	if cfg.PprofAddr != "" {
		// Profiling gets its own listener and mux, never the public one.
		pmux := http.NewServeMux()
		pmux.HandleFunc("/debug/pprof/", pprof.Index)
		pmux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		pmux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		pmux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		psrv := &http.Server{Addr: cfg.PprofAddr, Handler: pmux, ReadHeaderTimeout: 5 * time.Second}
		log.Info("profiling enabled", "addr", cfg.PprofAddr)
		g.Go(func() error {
			if err := psrv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("pprof server: %w", err)
			}
			return nil
		})
		g.Go(func() error { <-gctx.Done(); return psrv.Close() })
	}
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
		return nil
	})
	g.Go(func() error { return svc.Run(gctx) })
	if listen := backends[driver].listen; listen != nil {
		run, err := listen(where, log.With("component", "events"), svc.Wake)
		if err != nil {
			return err
		}
		g.Go(func() error { return run(gctx) })
	}
	g.Go(func() error {
		return activity.Run(gctx, func(ctx context.Context) (int, error) { return svc.LiveSessions(ctx, "") })
	})
	g.Go(func() error { return broker.Run(gctx) })
	g.Go(func() error {
		<-gctx.Done()
		// A fresh deadline: the parent context is already cancelled.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		log.Info("shutting down")
		return srv.Shutdown(sctx)
	})
	return g.Wait()
}

// defaultGCPercent is serve's GOGC unless the environment sets one.
const defaultGCPercent = 400

// setupAdminToken applies --admin-token, or on a store without an admin
// token generates one into <data>/admin-token (mode 0600). The token itself
// is never printed.
func setupAdminToken(ctx context.Context, svc *session.Service, cfg serveConfig, log *slog.Logger) error {
	if cfg.AdminToken != "" {
		return svc.SetAdminToken(ctx, gatehouse.Secret(cfg.AdminToken))
	}
	if svc.HasAdminToken() {
		return nil
	}
	// The file is written before the digest is stored, so a failure can
	// never leave a store whose admin token nobody knows.
	tok := session.NewAdminToken()
	path := filepath.Join(cfg.Data, "admin-token")
	if err := os.WriteFile(path, []byte(tok.Reveal()+"\n"), 0o600); err != nil {
		return fmt.Errorf("write admin token: %w", err)
	}
	if err := svc.SetAdminToken(ctx, tok); err != nil {
		os.Remove(path)
		return err
	}
	log.Info("generated an admin token (mode 0600); the CLI reads it from there", "path", path)
	return nil
}

// loadSealKey reads the key that seals the server's signing keys, its
// auth-token key and customers' HMAC secrets: from --seal-key-file, else
// <data>/seal-key, generated (mode 0600) on first start. It never generates
// a key over a database that holds sealed data (restored without its seal
// key, say): that data could never be opened again, so it refuses to start
// and names the missing file.
func loadSealKey(ctx context.Context, cfg serveConfig, st store.Store, log *slog.Logger) ([]byte, string, error) {
	path := cfg.SealKeyFile
	if path == "" {
		path = filepath.Join(cfg.Data, "seal-key")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			sealed, err := session.HoldsSealedData(ctx, st)
			if err != nil {
				return nil, path, fmt.Errorf("read the database: %w", err)
			}
			if sealed {
				return nil, path, fmt.Errorf("seal key %s is missing, but the database holds data sealed with it (signing keys, the auth-token key, customers' HMAC secrets): "+
					"restore that file from the backup of this data directory, or point --seal-key-file at it; a new key could never open that data, so none is generated", path)
			}
			k := make([]byte, 32)
			if _, err := rand.Read(k); err != nil {
				return nil, path, err
			}
			if err := os.WriteFile(path, []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
				return nil, path, fmt.Errorf("write seal key: %w", err)
			}
			log.Warn("generated a seal key (mode 0600): back it up with the database", "path", path)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, path, fmt.Errorf("seal key: %w", err)
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) != 32 {
		return nil, path, fmt.Errorf("seal key %s must hold 64 hex digits (32 bytes)", path)
	}
	return k, path, nil
}

// backupOf returns the store's online backup, if it has one (SQLite).
func backupOf(st any) func(context.Context) (io.ReadCloser, int64, error) {
	if b, ok := st.(interface {
		Backup(context.Context) (io.ReadCloser, int64, error)
	}); ok {
		return b.Backup
	}
	return nil
}
