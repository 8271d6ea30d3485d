package cluster

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Kueue runs as a process like the MPI operator: its controllers, scheduler
// and admission webhooks (MPIJob defaulting and validation, and those of its
// own resources) serve on loopback with a certificate from the harness CA.
// The webhooks' configurations call it by URL, as no Service can reach a
// loopback process. The integrations enabled are those of the jobs the
// harness runs: kubeflow.org/mpijob, trainer.kubeflow.org/trainjob and
// jobset.x-k8s.io/jobset (a job opts in with the kueue.x-k8s.io/queue-name
// label; others are left alone). Its
// visibility API (pending workloads and their positions) is an aggregated
// API: its APIService points at an ExternalName Service "localhost", which
// the aggregator dials directly.
const (
	// KueueNamespace is Kueue's own namespace.
	KueueNamespace = "kueue-system"
	// KueueWorkloadCRD names the Workload CRD.
	KueueWorkloadCRD = "workloads.kueue.x-k8s.io"
	// kueueUser is Kueue's identity. Like kwok, it runs as a cluster admin:
	// upstream's ClusterRole is written for its kustomize deployment
	// (ServiceAccount, Secret-based certificates), which the harness does
	// not use.
	kueueUser = "system:odh:kueue"
	// kueueVisibilityService names the visibility API's Service.
	kueueVisibilityService = "kueue-visibility"
	// frontProxyUser is the aggregator's client certificate name.
	frontProxyUser = "front-proxy-client"
)

// kueueModule is Kueue's module path in its tool module.
const kueueModule = "sigs.k8s.io/kueue"

// kueueCRDs returns the CRD manifests Kueue needs.
func kueueCRDs(ctx context.Context, l Layout) ([]string, error) {
	dir, err := moduleCacheDir(ctx, l, "kueue", kueueModule)
	if err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(dir, "config", "components", "crd", "bases", "*.yaml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("kueue %s: no CRD manifests under config/components/crd/bases (%v)", KueueVersion, err)
	}
	return files, nil
}

// kueueConfig renders Kueue's configuration file.
func kueueConfig(healthPort, webhookPort, visibilityPort int, certDir string) string {
	return fmt.Sprintf(`apiVersion: config.kueue.x-k8s.io/v1beta2
kind: Configuration
namespace: %s
health:
  healthProbeBindAddress: 127.0.0.1:%d
metrics:
  bindAddress: "0"
webhook:
  host: 127.0.0.1
  port: %d
  certDir: %s
leaderElection:
  leaderElect: false
internalCertManagement:
  enable: false
clientConnection:
  qps: 50
  burst: 100
visibilityServer:
  bindAddress: 127.0.0.1
  bindPort: %d
integrations:
  frameworks:
  - kubeflow.org/mpijob
  - jobset.x-k8s.io/jobset
  - trainer.kubeflow.org/trainjob
`, KueueNamespace, healthPort, webhookPort, certDir, visibilityPort)
}

// kueueCommand returns how to run Kueue.
func (c *Cluster) kueueCommand(context.Context) (binary string, args, env []string, err error) {
	dir := filepath.Join(c.Layout.StateDir(), "kueue")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, nil, err
	}
	certDir := c.PKI.Path(pkiKueueDir)
	config := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(config, []byte(kueueConfig(c.State.Ports.KueueHealth, c.State.Ports.KueueWebhook, c.State.Ports.KueueVisibility, certDir)), 0o644); err != nil {
		return "", nil, nil, err
	}
	// In a restart loop like the operator: while it is down, its
	// webhooks (failure policy Fail) refuse every MPIJob write.
	binary, args = restartLoop(c.Layout.Bin(CompKueue),
		"--config="+config,
		// As a flag: the visibility server takes its delegated
		// authentication and authorization kubeconfig from it.
		"--kubeconfig="+c.Layout.Kubeconfig(CompKueue),
		"--zap-log-level=info",
	)
	return binary, args, []string{
		kueueMetricsCertDirEnv + "=" + certDir,
		kueueVisibilityCertDirEnv + "=" + certDir,
	}, nil
}

func (c *Cluster) checkKueue(ctx context.Context) error {
	return httpCheck(ctx, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/readyz", c.State.Ports.KueueHealth), "", "ok")
}

// keepKueueWebhook selects the Kueue webhooks the harness registers: those
// of Kueue's own resources and of the enabled integrations.
func keepKueueWebhook(w map[string]any) bool {
	rules, _, _ := unstructured.NestedSlice(w, "rules")
	for _, r := range rules {
		rm, _ := r.(map[string]any)
		groups, _, _ := unstructured.NestedStringSlice(rm, "apiGroups")
		if slices.Contains(groups, "kueue.x-k8s.io") {
			return true
		}
	}
	return webhookRules(w, "mpijobs", "jobsets", "trainjobs")
}

// kueueWebhooks reads upstream's webhook configurations and points the ones
// the harness uses at the Kueue process.
func (c *Cluster) kueueWebhooks(ctx context.Context) ([]*unstructured.Unstructured, error) {
	dir, err := moduleCacheDir(ctx, c.Layout, "kueue", kueueModule)
	if err != nil {
		return nil, err
	}
	objs, err := readObjects(filepath.Join(dir, "config", "components", "webhook", "manifests.yaml"))
	if err != nil {
		return nil, err
	}
	out, err := c.loopbackWebhooks(objs, c.State.Ports.KueueWebhook, keepKueueWebhook, "kueue-")
	if err != nil {
		return nil, err
	}
	if len(out) != 2 {
		return nil, fmt.Errorf("kueue %s webhook manifests: found %d configurations with webhooks the harness uses, want 2 (mutating and validating)", KueueVersion, len(out))
	}
	return out, nil
}

// kueueVisibilityAPI returns the visibility API's Service and APIService.
func (c *Cluster) kueueVisibilityAPI() ([]*unstructured.Unstructured, error) {
	return c.aggregatedAPI(kueueVisibilityService, KueueNamespace, c.State.Ports.KueueVisibility, "visibility.kueue.x-k8s.io", map[string]int64{"v1beta2": 100, "v1beta1": 90})
}

// checkKueueVisibility reports an error until the aggregator serves the
// visibility API.
func (c *Cluster) checkKueueVisibility(ctx context.Context) error {
	return c.checkAPIPath(ctx, "/apis/visibility.kueue.x-k8s.io/v1beta2")
}

// registerKueue applies the webhook configurations and the visibility API
// once Kueue serves them.
func (c *Cluster) registerKueue(ctx context.Context) error {
	hooks, err := c.kueueWebhooks(ctx)
	if err != nil {
		return err
	}
	vis, err := c.kueueVisibilityAPI()
	if err != nil {
		return err
	}
	if err := c.applyAll(ctx, append(hooks, vis...)...); err != nil {
		return err
	}
	return poll(ctx, time.Minute, c.checkKueueVisibility)
}
