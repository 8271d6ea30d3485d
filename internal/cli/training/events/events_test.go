package events_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/clitest"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/training/events"
	"github.com/odh-training/odh-training/internal/engine/local"
	"github.com/odh-training/odh-training/internal/job"
)

func TestMain(m *testing.M) {
	local.MaybeRankExec()
	os.Exit(m.Run())
}

func exec(env *clitest.Env, runF func(*events.Options) error, args ...string) error {
	cmd := events.NewCmdEvents(env.F, runF)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(args)
	return cmd.ExecuteContext(context.Background())
}

func TestFlags(t *testing.T) {
	env := clitest.New(t, false)
	var got *events.Options
	capture := func(o *events.Options) error { got = o; return nil }
	if err := exec(env, capture, "mpijob", "mnist", "-n", "team-a"); err != nil {
		t.Fatal(err)
	}
	if got.Name != "mnist" || got.Namespace != "team-a" || got.Watch {
		t.Errorf("options %+v", got)
	}
	if err := exec(clitest.New(t, false), capture, "mj", "x", "--watch"); err != nil || got.Name != "x" || got.Namespace != job.DefaultNamespace || !got.Watch || got.Resync != events.DefaultResync {
		t.Errorf("alias and default namespace: %v %+v", err, got)
	}
	for _, bad := range [][]string{{"mpijob"}, {"mpijob", "a", "b"}} {
		if err := exec(env, capture, bad...); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

func TestEventsOfAJob(t *testing.T) {
	env := clitest.New(t, false)
	c, _ := env.F.Client()
	_, _, err := c.Create(t.Context(), apiclient.CreateRequest{Job: &job.MPIJob{Metadata: job.ObjectMeta{Name: "held"}, Spec: job.Spec{Command: []string{"true"}, RunPolicy: job.RunPolicy{Suspend: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := exec(env, nil, "mpijob", "held"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(env.Out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "LAST SEEN") || !strings.Contains(lines[1], job.ReasonCreated) || !strings.Contains(lines[2], "created suspended; resume it to start") {
		t.Errorf("events table:\n%s", env.Out)
	}
	for _, w := range []string{"-w=false", "-w"} {
		err = exec(env, nil, "mpijob", "missing", w)
		if cmdutil.ExitCode(err) != cmdutil.ExitNotFound {
			t.Errorf("missing job %s: %v", w, err)
		}
	}
}

// --watch prints each event once as it happens, through dropped streams
// and an outage of the server, and ends when the job is deleted.
func TestWatch(t *testing.T) {
	env := clitest.New(t, false)
	proxy := env.NewProxy(t, 30*time.Second)
	direct := proxy.Direct()
	if _, _, err := direct.Create(t.Context(), apiclient.CreateRequest{Job: &job.MPIJob{Metadata: job.ObjectMeta{Name: "held"}, Spec: job.Spec{Command: []string{"true"}, RunPolicy: job.RunPolicy{Suspend: true}}}}); err != nil {
		t.Fatal(err)
	}
	out, errOut := &clitest.SyncBuffer{}, &clitest.SyncBuffer{}
	env.F.IOStreams.Out, env.F.IOStreams.ErrOut = out, errOut
	done := make(chan error, 1)
	go func() { done <- exec(env, nil, "mpijob", "held", "-w") }()
	clitest.WaitFor(t, out, job.ReasonCreated, 1)

	// A proxy cuts the stream, then the job runs to its end.
	proxy.Cut()
	if _, err := direct.Resume(t.Context(), "default", "held"); err != nil {
		t.Fatal(err)
	}
	clitest.WaitFor(t, out, job.ReasonSucceeded, 1)

	// The server goes away; the job is deleted meanwhile; once back, the
	// resumed watch finds the job gone and the command ends.
	proxy.Down()
	if _, err := direct.Delete(t.Context(), "default", "held", true, false); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	proxy.Up()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("events -w: %v\nstderr: %s", err, errOut)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("events -w did not end after the job was deleted:\n%s\nstderr: %s", out, errOut)
	}
	if !strings.Contains(errOut.String(), "mpijob/held was deleted") {
		t.Errorf("stderr: %s", errOut)
	}
	// Each event once, the header once.
	for _, r := range []string{"LAST SEEN", job.ReasonCreated, job.ReasonResumed, job.ReasonStarted, job.ReasonSucceeded} {
		if n := strings.Count(out.String(), r); n != 1 {
			t.Errorf("%q printed %d times:\n%s", r, n, out)
		}
	}
}

// Ctrl-C ends --watch (exit 130 in the real process); a server that stays
// away longer than --reconnect-timeout ends it as unavailable (exit 8).
func TestWatchEnds(t *testing.T) {
	env := clitest.New(t, false)
	proxy := env.NewProxy(t, 500*time.Millisecond)
	c := proxy.Direct()
	if _, _, err := c.Create(t.Context(), apiclient.CreateRequest{Job: &job.MPIJob{Metadata: job.ObjectMeta{Name: "held"}, Spec: job.Spec{Command: []string{"true"}, RunPolicy: job.RunPolicy{Suspend: true}}}}); err != nil {
		t.Fatal(err)
	}
	out := &clitest.SyncBuffer{}
	env.F.IOStreams.Out = out
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		cmd := events.NewCmdEvents(env.F, nil)
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		cmd.SetArgs([]string{"mpijob", "held", "-w"})
		done <- cmd.ExecuteContext(ctx)
	}()
	clitest.WaitFor(t, out, job.ReasonCreated, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("after Ctrl-C: %v", err)
	}

	go func() { done <- exec(env, nil, "mpijob", "held", "-w") }()
	time.Sleep(300 * time.Millisecond)
	proxy.Down()
	select {
	case err := <-done:
		if cmdutil.ExitCode(err) != cmdutil.ExitUnavailable || !strings.Contains(err.Error(), "lost the stream") {
			t.Errorf("server away: exit %d: %v", cmdutil.ExitCode(err), err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("events -w kept going with the server away past --reconnect-timeout")
	}
}
