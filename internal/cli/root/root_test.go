package root_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/clitest"
	"github.com/odh-training/odh-training/internal/cli/root"
	"github.com/odh-training/odh-training/internal/engine/local"
	"github.com/odh-training/odh-training/internal/job"
)

func TestMain(m *testing.M) {
	local.MaybeRankExec()
	os.Exit(m.Run())
}

func run(t *testing.T, env *clitest.Env, args ...string) error {
	t.Helper()
	cmd := root.NewCmdRoot(env.F)
	cmd.SetArgs(args)
	cmd.SetOut(env.Out)
	cmd.SetErr(env.ErrOut)
	return cmd.ExecuteContext(context.Background())
}

func TestDynamicCompletionOfJobNames(t *testing.T) {
	env := clitest.New(t, false)
	c, _ := env.F.Client()
	for _, n := range []string{"alpha", "beta"} {
		_, _, err := c.Create(t.Context(), apiclient.CreateRequest{Job: &job.MPIJob{Metadata: job.ObjectMeta{Name: n}, Spec: job.Spec{Command: []string{"true"}, RunPolicy: job.RunPolicy{Suspend: true}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := run(t, env, "__complete", "training", "logs", "mpijob", "al"); err != nil {
		t.Fatal(err)
	}
	out := env.Out.String()
	if !strings.Contains(out, "alpha\tSuspended") || strings.Contains(out, "beta") {
		t.Errorf("completion output:\n%s", out)
	}
}

func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		env := clitest.New(t, false)
		if err := run(t, env, "completion", shell); err != nil {
			t.Fatalf("%s: %v", shell, err)
		}
		if !strings.Contains(env.Out.String(), "odh") {
			t.Errorf("%s completion script looks empty", shell)
		}
	}
}

func TestHelpListsExitCodes(t *testing.T) {
	env := clitest.New(t, false)
	if err := run(t, env, "--help"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Exit codes:", "10   the job failed", "ODH_SERVER"} {
		if !strings.Contains(env.Out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestCommandsWithTTYAndWithout(t *testing.T) {
	for _, tty := range []bool{false, true} {
		env := clitest.New(t, tty)
		if err := run(t, env, "training", "create", "mpijob", "x", "--workers", "2", "--wait", "--", "sh", "-c", "echo hi"); err != nil {
			t.Fatalf("tty=%v: %v\n%s", tty, err, env.ErrOut)
		}
		progress := env.ErrOut.String()
		if tty != strings.Contains(progress, "\r\x1b[K") {
			t.Errorf("tty=%v: live progress line present=%v:\n%q", tty, !tty, progress)
		}
		env.Out.Reset()
		if err := run(t, env, "training", "list", "mpijob"); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(env.Out.String(), "Succeeded") {
			t.Errorf("tty=%v list:\n%s", tty, env.Out)
		}
		env.Out.Reset()
		if err := run(t, env, "training", "logs", "mpijob", "x", "--all"); err != nil {
			t.Fatal(err)
		}
		if strings.Count(env.Out.String(), "hi") != 2 {
			t.Errorf("tty=%v logs:\n%s", tty, env.Out)
		}
	}
}

func TestDeleteAsksOnTTY(t *testing.T) {
	env := clitest.New(t, true)
	c, _ := env.F.Client()
	_, _, err := c.Create(t.Context(), apiclient.CreateRequest{Job: &job.MPIJob{Metadata: job.ObjectMeta{Name: "keep"}, Spec: job.Spec{Command: []string{"true"}, RunPolicy: job.RunPolicy{Suspend: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	env.In.WriteString("n\n")
	if err := run(t, env, "training", "delete", "mpijob", "keep"); err == nil {
		t.Fatal("declined delete returned success")
	}
	if !strings.Contains(env.ErrOut.String(), "[y/N]") {
		t.Errorf("no prompt:\n%s", env.ErrOut)
	}
	if _, err := c.Get(t.Context(), "default", "keep"); err != nil {
		t.Fatalf("job deleted although the user said no: %v", err)
	}
	env.In.WriteString("y\n")
	if err := run(t, env, "training", "delete", "mpijob", "keep"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(t.Context(), "default", "keep"); !job.IsKind(err, job.KindNotFound) {
		t.Fatalf("job not deleted: %v", err)
	}
}

// `odh login` stays a top-level command beside `odh auth login`: the same
// command in both places.
func TestLoginInBothPlaces(t *testing.T) {
	for _, args := range [][]string{{"login", "--help"}, {"auth", "login", "--help"}} {
		env := clitest.New(t, false)
		if err := run(t, env, args...); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !strings.Contains(env.Out.String(), "are the same command.") || !strings.Contains(env.Out.String(), "--name string") {
			t.Errorf("%v help:\n%s", args, env.Out)
		}
	}
	env := clitest.New(t, false)
	if err := run(t, env, "auth", "--help"); err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"login", "can-i"} {
		if !strings.Contains(env.Out.String(), "  "+verb+" ") {
			t.Errorf("odh auth lacks %s:\n%s", verb, env.Out)
		}
	}
}
