//go:build integration

// Package security_test checks multi-tenant security end to end on the real
// control plane of test/cluster: the real odh-server binary with
// --engine=kubernetes (TokenReview, the caller's own token, access reviews; the
// rights of deploy/server/rbac.yaml), odh-webhook as the harness runs it for
// every test (configured as deploy/webhook configures it: its webhook
// configurations, policy and RBAC, on a loopback URL) and kubectl with the
// harness identities, bound to the persona roles of deploy/rbac.
package security_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mpiclient "github.com/kubeflow/mpi-operator/pkg/client/clientset/versioned"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/odh-training/odh-training/internal/webhook"
	"github.com/odh-training/odh-training/test/cluster"
)

var (
	harness  *cluster.Cluster
	admin    *kubernetes.Clientset
	repoRoot string
	runID    string
	// nsA is alice's and mlops's namespace, nsB bob's.
	nsA, nsB string
	// serverKubeconfig holds a token of odh-server's ServiceAccount.
	serverKubeconfig string
	// srv is the odh-server under test.
	srvURL   string
	srvAddr  string
	auditLog string
	workDir  string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	c, err := cluster.Ensure(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "start control-plane harness: %v\n", err)
		return 1
	}
	harness, repoRoot = c, c.Layout.Root
	cfg, err := c.RESTConfig(cluster.Admin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	admin = kubernetes.NewForConfigOrDie(cfg)
	runID = randHex(3)
	nsA, nsB = "sec-a-"+runID, "sec-b-"+runID
	if workDir, err = os.MkdirTemp("", "odh-security-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(workDir)
	stop, err := setup(ctx)
	defer stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "set up: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "security suite ready after %s (namespaces %s, %s; odh-server %s)\n", time.Since(start).Round(time.Millisecond), nsA, nsB, srvURL)
	return m.Run()
}

// setup creates the namespaces and bindings, checks that the harness's
// odh-webhook admits this run's jobs, and starts odh-server. stop undoes it
// in reverse order.
func setup(ctx context.Context) (stop func(), err error) {
	var undo []func()
	stop = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	for _, ns := range []string{nsA, nsB} {
		if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"odh.test/security": runID}}}, metav1.CreateOptions{}); err != nil {
			return stop, err
		}
		undo = append(undo, func() { deleteNamespace(ns) })
	}
	for _, b := range []struct{ ns, user, role string }{
		{nsA, "alice", cluster.RoleDataScientist}, {nsB, "bob", cluster.RoleDataScientist}, {nsA, "mlops", cluster.RoleMLOps},
	} {
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "sec-" + b.user}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: b.role},
			Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: b.user}}}
		if _, err := admin.RbacV1().RoleBindings(b.ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
			return stop, err
		}
	}
	// The harness installs deploy/policy (the TrainingPolicy CRD) before
	// odh-webhook starts; odh-server starts below, after it is served, so
	// both watch policies from the beginning.
	if err := pollFor(ctx, time.Minute, func() error {
		_, err := kubectl(cluster.Admin, "get", "trainingpolicies")
		return err
	}); err != nil {
		return stop, fmt.Errorf("the TrainingPolicy CRD is not served (the harness installs deploy/policy; make cluster-up): %w", err)
	}
	// The server's identity from the real manifests.
	if out, err := kubectl(cluster.Admin, "apply", "--server-side", "--force-conflicts", "--field-manager=odh-security-test", "-n", "odh-training", "-f", filepath.Join(repoRoot, "deploy/server/rbac.yaml")); err != nil {
		return stop, fmt.Errorf("apply deploy/server/rbac.yaml: %v\n%s", err, out)
	}
	if _, err := admin.CoreV1().ServiceAccounts("odh-training").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "odh-server"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return stop, err
	}
	serverKC, err := saKubeconfig(ctx, "odh-server")
	if err != nil {
		return stop, err
	}
	serverKubeconfig = serverKC
	// nsA lets odh-server keep its log-archive finalizer on the job's pods
	// and make per-job NetworkPolicies (deploy/server/rbac.yaml,
	// odh-training-server-namespace); nsB does not.
	nsRole := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "odh-training-server"}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "odh-training-server-namespace"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "odh-server", Namespace: "odh-training"}}}
	if _, err := admin.RbacV1().RoleBindings(nsA).Create(ctx, nsRole, metav1.CreateOptions{}); err != nil {
		return stop, err
	}
	// odh-webhook is the harness's: the API server calls it for this run's
	// namespaces as for every other.
	if err := webhookReady(ctx); err != nil {
		return stop, err
	}

	// odh-server, the real binary.
	bin := filepath.Join(workDir, "odh-server")
	build := exec.Command("go", "build", "-o", bin, "./cmd/odh-server")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		return stop, fmt.Errorf("go build odh-server: %v\n%s", err, out)
	}
	if srvAddr, err = freeAddr(); err != nil {
		return stop, err
	}
	srvURL = "http://" + srvAddr
	auditLog = filepath.Join(workDir, "audit.log")
	cmd := exec.Command(bin, "--engine=kubernetes", "--kubeconfig="+serverKC, "--listen="+srvAddr, "--state-dir="+filepath.Join(workDir, "state"), "--audit-log="+auditLog,
		// Streams check access again every 2 s (TestStreamEndsWhenAccessRevoked).
		"--stream-recheck-interval=2s")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(workDir, "xdg"))
	logf, err := os.Create(filepath.Join(workDir, "odh-server.log"))
	if err != nil {
		return stop, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return stop, err
	}
	undo = append(undo, func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
		}
		_ = logf.Close()
		if os.Getenv("ODH_TEST_SERVER_LOG") != "" {
			b, _ := os.ReadFile(logf.Name())
			fmt.Fprintf(os.Stderr, "odh-server log:\n%s\n", b)
		}
	})
	// The jobs the matrix reads logs from start now: the MPI operator is
	// shared with the other suites and may take a while to get to them.
	for _, j := range []struct{ user, name string }{{cluster.Alice, "run-alice"}, {cluster.MLOps, "run-mlops"}, {cluster.Admin, "run-admin"}} {
		if _, err := userMPI(j.user).KubeflowV2beta1().MPIJobs(nsA).Create(ctx, upstreamJob(j.name, nsA, 1, false), metav1.CreateOptions{}); err != nil {
			return stop, fmt.Errorf("%s creates %s: %w", j.user, j.name, err)
		}
	}
	if err := pollFor(ctx, 2*time.Minute, func() error {
		resp, err := http.Get(srvURL + "/readyz")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return fmt.Errorf("readyz %d: %s", resp.StatusCode, b)
		}
		return nil
	}); err != nil {
		b, _ := os.ReadFile(logf.Name())
		return stop, fmt.Errorf("odh-server not ready: %v\n%s", err, b)
	}
	return stop, nil
}

