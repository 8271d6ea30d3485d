package delete_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/clitest"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	del "github.com/odh-training/odh-training/internal/cli/training/delete"
	"github.com/odh-training/odh-training/internal/engine/local"
	"github.com/odh-training/odh-training/internal/job"
)

func TestMain(m *testing.M) {
	local.MaybeRankExec()
	os.Exit(m.Run())
}

func exec(t *testing.T, env *clitest.Env, runF func(*del.Options) error, args ...string) error {
	t.Helper()
	cmd := del.NewCmdDelete(env.F, runF)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(args)
	return cmd.ExecuteContext(context.Background())
}

func TestFlags(t *testing.T) {
	env := clitest.New(t, false)
	var got *del.Options
	capture := func(o *del.Options) error { got = o; return nil }
	if err := exec(t, env, capture, "mpijob", "a", "b", "-n", "team-a", "--yes", "--dry-run"); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Names, ",") != "a,b" || got.Namespace != "team-a" || !got.Yes || !got.DryRun || !got.Wait {
		t.Errorf("options %+v", got)
	}
	for _, bad := range [][]string{{"mpijob"}, {"mpijob", "a", "--all"}, {"mpijob", "-l", "x=y", "--all"}} {
		if err := exec(t, env, capture, bad...); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

func TestDeleteSelectorAllAndDryRun(t *testing.T) {
	env := clitest.New(t, false) // not a TTY: no prompt
	c, _ := env.F.Client()
	for _, n := range []string{"x1", "x2", "y1"} {
		_, _, err := c.Create(t.Context(), apiclient.CreateRequest{Job: &job.MPIJob{
			Metadata: job.ObjectMeta{Name: n, Labels: map[string]string{"group": n[:1]}},
			Spec:     job.Spec{Command: []string{"true"}, RunPolicy: job.RunPolicy{Suspend: true}},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := exec(t, env, nil, "mpijob", "--all", "--dry-run"); err != nil {
		t.Fatal(err)
	}
	if strings.Count(env.Out.String(), "would be deleted (dry run)") != 3 {
		t.Errorf("dry run output:\n%s", env.Out)
	}
	env.Out.Reset()
	if err := exec(t, env, nil, "mpijob", "-l", "group=x"); err != nil {
		t.Fatal(err)
	}
	if env.Out.String() != "mpijob/x1 deleted\nmpijob/x2 deleted\n" {
		t.Errorf("selector delete: %q", env.Out)
	}
	jobs, _ := c.List(t.Context(), apiclient.ListOptions{Namespace: "default"})
	if len(jobs) != 1 || jobs[0].Metadata.Name != "y1" {
		t.Errorf("left: %v", jobs)
	}
	if err := exec(t, env, nil, "mpijob", "y1", "ghost"); cmdutil.ExitCode(err) != cmdutil.ExitNotFound {
		t.Errorf("partial failure exit code: %v", err)
	}
	if !strings.Contains(env.ErrOut.String(), `"ghost" not found`) {
		t.Errorf("no error for the missing job:\n%s", env.ErrOut)
	}
}
