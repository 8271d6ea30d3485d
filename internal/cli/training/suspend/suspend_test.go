package suspend_test

import (
	"context"
	"os"
	"testing"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/clitest"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/training/suspend"
	"github.com/odh-training/odh-training/internal/engine/local"
	"github.com/odh-training/odh-training/internal/job"
)

func TestMain(m *testing.M) {
	local.MaybeRankExec()
	os.Exit(m.Run())
}

func exec(env *clitest.Env, runF func(*suspend.Options) error, args ...string) error {
	cmd := suspend.NewCmdSuspend(env.F, runF)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(args)
	return cmd.ExecuteContext(context.Background())
}

func TestFlags(t *testing.T) {
	env := clitest.New(t, false)
	var got *suspend.Options
	capture := func(o *suspend.Options) error { got = o; return nil }
	if err := exec(env, capture, "mpijob", "mnist", "-n", "team-a"); err != nil {
		t.Fatal(err)
	}
	if got.Name != "mnist" || got.Namespace != "team-a" {
		t.Errorf("options %+v", got)
	}
	if err := exec(env, capture, "mpijob"); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("no name: %v", err)
	}
}

// A running job (real mpirun) is stopped and kept.
func TestSuspendRunningJob(t *testing.T) {
	env := clitest.New(t, false)
	c, _ := env.F.Client()
	_, _, err := c.Create(t.Context(), apiclient.CreateRequest{Job: &job.MPIJob{Metadata: job.ObjectMeta{Name: "long"}, Spec: job.Spec{Command: []string{"sleep", "60"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := exec(env, nil, "mpijob", "long"); err != nil {
		t.Fatal(err)
	}
	if got := env.Out.String(); got != "mpijob/long suspended (Suspended)\n" {
		t.Errorf("output %q", got)
	}
	j, err := c.Get(t.Context(), job.DefaultNamespace, "long")
	if err != nil || j.Status.Phase != job.PhaseSuspended {
		t.Errorf("after suspend: %v %v", j.Status.Phase, err)
	}
	if err := exec(env, nil, "mpijob", "missing"); cmdutil.ExitCode(err) != cmdutil.ExitNotFound {
		t.Errorf("missing job: %v", err)
	}
}
