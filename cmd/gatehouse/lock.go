package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// lockName is the lock file in a data directory.
const lockName = "gatehouse.lock"

// dataLock is an exclusive lock on a data directory, held for the life of
// the process: two servers on one SQLite store would each keep their own
// revocation state (a ban through one would not reach the other), so the
// second refuses to start. The kernel drops the lock when the process ends,
// however it ends; the file stays and only says who held it last.
type dataLock struct{ f *os.File }

// errLocked reports the data directory is in use.
type errLocked struct{ dir, holder string }

func (e *errLocked) Error() string {
	return fmt.Sprintf("data directory %s is in use by %s; stop it first (two servers on one store would disagree on bans and revocations)", e.dir, e.holder)
}

// lockDataDir takes the lock on dir (created if missing) for what ("serve",
// "restore", …), or fails at once naming the holder.
func lockDataDir(dir, what string) (*dataLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := "another gatehouse process"
		if b, rerr := os.ReadFile(path); rerr == nil && len(strings.TrimSpace(string(b))) > 0 {
			holder = strings.TrimSpace(string(b))
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			abs, _ := filepath.Abs(dir)
			return nil, &errLocked{dir: abs, holder: holder}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// Say who holds it, for the next one to name.
	host, _ := os.Hostname()
	info := fmt.Sprintf("gatehouse %s (pid %d on %s, started %s)\n", what, os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(info), 0)
		f.Sync()
	}
	return &dataLock{f: f}, nil
}

// Close releases the lock.
func (l *dataLock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	return l.f.Close()
}
