//go:build integration

package kube_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/test/cluster"
)

// The Foundation CLI, unchanged, against the real odh-server binary with
// --engine=kubernetes (authenticating to the cluster as the odh-server
// ServiceAccount of deploy/; the CLI sends the harness admin's token, which
// the server checks with a TokenReview and passes on to the cluster).
func TestCLIAgainstServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	odh, server := filepath.Join(dir, "odh"), filepath.Join(dir, "odh-server")
	for bin, pkg := range map[string]string{odh: "./cmd/odh", server: "./cmd/odh-server"} {
		cmd := exec.Command("go", "build", "-o", bin, pkg)
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	writeKubeconfig(t, kubeconfig)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	url := "http://" + addr
	srv := exec.Command(server, "--engine=kubernetes", "--kubeconfig="+kubeconfig, "--listen="+addr,
		"--state-dir="+filepath.Join(dir, "state"))
	srv.Env = append(os.Environ(), "ODH_KUBE_NAMESPACE="+ns, "XDG_STATE_HOME="+filepath.Join(dir, "xdg"))
	var serverLog bytes.Buffer
	srv.Stdout, srv.Stderr = &serverLog, &serverLog
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = srv.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = srv.Process.Kill()
		}
		if t.Failed() {
			t.Logf("odh-server output:\n%s", serverLog.String())
		}
	}()
	eventually(t, "odh-server healthy", func() bool {
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	resp, err := http.Get(url + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", resp, err)
	}
	resp.Body.Close()
	env := append(os.Environ(), "ODH_SERVER="+url, "ODH_TOKEN="+harness.Token(cluster.Admin), "ODH_NAMESPACE="+ns,
		"ODH_CONFIG="+filepath.Join(dir, "odh-config.json"), "XDG_STATE_HOME="+filepath.Join(dir, "xdg"), "NO_COLOR=1")
	cli := func(wantCode int, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, odh, args...)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("odh %v: %v", args, err)
		}
		if code != wantCode {
			t.Fatalf("odh %s: exit code %d, want %d\n%s", strings.Join(args, " "), code, wantCode, out.String())
		}
		return out.String()
	}

	mustContain(t, "version", cli(0, "version"), "kubernetes", "Kubernetes v1.35.4")
	name := uniqueName("cli")
	mustContain(t, "create", cli(0, "training", "create", "mpijob", name, "--image", "mpioperator/mpi-pi:openmpi", "--workers", "2", "--cpu", "100m", "--", "python3", "train.py"), name)
	cli(0, "training", "wait", "mpijob", name, "--for=condition=Running", "--timeout=4m")
	mustContain(t, "list", cli(0, "training", "list", "mpijob"), name, "Running")
	mustContain(t, "get", cli(0, "training", "get", "mpijob", name), name)
	desc := cli(0, "training", "describe", "mpijob", name)
	mustContain(t, "describe", desc, "Running", "worker-1", "kwok-node", "MPIJobRunning")
	mustContain(t, "logs", cli(0, "training", "logs", "mpijob", name), "fake container")
	mustContain(t, "logs --all", cli(0, "training", "logs", "mpijob", name, "--all"), "[worker-0]", "[worker-1]", "[launcher]")
	mustContain(t, "events", cli(0, "training", "events", "mpijob", name), "MPIJobCreated")
	mustContain(t, "top", cli(8, "training", "top", "mpijob", name), "metrics not available", "monitoring")
	cli(0, "training", "suspend", "mpijob", name)
	cli(0, "training", "wait", "mpijob", name, "--for=condition=Suspended", "--timeout=4m")
	eventually(t, "pods removed by the suspension", func() bool { return len(podsOf(t, name, "")) == 0 })
	mustContain(t, "describe suspended", cli(0, "training", "describe", "mpijob", name), "Suspended")
	cli(0, "training", "resume", "mpijob", name)
	cli(0, "training", "wait", "mpijob", name, "--for=condition=Running", "--timeout=4m")
	exitPod(t, launcherPod(t, name), 0)
	cli(0, "training", "wait", "mpijob", name, "--for=condition=Succeeded", "--timeout=4m")
	cli(0, "training", "delete", "mpijob", name, "--yes")
	if n := len(podsOf(t, name, "")); n != 0 {
		t.Errorf("%d pods left after odh delete", n)
	}
	cli(4, "training", "describe", "mpijob", name)

	// Bad input: a clear error naming the field, exit code 3, nothing
	// created.
	out := cli(3, "training", "create", "mpijob", "noimage", "--workers", "1", "--", "a.out")
	mustContain(t, "missing image", out, "spec.image")
	out = cli(3, "training", "create", "mpijob", "badimpl", "--image", "x", "--mpi-implementation", "LAM", "--", "a.out")
	mustContain(t, "unknown MPI implementation", out, "spec.mpiImplementation")
	out = cli(3, "training", "create", "mpijob", strings.Repeat("x", 60), "--image", "x", "--workers", "100", "--", "a.out")
	mustContain(t, "name too long", out, "metadata.name")
	out = cli(3, "training", "create", "mpijob", "neg", "--image", "x", "--cpu", "-1", "--", "a.out")
	mustContain(t, "negative cpu", out, "spec.workers.resources.cpu")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("apiVersion: kubeflow.org/v2beta1\nkind: MPIJob\nmetadata: {name: bad}\nspec:\n  mpiReplicaSpecs:\n    Worker: {replicas: 1, template: {spec: {containers: [{name: w, image: x}]}}}\n"), 0o644)
	mustContain(t, "invalid manifest", cli(3, "training", "create", "mpijob", "-f", bad), "Launcher")
	// Server-side dry run: nothing created.
	mustContain(t, "dry run", cli(0, "training", "create", "mpijob", "dry", "--image", "x", "--dry-run", "--", "a.out"), "dry")
	// The upstream MPIJob, rendered by the server's kubernetes engine.
	mustContain(t, "dry run --upstream", cli(0, "training", "create", "mpijob", "dry", "--image", "x", "--workers", "3", "--dry-run", "--upstream", "--", "a.out"),
		"apiVersion: kubeflow.org/v2beta1", "kind: MPIJob", "name: dry", "replicas: 3", "image: x")
	for _, n := range []string{"noimage", "badimpl", "neg", "bad", "dry"} {
		if _, err := eng.Get(t.Context(), ns, n); !job.IsKind(err, job.KindNotFound) {
			t.Errorf("%s exists after a rejected create: %v", n, err)
		}
	}
}

// writeKubeconfig writes a kubeconfig for the odh-server ServiceAccount.
func writeKubeconfig(t *testing.T, path string) {
	t.Helper()
	ca, err := os.ReadFile(serverCfg.TLSClientConfig.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["harness"] = &clientcmdapi.Cluster{Server: serverCfg.Host, CertificateAuthorityData: ca}
	cfg.AuthInfos["odh-server"] = &clientcmdapi.AuthInfo{Token: serverCfg.BearerToken}
	cfg.Contexts["odh-server"] = &clientcmdapi.Context{Cluster: "harness", AuthInfo: "odh-server"}
	cfg.CurrentContext = "odh-server"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	_ = fmt.Sprint
}
