package events_test

import (
	"context"
	"os"
	"strings"
	"testing"

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
	if got.Name != "mnist" || got.Namespace != "team-a" {
		t.Errorf("options %+v", got)
	}
	if err := exec(clitest.New(t, false), capture, "mj", "x"); err != nil || got.Name != "x" || got.Namespace != job.DefaultNamespace {
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
	err = exec(env, nil, "mpijob", "missing")
	if cmdutil.ExitCode(err) != cmdutil.ExitNotFound {
		t.Errorf("missing job: %v", err)
	}
}
