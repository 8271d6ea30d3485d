// Package e2e runs the real binaries the way a user does: odh-server with the
// local engine on a loopback port, the odh CLI against it, and real MPI jobs.
package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/odh-training/odh-training/internal/certs"
	"github.com/odh-training/odh-training/internal/engine/local"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "odh-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	root := repoRoot()
	for _, b := range []string{"odh", "odh-server"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, b), "./cmd/"+b)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", b, err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func repoRoot() string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		panic(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

type server struct {
	t        *testing.T
	args     []string
	client   *http.Client
	cmd      *exec.Cmd
	url      string
	listen   string
	stateDir string
	home     string
	stderr   *bytes.Buffer
	// token, when set, is passed as ODH_TOKEN (a server behind a proxy is
	// not found by discovery); otherwise discovery finds it.
	token string
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServer runs odh-server in the repository root (so example paths
// resolve) with a private state dir and HOME.
func startServer(t *testing.T, stateDir, home string, args ...string) *server {
	t.Helper()
	s := &server{t: t, listen: freePort(t), stateDir: stateDir, home: home, stderr: &bytes.Buffer{}, args: args, client: http.DefaultClient}
	s.url = "http://" + s.listen
	s.start()
	return s
}

func (s *server) start() {
	s.t.Helper()
	// odh-server refuses a state directory others may read (t.TempDir
	// makes them 0755).
	if err := os.Chmod(s.stateDir, 0o700); err != nil && !os.IsNotExist(err) {
		s.t.Fatal(err)
	}
	s.cmd = exec.Command(filepath.Join(binDir, "odh-server"), append([]string{"--engine=local", "--listen=" + s.listen, "--state-dir=" + s.stateDir}, s.args...)...)
	s.cmd.Dir = repoRoot()
	s.cmd.Env = append(os.Environ(), "HOME="+s.home, "XDG_STATE_HOME="+filepath.Join(s.home, "state"), "XDG_CONFIG_HOME="+filepath.Join(s.home, "config"))
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { s.stop(syscall.SIGTERM) })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := s.client.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("odh-server did not become ready:\n%s", s.stderr)
}

func (s *server) stop(sig syscall.Signal) {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	_, _ = s.cmd.Process.Wait()
	s.cmd = nil
}

type result struct {
	code           int
	stdout, stderr string
}

// odh runs the CLI with the same HOME as the server, so it finds the server's
// token through discovery, as a user's shell would.
func (s *server) odh(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "odh"), args...)
	cmd.Dir = repoRoot()
	cmd.Env = append(os.Environ(), "HOME="+s.home, "XDG_STATE_HOME="+filepath.Join(s.home, "state"), "XDG_CONFIG_HOME="+filepath.Join(s.home, "config"), "ODH_SERVER="+s.url, "ODH_TOKEN="+s.token, "NO_COLOR=1")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("odh %v: %v", args, err)
	}
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

func mustContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}

