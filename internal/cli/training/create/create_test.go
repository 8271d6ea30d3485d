package create_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/clitest"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/training/create"
	"github.com/odh-training/odh-training/internal/engine/local"
	"github.com/odh-training/odh-training/internal/job"
)

func TestMain(m *testing.M) {
	local.MaybeRankExec()
	os.Exit(m.Run())
}

func execute(t *testing.T, cmd *cobra.Command, args ...string) error {
	t.Helper()
	cmd.SetArgs(args)
	cmd.SetOut(&strings.Builder{})
	cmd.SetErr(&strings.Builder{})
	return cmd.ExecuteContext(context.Background())
}

func TestFlagParsing(t *testing.T) {
	env := clitest.New(t, false)
	var got *create.Options
	cmd := create.NewCmdCreate(env.F, func(o *create.Options) error { got = o; return nil })
	err := execute(t, cmd, "mpijob", "mnist", "-n", "team-a", "--workers", "4", "--slots-per-worker", "2", "--gpus", "2",
		"--cpu", "8", "--memory", "32Gi", "--launcher-cpu", "1", "--mpi-implementation", "mpich", "-e", "EPOCHS=3", "--label", "team=nlp",
		"--queue", "q1", "--priority-class", "high", "--active-deadline", "1h", "--backoff-limit", "2", "--ttl-after-finished", "10m",
		"--clean-pod-policy", "All", "--", "python3", "train.py", "--epochs", "3")
	if err != nil {
		t.Fatal(err)
	}
	j, err := got.JobFromFlags()
	if err != nil {
		t.Fatal(err)
	}
	want := &job.MPIJob{
		APIVersion: job.APIVersion, Kind: job.Kind,
		Metadata: job.ObjectMeta{Name: "mnist", Namespace: "team-a", Labels: map[string]string{"team": "nlp"}},
		Spec: job.Spec{
			Command:           []string{"python3", "train.py", "--epochs", "3"},
			Env:               []job.EnvVar{{Name: "EPOCHS", Value: "3"}},
			Workers:           job.WorkerSpec{Replicas: job.Ptr(int32(4)), SlotsPerWorker: job.Ptr(int32(2)), Resources: job.Resources{CPU: "8", Memory: "32Gi", GPUs: 2}},
			Launcher:          job.LauncherSpec{Resources: job.Resources{CPU: "1"}},
			MPIImplementation: job.MPICH,
			RunPolicy:         job.RunPolicy{ActiveDeadlineSeconds: job.Ptr(int32(3600)), BackoffLimit: job.Ptr(int32(2)), TTLSecondsAfterFinished: job.Ptr(int32(600)), CleanPodPolicy: job.CleanPodPolicyAll},
			Scheduling:        job.Scheduling{Queue: "q1", PriorityClass: "high"},
		},
	}
	if diff := cmp.Diff(want, j); diff != "" {
		t.Errorf("job from flags (-want +got):\n%s", diff)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"mpijob", "x"}, "give a job file with -f FILE, or the command to run after --"},
		{[]string{"mpijob", "-f", "x.yaml", "--workers", "2"}, "-f cannot be combined with job flags (--workers)"},
		{[]string{"mpijob", "a", "b", "--", "true"}, "expected at most one NAME"},
		{[]string{"mpijob", "x", "--dry-run=maybe", "--", "true"}, "--dry-run must be"},
		{[]string{"mpijob", "x", "-o", "wide", "--", "true"}, "-o must be json, yaml, name, jsonpath=, go-template= or go-template-file= for create"},
		{[]string{"mpijob", "x", "--wait", "--dry-run", "--", "true"}, "cannot be combined with --dry-run"},
		{[]string{"mpijob", "x", "-e", "NOEQUALS", "--dry-run=client", "--", "true"}, "--env \"NOEQUALS\" must be KEY=VALUE"},
		{[]string{"mpijob", "x", "--upstream", "--", "true"}, "--upstream needs --dry-run"},
		{[]string{"mpijob", "x", "--upstream", "--dry-run=client", "--", "true"}, "use --dry-run (server) instead of --dry-run=client"},
		{[]string{"mpijob", "x", "--upstream", "--dry-run", "-o", "name", "--", "true"}, "-o name does not apply"},
		{[]string{"mpijob", "x", "--upstream", "--dry-run", "-o", "go-template={{.kind}}", "--", "true"}, "-o go-template does not apply"},
		{[]string{"mpijob", "x", "-o", "go-template={{.metadata.name", "--", "true"}, "invalid -o go-template: line 1: unclosed action"},
	} {
		env := clitest.New(t, false)
		err := execute(t, create.NewCmdCreate(env.F, nil), c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
			continue
		}
		if code := cmdutil.ExitCode(err); code != cmdutil.ExitUsage {
			t.Errorf("%v: exit code %d, want %d", c.args, code, cmdutil.ExitUsage)
		}
	}
}

