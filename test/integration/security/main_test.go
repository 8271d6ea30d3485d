//go:build integration

// Package security_test checks multi-tenant security end to end on the real
// control plane of test/cluster: the real odh-server binary with
// --engine=kubernetes (TokenReview, impersonation, access reviews; the
// rights of deploy/server/rbac.yaml), odh-webhook (the real webhook
// configurations of deploy/webhook, pointed at a loopback URL and limited
// to this suite's namespaces) and kubectl with the harness identities,
// bound to the persona roles of deploy/rbac.
package security_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
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
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	"github.com/odh-training/odh-training/internal/odhwebhook"
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
	// srv is the odh-server under test.
	srvURL   string
	srvAddr  string
	auditLog string
	workDir  string
	// whName names this run's webhook configurations.
	whName string
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

// setup creates the namespaces and bindings, starts odh-webhook and
// registers it, and starts odh-server. stop undoes it in reverse order
// (webhook configurations first, so a failed run never leaves the cluster
// calling a webhook that is gone).
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
	// Identities from the real manifests.
	for _, f := range []string{"deploy/server/rbac.yaml", "deploy/webhook/base/rbac.yaml", "deploy/webhook/base/serviceaccount.yaml"} {
		if out, err := kubectl(cluster.Admin, "apply", "--server-side", "--force-conflicts", "--field-manager=odh-security-test", "-n", "odh-training", "-f", filepath.Join(repoRoot, f)); err != nil {
			return stop, fmt.Errorf("apply %s: %v\n%s", f, err, out)
		}
	}
	if _, err := admin.CoreV1().ServiceAccounts("odh-training").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "odh-server"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return stop, err
	}
	serverKC, err := saKubeconfig(ctx, "odh-server")
	if err != nil {
		return stop, err
	}
	webhookKC, err := saKubeconfig(ctx, "odh-webhook")
	if err != nil {
		return stop, err
	}
	// The configurations get this run's name (deploy/'s own name is left
	// alone for the manifest tests running next to this suite); the
	// webhook may patch them like the real ones.
	whName = "odh-training-mpijobs-" + runID
	cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: whName}, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"mutatingwebhookconfigurations", "validatingwebhookconfigurations"},
		ResourceNames: []string{whName}, Verbs: []string{"get", "update"}}}}
	if _, err := admin.RbacV1().ClusterRoles().Create(ctx, cr, metav1.CreateOptions{}); err != nil {
		return stop, err
	}
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: whName}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: whName},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "odh-webhook", Namespace: "odh-training"}}}
	if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
		return stop, err
	}
	undo = append(undo, func() {
		_ = admin.RbacV1().ClusterRoleBindings().Delete(context.Background(), whName, metav1.DeleteOptions{})
		_ = admin.RbacV1().ClusterRoles().Delete(context.Background(), whName, metav1.DeleteOptions{})
	})

	// odh-webhook on loopback, with its own CA.
	port, err := freePort()
	if err != nil {
		return stop, err
	}
	wctx, wcancel := context.WithCancel(context.Background())
	wdone := make(chan error, 1)
	go func() {
		wdone <- odhwebhook.Run(wctx, &odhwebhook.Options{
			Listen: fmt.Sprintf("127.0.0.1:%d", port), Kubeconfig: webhookKC, CertDir: filepath.Join(workDir, "webhook"),
			DNSNames: []string{"localhost"}, IPAddresses: []string{"127.0.0.1"},
			MutatingConfigs: []string{whName}, ValidatingConfig: []string{whName},
			RotateInterval: time.Second, LogLevel: "info", LogFormat: "text",
		}, io.Discard)
	}()
	undo = append(undo, func() { wcancel(); <-wdone })
	if err := registerWebhook(ctx, port); err != nil {
		return stop, err
	}
	undo = append(undo, unregisterWebhook)

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
	cmd := exec.Command(bin, "--engine=kubernetes", "--kubeconfig="+serverKC, "--listen="+srvAddr, "--state-dir="+filepath.Join(workDir, "state"), "--audit-log="+auditLog)
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

// registerWebhook applies deploy/webhook's configurations with the
// service reference replaced by the loopback URL and the namespace
// selector narrowed to this run's namespaces, then waits until the webhook
// has published its CA and the API server calls it.
func registerWebhook(ctx context.Context, port int) error {
	data, err := os.ReadFile(filepath.Join(repoRoot, "deploy/webhook/base/webhookconfigurations.yaml"))
	if err != nil {
		return err
	}
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"odh.test/security": runID}}
	url := func(cc admissionregistrationv1.WebhookClientConfig) admissionregistrationv1.WebhookClientConfig {
		u := fmt.Sprintf("https://127.0.0.1:%d%s", port, *cc.Service.Path)
		return admissionregistrationv1.WebhookClientConfig{URL: &u}
	}
	rd := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return err
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return err
		}
		switch tm.Kind {
		case "MutatingWebhookConfiguration":
			var c admissionregistrationv1.MutatingWebhookConfiguration
			if err := yaml.UnmarshalStrict(doc, &c); err != nil {
				return err
			}
			c.Name = whName
			for i := range c.Webhooks {
				c.Webhooks[i].ClientConfig, c.Webhooks[i].NamespaceSelector = url(c.Webhooks[i].ClientConfig), sel
			}
			_ = admin.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(ctx, c.Name, metav1.DeleteOptions{})
			if _, err := admin.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &c, metav1.CreateOptions{}); err != nil {
				return err
			}
		case "ValidatingWebhookConfiguration":
			var c admissionregistrationv1.ValidatingWebhookConfiguration
			if err := yaml.UnmarshalStrict(doc, &c); err != nil {
				return err
			}
			c.Name = whName
			for i := range c.Webhooks {
				c.Webhooks[i].ClientConfig, c.Webhooks[i].NamespaceSelector = url(c.Webhooks[i].ClientConfig), sel
			}
			_ = admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(ctx, c.Name, metav1.DeleteOptions{})
			if _, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &c, metav1.CreateOptions{}); err != nil {
				return err
			}
		}
	}
	// The webhook patches the caBundle itself; then the API server must
	// reach it: a server-side dry run comes back stamped.
	alice := userMPI(cluster.Alice)
	return pollFor(ctx, 2*time.Minute, func() error {
		u, err := alice.KubeflowV2beta1().MPIJobs(nsA).Create(ctx, upstreamJob("probe", nsA, 1, true), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return err
		}
		if u.Annotations[webhook.AnnotationCreator] != "alice" {
			return fmt.Errorf("not stamped yet: %v", u.Annotations)
		}
		return nil
	})
}

func unregisterWebhook() {
	ctx := context.Background()
	_ = admin.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(ctx, whName, metav1.DeleteOptions{})
	_ = admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(ctx, whName, metav1.DeleteOptions{})
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
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.Layout.Bin("kubectl"), append([]string{"--kubeconfig", kc}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.String(), err
}

func readFile(p string) (string, error) {
	b, err := os.ReadFile(p)
	return string(b), err
}
