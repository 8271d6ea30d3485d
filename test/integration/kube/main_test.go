//go:build integration

// Package kube_test tests the kubernetes engine against the real control
// plane of test/cluster: kube-apiserver, controller-manager, scheduler, kwok
// nodes and the upstream MPI operator v0.8.2. The engine runs with the
// rights deploy/server/rbac.yaml gives odh-server (a ServiceAccount token),
// so the manifests are tested too; its writes carry the harness admin's own
// token, as odh-server sends its callers' requests with theirs.
package kube_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	mpiclient "github.com/kubeflow/mpi-operator/pkg/client/clientset/versioned"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/engine/kube"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/test/cluster"
)

var (
	harness *cluster.Cluster
	// ns is this run's namespace; every job of the tests lives there.
	ns string
	// serverCfg authenticates as the odh-server ServiceAccount bound to
	// deploy/server/rbac.yaml.
	serverCfg *rest.Config
	// eng is the engine most tests share (one per namespace, like a
	// deployed server).
	eng        *kube.Engine
	archiveDir string
	admin      *kubernetes.Clientset
	adminMPI   *mpiclient.Clientset
	repoRoot   string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	c, err := cluster.Ensure(ctx)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "start control-plane harness: %v\n", err)
		return 1
	}
	harness = c
	repoRoot = c.Layout.Root
	fmt.Fprintf(os.Stderr, "harness ready after %s\n", time.Since(start).Round(time.Millisecond))
	ctx = context.Background()
	cfg, err := c.RESTConfig(cluster.Admin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	admin = kubernetes.NewForConfigOrDie(cfg)
	adminMPI = mpiclient.NewForConfigOrDie(cfg)
	ns = "kit-" + randHex(3)
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"odh.test/suite": "kube-engine"}}}, metav1.CreateOptions{}); err != nil {
		fmt.Fprintf(os.Stderr, "create namespace: %v\n", err)
		return 1
	}
	if serverCfg, err = serverIdentity(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "odh-server identity from deploy/server/rbac.yaml: %v\n", err)
		return 1
	}
	archiveDir, err = os.MkdirTemp("", "odh-kube-archive-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(archiveDir)
	// Writes carry the harness admin's own token, as odh-server sends its
	// callers' (pass-through).
	if adminClients, err = kube.NewClients(cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The namespace lets odh-server read logs to archive and make per-job
	// NetworkPolicies (deploy/server/rbac.yaml).
	nsRole := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "odh-training-server"}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "odh-training-server-namespace"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "odh-server", Namespace: "odh-training"}}}
	if _, err := admin.RbacV1().RoleBindings(ns).Create(ctx, nsRole, metav1.CreateOptions{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	eng, err = kube.New(ctx, kube.Options{RestConfig: serverCfg, ClientsFor: asAdmin, Namespace: ns, ArchiveDir: archiveDir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		fmt.Fprintf(os.Stderr, "start the kubernetes engine: %v\n", err)
		return 1
	}
	code := m.Run()
	cleanupNamespace(ns)
	_ = eng.Close(context.Background())
	return code
}

// adminClients carry the harness admin's token.
var adminClients *kube.Clients

// asAdmin is the ClientsFor of the tests' engines: writes go with the
// harness admin's own token, as odh-server sends its callers' requests with
// theirs (deploy/server/rbac.yaml gives its ServiceAccount no right to write
// MPIJobs by itself).
func asAdmin(context.Context) (*kube.Clients, error) { return adminClients, nil }

func cleanupNamespace(name string) {
	if err := harness.DeleteNamespace(context.Background(), name); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// serverIdentity applies deploy/server/rbac.yaml (ClusterRole and binding
// to ServiceAccount odh-training/odh-server) and returns a config with a
// token of that ServiceAccount.
func serverIdentity(ctx context.Context) (*rest.Config, error) {
	const saNS, saName = "odh-training", "odh-server"
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: saNS}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	if _, err := admin.CoreV1().ServiceAccounts(saNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: saName}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "server", "rbac.yaml"))
	if err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := dec.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return nil, err
		}
		switch meta.Kind {
		case "ClusterRole":
			var r rbacv1.ClusterRole
			if err := yaml.UnmarshalStrict(doc, &r); err != nil {
				return nil, err
			}
			if _, err := admin.RbacV1().ClusterRoles().Update(ctx, &r, metav1.UpdateOptions{}); apierrors.IsNotFound(err) {
				_, err = admin.RbacV1().ClusterRoles().Create(ctx, &r, metav1.CreateOptions{})
				if err != nil {
					return nil, err
				}
			} else if err != nil {
				return nil, err
			}
		case "ClusterRoleBinding":
			var b rbacv1.ClusterRoleBinding
			if err := yaml.UnmarshalStrict(doc, &b); err != nil {
				return nil, err
			}
			if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, &b, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return nil, err
			}
		}
	}
	tr, err := admin.CoreV1().ServiceAccounts(saNS).CreateToken(ctx, saName, &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: new(int64(6 * 3600))}}, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	base, err := harness.RESTConfig(cluster.Admin)
	if err != nil {
		return nil, err
	}
	return &rest.Config{Host: base.Host, BearerToken: tr.Status.Token, TLSClientConfig: base.TLSClientConfig, QPS: 50, Burst: 100, UserAgent: "odh-server-test"}, nil
}