// TestTrainingExampleEndToEnd is what `make run` does: the bundled
// data-parallel SGD example on 2 workers, output from every rank, Succeeded.
func TestTrainingExampleEndToEnd(t *testing.T) {
	s := startServer(t, t.TempDir(), t.TempDir())
	r := s.odh(t, "", "training", "create", "mpijob", "-f", "examples/sgd-allreduce/mpijob.yaml", "--follow")
	if r.code != 0 {
		t.Fatalf("create --follow exited %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	mustContain(t, "followed output", r.stdout, "[worker-0/rank-0] rank 0/2 starting", "[worker-1/rank-1] rank 1/2 starting", "test accuracy")
	mustContain(t, "status output", r.stderr, "mpijob/sgd-allreduce Succeeded")

	r = s.odh(t, "", "training", "list", "mpijob", "-o", "jsonpath={.items[0].status.phase}")
	if strings.TrimSpace(r.stdout) != "Succeeded" {
		t.Errorf("list jsonpath: %+v", r)
	}
	r = s.odh(t, "", "training", "logs", "mpijob", "sgd-allreduce", "--worker", "1")
	mustContain(t, "worker 1 logs", r.stdout, "rank 1 epoch 8/8")
	if strings.Contains(r.stdout, "rank 0 epoch") {
		t.Errorf("worker 1 logs contain rank 0 output:\n%s", r.stdout)
	}
	r = s.odh(t, "", "training", "describe", "mpijob", "sgd-allreduce")
	mustContain(t, "describe", r.stdout, "Phase:", "Succeeded", "worker-1", "History:", "Events:", "Progress:", "Done:      100% (step", "epoch 8/8", "loss=")
	r = s.odh(t, "", "training", "list", "mpijob")
	mustContain(t, "list", r.stdout, "PROGRESS", "100%")
	r = s.odh(t, "", "training", "delete", "mpijob", "sgd-allreduce")
	if r.code != 0 {
		t.Fatalf("delete: %+v", r)
	}
	r = s.odh(t, "", "training", "get", "mpijob", "sgd-allreduce")
	if r.code != 4 {
		t.Errorf("get after delete exited %d, want 4 (not found): %+v", r.code, r)
	}
	mustContain(t, "not found message", r.stderr, "not found", "odh training list mpijob")
}

// TestInvalidSpecRejectedWithEveryError: CLI shows every field error and
// exits 3, and nothing is created.
func TestInvalidSpecRejectedWithEveryError(t *testing.T) {
	s := startServer(t, t.TempDir(), t.TempDir())
	spec := "metadata:\n  name: My-Job\nspec:\n  command: [python3, train.py]\n  workers:\n    replicas: 0\n    resources:\n      memory: 16GG\n"
	r := s.odh(t, spec, "training", "create", "mpijob", "-f", "-")
	if r.code != 3 {
		t.Fatalf("exit %d, want 3: %+v", r.code, r)
	}
	mustContain(t, "error output", r.stderr, "3 errors", "nothing was created", "metadata.name", "spec.workers.replicas", "spec.workers.resources.memory")
	r = s.odh(t, "", "training", "list", "mpijob", "-A", "-o", "name")
	if strings.TrimSpace(r.stdout) != "" {
		t.Errorf("something was created: %q", r.stdout)
	}
	// The same through client-side validation.
	r = s.odh(t, spec, "training", "create", "mpijob", "-f", "-", "--dry-run=client")
	if r.code != 3 {
		t.Errorf("client dry run exit %d: %+v", r.code, r)
	}
	mustContain(t, "client dry-run errors", r.stderr, "metadata.name", "spec.workers.replicas", "spec.workers.resources.memory")
}

// TestUpstreamManifestsDryRun: the operator's own examples load.
func TestUpstreamManifestsDryRun(t *testing.T) {
	s := startServer(t, t.TempDir(), t.TempDir())
	out, err := exec.Command("go", "list", "-m", "-json", "github.com/kubeflow/mpi-operator").Output()
	if err != nil {
		t.Fatal(err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"pi.yaml", "pi-mpich.yaml", "pi-intel.yaml"} {
		r := s.odh(t, "", "training", "create", "mpijob", "-f", filepath.Join(mod.Dir, "examples", "v2beta1", "pi", f), "--dry-run")
		if r.code != 0 {
			t.Errorf("%s: exit %d\n%s", f, r.code, r.stderr)
			continue
		}
		mustContain(t, f+" output", r.stdout, "mpijob/pi valid (dry run")
		mustContain(t, f+" warnings", r.stderr, "is ignored by the local engine")
	}
}

// TestServerKilledDuringJob: a job running when the server dies shows
// Failed/ServerRestarted after a restart, its logs intact, and no process of
// it survives.
func TestServerKilledDuringJob(t *testing.T) {
	state, home := t.TempDir(), t.TempDir()
	s := startServer(t, state, home)
	r := s.odh(t, "", "training", "create", "mpijob", "long", "--workers", "2", "--", "sh", "-c", "echo started rank $OMPI_COMM_WORLD_RANK; sleep 300")
	if r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	r = s.odh(t, "", "training", "wait", "mpijob", "long", "--for=condition=Running", "--timeout=60s")
	if r.code != 0 {
		t.Fatalf("wait Running: %+v", r)
	}
	// Wait for both ranks' output to reach the logs.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		r = s.odh(t, "", "training", "logs", "mpijob", "long", "--all")
		if strings.Contains(r.stdout, "started rank 0") && strings.Contains(r.stdout, "started rank 1") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.stop(syscall.SIGKILL)

	s.start()
	r = s.odh(t, "", "training", "get", "mpijob", "long", "-o", "jsonpath={.status.phase}/{.status.reason}")
	if strings.TrimSpace(r.stdout) != "Failed/ServerRestarted" {
		t.Fatalf("after restart: %+v", r)
	}
	r = s.odh(t, "", "training", "logs", "mpijob", "long", "--all")
	mustContain(t, "logs after restart", r.stdout, "started rank 0", "started rank 1")
	r = s.odh(t, "", "training", "get", "mpijob", "long", "-o", "jsonpath={.metadata.uid}")
	uid := strings.TrimSpace(r.stdout)
	if uid == "" {
		t.Fatalf("no uid: %+v", r)
	}
	if left := local.MarkedProcesses(local.EnvJobUID, uid); len(left) > 0 {
		t.Errorf("processes of the killed server's job survive: %v", left)
	}
}

// TestFailedJobExitCode: --wait returns 10 and names the failing rank.
func TestFailedJobExitCode(t *testing.T) {
	s := startServer(t, t.TempDir(), t.TempDir())
	r := s.odh(t, "", "training", "create", "mpijob", "boom", "--workers", "2", "--wait", "--", "sh", "-c", `[ "$OMPI_COMM_WORLD_RANK" = 1 ] && exit 7; sleep 2`)
	if r.code != 10 {
		t.Fatalf("exit %d, want 10: %+v", r.code, r)
	}
	mustContain(t, "outcome", r.stderr, "mpijob/boom Failed", "rank 1")
}

func TestUnreachableServer(t *testing.T) {
	s := &server{url: "http://" + freePort(t), home: t.TempDir()}
	r := s.odh(t, "", "training", "list", "mpijob")
	if r.code != 8 {
		t.Fatalf("exit %d, want 8: %+v", r.code, r)
	}
	mustContain(t, "error", r.stderr, s.url, "make run")
}

// TestTLS: with a certificate the server speaks only TLS, and the CLI
// trusts it through --certificate-authority.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeSelfSigned(t, dir)
	home := t.TempDir()
	s := &server{t: t, listen: freePort(t), stateDir: t.TempDir(), home: home, stderr: &bytes.Buffer{},
		args: []string{"--tls-cert-file=" + certFile, "--tls-key-file=" + keyFile}}
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(certFile)
	pool.AppendCertsFromPEM(pem)
	s.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	s.url = "https://" + s.listen
	s.start()
	r := s.odh(t, "", "--certificate-authority", certFile, "training", "create", "mpijob", "tls-job", "--workers", "2", "--wait", "--", "true")
	if r.code != 0 {
		t.Fatalf("over TLS: %+v", r)
	}
	r = s.odh(t, "", "training", "list", "mpijob")
	if r.code != 8 || !strings.Contains(r.stderr, "--certificate-authority") {
		t.Errorf("untrusted certificate: %+v", r)
	}
	resp, err := http.Get("http://" + s.listen + "/healthz")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plaintext HTTP answered on a TLS port")
		}
	}
}

func writeSelfSigned(t *testing.T, dir string) (string, string) {
	t.Helper()
	kp, err := certs.SelfSigned(x509.Certificate{
		Subject: pkix.Name{CommonName: "e2e"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := kp.Write(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