// webhookReady waits until the API server calls the harness's odh-webhook
// for this run's namespaces: a server-side dry run comes back stamped.
func webhookReady(ctx context.Context) error {
	alice := userMPI(cluster.Alice)
	return pollFor(ctx, 2*time.Minute, func() error {
		u, err := alice.KubeflowV2beta1().MPIJobs(nsA).Create(ctx, upstreamJob("probe", nsA, 1, true), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return err
		}
		if u.Annotations[webhook.AnnotationCreator] != "alice" {
			return fmt.Errorf("not stamped: %v (is odh-webhook registered? make cluster-status)", u.Annotations)
		}
		return nil
	})
}

func deleteNamespace(name string) {
	_ = harness.DeleteNamespace(context.Background(), name)
}

// saKubeconfig writes a kubeconfig with a token of ServiceAccount
// odh-training/NAME.
func saKubeconfig(ctx context.Context, name string) (string, error) {
	tr, err := admin.CoreV1().ServiceAccounts("odh-training").CreateToken(ctx, name, &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: new(int64(6 * 3600))}}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return writeKubeconfig(name, tr.Status.Token)
}

func writeKubeconfig(name, token string) (string, error) {
	ca, err := harness.PKI.CAData()
	if err != nil {
		return "", err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["harness"] = &clientcmdapi.Cluster{Server: harness.APIServerURL(), CertificateAuthorityData: ca}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: "harness", AuthInfo: name}
	cfg.CurrentContext = name
	p := filepath.Join(workDir, name+".kubeconfig")
	return p, clientcmd.WriteToFile(*cfg, p)
}

func userMPI(identity string) *mpiclient.Clientset {
	cfg, err := harness.RESTConfig(identity)
	if err != nil {
		panic(err)
	}
	return mpiclient.NewForConfigOrDie(cfg)
}

// kubectl runs bin/cluster/kubectl as a harness identity ("anonymous": a
// token the API server does not know).
func kubectl(identity string, args ...string) (string, error) {
	return kubectlStdin(identity, "", args...)
}

func kubeconfigOf(identity string) (string, error) {
	if identity == anonymous {
		return writeKubeconfig("anonymous", "not-a-valid-token")
	}
	return harness.Kubeconfig(identity), nil
}

const anonymous = "anonymous"

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func freeAddr() (string, error) {
	p, err := freePort()
	return fmt.Sprintf("127.0.0.1:%d", p), err
}

func pollFor(ctx context.Context, timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("after %s: %w", timeout, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	waitFor(t, 90*time.Second, what, f)
}

func waitFor(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	if err := pollFor(t.Context(), timeout, f); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func mustContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s %q does not contain %q", what, s, sub)
		}
	}
}

func kubectlStdin(identity, stdin string, args ...string) (string, error) {
	kc, err := kubeconfigOf(identity)
	if err != nil {
		return "", err
	}
	return kubectlWith(kc, stdin, args...)
}

// kubectlKubeconfig runs kubectl with the kubeconfig at kc.
func kubectlKubeconfig(kc string, args ...string) (string, error) {
	return kubectlWith(kc, "", args...)
}

func kubectlWith(kc, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.Layout.Bin("kubectl"), append([]string{"--kubeconfig", kc}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func readFile(p string) (string, error) {
	b, err := os.ReadFile(p)
	return string(b), err
}
