package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// Resource metrics. kwok simulates resource usage for its fake pods
// (ClusterResourceUsage in its config: each container uses the CPU and
// memory of the pod's kwok.odh.test/usage-cpu and kwok.odh.test/usage-memory
// annotations, default 1m and 1Mi; a kwok ResourceUsage object named like a
// pod overrides that per container) and serves them in the kubelet's
// /metrics/resource format at /metrics/nodes/<node>/metrics/resource (kwok's
// own Metric manifest, kustomize/metrics/resource). Each node names that
// path in its metrics.k8s.io/resource-metrics-path annotation, which
// metrics-server reads. metrics-server scrapes every node through the port
// in its status (kwok's), trusting the harness CA, and serves metrics.k8s.io
// (PodMetrics, NodeMetrics) through the aggregation layer: an APIService
// pointing at an ExternalName Service "localhost" in kube-system, like
// Kueue's visibility API. It runs as the ServiceAccount upstream's
// manifests/base/rbac.yaml binds. Its resolution is 10 s (its minimum): the
// first PodMetrics of a new pod appear after two scrapes.
const (
	// AnnotationUsageCPU and AnnotationUsageMemory set the CPU and memory
	// each container of a running kwok pod uses (quantities, e.g. "250m",
	// "300Mi").
	AnnotationUsageCPU    = "kwok.odh.test/usage-cpu"
	AnnotationUsageMemory = "kwok.odh.test/usage-memory"

	metricsServerNamespace = "kube-system"
	metricsServerService   = "metrics-server"
	metricsServerModule    = "sigs.k8s.io/metrics-server"
	metricsResolution      = "10s"
	// resourceMetricsPathAnnotation is the node annotation metrics-server
	// reads the node's resource-metrics path from.
	resourceMetricsPathAnnotation = "metrics.k8s.io/resource-metrics-path"
)

// resourceMetricsPath is where kwok serves a node's resource metrics.
func resourceMetricsPath(node string) string {
	return "/metrics/nodes/" + node + "/metrics/resource"
}

// kwokUsage is the ClusterResourceUsage of every kwok pod.
const kwokUsage = `
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterResourceUsage
metadata:
  name: odh-usage-from-annotations
spec:
  usages:
  - usage:
      cpu:
        expression: |
          "@USAGE_CPU@" in pod.metadata.annotations
          ? Quantity(pod.metadata.annotations["@USAGE_CPU@"])
          : Quantity("1m")
      memory:
        expression: |
          "@USAGE_MEMORY@" in pod.metadata.annotations
          ? Quantity(pod.metadata.annotations["@USAGE_MEMORY@"])
          : Quantity("1Mi")
`

func (c *Cluster) metricsServerCommand(context.Context) (string, []string, []string, error) {
	p, kc := c.PKI, c.Layout.Kubeconfig(CompMetricsServer)
	return c.Layout.Bin(CompMetricsServer), []string{
		"--bind-address=127.0.0.1",
		"--secure-port=" + itoa(c.State.Ports.MetricsServer),
		"--tls-cert-file=" + p.Path(filepath.Join(pkiLoopbackDir, "tls.crt")),
		"--tls-private-key-file=" + p.Path(filepath.Join(pkiLoopbackDir, "tls.key")),
		"--kubeconfig=" + kc,
		"--authentication-kubeconfig=" + kc,
		"--authorization-kubeconfig=" + kc,
		// As upstream's manifests/base/deployment.yaml: the node's own port
		// (kwok's here) and InternalIP (127.0.0.1).
		"--kubelet-use-node-status-port",
		"--kubelet-preferred-address-types=InternalIP",
		"--kubelet-certificate-authority=" + p.Path(pkiCACert),
		"--metric-resolution=" + metricsResolution,
		// v0.8.0 refuses to start unless the scrape timeout is below 90%
		// of the resolution (its default, 10s, is not below 9s).
		"--kubelet-request-timeout=5s",
		"--profiling=false",
	}, nil, nil
}

func (c *Cluster) checkMetricsServer(ctx context.Context) error {
	hc, err := c.caClient()
	if err != nil {
		return err
	}
	// /livez: /readyz waits for the first scrape.
	return httpCheck(ctx, hc, fmt.Sprintf("https://127.0.0.1:%d/livez", c.State.Ports.MetricsServer), "", "ok")
}

// metricsServerRBAC is upstream's manifests/base/rbac.yaml: the
// ServiceAccount, its rights (nodes, pods, nodes/metrics, delegated
// authentication) and the ClusterRole aggregating metrics.k8s.io reads into
// admin, edit and view.
func (c *Cluster) metricsServerRBAC(ctx context.Context) ([]any, error) {
	files, err := moduleFiles(ctx, c.Layout, "metrics-server", metricsServerModule, "manifests/base/rbac.yaml")
	if err != nil {
		return nil, err
	}
	objs, err := readObjects(files[0])
	if err != nil {
		return nil, err
	}
	var out []any
	for _, o := range objs {
		out = append(out, o)
	}
	return out, nil
}

func (c *Cluster) registerMetricsServer(ctx context.Context) error {
	objs, err := c.aggregatedAPI(metricsServerService, metricsServerNamespace, c.State.Ports.MetricsServer, "metrics.k8s.io", map[string]int64{"v1beta1": 100})
	if err != nil {
		return err
	}
	if err := c.applyAll(ctx, objs...); err != nil {
		return err
	}
	return poll(ctx, time.Minute, c.checkMetricsAPI)
}

// checkMetricsAPI reports an error until the aggregator serves
// metrics.k8s.io.
func (c *Cluster) checkMetricsAPI(ctx context.Context) error {
	return c.checkAPIPath(ctx, "/apis/metrics.k8s.io/v1beta1")
}