// ---- helpers -----------------------------------------------------------

func uniqueName(prefix string) string { return prefix + "-" + randHex(2) }

// newJob parses and prepares a high-level job document in the test
// namespace, as the service does before it calls the engine.
func newJob(t *testing.T, doc string) *job.MPIJob {
	t.Helper()
	j, _, err := job.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if j.Metadata.Namespace == "" {
		j.Metadata.Namespace = ns
		if j.Upstream != nil {
			j.Upstream.Namespace = ns
		}
	}
	if err := job.Prepare(j); err != nil {
		t.Fatalf("prepare: %v", err)
	}
	return j
}

func simpleJob(t *testing.T, name string, workers int, impl job.MPIImplementation) *job.MPIJob {
	return newJob(t, fmt.Sprintf(`
metadata: {name: %s, labels: {suite: kube}}
spec:
  image: mpioperator/mpi-pi:openmpi
  mpiImplementation: %s
  command: [python3, train.py]
  workers: {replicas: %d, resources: {cpu: 100m, memory: 64Mi}}
`, name, impl, workers))
}

func create(t *testing.T, j *job.MPIJob) *job.MPIJob {
	t.Helper()
	if _, err := eng.Admit(t.Context(), j); err != nil {
		t.Fatalf("admit %s: %v", j.Metadata.Name, err)
	}
	out, err := eng.Create(t.Context(), j)
	if err != nil {
		t.Fatalf("create %s: %v", j.Metadata.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = eng.Delete(ctx, out.Metadata.Namespace, out.Metadata.Name, engine.DeleteOptions{})
	})
	return out
}

// await watches the job until cond holds (or fails after timeout) and
// returns the job as it was then.
func await(t *testing.T, name string, timeout time.Duration, what string, cond func(*job.MPIJob) bool) *job.MPIJob {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	var last, got *job.MPIJob
	errDone := fmt.Errorf("done")
	err := eng.Watch(ctx, engine.WatchOptions{ListOptions: engine.ListOptions{Namespace: ns}, Name: name, SendInitial: true}, func(ev job.WatchEvent) error {
		if ev.Job == nil {
			return nil
		}
		last = ev.Job
		if ev.Type != job.Deleted && cond(ev.Job) {
			got = ev.Job
			return errDone
		}
		return nil
	})
	if got != nil {
		return got
	}
	state := "never seen"
	if last != nil {
		state = fmt.Sprintf("phase %s/%s: %s", last.Status.Phase, last.Status.Reason, last.Status.Message)
	}
	t.Fatalf("job %s: %s: not reached within %s (%v); last %s", name, what, timeout, err, state)
	return nil
}

// awaitTimeout bounds every wait for the cluster. Generous: the MPI
// operator's work queue is rate-limited and shared with every other test
// package running on the harness at the same time.
const awaitTimeout = 4 * time.Minute

func awaitPhase(t *testing.T, name string, p job.Phase) *job.MPIJob {
	t.Helper()
	return await(t, name, awaitTimeout, "phase "+string(p), func(j *job.MPIJob) bool { return j.Status.Phase == p })
}

// podsOf lists a job's pods by role ("launcher", "worker").
func podsOf(t *testing.T, name, role string) []corev1.Pod {
	t.Helper()
	sel := kubeflow.JobNameLabel + "=" + name
	if role != "" {
		sel += "," + kubeflow.JobRoleLabel + "=" + role
	}
	l, err := admin.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func launcherPod(t *testing.T, name string) string {
	t.Helper()
	var pod string
	eventually(t, "launcher pod of "+name, func() bool {
		for _, p := range podsOf(t, name, "launcher") {
			if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
				pod = p.Name
			}
		}
		return pod != ""
	})
	return pod
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(awaitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %s", what, awaitTimeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func exitPod(t *testing.T, pod string, code int) {
	t.Helper()
	if err := harness.SetPodExitCode(t.Context(), ns, pod, code); err != nil {
		t.Fatal(err)
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
