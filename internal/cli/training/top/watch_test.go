package top_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/clitest"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/training/top"
	"github.com/odh-training/odh-training/internal/job"
)

func TestWatchFlags(t *testing.T) {
	env := clitest.New(t, false)
	var got *top.Options
	run := func(args ...string) error {
		cmd := top.NewCmdTop(env.F, func(o *top.Options) error { got = o; return nil })
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		cmd.SetArgs(args)
		return cmd.ExecuteContext(context.Background())
	}
	if err := run("mpijob", "x", "-w"); err != nil || !got.Watch || got.Interval != top.DefaultInterval {
		t.Errorf("-w: %v %+v", err, got)
	}
	if err := run("mpijob", "x", "--watch", "--interval", "5s"); err != nil || got.Interval != 5*time.Second {
		t.Errorf("--interval 5s: %v %+v", err, got)
	}
	for _, bad := range [][]string{{"--interval", "5s"}, {"-w", "--interval", "0s"}, {"-w", "--interval", "-1s"}, {"-w", "--interval", "10ms"}, {"-w", "--interval", "soon"}} {
		if err := run(append([]string{"mpijob", "x"}, bad...)...); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

// --watch refreshes every interval, goes on through a cut connection and
// a job without samples, ends on Ctrl-C or when the job is deleted, and
// gives up when the server stays away longer than --reconnect-timeout.
func TestWatch(t *testing.T) {
	env := clitest.New(t, false)
	proxy := env.NewProxy(t, 0)
	env.F.Overrides.ReconnectTimeout = 1500 * time.Millisecond
	c := proxy.Direct()
	for name, suspend := range map[string]bool{"busy": false, "held": true} {
		_, _, err := c.Create(t.Context(), apiclient.CreateRequest{Job: &job.MPIJob{
			Metadata: job.ObjectMeta{Name: name},
			Spec:     job.Spec{Command: []string{"bash", "-c", "while [ $SECONDS -lt 20 ]; do sleep 0.1; done"}, RunPolicy: job.RunPolicy{Suspend: suspend}},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	out, errOut := &clitest.SyncBuffer{}, &clitest.SyncBuffer{}
	env.F.IOStreams.Out, env.F.IOStreams.ErrOut = out, errOut
	start := func(ctx context.Context, args ...string) chan error {
		done := make(chan error, 1)
		go func() {
			cmd := top.NewCmdTop(env.F, nil)
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			cmd.SetArgs(args)
			done <- cmd.ExecuteContext(ctx)
		}()
		return done
	}

	// A job without samples is said once on stderr; watching goes on.
	ctx, cancel := context.WithCancel(t.Context())
	done := start(ctx, "mpijob", "held", "-w", "--interval", "1s")
	clitest.WaitFor(t, errOut, "not available yet for mpijob/held; watching…", 1)
	time.Sleep(2500 * time.Millisecond)
	if n := strings.Count(errOut.String(), "not available yet"); n != 1 || out.String() != "" {
		t.Errorf("said %d times; stdout %q\nstderr: %s", n, out, errOut)
	}
	// Deleting the job ends the watch.
	if _, err := c.Delete(t.Context(), "default", "held", true, false); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil || !strings.Contains(errOut.String(), "mpijob/held was deleted") {
			t.Errorf("job deleted: %v\nstderr: %s", err, errOut)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("top -w kept going after the job was deleted")
	}
	cancel()

	// Tables one after another, through a cut connection.
	done = start(t.Context(), "mpijob", "busy", "-w", "--interval", "1s")
	clitest.WaitFor(t, out, "REPLICA", 2)
	proxy.Cut()
	clitest.WaitFor(t, out, "REPLICA", 4)
	if !strings.Contains(out.String(), "\n\nREPLICA") {
		t.Errorf("tables not separated:\n%s", out)
	}

	// The server goes away for longer than the reconnect timeout.
	proxy.Down()
	select {
	case err := <-done:
		if cmdutil.ExitCode(err) != cmdutil.ExitUnavailable || !strings.Contains(err.Error(), "could not reach the Training Service") {
			t.Errorf("server away: exit %d: %v", cmdutil.ExitCode(err), err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("top -w kept going with the server away past --reconnect-timeout")
	}
	if !strings.Contains(errOut.String(), "lost the connection to the server") {
		t.Errorf("stderr: %s", errOut)
	}

	// Back within the timeout: it says so and goes on.
	proxy.Up()
	out2 := &clitest.SyncBuffer{}
	env.F.IOStreams.Out = out2
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	done = start(ctx, "mpijob", "busy", "-w", "--interval", "1s", "-o", "jsonpath={.available}")
	clitest.WaitFor(t, out2, "true\n", 1)
	proxy.Down()
	time.Sleep(1200 * time.Millisecond)
	proxy.Up()
	clitest.WaitFor(t, errOut, "reconnected after", 1)
	n := strings.Count(out2.String(), "true\n")
	clitest.WaitFor(t, out2, "true\n", n+1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Ctrl-C: %v", err)
	}
}
