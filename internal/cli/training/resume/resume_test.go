package resume_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/clitest"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/training/resume"
	"github.com/odh-training/odh-training/internal/engine/local"
	"github.com/odh-training/odh-training/internal/job"
)

func TestMain(m *testing.M) {
	local.MaybeRankExec()
	os.Exit(m.Run())
}

func exec(env *clitest.Env, runF func(*resume.Options) error, args ...string) error {
	cmd := resume.NewCmdResume(env.F, runF)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(args)
	return cmd.ExecuteContext(context.Background())
}

func TestFlags(t *testing.T) {
	env := clitest.New(t, false)
	var got *resume.Options
	capture := func(o *resume.Options) error { got = o; return nil }
	if err := exec(env, capture, "mj", "mnist", "--namespace", "team-a"); err != nil {
		t.Fatal(err)
	}
	if got.Name != "mnist" || got.Namespace != "team-a" {
		t.Errorf("options %+v", got)
	}
	if err := exec(env, capture, "mpijob", "a", "b"); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("two names: %v", err)
	}
}

// A job created suspended starts when resumed (real mpirun) and succeeds.
func TestResumeSuspendedJob(t *testing.T) {
	env := clitest.New(t, false)
	c, _ := env.F.Client()
	_, _, err := c.Create(t.Context(), apiclient.CreateRequest{Job: &job.MPIJob{Metadata: job.ObjectMeta{Name: "held"}, Spec: job.Spec{Command: []string{"true"}, RunPolicy: job.RunPolicy{Suspend: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := exec(env, nil, "mpijob", "held"); err != nil {
		t.Fatal(err)
	}
	if got := env.Out.String(); !strings.HasPrefix(got, "mpijob/held resumed (") || strings.Contains(got, "Suspended") {
		t.Errorf("output %q", got)
	}
	err = c.Watch(t.Context(), apiclient.WatchOptions{Namespace: job.DefaultNamespace, Name: "held"}, func(_ job.WatchEventType, j *job.MPIJob) error {
		if j != nil && j.Status.Phase.Terminal() {
			if j.Status.Phase != job.PhaseSucceeded {
				t.Errorf("resumed job ended %s: %s", j.Status.Phase, j.Status.Message)
			}
			return errStop
		}
		return nil
	})
	if err != errStop {
		t.Fatal(err)
	}
	// Resuming a job that is not suspended is a conflict.
	if err := exec(env, nil, "mpijob", "held"); cmdutil.ExitCode(err) != cmdutil.ExitConflict {
		t.Errorf("resume a finished job: %v", err)
	}
}

var errStop = stopErr{}

type stopErr struct{}

func (stopErr) Error() string { return "stop" }
