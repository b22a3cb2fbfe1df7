// Package jwks fetches the JSON Web Key Sets that customers register to
// verify the access tokens their backends sign. Fetches are bounded (3 s,
// 256 KiB), cached, refreshed at most once per interval per URL when a
// token names an unknown key, and refused for private, loopback and
// link-local addresses (checked at registration and again on every
// connection, redirects included) unless the operator allows them.
package jwks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"syscall"
	"time"

	"github.com/gatehouse-auth/gatehouse/token"
)

// Options configures a Fetcher.
type Options struct {
	// AllowPrivate permits http:// URLs and private, loopback and
	// link-local addresses (for development and tests only).
	AllowPrivate bool
	// Timeout bounds one fetch (3 s when zero).
	Timeout time.Duration
	// MaxBytes bounds a JWKS document (256 KiB when zero).
	MaxBytes int64
	// MinRefresh is the least time between two fetches of one URL
	// (30 s when zero).
	MinRefresh time.Duration
	// MaxStale is how long cached keys keep working while the URL fails
	// (24 h when zero).
	MaxStale time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Fetcher fetches and caches JWKS documents.
type Fetcher struct {
	opts   Options
	client *http.Client

	mu    sync.Mutex
	cache map[string]*entry
}

type entry struct {
	mu        sync.Mutex // one fetch at a time per URL
	keys      []token.CustomerKey
	fetchedAt time.Time
	tried     time.Time
	err       error
}

// ErrForbiddenAddress refuses URLs that reach private networks.
var ErrForbiddenAddress = errors.New("JWKS URL resolves to a private, loopback or link-local address")

// New returns a Fetcher.
func New(opts Options) *Fetcher {
	if opts.Timeout <= 0 {
		opts.Timeout = 3 * time.Second
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 256 << 10
	}
	if opts.MinRefresh <= 0 {
		opts.MinRefresh = 30 * time.Second
	}
	if opts.MaxStale <= 0 {
		opts.MaxStale = 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	f := &Fetcher{opts: opts, cache: map[string]*entry{}}
	dialer := &net.Dialer{Timeout: opts.Timeout, Control: f.control}
	f.client = &http.Client{
		Timeout: opts.Timeout,
		Transport: &http.Transport{
			DialContext:           dialer.DialContext,
			Proxy:                 nil, // a proxy would hide the real address from the check
			TLSHandshakeTimeout:   opts.Timeout,
			ResponseHeaderTimeout: opts.Timeout,
			MaxIdleConns:          16,
			IdleConnTimeout:       time.Minute,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			return f.checkScheme(req.URL)
		},
	}
	return f
}

// control runs on every connection after name resolution: the address
// actually dialled is checked, so DNS tricks and redirects cannot reach a
// private address.
func (f *Fetcher) control(network, address string, _ syscall.RawConn) error {
	if f.opts.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return err
	}
	if forbidden(ap.Addr()) {
		return ErrForbiddenAddress
	}
	return nil
}

func forbidden(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsUnspecified() || a.IsMulticast() || a.IsInterfaceLocalMulticast() ||
		netip.MustParsePrefix("100.64.0.0/10").Contains(a) // carrier-grade NAT
}

func (f *Fetcher) checkScheme(u *url.URL) error {
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && f.opts.AllowPrivate:
	default:
		return fmt.Errorf("JWKS URL must be https, not %q", u.Scheme)
	}
	if u.Host == "" || u.User != nil {
		return errors.New("JWKS URL needs a host and no credentials")
	}
	return nil
}

// CheckURL validates a URL at registration: scheme, and every address its
// host resolves to.
func (f *Fetcher) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("bad JWKS URL: %w", err)
	}
	if err := f.checkScheme(u); err != nil {
		return err
	}
	if f.opts.AllowPrivate {
		return nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", u.Hostname())
	if err != nil {
		return fmt.Errorf("cannot resolve %s: %w", u.Hostname(), err)
	}
	for _, a := range addrs {
		if forbidden(a) {
			return ErrForbiddenAddress
		}
	}
	return nil
}

// Keys returns the keys of the JWKS at url, fetching it when there is no
// cached copy, or when refresh is asked (a token named an unknown kid) and
// the last fetch is older than MinRefresh. When a fetch fails, cached keys
// keep working up to MaxStale.
func (f *Fetcher) Keys(ctx context.Context, keyID, rawURL string, refresh bool) ([]token.CustomerKey, error) {
	f.mu.Lock()
	e := f.cache[rawURL]
	if e == nil {
		e = &entry{}
		f.cache[rawURL] = e
	}
	f.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	now := f.opts.Now()
	var due bool
	switch {
	case e.fetchedAt.IsZero():
		// Never fetched: try, but a failing URL at most every MinRefresh/10.
		due = e.tried.IsZero() || now.Sub(e.tried) >= f.opts.MinRefresh/10
	case refresh, now.Sub(e.fetchedAt) >= time.Hour:
		// An unknown kid, or keys an hour old: refetch, rate-limited, so
		// that tokens with random kids cannot hammer the customer's IdP.
		due = now.Sub(e.tried) >= f.opts.MinRefresh
	}
	if due {
		e.tried = now
		keys, err := f.fetch(ctx, keyID, rawURL)
		if err == nil {
			e.keys, e.fetchedAt, e.err = keys, now, nil
		} else {
			e.err = err
		}
	}
	if e.fetchedAt.IsZero() || now.Sub(e.fetchedAt) > f.opts.MaxStale {
		if e.err != nil {
			return nil, e.err
		}
		return nil, errors.New("JWKS not fetched yet")
	}
	return e.keys, nil
}

func (f *Fetcher) fetch(ctx context.Context, keyID, rawURL string) ([]token.CustomerKey, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if err := f.checkScheme(u); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch JWKS: HTTP %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, f.opts.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	if int64(len(b)) > f.opts.MaxBytes {
		return nil, fmt.Errorf("JWKS document larger than %d bytes", f.opts.MaxBytes)
	}
	keys, err := token.KeysFromJWKS(keyID, b)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, errors.New("JWKS holds no usable signature key")
	}
	return keys, nil
}