func TestClientDryRunNeedsNoServer(t *testing.T) {
	env := clitest.New(t, false)
	env.F.Client = nil // any server call would panic
	err := execute(t, create.NewCmdCreate(env.F, nil), "mpijob", "x", "--image", "quay.io/a/b:1", "--workers", "3", "--dry-run=client", "-o", "yaml", "--", "true")
	if err != nil {
		t.Fatal(err)
	}
	// The defaulted job, as a server dry run prints it.
	for _, want := range []string{"apiVersion: training.opendatahub.io/v1alpha1", "kind: MPIJob", "name: x", "replicas: 3", "image: quay.io/a/b:1"} {
		if !strings.Contains(env.Out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, env.Out)
		}
	}
	env.Out.Reset()
	if err := execute(t, create.NewCmdCreate(env.F, nil), "mpijob", "x", "--dry-run=client", "--", "true"); err != nil {
		t.Fatal(err)
	}
	if env.Out.String() != "mpijob/x valid (dry run, client): nothing was created\n" {
		t.Errorf("plain client dry run: %q", env.Out)
	}
}

// The server renders the kubeflow.org/v2beta1 MPIJob a job becomes on a
// cluster; a job a cluster cannot run (no image) has none, and says why.
func TestDryRunPrintsTheUpstreamManifest(t *testing.T) {
	env := clitest.New(t, false)
	err := execute(t, create.NewCmdCreate(env.F, nil), "mpijob", "x", "--image", "quay.io/a/b:1", "--workers", "3", "--dry-run", "--upstream", "--", "true")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"apiVersion: kubeflow.org/v2beta1", "kind: MPIJob", "name: x", "replicas: 3", "launcherCreationPolicy: WaitForWorkersReady", "- --hostfile"} {
		if !strings.Contains(env.Out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, env.Out)
		}
	}
	env.Out.Reset()
	if err := execute(t, create.NewCmdCreate(env.F, nil), "mpijob", "x", "--image", "quay.io/a/b:1", "--dry-run", "--upstream", "-o", "json", "--", "true"); err != nil {
		t.Fatal(err)
	}
	var u struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct{ Name string }
	}
	if err := json.Unmarshal(env.Out.Bytes(), &u); err != nil || u.APIVersion != "kubeflow.org/v2beta1" || u.Kind != "MPIJob" || u.Metadata.Name != "x" {
		t.Errorf("JSON manifest %+v (%v):\n%s", u, err, env.Out)
	}
	c, _ := env.F.Client()
	if _, err := c.Get(t.Context(), "default", "x"); !job.IsKind(err, job.KindNotFound) {
		t.Errorf("a dry run created the job: %v", err)
	}
	env.Out.Reset()
	err = execute(t, create.NewCmdCreate(env.F, nil), "mpijob", "x", "--dry-run", "--upstream", "--", "true")
	if cmdutil.ExitCode(err) != cmdutil.ExitInvalid || !strings.Contains(err.Error(), "rendered no kubeflow.org/v2beta1 MPIJob") || env.Out.Len() != 0 {
		t.Errorf("no image: %v, output %q", err, env.Out)
	}
}

