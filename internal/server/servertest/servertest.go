// Package servertest starts a real Training Service for tests: the local
// engine (real mpirun) behind the real server on a loopback port. Test
// binaries using it must call local.MaybeRankExec() in TestMain.
package servertest

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/engine/kube"
	"github.com/odh-training/odh-training/internal/engine/local"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/server"
	"github.com/odh-training/odh-training/internal/service"
	"github.com/odh-training/odh-training/internal/templates"
)

// Token is the bearer token test servers accept.
const Token = "test-token"

// User is the name test servers give the caller.
const User = "tester"

// Server is a running test server.
type Server struct {
	URL  string // http://127.0.0.1:PORT
	Addr string // 127.0.0.1:PORT
}

// Start runs a server until the test ends. Options can adjust the server's
// options (audit sink, rate limit) before it starts.
func Start(t testing.TB, options ...func(*server.Options)) *Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	eng, err := local.New(local.Options{StateDir: dir + "/engine", Slots: 8, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := templates.NewStore(dir + "/templates")
	if err != nil {
		t.Fatal(err)
	}
	opts := server.Options{Options: service.Options{Engine: eng, Templates: tpl, Auth: auth.StaticToken{Token: Token, User: auth.User{Name: User}},
		// As odh-server wires the local engine: dry runs show the upstream
		// MPIJob the kubernetes engine would submit.
		Manifest: func(j *job.MPIJob) ([]byte, error) { return kube.Manifest(j, kube.TranslateOptions{}) }}}
	for _, o := range options {
		o(&opts)
	}
	srv, err := server.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ctx, lis)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
		cctx, ccancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer ccancel()
		_ = eng.Close(cctx)
	})
	return &Server{URL: "http://" + lis.Addr().String(), Addr: lis.Addr().String()}
}
