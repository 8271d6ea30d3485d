package configcmd_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odh-training/odh-training/internal/cli/auth/logout"
	"github.com/odh-training/odh-training/internal/cli/clitest"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/config"
	"github.com/odh-training/odh-training/internal/cli/configcmd"
)

func run(env *clitest.Env, args ...string) error {
	cmd := configcmd.NewCmdConfig(env.F, nil)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(args)
	env.Out.Reset()
	env.ErrOut.Reset()
	return cmd.ExecuteContext(context.Background())
}

func seed(t *testing.T) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "config.json")
	t.Setenv("ODH_CONFIG", cfg)
	t.Setenv("ODH_CONTEXT", "")
	f := &config.File{}
	f.Upsert(config.Context{Name: "dev", Server: "http://127.0.0.1:8080", Token: "dev-token"})
	f.Upsert(config.Context{Name: "prod", Server: "https://odh.example.com", Token: "prod-token", Namespace: "team-a"})
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func load(t *testing.T) *config.File {
	t.Helper()
	f, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestContexts(t *testing.T) {
	cfg := seed(t)
	env := clitest.New(t, false)

	if err := run(env, "get-contexts"); err != nil {
		t.Fatal(err)
	}
	out := env.Out.String()
	var rows []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		rows = append(rows, strings.Join(strings.Fields(l), " "))
	}
	if want := "[CURRENT NAME SERVER NAMESPACE TOKEN dev http://127.0.0.1:8080 - saved * prod https://odh.example.com team-a saved]"; fmt.Sprint(rows) != want {
		t.Errorf("get-contexts rows %q, want %s", rows, want)
	}
	if strings.Contains(out, "prod-token") || strings.Contains(out, "dev-token") {
		t.Errorf("get-contexts prints tokens:\n%s", out)
	}

	if err := run(env, "current-context"); err != nil || strings.TrimSpace(env.Out.String()) != "prod" {
		t.Errorf("current-context: %q, %v", env.Out.String(), err)
	}
	if err := run(env, "use-context", "dev"); err != nil || load(t).CurrentContext != "dev" {
		t.Errorf("use-context dev: %v; current %q", err, load(t).CurrentContext)
	}

	// A missing context: a not-found error naming it and the fix; the file
	// is not touched.
	before, _ := os.ReadFile(cfg)
	for _, verb := range []string{"use-context", "delete-context"} {
		err := run(env, verb, "nope")
		if cmdutil.ExitCode(err) != cmdutil.ExitNotFound || !strings.Contains(err.Error(), `context "nope"`) || !strings.Contains(err.Error(), "get-contexts") {
			t.Errorf("%s nope: %v", verb, err)
		}
	}
	if after, _ := os.ReadFile(cfg); string(after) != string(before) {
		t.Error("a refused command changed the config file")
	}
	if err := run(env, "use-context"); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("use-context without a name: %v", err)
	}

	if err := run(env, "delete-context", "dev"); err != nil {
		t.Fatal(err)
	}
	f := load(t)
	if f.Find("dev") != nil || f.CurrentContext != "" || f.Find("prod") == nil {
		t.Errorf("after delete-context dev: %+v", f)
	}
	if err := run(env, "current-context"); cmdutil.ExitCode(err) != cmdutil.ExitNotFound || !strings.Contains(err.Error(), "use-context") {
		t.Errorf("current-context with none: %v", err)
	}
}

func TestLogout(t *testing.T) {
	seed(t)
	env := clitest.New(t, false)
	logoutCmd := func(args ...string) error {
		cmd := logout.NewCmdLogout(env.F, nil)
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		cmd.SetArgs(args)
		env.Out.Reset()
		env.ErrOut.Reset()
		return cmd.ExecuteContext(context.Background())
	}
	// The current context by default: its token goes, the rest stays.
	if err := logoutCmd(); err != nil {
		t.Fatal(err)
	}
	f := load(t)
	if p := f.Find("prod"); p == nil || p.Token != "" || p.Server != "https://odh.example.com" || p.Namespace != "team-a" || f.Find("dev").Token != "dev-token" {
		t.Errorf("after logout: %+v", f)
	}
	// ODH_CONTEXT, then a name.
	t.Setenv("ODH_CONTEXT", "dev")
	if err := logoutCmd(); err != nil || load(t).Find("dev").Token != "" {
		t.Errorf("logout with ODH_CONTEXT=dev: %v", err)
	}
	if err := logoutCmd("dev"); err != nil || !strings.Contains(env.ErrOut.String(), "nothing to do") {
		t.Errorf("second logout: %v %q", err, env.ErrOut.String())
	}
	if err := logoutCmd("nope"); cmdutil.ExitCode(err) != cmdutil.ExitNotFound {
		t.Errorf("logout nope: %v", err)
	}
}
