package list_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/clitest"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/training/list"
	"github.com/odh-training/odh-training/internal/engine/local"
	"github.com/odh-training/odh-training/internal/job"
)

func TestMain(m *testing.M) {
	local.MaybeRankExec()
	os.Exit(m.Run())
}

func exec(t *testing.T, env *clitest.Env, runF func(*list.Options) error, args ...string) error {
	t.Helper()
	cmd := list.NewCmdList(env.F, runF)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(args)
	return cmd.ExecuteContext(context.Background())
}

func TestFlags(t *testing.T) {
	env := clitest.New(t, false)
	var got *list.Options
	err := exec(t, env, func(o *list.Options) error { got = o; return nil }, "mpijob", "-A", "-l", "team=nlp", "--status", "Running,Failed", "--sort-by", ".metadata.creationTimestamp", "-w", "-o", "wide", "--no-headers")
	if err != nil {
		t.Fatal(err)
	}
	if !got.AllNamespaces || got.Selector != "team=nlp" || strings.Join(got.Status, "|") != "Running|Failed" || !got.Watch || got.Output != "wide" || !got.NoHeaders || got.Namespace != "" {
		t.Errorf("options: %+v", got)
	}
	if err := exec(t, env, func(*list.Options) error { return nil }, "mpijob", "-o", "xml"); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("-o xml: %v", err)
	}
}

