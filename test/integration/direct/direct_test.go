//go:build integration

// Package direct_test checks the CLI's direct mode against the real control
// plane of test/cluster: `odh --kubeconfig` runs the Training Service inside
// the CLI with the user's own credentials, so the API server's RBAC decides.
package direct_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/odh-training/odh-training/test/cluster"
)

var (
	harness *cluster.Cluster
	odhBin  string
)

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	c, err := cluster.Ensure(ctx)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "start control-plane harness: %v\n", err)
		os.Exit(1)
	}
	harness = c
	dir, err := os.MkdirTemp("", "odh-direct")
	if err != nil {
		os.Exit(1)
	}
	odhBin = filepath.Join(dir, "odh")
	build := exec.Command("go", "build", "-o", odhBin, "./cmd/odh")
	build.Dir = c.Layout.Root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build odh: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func odh(t *testing.T, who string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, odhBin, append([]string{"--kubeconfig", harness.Kubeconfig(who)}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "NO_COLOR=1", "ODH_SERVER=", "ODH_TOKEN=")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("odh %v: %v", args, err)
	}
	return result{code, out.String(), errOut.String()}
}

func TestDirectModeLifecycle(t *testing.T) {
	name := fmt.Sprintf("direct-%d", time.Now().UnixNano()%100000)
	r := odh(t, cluster.Alice, "training", "create", "mpijob", name, "-n", "team-a", "--image", "quay.io/odh/mpi:1", "--workers", "2", "--", "python3", "train.py")
	if r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	t.Cleanup(func() { odh(t, cluster.Alice, "training", "delete", "mpijob", name, "-n", "team-a", "--yes") })
	r = odh(t, cluster.Alice, "training", "wait", "mpijob", name, "-n", "team-a", "--for=condition=Running", "--timeout=90s")
	if r.code != 0 {
		t.Fatalf("wait Running: %+v", r)
	}
	r = odh(t, cluster.Alice, "training", "get", "mpijob", name, "-n", "team-a", "-o", "jsonpath={.metadata.creator} {.status.workers.ready}/{.status.workers.total}")
	if strings.TrimSpace(r.stdout) != "alice 2/2" {
		t.Errorf("creator and workers: %+v", r)
	}
	r = odh(t, cluster.Alice, "training", "describe", "mpijob", name, "-n", "team-a")
	for _, want := range []string{"worker-0", "worker-1", "Scheduled"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("describe lacks %q:\n%s", want, r.stdout)
		}
	}
	// The same validation and errors as through a server.
	r = odh(t, cluster.Alice, "training", "create", "mpijob", "Bad_Name", "-n", "team-a", "--workers", "0", "--", "true")
	if r.code != 3 || !strings.Contains(r.stderr, "metadata.name") || !strings.Contains(r.stderr, "spec.workers.replicas") {
		t.Errorf("invalid job: %+v", r)
	}
	r = odh(t, cluster.Alice, "training", "delete", "mpijob", name, "-n", "team-a", "--yes")
	if r.code != 0 {
		t.Fatalf("delete: %+v", r)
	}
	r = odh(t, cluster.Alice, "training", "get", "mpijob", name, "-n", "team-a")
	if r.code != 4 {
		t.Errorf("get after delete: %+v", r)
	}
}

func TestDirectModeRBAC(t *testing.T) {
	r := odh(t, cluster.Bob, "training", "list", "mpijob", "-n", "team-a")
	if r.code != 6 || !strings.Contains(r.stderr, `may not list mpijobs in namespace "team-a"`) {
		t.Errorf("bob in team-a: %+v", r)
	}
	r = odh(t, cluster.Bob, "training", "list", "mpijob", "-n", "team-b")
	if r.code != 0 {
		t.Errorf("bob in team-b: %+v", r)
	}
}
