package logs_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/clitest"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/jobwait"
	"github.com/odh-training/odh-training/internal/cli/training/logs"
	"github.com/odh-training/odh-training/internal/engine/local"
	"github.com/odh-training/odh-training/internal/job"
)

func TestMain(m *testing.M) {
	local.MaybeRankExec()
	os.Exit(m.Run())
}

func exec(t *testing.T, env *clitest.Env, runF func(*logs.Options) error, args ...string) error {
	t.Helper()
	cmd := logs.NewCmdLogs(env.F, runF)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(args)
	return cmd.ExecuteContext(context.Background())
}

func TestFlags(t *testing.T) {
	env := clitest.New(t, false)
	var got *logs.Options
	capture := func(o *logs.Options) error { got = o; return nil }
	if err := exec(t, env, capture, "mpijob", "x", "--all", "-f", "--tail", "5", "--since", "10m", "--timestamps", "--grep", "loss=", "-p"); err != nil {
		t.Fatal(err)
	}
	if !got.All || !got.Follow || got.Tail != 5 || got.Since.Minutes() != 10 || !got.Timestamps || !got.Prefix || !got.Previous {
		t.Errorf("options %+v", got)
	}
	if err := exec(t, env, capture, "mpijob", "x"); err != nil || got.Tail != -1 || got.Prefix {
		t.Errorf("defaults: %v %+v", err, got)
	}
	for _, bad := range [][]string{
		{"mpijob", "x", "--all", "--worker", "1"},
		{"mpijob", "x", "--worker", "-1"},
		{"mpijob", "x", "--grep", "("},
		{"mpijob"},
	} {
		if err := exec(t, env, capture, bad...); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

func TestLogsFromARealJob(t *testing.T) {
	env := clitest.New(t, false)
	c, _ := env.F.Client()
	_, _, err := c.Create(t.Context(), apiclient.CreateRequest{Job: &job.MPIJob{
		Metadata: job.ObjectMeta{Name: "talk"},
		Spec:     job.Spec{Command: []string{"sh", "-c", "for i in 1 2 3; do echo rank $OMPI_COMM_WORLD_RANK line $i; done"}, Workers: job.WorkerSpec{Replicas: job.Ptr(int32(2))}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jobwait.Wait(t.Context(), c, "default", "talk", jobwait.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := exec(t, env, nil, "mpijob", "talk", "--worker", "1", "--tail", "2"); err != nil {
		t.Fatal(err)
	}
	if got := env.Out.String(); got != "rank 1 line 2\nrank 1 line 3\n" {
		t.Errorf("worker 1 tail 2: %q", got)
	}
	env.Out.Reset()
	if err := exec(t, env, nil, "mpijob", "talk", "--all", "--grep", "line 3"); err != nil {
		t.Fatal(err)
	}
	got := env.Out.String()
	if !strings.Contains(got, "[worker-0/rank-0] rank 0 line 3") || !strings.Contains(got, "[worker-1/rank-1] rank 1 line 3") || strings.Contains(got, "line 1") {
		t.Errorf("all + grep:\n%s", got)
	}
	if err := exec(t, env, nil, "mpijob", "talk", "--worker", "5"); err == nil {
		t.Error("worker out of range accepted")
	}
	if err := exec(t, env, nil, "mpijob", "ghost"); cmdutil.ExitCode(err) != cmdutil.ExitNotFound {
		t.Errorf("missing job: %v", err)
	}
}