func seed(t *testing.T, env *clitest.Env) {
	t.Helper()
	c, _ := env.F.Client()
	for _, n := range []string{"b-job", "a-job"} {
		_, _, err := c.Create(t.Context(), apiclient.CreateRequest{Job: &job.MPIJob{
			Metadata: job.ObjectMeta{Name: n, Labels: map[string]string{"team": strings.TrimSuffix(n, "-job")}},
			Spec:     job.Spec{Command: []string{"true"}, RunPolicy: job.RunPolicy{Suspend: true}},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestListBehaviour(t *testing.T) {
	env := clitest.New(t, false)
	seed(t, env)
	if err := exec(t, env, nil, "mpijob"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(env.Out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") || !strings.HasPrefix(lines[1], "a-job") || !strings.Contains(lines[1], "Suspended") {
		t.Errorf("table:\n%s", env.Out)
	}
	env.Out.Reset()
	if err := exec(t, env, nil, "mpijob", "-l", "team=b", "-o", "name"); err != nil {
		t.Fatal(err)
	}
	if env.Out.String() != "mpijob/b-job\n" {
		t.Errorf("selector: %q", env.Out)
	}
	env.Out.Reset()
	if err := exec(t, env, nil, "mpijob", "--status", "Running"); err != nil {
		t.Fatal(err)
	}
	if env.Out.String() != "" || !strings.Contains(env.ErrOut.String(), "No MPIJobs found") {
		t.Errorf("empty result: out %q err %q", env.Out, env.ErrOut)
	}
	if err := exec(t, env, nil, "mpijob", "nope"); cmdutil.ExitCode(err) != cmdutil.ExitNotFound {
		t.Errorf("unknown name: %v", err)
	}
	if err := exec(t, env, nil, "mpijob", "--sort-by", ".spec.bogus"); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("bad sort key: %v", err)
	}
	if err := exec(t, env, nil, "mpijob", "--status", "Sleeping"); cmdutil.ExitCode(err) != cmdutil.ExitInvalid {
		t.Errorf("bad status: %v", err)
	}
}

func TestWatchPrintsChanges(t *testing.T) {
	env := clitest.New(t, false)
	seed(t, env)
	out := &clitest.SyncBuffer{}
	env.F.IOStreams.Out = out
	ctx, cancel := context.WithCancel(t.Context())
	c, _ := env.F.Client()
	done := make(chan error, 1)
	go func() {
		cmd := list.NewCmdList(env.F, nil)
		cmd.SetArgs([]string{"mpijob", "-w", "-o", "custom-columns=NAME:.metadata.name,PHASE:.status.phase"})
		done <- cmd.ExecuteContext(ctx)
	}()
	// Resume a job and wait until the watch has printed it finishing.
	for i := 0; ; i++ {
		if strings.Contains(out.String(), "a-job") {
			break
		}
		if i > 200 {
			t.Fatal("initial list not printed")
		}
		time.Sleep(clitest.Poll)
	}
	if _, err := c.Resume(t.Context(), "default", "a-job"); err != nil {
		t.Fatal(err)
	}
	for i := 0; !strings.Contains(out.String(), "Succeeded"); i++ {
		if i > 400 {
			t.Fatalf("watch output:\n%s", out)
		}
		time.Sleep(clitest.Poll)
	}
	cancel()
	<-done
	if strings.Count(out.String(), "NAME") != 1 {
		t.Errorf("headers repeated:\n%s", out)
	}
}

func TestLabelsAndTemplates(t *testing.T) {
	env := clitest.New(t, false)
	var got *list.Options
	if err := exec(t, env, func(o *list.Options) error { got = o; return nil }, "mpijob", "-L", "team,tier", "-L", "team", "--show-labels"); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.LabelColumns, "|") != "team|tier" || !got.ShowLabels {
		t.Errorf("options: %+v", got)
	}
	seed(t, env)
	for _, c := range []struct {
		args []string
		want string
	}{
		// An unknown label is an empty column, as in kubectl.
		{[]string{"mpijob", "-L", "team,nope", "-o", "custom-columns=X:.x"}, ""},
		{[]string{"mpijob", "--no-headers", "-L", "team,nope", "--show-labels"}, "team=a\n"},
		{[]string{"mpijob", "-o", `go-template={{range .items}}{{.metadata.name}}:{{.metadata.labels.team}} {{end}}`}, "a-job:a b-job:b "},
		{[]string{"mpijob", "b-job", "-o", `go-template={{.metadata.name}}`}, "b-job"},
	} {
		env.Out.Reset()
		err := exec(t, env, nil, c.args...)
		if c.want == "" {
			if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "do not apply to -o custom-columns") {
				t.Errorf("%v: %v", c.args, err)
			}
			continue
		}
		if err != nil || !strings.Contains(env.Out.String(), c.want) {
			t.Errorf("%v: %v\n%s", c.args, err, env.Out)
		}
	}
	env.Out.Reset()
	if err := exec(t, env, nil, "mpijob", "-L", "team,nope"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(env.Out.String(), "\n")
	if !strings.HasSuffix(lines[0], "TEAM   NOPE") || !strings.Contains(lines[1], "   a      ") {
		t.Errorf("-L table:\n%s", env.Out)
	}
}

// Bad -L and -o values are usage errors that print nothing.
func TestLabelsAndTemplatesRefused(t *testing.T) {
	env := clitest.New(t, false)
	seed(t, env)
	keys := make([]string, 10000)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%d", i)
	}
	huge := strings.Join(keys, ",")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"mpijob", "-L", huge}, "-L: 10000 label columns asked for, at most 32"},
		{[]string{"mpijob", "-L", "team=a"}, "is not a label key"},
		{[]string{"mpijob", "--show-labels", "-o", "json"}, "do not apply to -o json"},
		{[]string{"mpijob", "-o", `go-template={{env "HOME"}}`}, `invalid -o go-template: line 1: function "env" not defined`},
		{[]string{"mpijob", "-o", "go-template-file=/etc/passwd-nope"}, "-o go-template-file: open /etc/passwd-nope"},
	} {
		env.Out.Reset()
		err := exec(t, env, nil, c.args...)
		if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), c.want) || env.Out.Len() != 0 {
			t.Errorf("%.60v: exit %d, %v; printed %q", c.args, cmdutil.ExitCode(err), err, env.Out)
		}
	}
}