// TestCreateAndWaitWithRealServer runs a real 2-rank job through the
// command, non-TTY: plain progress lines, no hints.
func TestCreateAndWaitWithRealServer(t *testing.T) {
	env := clitest.New(t, false)
	err := execute(t, create.NewCmdCreate(env.F, nil), "mpijob", "hello", "--workers", "2", "--wait", "--", "sh", "-c", "echo hi from $OMPI_COMM_WORLD_RANK")
	if err != nil {
		t.Fatalf("%v\n%s", err, env.ErrOut)
	}
	if got := env.Out.String(); got != "mpijob/hello created\n" {
		t.Errorf("stdout %q", got)
	}
	for _, want := range []string{"mpijob/hello: Running", "mpijob/hello Succeeded"} {
		if !strings.Contains(env.ErrOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, env.ErrOut)
		}
	}
	if strings.Contains(env.ErrOut.String(), "Next steps") || strings.Contains(env.ErrOut.String(), "\x1b[") {
		t.Errorf("hints or escape codes without a TTY:\n%q", env.ErrOut)
	}
}

func TestCreateFollowFailsWithExitCode(t *testing.T) {
	env := clitest.New(t, false)
	err := execute(t, create.NewCmdCreate(env.F, nil), "mpijob", "boom", "--workers", "2", "--follow", "--", "sh", "-c", `echo out-$OMPI_COMM_WORLD_RANK; [ "$OMPI_COMM_WORLD_RANK" = 0 ] && exit 4; sleep 1`)
	if code := cmdutil.ExitCode(err); code != cmdutil.ExitJobFailed {
		t.Fatalf("exit code %d (%v), want %d\n%s", code, err, cmdutil.ExitJobFailed, env.ErrOut)
	}
	for _, want := range []string{"[worker-0/rank-0] out-0", "[worker-1/rank-1] out-1"} {
		if !strings.Contains(env.Out.String(), want) {
			t.Errorf("followed logs lack %q:\n%s", want, env.Out)
		}
	}
	if !strings.Contains(env.ErrOut.String(), "Failed") {
		t.Errorf("no failure report:\n%s", env.ErrOut)
	}
}

func TestCreateTTYShowsHints(t *testing.T) {
	env := clitest.New(t, true)
	if err := execute(t, create.NewCmdCreate(env.F, nil), "mpijob", "later", "--suspend", "--", "true"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(env.ErrOut.String(), "Next steps:") || !strings.Contains(env.ErrOut.String(), "odh training logs mpijob later") {
		t.Errorf("no next-step hints on a TTY:\n%s", env.ErrOut)
	}
}

func TestCreateInvalidShowsAllErrors(t *testing.T) {
	env := clitest.New(t, false)
	env.In.WriteString("metadata: {name: My-Job}\nspec:\n  command: [x]\n  workers: {replicas: 0, resources: {memory: 16GG}}\n")
	err := execute(t, create.NewCmdCreate(env.F, nil), "mpijob", "-f", "-")
	if code := cmdutil.ExitCode(err); code != cmdutil.ExitInvalid {
		t.Fatalf("exit code %d: %v", code, err)
	}
	cmdutil.PrintError(env.F.IOStreams, err)
	for _, want := range []string{"metadata.name", "spec.workers.replicas", "spec.workers.resources.memory", "nothing was created"} {
		if !strings.Contains(env.ErrOut.String(), want) {
			t.Errorf("error output lacks %q:\n%s", want, env.ErrOut)
		}
	}
}

// -o go-template prints the created job through the template; a template
// that reaches for the environment is refused and nothing is created.
func TestCreateGoTemplate(t *testing.T) {
	env := clitest.New(t, false)
	err := execute(t, create.NewCmdCreate(env.F, nil), "mpijob", "sneaky", "--suspend", "-o", `go-template={{env "HOME"}}`, "--", "true")
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), `function "env" not defined`) {
		t.Errorf("template with env: %v", err)
	}
	c, _ := env.F.Client()
	if jobs, err := c.List(t.Context(), apiclient.ListOptions{Namespace: "default"}); err != nil || len(jobs) != 0 {
		t.Fatalf("a refused command created %d jobs (%v)", len(jobs), err)
	}
	if err := execute(t, create.NewCmdCreate(env.F, nil), "mpijob", "fine", "--suspend", "-o", `go-template={{.metadata.name}} {{.status.phase}}`, "--", "true"); err != nil {
		t.Fatal(err)
	}
	if env.Out.String() != "fine Suspended" {
		t.Errorf("printed %q", env.Out)
	}
}
