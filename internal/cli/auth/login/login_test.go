package login_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/auth/login"
	"github.com/odh-training/odh-training/internal/cli/clitest"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/config"
	"github.com/odh-training/odh-training/internal/engine/local"
	"github.com/odh-training/odh-training/internal/server/servertest"
)

func TestMain(m *testing.M) {
	local.MaybeRankExec()
	os.Exit(m.Run())
}

func exec(env *clitest.Env, runF func(*login.Options) error, args ...string) error {
	cmd := login.NewCmdLogin(env.F, runF)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(args)
	return cmd.ExecuteContext(context.Background())
}

func TestFlags(t *testing.T) {
	env := clitest.New(t, false)
	var got *login.Options
	capture := func(o *login.Options) error { got = o; return nil }
	if err := exec(env, capture); cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "--server is required") {
		t.Errorf("no server: %v", err)
	}
	env.F.Overrides = config.Overrides{Server: "https://odh.example.com", Token: "t", CAFile: "/ca.pem"}
	if err := exec(env, capture, "--name", "prod", "-n", "team-a"); err != nil {
		t.Fatal(err)
	}
	if got.Name != "prod" || got.Namespace != "team-a" || got.Connection.Server != "https://odh.example.com" || got.Connection.Token != "t" || got.Connection.CAFile != "/ca.pem" {
		t.Errorf("options %+v", got)
	}
}

// The token is checked against the real server before anything is saved;
// the context is saved, current, and named after the server by default.
func TestLoginSavesACheckedContext(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.json")
	t.Setenv("ODH_CONFIG", cfg)
	t.Setenv("ODH_CONTEXT", "")
	env := clitest.New(t, false)
	if _, err := env.F.Client(); err != nil {
		t.Fatal(err)
	}

	// A wrong token: refused, nothing saved.
	bad, err := apiclient.Dial(apiclient.Options{Server: env.URL, Token: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	good := env.F.Client
	env.F.Client = func() (*apiclient.Client, error) { return bad, nil }
	env.F.Overrides = config.Overrides{Server: env.URL, Token: "wrong"}
	err = exec(env, nil)
	if cmdutil.ExitCode(err) != cmdutil.ExitForbidden || !strings.Contains(err.Error(), "login check against "+env.URL+" failed") {
		t.Errorf("wrong token: %v", err)
	}
	if _, err := os.Stat(cfg); !os.IsNotExist(err) {
		t.Errorf("a failed login wrote the config file: %v", err)
	}

	env.F.Client = good
	env.F.Overrides = config.Overrides{Server: env.URL, Token: servertest.Token}
	if err := exec(env, nil, "-n", "team-a"); err != nil {
		t.Fatal(err)
	}
	f, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.NewReplacer(":", "-", ".", "-").Replace(strings.TrimPrefix(env.URL, "http://"))
	if f.CurrentContext != want || len(f.Contexts) != 1 || f.Contexts[0].Server != env.URL || f.Contexts[0].Token != servertest.Token || f.Contexts[0].Namespace != "team-a" {
		t.Errorf("config %+v, want current context %q", f, want)
	}
	if !strings.Contains(env.Out.String(), "context \""+want+"\" saved in "+cfg) {
		t.Errorf("output %q", env.Out)
	}
	if fi, err := os.Stat(cfg); err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("config file mode: %v %v", fi.Mode(), err)
	}
}

// `odh login --context X` (the kubectl flag) is refused with a pointer to
// --name, before anything is checked or saved.
func TestLoginContextFlagPointsToName(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config.json")
	t.Setenv("ODH_CONFIG", cfg)
	env := clitest.New(t, false)
	env.F.Overrides = config.Overrides{Server: "https://odh.example.com", Token: "t", KubeContext: "prod"}
	called := false
	err := exec(env, func(*login.Options) error { called = true; return nil })
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "--name prod") || called {
		t.Errorf("login --context prod: %v (run called: %v)", err, called)
	}
	if _, serr := os.Stat(cfg); !os.IsNotExist(serr) {
		t.Errorf("the config file was written: %v", serr)
	}
}
