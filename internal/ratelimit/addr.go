package ratelimit

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the reverse proxies whose X-Forwarded-For the server trusts.
// With none (the default), a request's client address is its TCP peer, so
// a client cannot choose its own key by sending the header (SECURITY.md
// case 73).
type Proxies []netip.Prefix

// ParseProxies reads a comma-separated list of addresses and CIDR
// prefixes ("10.0.0.0/8, 127.0.0.1").
func ParseProxies(s string) (Proxies, error) {
	var ps Proxies
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			ps = append(ps, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is neither an address nor a CIDR prefix", f)
		}
		a = a.Unmap()
		ps = append(ps, netip.PrefixFrom(a, a.BitLen()))
	}
	return ps, nil
}

func (ps Proxies) trusts(a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr returns the key of the request's client: its TCP peer or,
// when the peer is a trusted proxy, the nearest X-Forwarded-For entry that
// is not one (read right to left, since a client can prepend anything).
// IPv6 addresses are reduced to their /64, the block one subscriber
// usually holds, so that rotating through it does not buy fresh budgets.
func (ps Proxies) ClientAddr(r *http.Request) string {
	peer := parseHost(r.RemoteAddr)
	if !peer.IsValid() {
		return r.RemoteAddr
	}
	a := peer
	if len(ps) > 0 && ps.trusts(a) {
		fields := forwarded(r.Header.Values("X-Forwarded-For"))
		for i := len(fields) - 1; i >= 0; i-- {
			x := parseHost(fields[i])
			if !x.IsValid() {
				break
			}
			a = x
			if !ps.trusts(x) {
				break
			}
		}
	}
	return key(a)
}

func forwarded(values []string) []string {
	var out []string
	for _, v := range values {
		for _, f := range strings.Split(v, ",") {
			out = append(out, strings.TrimSpace(f))
		}
	}
	return out
}

func parseHost(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func key(a netip.Addr) string {
	if a.Is4() {
		return a.String()
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.String()
}

// FromProxy reports whether the request's TCP peer is a trusted proxy, so
// that its forwarding headers (X-Forwarded-Proto) may be believed.
func (ps Proxies) FromProxy(r *http.Request) bool {
	peer := parseHost(r.RemoteAddr)
	return peer.IsValid() && ps.trusts(peer)
}
