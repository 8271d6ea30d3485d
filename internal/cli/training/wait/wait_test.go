package wait_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/clitest"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/training/wait"
	"github.com/odh-training/odh-training/internal/engine/local"
	"github.com/odh-training/odh-training/internal/job"
)

func TestMain(m *testing.M) {
	local.MaybeRankExec()
	os.Exit(m.Run())
}

func exec(env *clitest.Env, runF func(*wait.Options) error, args ...string) error {
	cmd := wait.NewCmdWait(env.F, runF)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(args)
	return cmd.ExecuteContext(context.Background())
}

func TestFlags(t *testing.T) {
	env := clitest.New(t, false)
	var got *wait.Options
	capture := func(o *wait.Options) error { got = o; return nil }
	for _, c := range []struct {
		args []string
		want job.Phase
	}{
		{[]string{"mpijob", "m"}, job.PhaseSucceeded},
		{[]string{"mpijob", "m", "--for=condition=running"}, job.PhaseRunning},
		{[]string{"mpijob", "m", "--for", "jsonpath={.status.phase}=Failed"}, job.PhaseFailed},
	} {
		if err := exec(env, capture, c.args...); err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if got.For != c.want || got.Name != "m" {
			t.Errorf("%v: options %+v", c.args, got)
		}
	}
	if err := exec(env, capture, "mpijob", "m", "--timeout", "90s", "-n", "team-a"); err != nil || got.Timeout != 90*time.Second || got.Namespace != "team-a" {
		t.Errorf("timeout and namespace: %v %+v", err, got)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"mpijob", "m", "--for=Succeeded"}, "--for must be condition=PHASE"},
		{[]string{"mpijob", "m", "--for=condition=Done"}, `unknown condition "Done"`},
		{[]string{"mpijob"}, "accepts 1 arg"},
	} {
		err := exec(env, capture, c.args...)
		if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want a usage error with %q", c.args, err, c.want)
		}
	}
}

// Real jobs: a condition met, a job that ends otherwise (exit code 10 with
// the reason), and a timeout (exit code 9).
func TestWaitForRealJobs(t *testing.T) {
	env := clitest.New(t, false)
	c, _ := env.F.Client()
	create := func(name string, suspend bool, command ...string) {
		t.Helper()
		_, _, err := c.Create(t.Context(), apiclient.CreateRequest{Job: &job.MPIJob{Metadata: job.ObjectMeta{Name: name}, Spec: job.Spec{Command: command, RunPolicy: job.RunPolicy{Suspend: suspend}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	create("ok", false, "true")
	create("bad", false, "sh", "-c", "exit 3")
	create("held", true, "true")

	if err := exec(env, nil, "mpijob", "ok", "--for=condition=Succeeded", "--timeout=2m"); err != nil {
		t.Fatal(err)
	}
	if got := env.Out.String(); got != "mpijob/ok condition met: Succeeded\n" {
		t.Errorf("output %q", got)
	}
	err := exec(env, nil, "mpijob", "bad", "--timeout=2m")
	if cmdutil.ExitCode(err) != cmdutil.ExitJobFailed || !strings.Contains(err.Error(), "mpijob/bad ended Failed") {
		t.Errorf("failed job: %v", err)
	}
	err = exec(env, nil, "mpijob", "held", "--for=condition=Running", "--timeout=1s")
	if cmdutil.ExitCode(err) != cmdutil.ExitTimeout || !strings.Contains(err.Error(), "timed out after 1s waiting for mpijob/held to be Running") {
		t.Errorf("timeout: %v", err)
	}
	if err := exec(env, nil, "mpijob", "held", "--for=condition=Suspended"); err != nil {
		t.Errorf("a condition already met: %v", err)
	}
}
