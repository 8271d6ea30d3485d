package notify_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/clitest"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/training/notify"
	"github.com/odh-training/odh-training/internal/engine/local"
	"github.com/odh-training/odh-training/internal/job"
	notifypkg "github.com/odh-training/odh-training/internal/notify"
	"github.com/odh-training/odh-training/internal/server/servertest"
)

func TestMain(m *testing.M) {
	local.MaybeRankExec()
	os.Exit(m.Run())
}

func run(cmd *cobra.Command, args ...string) error {
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(args)
	return cmd.ExecuteContext(context.Background())
}

func TestFlags(t *testing.T) {
	env := clitest.New(t, false)
	var c *notify.CreateOptions
	err := run(notify.NewCmdCreate(env.F, func(o *notify.CreateOptions) error { c = o; return nil }),
		"ops", "--url", "https://hooks.example.com/x", "--events", "failed,succeeded", "-l", "team=nlp", "--job", "train", "--format", "slack", "-n", "team-a")
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "ops" || c.URL != "https://hooks.example.com/x" || strings.Join(c.Events, ",") != "failed,succeeded" || c.LabelSelector != "team=nlp" ||
		c.Job != "train" || c.Format != "slack" || c.Namespace != "team-a" {
		t.Errorf("create options %+v", c)
	}
	if err := run(notify.NewCmdCreate(env.F, func(*notify.CreateOptions) error { return nil }), "ops"); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("no --url: %v", err)
	}
	var l *notify.ListOptions
	if err := run(notify.NewCmdList(env.F, func(o *notify.ListOptions) error { l = o; return nil }), "-n", "team-a", "-o", "json"); err != nil || l.Namespace != "team-a" || l.Output != "json" {
		t.Errorf("list: %+v %v", l, err)
	}
	if err := run(notify.NewCmdList(env.F, func(*notify.ListOptions) error { return nil }), "-o", "yaml"); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("list -o yaml: %v", err)
	}
	var d *notify.DeleteOptions
	if err := run(notify.NewCmdDelete(env.F, func(o *notify.DeleteOptions) error { d = o; return nil }), "ops", "-n", "team-a"); err != nil || d.Name != "ops" {
		t.Errorf("delete: %+v %v", d, err)
	}
	var h *notify.HistoryOptions
	if err := run(notify.NewCmdHistory(env.F, func(o *notify.HistoryOptions) error { h = o; return nil }), "ops"); err != nil || h.Name != "ops" || h.Namespace != "team-a" {
		t.Errorf("history: %+v %v", h, err)
	}
	if err := run(notify.NewCmdHistory(env.F, func(*notify.HistoryOptions) error { return nil })); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("history without a name: %v", err)
	}
}

// create → a real job's transition is delivered → list → history → delete,
// against a real server and receiver.
func TestNotifyCommands(t *testing.T) {
	var mu sync.Mutex
	var secretSeen []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		secretSeen = append(secretSeen, r.Header.Get(notifypkg.SignatureHeader)+" "+string(body))
		mu.Unlock()
	}))
	defer rcv.Close()
	env := clitest.New(t, false, servertest.WithNotifications(t, true, notifypkg.DispatcherOptions{}, nil))

	if err := run(notify.NewCmdCreate(env.F, nil), "ops", "--url", rcv.URL, "--events", "created"); err != nil {
		t.Fatal(err)
	}
	out := env.Out.String()
	m := regexp.MustCompile(`secret: ([0-9a-f]{64})\n`).FindStringSubmatch(out)
	if !strings.HasPrefix(out, "notificationsubscription/ops created in default (created)\n") || m == nil {
		t.Fatalf("create output %q", out)
	}
	secret := m[1]
	if !strings.Contains(env.ErrOut.String(), "will not be shown again") {
		t.Errorf("stderr %q", env.ErrOut.String())
	}

	c, _ := env.F.Client()
	if _, _, err := c.Create(t.Context(), apiclient.CreateRequest{Job: &job.MPIJob{Metadata: job.ObjectMeta{Name: "held"}, Spec: job.Spec{Command: []string{"true"}, RunPolicy: job.RunPolicy{Suspend: true}}}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(secretSeen)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no delivery")
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	sig, body, _ := strings.Cut(secretSeen[0], " ")
	mu.Unlock()
	if !notifypkg.Verify(secret, []byte(body), sig) {
		t.Error("the delivery is not signed with the secret the CLI printed")
	}

	env.Out.Reset()
	if err := run(notify.NewCmdList(env.F, nil)); err != nil {
		t.Fatal(err)
	}
	if out := env.Out.String(); !strings.Contains(out, "NAME") || !regexp.MustCompile(`ops\s+http://127\.0\.0\.1:\d+\s+created\s+<none>\s+cloudevents\s+yes`).MatchString(out) || strings.Contains(out, secret) {
		t.Errorf("list output %q", out)
	}
	// The receiver has the request before the notifier has its answer:
	// the history shows the delivery a moment later.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		env.Out.Reset()
		if err := run(notify.NewCmdHistory(env.F, nil), "ops"); err != nil {
			t.Fatal(err)
		}
		if out = env.Out.String(); strings.HasPrefix(out, "Delivered: 1 ") || time.Now().After(deadline) {
			break
		}
	}
	if !strings.HasPrefix(out, "Delivered: 1 ") || !regexp.MustCompile(`created\s+held\s+1\s+200\s+delivered`).MatchString(out) {
		t.Errorf("history output %q", out)
	}

	// Refusals keep their exit codes, and nothing is created.
	if err := run(notify.NewCmdCreate(env.F, nil), "bad", "--url", "file:///etc/passwd"); cmdutil.ExitCode(err) != cmdutil.ExitInvalid {
		t.Errorf("file URL: %v", err)
	}
	short := filepath.Join(t.TempDir(), "secret")
	_ = os.WriteFile(short, []byte("short\n"), 0o600)
	if err := run(notify.NewCmdCreate(env.F, nil), "bad", "--url", "https://hooks.example.com/", "--secret-file", short); cmdutil.ExitCode(err) != cmdutil.ExitInvalid || !strings.Contains(err.Error(), "secret") {
		t.Errorf("short secret: %v", err)
	}
	if subs, _ := c.ListNotifications(t.Context(), job.DefaultNamespace); len(subs) != 1 {
		t.Errorf("refused subscriptions were created: %v", subs)
	}

	env.Out.Reset()
	if err := run(notify.NewCmdDelete(env.F, nil), "ops"); err != nil || env.Out.String() != "notificationsubscription/ops deleted\n" {
		t.Errorf("delete: %q %v", env.Out.String(), err)
	}
	if err := run(notify.NewCmdDelete(env.F, nil), "ops"); cmdutil.ExitCode(err) != cmdutil.ExitNotFound {
		t.Errorf("delete again: %v", err)
	}
}
