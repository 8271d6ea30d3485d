package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// Kubeflow Trainer v2 and JobSet run like Kueue: upstream's commands from
// their tool modules, their webhooks on loopback with a certificate of the
// harness CA (their internal certificate management off) and registered by
// URL from upstream's own webhook manifests (rendered with kubectl
// kustomize, so upstream's patches — e.g. JobSet's pod-webhook object
// selector — apply), their CRDs from the modules' manifests, and each its
// own identity bound to the ClusterRole its project ships. Leader election
// and metrics servers are off. Trainer's TrainJobStatus feature gate (its
// runtime status server, alpha) stays at its default, off. See
// docs/dev/trainer.md for the choice of release.
const (
	// JobSetCRD, TrainJobCRD, TrainingRuntimeCRD and
	// ClusterTrainingRuntimeCRD name the CRDs.
	JobSetCRD                 = "jobsets.jobset.x-k8s.io"
	TrainJobCRD               = "trainjobs.trainer.kubeflow.org"
	TrainingRuntimeCRD        = "trainingruntimes.trainer.kubeflow.org"
	ClusterTrainingRuntimeCRD = "clustertrainingruntimes.trainer.kubeflow.org"

	trainerModule = "github.com/kubeflow/trainer/v2"
	jobSetModule  = "sigs.k8s.io/jobset"
)

func jobSetCRDs(ctx context.Context, l Layout) ([]string, error) {
	return moduleFiles(ctx, l, "jobset", jobSetModule, "config/components/crd/bases/*.yaml")
}

func trainerCRDs(ctx context.Context, l Layout) ([]string, error) {
	return moduleFiles(ctx, l, "trainer", trainerModule, "manifests/base/crds/trainer.kubeflow.org_*.yaml")
}

// moduleFiles globs pattern (slash-separated) in the module-cache copy of
// module as required by a tool module; it is an error if nothing matches.
func moduleFiles(ctx context.Context, l Layout, toolModule, module, pattern string) ([]string, error) {
	dir, err := moduleCacheDir(ctx, l, toolModule, module)
	if err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(dir, filepath.FromSlash(pattern)))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("%s: no files match %s (%v)", module, pattern, err)
	}
	return files, nil
}

// jobSetConfig renders JobSet's configuration file.
func jobSetConfig(healthPort, webhookPort int, certDir string) string {
	return fmt.Sprintf(`apiVersion: config.jobset.x-k8s.io/v1alpha1
kind: Configuration
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
`, healthPort, webhookPort, certDir)
}

func (c *Cluster) jobSetCommand(context.Context) (string, []string, []string, error) {
	dir := filepath.Join(c.Layout.StateDir(), CompJobSet)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, nil, err
	}
	config := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(config, []byte(jobSetConfig(c.State.Ports.JobSetHealth, c.State.Ports.JobSetWebhook, c.PKI.Path(pkiLoopbackDir))), 0o644); err != nil {
		return "", nil, nil, err
	}
	// In a restart loop: its webhooks (JobSets, and pods of JobSets) fail
	// closed.
	binary, args := restartLoop(c.Layout.Bin(CompJobSet),
		"--config="+config,
		"--kubeconfig="+c.Layout.Kubeconfig(CompJobSet),
		"--zap-log-level=info",
		"--zap-devel=false",
	)
	return binary, args, nil, nil
}

func (c *Cluster) checkJobSet(ctx context.Context) error {
	return checkHealthz(ctx, c.State.Ports.JobSetHealth, "/readyz")
}

// jobSetRBAC binds JobSet's ClusterRole (config/components/rbac/role.yaml,
// named jobset-manager-role as upstream's kustomize names it) to its
// identity.
func (c *Cluster) jobSetRBAC(ctx context.Context) ([]any, error) {
	files, err := moduleFiles(ctx, c.Layout, "jobset", jobSetModule, "config/components/rbac/role.yaml")
	if err != nil {
		return nil, err
	}
	return upstreamClusterRole(files[0], "manager-role", "jobset-manager-role", jobSetUser)
}

