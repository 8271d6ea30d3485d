package notify

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// Guard decides which addresses webhooks may reach. By default it refuses
// loopback, link-local (which holds cloud metadata services), unspecified
// and multicast addresses and well-known metadata host names, at
// subscription time for literal addresses and again at every connection
// (so a name that later resolves to such an address, or a redirect, gains
// nothing). An admin may allow loopback and link-local destinations
// (odh-server --notify-allow-private-destinations) for receivers on the
// server's own machine.
type Guard struct {
	AllowLoopback bool
}

var metadataHosts = []string{"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"}

// metadataAddrs are cloud metadata endpoints outside link-local ranges.
var metadataAddrs = []netip.Addr{netip.MustParseAddr("fd00:ec2::254"), netip.MustParseAddr("100.100.100.200")}

// CheckHost refuses a host name or literal address the guard forbids. Names
// are checked again when a delivery connects.
func (g *Guard) CheckHost(host string) error {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	for _, m := range metadataHosts {
		if h == m {
			return fmt.Errorf("host %q is a cloud metadata service: webhooks may not reach it", host)
		}
	}
	if a, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return g.CheckAddr(a)
	}
	if !g.AllowLoopback && (h == "localhost" || strings.HasSuffix(h, ".localhost")) {
		return fmt.Errorf("host %q is this server's own machine: webhooks may not reach loopback addresses unless the admin allows it (odh-server --notify-allow-private-destinations)", host)
	}
	return nil
}

// CheckAddr refuses an address the guard forbids.
func (g *Guard) CheckAddr(a netip.Addr) error {
	a = a.Unmap()
	for _, m := range metadataAddrs {
		if a == m {
			return fmt.Errorf("address %s is a cloud metadata service: webhooks may not reach it", a)
		}
	}
	if a == netip.MustParseAddr("169.254.169.254") {
		return fmt.Errorf("address %s is a cloud metadata service: webhooks may not reach it", a)
	}
	if g.AllowLoopback {
		return nil
	}
	switch {
	case a.IsLoopback():
		return fmt.Errorf("address %s is a loopback address: webhooks may not reach this server's own machine unless the admin allows it (odh-server --notify-allow-private-destinations)", a)
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return fmt.Errorf("address %s is link-local (where cloud metadata services live): webhooks may not reach it unless the admin allows it (odh-server --notify-allow-private-destinations)", a)
	case a.IsUnspecified(), a.IsMulticast(), a.IsInterfaceLocalMulticast():
		return fmt.Errorf("address %s cannot receive webhooks", a)
	}
	return nil
}

// control runs before every connection a delivery makes, on the address
// actually dialed.
func (g *Guard) control(_ context.Context, network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook destination %q: %w", address, err)
	}
	if err := g.CheckAddr(ap.Addr()); err != nil {
		return fmt.Errorf("refused to connect: %w", err)
	}
	_ = network
	return nil
}

// dialer returns a dialer that enforces the guard.
func (g *Guard) dialer() *net.Dialer {
	return &net.Dialer{ControlContext: g.control}
}
