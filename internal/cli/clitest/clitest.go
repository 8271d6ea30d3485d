// Package clitest gives CLI tests a real in-process Training Service (local
// engine, real mpirun) and a Factory wired to it with test IO streams.
package clitest

import (
	"bytes"
	"testing"
	"time"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
	"github.com/odh-training/odh-training/internal/server"
	"github.com/odh-training/odh-training/internal/server/servertest"
)

// Env is a factory plus its captured output.
type Env struct {
	F      *cmdutil.Factory
	In     *bytes.Buffer
	Out    *bytes.Buffer
	ErrOut *bytes.Buffer
	Client *apiclient.Client
	// URL is the test server's address, once Client was called.
	URL string
}

// Now is the fixed clock CLI tests use.
var Now = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// New returns a factory whose client starts a real server on first use.
// Packages using it need local.MaybeRankExec() in their TestMain.
//
// options adjust the server (e.g. servertest.WithNotifications).
func New(t *testing.T, tty bool, options ...func(*server.Options)) *Env {
	t.Helper()
	ios, in, out, errOut := iostreams.Test()
	ios.SetTTY(tty)
	f := &cmdutil.Factory{IOStreams: ios, Now: func() time.Time { return Now }}
	env := &Env{F: f, In: in, Out: out, ErrOut: errOut}
	f.Client = func() (*apiclient.Client, error) {
		if env.Client == nil {
			env.Client, env.URL = startServer(t, options...)
		}
		return env.Client, nil
	}
	return env
}

func startServer(t *testing.T, options ...func(*server.Options)) (*apiclient.Client, string) {
	t.Helper()
	srv := servertest.Start(t, options...)
	c, err := apiclient.Dial(apiclient.Options{Server: srv.URL, Token: servertest.Token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, srv.URL
}