func (c *Cluster) registerJobSet(ctx context.Context) error {
	dir, err := moduleCacheDir(ctx, c.Layout, "jobset", jobSetModule)
	if err != nil {
		return err
	}
	objs, err := c.kustomize(ctx, filepath.Join(dir, "config", "components", "webhook"))
	if err != nil {
		return err
	}
	hooks, err := c.loopbackWebhooks(objs, c.State.Ports.JobSetWebhook, nil, "jobset-")
	if err != nil {
		return err
	}
	if len(hooks) != 2 {
		return fmt.Errorf("jobset %s webhook manifests: found %d webhook configurations, want 2", JobSetVersion, len(hooks))
	}
	return c.applyAll(ctx, hooks...)
}

// trainerConfig renders Trainer's configuration file.
func trainerConfig(healthPort, webhookPort int) string {
	return fmt.Sprintf(`apiVersion: config.trainer.kubeflow.org/v1alpha1
kind: Configuration
health:
  healthProbeBindAddress: 127.0.0.1:%d
  readinessEndpointName: readyz
  livenessEndpointName: healthz
metrics:
  bindAddress: "0"
webhook:
  host: 127.0.0.1
  port: %d
leaderElection:
  leaderElect: false
certManagement:
  enable: false
clientConnection:
  qps: 50
  burst: 100
`, healthPort, webhookPort)
}

func (c *Cluster) trainerCommand(context.Context) (string, []string, []string, error) {
	dir := filepath.Join(c.Layout.StateDir(), CompTrainer)
	// Trainer leaves the webhook server's certificate directory at
	// controller-runtime's default, $TMPDIR/k8s-webhook-server/serving-certs:
	// give it a TMPDIR of its own holding the harness's certificate.
	certDir := filepath.Join(dir, "tmp", "k8s-webhook-server", "serving-certs")
	if err := os.MkdirAll(certDir, 0o755); err != nil {
		return "", nil, nil, err
	}
	for _, f := range []string{"tls.crt", "tls.key"} {
		b, err := os.ReadFile(c.PKI.Path(filepath.Join(pkiLoopbackDir, f)))
		if err != nil {
			return "", nil, nil, err
		}
		if err := os.WriteFile(filepath.Join(certDir, f), b, 0o600); err != nil {
			return "", nil, nil, err
		}
	}
	config := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(config, []byte(trainerConfig(c.State.Ports.TrainerHealth, c.State.Ports.TrainerWebhook)), 0o644); err != nil {
		return "", nil, nil, err
	}
	// In a restart loop: its webhooks fail closed.
	binary, args := restartLoop(c.Layout.Bin("trainer-controller-manager"),
		"--config="+config,
		"--kubeconfig="+c.Layout.Kubeconfig(CompTrainer),
		"--zap-log-level=info",
	)
	return binary, args, []string{"TMPDIR=" + filepath.Join(dir, "tmp")}, nil
}

func (c *Cluster) checkTrainer(ctx context.Context) error {
	return checkHealthz(ctx, c.State.Ports.TrainerHealth, "/readyz")
}

// trainerRBAC binds Trainer's ClusterRole (manifests/base/rbac/role.yaml)
// to its identity.
func (c *Cluster) trainerRBAC(ctx context.Context) ([]any, error) {
	files, err := moduleFiles(ctx, c.Layout, "trainer", trainerModule, "manifests/base/rbac/role.yaml")
	if err != nil {
		return nil, err
	}
	return upstreamClusterRole(files[0], "kubeflow-trainer-controller-manager", "kubeflow-trainer-controller-manager", trainerUser)
}

func (c *Cluster) registerTrainer(ctx context.Context) error {
	dir, err := moduleCacheDir(ctx, c.Layout, "trainer", trainerModule)
	if err != nil {
		return err
	}
	objs, err := c.kustomize(ctx, filepath.Join(dir, "manifests", "base", "webhook"))
	if err != nil {
		return err
	}
	hooks, err := c.loopbackWebhooks(objs, c.State.Ports.TrainerWebhook, nil, "")
	if err != nil {
		return err
	}
	if len(hooks) != 2 {
		return fmt.Errorf("trainer %s webhook manifests: found %d webhook configurations, want 2", TrainerVersion, len(hooks))
	}
	return c.applyAll(ctx, hooks...)
}
