package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/engine/local"
	"github.com/odh-training/odh-training/internal/service"
	"github.com/odh-training/odh-training/internal/templates"
)

func TestMain(m *testing.M) {
	local.MaybeRankExec() // the local engine re-executes this binary as its rank wrapper
	os.Exit(m.Run())
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// start runs the service alone, as the CLI's direct mode does: no port, no
// HTTP front, a real local engine behind it.
func start(t *testing.T, opts service.Options) *service.Server {
	t.Helper()
	dir := t.TempDir()
	eng, err := local.New(local.Options{StateDir: dir + "/engine", Slots: 4, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := templates.NewStore(dir + "/templates")
	if err != nil {
		t.Fatal(err)
	}
	opts.Engine, opts.Templates = eng, tpl
	s, err := service.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = eng.Close(ctx)
	})
	return s
}

const suspended = "metadata: {name: %s}\nspec: {command: [\"true\"], runPolicy: {suspend: true}}"

func manifest(name string) string { return strings.Replace(suspended, "%s", name, 1) }

// In-process calls meet the same interceptors as remote ones: no token is
// refused and audited, a good token is served, its user becomes the
// creator, and the observer sees every call.
func TestInProcessCallsGoThroughTheInterceptors(t *testing.T) {
	audit := &syncBuf{}
	var observed []string
	var mu sync.Mutex
	s := start(t, service.Options{
		Auth:  auth.StaticToken{Token: "tok", User: auth.User{Name: "alice"}},
		Audit: audit,
		UnaryObserver: func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			mu.Lock()
			observed = append(observed, info.FullMethod)
			mu.Unlock()
			return h(ctx, req)
		},
	})
	ctx := t.Context()
	c := s.Client()
	_, err := c.CreateJob(ctx, &trainingv1.CreateJobRequest{Namespace: "team-a", Manifest: manifest("nope")})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("no token: %v", err)
	}
	if _, err := c.GetJob(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer tok"), &trainingv1.GetJobRequest{Namespace: "team-a", Name: "nope"}); status.Code(err) != codes.NotFound {
		t.Fatalf("the job created without a token exists: %v", err)
	}
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer tok")
	resp, err := c.CreateJob(authed, &trainingv1.CreateJobRequest{Namespace: "team-a", Manifest: manifest("mine")})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetJob().GetMetadata().GetCreator(); got != "alice" {
		t.Errorf("creator %q, want alice", got)
	}
	if _, err := c.GetVersion(ctx, &trainingv1.GetVersionRequest{}); err != nil {
		t.Errorf("GetVersion needs no token: %v", err)
	}
	var results []string
	for _, line := range strings.Split(strings.TrimSpace(audit.String()), "\n") {
		var r service.AuditRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		results = append(results, r.User+" "+r.Verb+" "+r.Result+" "+r.Reason)
	}
	if len(results) != 2 || results[0] != " create Denied Unauthenticated" || results[1] != "alice create OK " {
		t.Errorf("audit records: %q", results)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(observed) != 4 || observed[0] != "/odh.training.v1.TrainingService/CreateJob" {
		t.Errorf("observer saw %q", observed)
	}
}

// Direct mode's Anonymous authenticator serves calls without a token, as
// the kubeconfig's user.
func TestAnonymousNeedsNoToken(t *testing.T) {
	s := start(t, service.Options{Auth: auth.Anonymous{User: auth.User{Name: "kube:admin"}}})
	resp, err := s.Client().CreateJob(t.Context(), &trainingv1.CreateJobRequest{Namespace: "default", Manifest: manifest("anon"), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetJob().GetMetadata().GetCreator(); got != "kube:admin" {
		t.Errorf("creator %q", got)
	}
}

func TestRequiredOptions(t *testing.T) {
	if _, err := service.New(service.Options{}); err == nil || !strings.Contains(err.Error(), "required") {
		t.Errorf("empty options: %v", err)
	}
}
