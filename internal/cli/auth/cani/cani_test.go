package cani_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/odh-training/odh-training/internal/cli/auth/cani"
	"github.com/odh-training/odh-training/internal/cli/clitest"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/engine/local"
)

func TestMain(m *testing.M) {
	local.MaybeRankExec()
	os.Exit(m.Run())
}

func exec(env *clitest.Env, runF func(*cani.Options) error, args ...string) error {
	cmd := cani.NewCmdCanI(env.F, runF)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(args)
	return cmd.ExecuteContext(context.Background())
}

func TestFlags(t *testing.T) {
	env := clitest.New(t, false)
	var got *cani.Options
	capture := func(o *cani.Options) error { got = o; return nil }
	if err := exec(env, capture, "delete", "mpijobs", "train", "-n", "team-a", "-q"); err != nil {
		t.Fatal(err)
	}
	if got.Verb != "delete" || got.Resource != "mpijobs" || got.Name != "train" || got.Namespace != "team-a" || !got.Quiet {
		t.Errorf("options %+v", got)
	}
	if err := exec(env, capture); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("no verb: %v", err)
	}
}

// The single local user may do anything; a bad verb is a usage problem the
// server explains.
func TestAgainstServer(t *testing.T) {
	env := clitest.New(t, false)
	if err := exec(env, nil, "create", "mpijobs", "-n", "team-a"); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(env.Out.String()) != "yes" {
		t.Errorf("output %q", env.Out.String())
	}
	err := exec(env, nil, "fly", "mpijobs")
	if cmdutil.ExitCode(err) != cmdutil.ExitInvalid || !strings.Contains(err.Error(), `unknown verb "fly"`) {
		t.Errorf("bad verb: %v", err)
	}
}
