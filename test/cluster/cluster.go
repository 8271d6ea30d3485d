package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Cluster is a running harness.
type Cluster struct {
	Layout Layout
	PKI    *PKI
	State  *State
}

// APIServerURL is the apiserver's https URL on loopback.
func (c *Cluster) APIServerURL() string {
	return fmt.Sprintf("https://127.0.0.1:%d", c.State.Ports.APIServer)
}

// Kubeconfig returns the kubeconfig path of an identity (Admin, Alice, Bob,
// MLOps).
func (c *Cluster) Kubeconfig(identity string) string { return c.Layout.Kubeconfig(identity) }

// RESTConfig returns a client config authenticating as identity.
func (c *Cluster) RESTConfig(identity string) (*rest.Config, error) {
	tok, ok := c.PKI.Tokens[identity]
	if !ok {
		return nil, fmt.Errorf("unknown identity %q", identity)
	}
	return &rest.Config{
		Host:            c.APIServerURL(),
		BearerToken:     tok,
		TLSClientConfig: rest.TLSClientConfig{CAFile: c.PKI.Path(pkiCACert)},
		QPS:             50,
		Burst:           100,
		UserAgent:       "odh-cluster/" + identity,
	}, nil
}

// Clientset returns a typed client authenticating as identity.
func (c *Cluster) Clientset(identity string) (*kubernetes.Clientset, error) {
	cfg, err := c.RESTConfig(identity)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// Dynamic returns a dynamic client authenticating as identity.
func (c *Cluster) Dynamic(identity string) (*dynamic.DynamicClient, error) {
	cfg, err := c.RESTConfig(identity)
	if err != nil {
		return nil, err
	}
	return dynamic.NewForConfig(cfg)
}

// Token returns the bearer token of identity.
func (c *Cluster) Token(identity string) string { return c.PKI.Tokens[identity] }

// writeKubeconfigs writes .cluster/<identity>.kubeconfig for every identity.
func (c *Cluster) writeKubeconfigs() error {
	ca, err := c.PKI.CAData()
	if err != nil {
		return err
	}
	for _, id := range identities() {
		cfg := clientcmdapi.NewConfig()
		cfg.Clusters["odh"] = &clientcmdapi.Cluster{Server: c.APIServerURL(), CertificateAuthorityData: ca}
		cfg.AuthInfos[id.Name] = &clientcmdapi.AuthInfo{Token: c.PKI.Tokens[id.Name]}
		ctx := &clientcmdapi.Context{Cluster: "odh", AuthInfo: id.Name, Namespace: defaultNamespace(id.Name)}
		cfg.Contexts[id.Name] = ctx
		cfg.CurrentContext = id.Name
		if err := clientcmd.WriteToFile(*cfg, c.Layout.Kubeconfig(id.Name)); err != nil {
			return fmt.Errorf("write kubeconfig of %s: %w", id.Name, err)
		}
	}
	return nil
}

func defaultNamespace(identity string) string {
	switch identity {
	case Alice, MLOps:
		return TeamA
	case Bob:
		return TeamB
	}
	return "default"
}

var (
	ensureOnce sync.Mutex
	ensured    *Cluster
)

// Ensure starts the harness, or reuses a healthy running one, and returns it.
// Meant for TestMain of integration tests (build tag `integration`):
//
//	func TestMain(m *testing.M) {
//		c, err := cluster.Ensure(context.Background())
//		...
//		os.Exit(m.Run())
//	}
//
// A harness Ensure started keeps running after the tests end, so the next
// test package reuses it; `odh-cluster down` (run by make test-integration at
// the end) stops it. Environment: ODH_CLUSTER_SKIP_BUILD=1 uses the binaries
// in bin/cluster/ as they are; ODH_CLUSTER_VERBOSE=1 logs progress to stderr;
// ODH_CLUSTER_GANG_SCHEDULING sets Options.GangScheduling.
func Ensure(ctx context.Context) (*Cluster, error) {
	ensureOnce.Lock()
	defer ensureOnce.Unlock()
	if ensured != nil {
		return ensured, nil
	}
	opts := Options{SkipBuild: os.Getenv("ODH_CLUSTER_SKIP_BUILD") == "1", GangScheduling: os.Getenv(GangSchedulingEnv)}
	if os.Getenv("ODH_CLUSTER_VERBOSE") == "1" {
		opts.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	c, err := Up(ctx, opts)
	if err != nil {
		return nil, err
	}
	ensured = c
	return c, nil
}

// DeleteNamespace deletes a namespace and waits up to two minutes until it
// is gone (its pods, MPIJobs and finalizers cleaned up).
func (c *Cluster) DeleteNamespace(ctx context.Context, name string) error {
	cs, err := c.Clientset(Admin)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	for ctx.Err() == nil {
		if _, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("namespace %s still terminating after 2 minutes", name)
}

// SetPodExitCode makes every container of a running kwok pod exit with code:
// the pod ends Succeeded (0) or Failed (anything else). It sets the
// AnnotationExitCode annotation; kwok does the rest.
func (c *Cluster) SetPodExitCode(ctx context.Context, ns, pod string, code int) error {
	return c.annotatePod(ctx, ns, pod, map[string]string{AnnotationExitCode: strconv.Itoa(code)})
}

// SetPodOOMKilled makes a running kwok pod's containers end as OOMKilled with
// exit code 137; the pod ends Failed.
func (c *Cluster) SetPodOOMKilled(ctx context.Context, ns, pod string) error {
	return c.annotatePod(ctx, ns, pod, map[string]string{AnnotationExitCode: "137", AnnotationReason: "OOMKilled"})
}

// SetPodEvicted ends a running kwok pod as a kubelet evicting it under node
// pressure does: phase Failed, status.reason "Evicted" with message, and the
// containers killed (exit code 137).
func (c *Cluster) SetPodEvicted(ctx context.Context, ns, pod, message string) error {
	return c.annotatePod(ctx, ns, pod, map[string]string{AnnotationExitCode: "137", AnnotationPodReason: "Evicted", AnnotationPodMessage: message})
}

// SetPodRestarts makes a running kwok pod's containers report count restarts,
// the last one after exiting with lastExitCode for reason (e.g. "Error",
// "OOMKilled"); the pod keeps running.
func (c *Cluster) SetPodRestarts(ctx context.Context, ns, pod string, count, lastExitCode int, reason string) error {
	return c.annotatePod(ctx, ns, pod, map[string]string{
		AnnotationRestartCount: strconv.Itoa(count),
		AnnotationLastExitCode: strconv.Itoa(lastExitCode),
		AnnotationLastReason:   reason,
	})
}

func (c *Cluster) annotatePod(ctx context.Context, ns, pod string, annotations map[string]string) error {
	cs, err := c.Clientset(Admin)
	if err != nil {
		return err
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": annotations}})
	if err != nil {
		return err
	}
	if _, err := cs.CoreV1().Pods(ns).Patch(ctx, pod, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("annotate pod %s/%s: %w", ns, pod, err)
	}
	return nil
}

var kwokLogsGVR = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "logs"}

// SetPodLogs makes kwok serve text as the log of every container of pod (and
// as its previous log), through the real pods/log API. It writes the text in
// CRI log format to .cluster/kwok/podlogs/<ns>/<pod>.log and creates a kwok
// Logs object named like the pod in its namespace pointing at that file. The
// pod need not exist yet. Call it again to replace the text.
func (c *Cluster) SetPodLogs(ctx context.Context, ns, pod, text string) error {
	dir := filepath.Join(c.Layout.PodLogDir(), ns)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	file := filepath.Join(dir, pod+".log")
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, criLog(time.Now(), text), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, file); err != nil {
		return err
	}
	dyn, err := c.Dynamic(Admin)
	if err != nil {
		return err
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1",
		"kind":       "Logs",
		"metadata":   map[string]any{"name": pod, "namespace": ns},
		"spec": map[string]any{"logs": []any{map[string]any{
			"logsFile": file, "previousLogsFile": file, "follow": false,
		}}},
	}}
	if _, err := dyn.Resource(kwokLogsGVR).Namespace(ns).Apply(ctx, pod, obj, metav1.ApplyOptions{FieldManager: fieldManager, Force: true}); err != nil {
		return fmt.Errorf("set logs of pod %s/%s: %w", ns, pod, err)
	}
	// kwok learns about the Logs object through a watch: wait until its
	// kubelet endpoint serves the new text, so callers can read it at once.
	hc, err := c.caClient()
	if err != nil {
		return err
	}
	first, _, _ := strings.Cut(strings.TrimSuffix(text, "\n"), "\n")
	url := fmt.Sprintf("https://127.0.0.1:%d/containerLogs/%s/%s/any", c.State.Ports.Kwok, ns, pod)
	if err := poll(ctx, 30*time.Second, func(ctx context.Context) error {
		return httpCheck(ctx, hc, url, "", first)
	}); err != nil {
		return fmt.Errorf("set logs of pod %s/%s: kwok does not serve them: %w", ns, pod, err)
	}
	return nil
}
