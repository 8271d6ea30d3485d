package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The product's own admission webhook, odh-webhook, runs as deploy/webhook
// installs it, so every test and every kubectl user of the harness gets the
// admission of a real install. The harness renders deploy/webhook with
// `kubectl kustomize` and uses what it renders:
//
//   - the Deployment's container args, with three changes: --listen is a
//     loopback port; the serving certificate is the harness CA's
//     (--tls-cert-file/--tls-key-file instead of the self-generated CA
//     flags --cert-dir, --dns-name, …); paths under a ConfigMap volume's
//     mountPath point at a copy of the ConfigMap's data in
//     .cluster/odh-webhook/<volume>/. Plus --kubeconfig.
//   - the webhook configurations, with clientConfig.url instead of the
//     Service and the harness CA as caBundle; rules, failure policy,
//     selectors, operations and timeouts as rendered.
//   - everything else (ServiceAccount, RBAC, ConfigMaps) applied as is; the
//     webhook authenticates as its ServiceAccount (a static token), so the
//     RBAC of deploy/webhook is what it runs with.
//
// The Deployment and the Service are not applied: the process runs here.
// odh-webhook is built from the main module (cmd/odh-webhook) and rebuilt
// whenever a source file it is built from changes (see buildMainCommand).
const (
	// WebhookNamespace is odh-training's namespace in deploy/.
	WebhookNamespace      = "odh-training"
	webhookServiceAccount = "odh-webhook"
	webhookDeployDir      = "deploy/webhook"
	webhookContainer      = "odh-webhook"
)

// webhookFlagsDropped are odh-webhook flags of the rendered Deployment that
// configure its self-generated CA, which the harness replaces with a
// certificate of its CA, or that the harness sets itself.
var webhookFlagsDropped = map[string]bool{
	"--cert-dir": true, "--dns-name": true, "--ip-address": true, "--rotate-interval": true,
	"--mutating-webhook-configuration": true, "--validating-webhook-configuration": true,
	"--tls-cert-file": true, "--tls-key-file": true, "--kubeconfig": true,
}

// TrainingPolicyCRD names the product's TrainingPolicy CRD: deploy/policy
// installs it next to deploy/webhook, and odh-webhook (like odh-server)
// watches TrainingPolicies from its first moment, so the harness applies
// deploy/policy in bootstrap, before any component starts.
const (
	TrainingPolicyCRD = "trainingpolicies.training.opendatahub.io"
	policyDeployDir   = "deploy/policy"
)

// policyManifests renders deploy/policy.
func (c *Cluster) policyManifests(ctx context.Context) ([]*unstructured.Unstructured, error) {
	return c.kustomize(ctx, filepath.Join(c.Layout.Root, filepath.FromSlash(policyDeployDir)))
}

// webhookManifests renders deploy/webhook.
func (c *Cluster) webhookManifests(ctx context.Context) ([]*unstructured.Unstructured, error) {
	return c.kustomize(ctx, filepath.Join(c.Layout.Root, filepath.FromSlash(webhookDeployDir)))
}

// webhookDeployment finds the odh-webhook container of the rendered
// Deployment and the volumes of its pod.
func webhookDeployment(objs []*unstructured.Unstructured) (container map[string]any, volumes []any, err error) {
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		for _, ct := range containers {
			cm, _ := ct.(map[string]any)
			if cm["name"] == webhookContainer {
				volumes, _, _ = unstructured.NestedSlice(o.Object, "spec", "template", "spec", "volumes")
				return cm, volumes, nil
			}
		}
	}
	return nil, nil, fmt.Errorf("%s renders no Deployment with a container %q", webhookDeployDir, webhookContainer)
}

// webhookArgs turns the rendered Deployment's container args into the
// harness's command line, writing the ConfigMaps it mounts to dir.
func (c *Cluster) webhookArgs(objs []*unstructured.Unstructured, dir string) ([]string, error) {
	container, volumes, err := webhookDeployment(objs)
	if err != nil {
		return nil, err
	}
	configMaps := map[string]map[string]any{}
	for _, o := range objs {
		if o.GetKind() == "ConfigMap" {
			data, _, _ := unstructured.NestedMap(o.Object, "data")
			configMaps[o.GetName()] = data
		}
	}
	volumeCM := map[string]string{} // volume name → ConfigMap name
	for _, v := range volumes {
		vm, _ := v.(map[string]any)
		if name, ok, _ := unstructured.NestedString(vm, "configMap", "name"); ok {
			volumeCM[vm["name"].(string)] = name
		}
	}
	mountDirs := map[string]string{} // mountPath → local directory ("" for volumes the harness does not provide)
	mounts, _, _ := unstructured.NestedSlice(container, "volumeMounts")
	for _, m := range mounts {
		mm, _ := m.(map[string]any)
		vol, _ := mm["name"].(string)
		path, _ := mm["mountPath"].(string)
		cm, ok := volumeCM[vol]
		if !ok {
			mountDirs[path] = ""
			continue
		}
		data, ok := configMaps[cm]
		if !ok {
			return nil, fmt.Errorf("%s: volume %s mounts ConfigMap %s, which it does not render", webhookDeployDir, vol, cm)
		}
		local := filepath.Join(dir, vol)
		if err := os.RemoveAll(local); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(local, 0o755); err != nil {
			return nil, err
		}
		for k, v := range data {
			if err := os.WriteFile(filepath.Join(local, k), []byte(fmt.Sprint(v)), 0o644); err != nil {
				return nil, err
			}
		}
		mountDirs[path] = local
	}
	rendered, _, _ := unstructured.NestedStringSlice(container, "args")
	var args []string
	for _, a := range rendered {
		name, val, ok := strings.Cut(a, "=")
		if !ok || !strings.HasPrefix(name, "--") {
			return nil, fmt.Errorf("%s: container arg %q: the harness understands --flag=value only", webhookDeployDir, a)
		}
		switch {
		case webhookFlagsDropped[name]:
			continue
		case name == "--listen":
			val = loopback(c.State.Ports.Webhook)
		default:
			for path, local := range mountDirs {
				if val != path && !strings.HasPrefix(val, path+"/") {
					continue
				}
				if local == "" {
					return nil, fmt.Errorf("%s: container arg %q refers to a volume the harness cannot provide (only ConfigMaps are copied)", webhookDeployDir, a)
				}
				val = local + strings.TrimPrefix(val, path)
			}
		}
		args = append(args, name+"="+val)
	}
	return append(args,
		"--tls-cert-file="+c.PKI.Path(filepath.Join(pkiLoopbackDir, "tls.crt")),
		"--tls-key-file="+c.PKI.Path(filepath.Join(pkiLoopbackDir, "tls.key")),
		"--kubeconfig="+c.Layout.Kubeconfig(CompWebhook),
	), nil
}

