package httpapi

import (
	"net/http"
	"time"
)

// Limits of the HTTP server. Every timeout is set so that slow or idle
// clients (slowloris) cannot hold connections open.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 15 * time.Second
	WriteTimeout      = 30 * time.Second
	IdleTimeout       = 120 * time.Second
	MaxHeaderBytes    = 16 << 10
)

// Harden sets the server's timeouts and header limit.
func Harden(s *http.Server) *http.Server {
	s.ReadHeaderTimeout = ReadHeaderTimeout
	s.ReadTimeout = ReadTimeout
	s.WriteTimeout = WriteTimeout
	s.IdleTimeout = IdleTimeout
	s.MaxHeaderBytes = MaxHeaderBytes
	return s
}
