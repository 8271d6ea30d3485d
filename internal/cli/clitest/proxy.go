package clitest

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/server/servertest"
)

// Proxy is a TCP relay on loopback between a CLI and its test server that
// a test can cut (every open connection closed, as a proxy's idle timeout
// or a server restart does) or take down (connections refused until Up).
type Proxy struct {
	// Server is the server's own address (http://…), for a client that
	// must not go through the relay.
	Server string

	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	lis   net.Listener
	conns map[net.Conn]bool
}

// NewProxy starts a server behind a relay and points the factory's client
// at the relay (with reconnect timeout rt: 0 for the default).
func (e *Env) NewProxy(t *testing.T, rt time.Duration) *Proxy {
	t.Helper()
	srv := servertest.Start(t)
	p := &Proxy{Server: srv.URL, t: t, target: srv.Addr, conns: map[net.Conn]bool{}}
	p.Up()
	t.Cleanup(p.Down)
	c, err := apiclient.Dial(apiclient.Options{Server: "http://" + p.addr, Token: servertest.Token})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReconnect(rt, nil)
	t.Cleanup(func() { _ = c.Close() })
	e.Client, e.URL = c, "http://"+p.addr
	e.F.Client = func() (*apiclient.Client, error) { return c, nil }
	return p
}

// Direct returns a client of the server that bypasses the relay.
func (p *Proxy) Direct() *apiclient.Client {
	p.t.Helper()
	c, err := apiclient.Dial(apiclient.Options{Server: p.Server, Token: servertest.Token})
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { _ = c.Close() })
	return c
}

// Up accepts connections (again, on the same port).
func (p *Proxy) Up() {
	p.t.Helper()
	addr := p.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var lis net.Listener
	var err error
	for range 50 { // the old port may linger a moment
		if lis, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.lis, p.addr = lis, lis.Addr().String()
	p.mu.Unlock()
	go p.serve(lis)
}

func (p *Proxy) serve(lis net.Listener) {
	for {
		in, err := lis.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns[in], p.conns[out] = true, true
		p.mu.Unlock()
		go relay(in, out)
		go relay(out, in)
	}
}

func relay(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// Cut closes every open connection; new ones are accepted.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// Down cuts every connection and refuses new ones until Up.
func (p *Proxy) Down() {
	p.mu.Lock()
	if p.lis != nil {
		p.lis.Close()
		p.lis = nil
	}
	p.mu.Unlock()
	p.Cut()
}