func (c *Cluster) webhookCommand(ctx context.Context) (string, []string, []string, error) {
	objs, err := c.webhookManifests(ctx)
	if err != nil {
		return "", nil, nil, err
	}
	args, err := c.webhookArgs(objs, filepath.Join(c.Layout.StateDir(), CompWebhook))
	if err != nil {
		return "", nil, nil, err
	}
	// In a restart loop like Kueue: its webhooks fail closed.
	binary, args := restartLoop(c.Layout.Bin(CompWebhook), args...)
	return binary, args, nil, nil
}

// prepareWebhook applies what deploy/webhook installs besides the
// Deployment, its Service and the webhook configurations: the
// ServiceAccount, RBAC and ConfigMaps odh-webhook runs with.
func (c *Cluster) prepareWebhook(ctx context.Context) error {
	objs, err := c.webhookManifests(ctx)
	if err != nil {
		return err
	}
	var apply []*unstructured.Unstructured
	for _, o := range objs {
		switch o.GetKind() {
		case "Deployment", "Service", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration":
			continue
		}
		apply = append(apply, o)
	}
	return c.applyAll(ctx, apply...)
}

func (c *Cluster) checkWebhook(ctx context.Context) error {
	hc, err := c.caClient()
	if err != nil {
		return err
	}
	return httpCheck(ctx, hc, fmt.Sprintf("https://127.0.0.1:%d/healthz", c.State.Ports.Webhook), "", "ok")
}

// registerWebhook applies deploy/webhook's webhook configurations pointed at
// the odh-webhook process, then waits until the apiserver calls it.
func (c *Cluster) registerWebhook(ctx context.Context) error {
	objs, err := c.webhookManifests(ctx)
	if err != nil {
		return err
	}
	hooks, err := c.loopbackWebhooks(objs, c.State.Ports.Webhook, nil, "")
	if err != nil {
		return err
	}
	if len(hooks) == 0 {
		return fmt.Errorf("%s renders no webhook configurations", webhookDeployDir)
	}
	if err := c.applyAll(ctx, hooks...); err != nil {
		return err
	}
	return poll(ctx, time.Minute, c.webhookCalled)
}

var mpiJobGVR = schema.GroupVersionResource{Group: "kubeflow.org", Version: "v2beta1", Resource: "mpijobs"}

// webhookCalled reports an error until the apiserver calls odh-webhook for
// MPIJobs: a server-side dry-run create comes back with the creator stamp
// (or is refused by the webhook itself, which proves the same).
func (c *Cluster) webhookCalled(ctx context.Context) error {
	dyn, err := c.Dynamic(Admin)
	if err != nil {
		return err
	}
	spec := func(role string) map[string]any {
		return map[string]any{"replicas": int64(1), "template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": role, "image": "registry.example/odh-cluster-probe:1", "command": []any{"true"}}},
		}}}
	}
	probe := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kubeflow.org/v2beta1", "kind": "MPIJob",
		"metadata": map[string]any{"name": "odh-cluster-webhook-probe", "namespace": TeamA},
		"spec":     map[string]any{"mpiReplicaSpecs": map[string]any{"Launcher": spec("launcher"), "Worker": spec("worker")}},
	}}
	got, err := dyn.Resource(mpiJobGVR).Namespace(TeamA).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		if strings.Contains(err.Error(), "denied the request") && strings.Contains(err.Error(), "opendatahub.io") {
			return nil
		}
		return fmt.Errorf("odh-webhook not called yet: %w", err)
	}
	if got.GetAnnotations()[creatorAnnotation] == "" {
		return errors.New("odh-webhook not called yet: a dry-run MPIJob came back without the creator annotation")
	}
	return nil
}

// creatorAnnotation is the annotation odh-webhook stamps on every MPIJob it
// admits (internal/webhook.AnnotationCreator; not imported, so the harness
// does not link the product).
const creatorAnnotation = "training.opendatahub.io/creator"
