package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Gang scheduling. The scheduler-plugins scheduler (kube-scheduler v1.32.7
// with the plugins of sigs.k8s.io/scheduler-plugins v0.32.7) runs as a second
// scheduler named CoschedulerName with upstream's coscheduling profile: a
// pod with schedulerName CoschedulerName and the label
// scheduling.x-k8s.io/pod-group=<PodGroup> waits at the Permit stage until
// minMember pods of its group can be placed, so a group that cannot fit
// whole gets no pod bound. Its PodGroup controller (cmd/controller of the
// same module) keeps PodGroup status (phase, scheduled, running). The
// default scheduler keeps scheduling every other pod.
//
// Volcano's PodGroup and Queue CRDs (scheduling.volcano.sh/v1beta1) are
// installed, generated from volcano.sh/apis by controller-gen at build time
// as Volcano's own build does; the Volcano scheduler is not served by the Go
// module proxy and does not run, so pods with schedulerName volcano stay
// Pending.
const (
	// CoschedulerName is the schedulerName of the coscheduling scheduler
	// (and the MPI operator's --gang-scheduling value that selects it).
	CoschedulerName = "scheduler-plugins-scheduler"
	// PodGroupLabel puts a pod into a scheduler-plugins PodGroup.
	PodGroupLabel = "scheduling.x-k8s.io/pod-group"
	// PodGroupCRD, VolcanoPodGroupCRD and VolcanoQueueCRD name the CRDs.
	PodGroupCRD        = "podgroups.scheduling.x-k8s.io"
	VolcanoPodGroupCRD = "podgroups.scheduling.volcano.sh"
	VolcanoQueueCRD    = "queues.scheduling.volcano.sh"

	schedulerPluginsModule = "sigs.k8s.io/scheduler-plugins"
)

// coschedulingCRDs are scheduler-plugins' PodGroup and ElasticQuota CRDs
// (its controller watches both).
func coschedulingCRDs(ctx context.Context, l Layout) ([]string, error) {
	return moduleFiles(ctx, l, "scheduler-plugins", schedulerPluginsModule, "config/crd/bases/scheduling.x-k8s.io_*.yaml")
}

// volcanoCRDs are the CRDs the build generated from volcano.sh/apis.
func volcanoCRDs(_ context.Context, l Layout) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(l.VolcanoCRDDir(), "*.yaml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no Volcano CRDs in %s (%v): run `make cluster-build`", l.VolcanoCRDDir(), err)
	}
	return files, nil
}

// coschedulerConfig renders the second scheduler's configuration: one
// profile, upstream's coscheduling profile (manifests/coscheduling), under
// its own name.
func coschedulerConfig(kubeconfig string) string {
	return fmt.Sprintf(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
leaderElection:
  leaderElect: false
clientConnection:
  kubeconfig: %q
profiles:
- schedulerName: %s
  plugins:
    multiPoint:
      enabled:
      - name: Coscheduling
    queueSort:
      enabled:
      - name: Coscheduling
      disabled:
      - name: "*"
  pluginConfig:
  - name: Coscheduling
    args:
      permitWaitingTimeSeconds: 10
`, kubeconfig, CoschedulerName)
}

func (c *Cluster) coschedulerCommand(context.Context) (string, []string, []string, error) {
	dir := filepath.Join(c.Layout.StateDir(), CompCoscheduler)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, nil, err
	}
	kc := c.Layout.Kubeconfig(CompCoscheduler)
	config := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(config, []byte(coschedulerConfig(kc)), 0o644); err != nil {
		return "", nil, nil, err
	}
	return c.Layout.Bin("scheduler-plugins-scheduler"), []string{
		"--config=" + config,
		"--authentication-kubeconfig=" + kc,
		"--authorization-kubeconfig=" + kc,
		"--bind-address=127.0.0.1",
		"--secure-port=" + itoa(c.State.Ports.Coscheduler),
		"--cert-dir=" + filepath.Join(dir, "certs"),
		"--profiling=false",
	}, nil, nil
}

func (c *Cluster) checkCoscheduler(ctx context.Context) error {
	return httpCheck(ctx, insecureClient, fmt.Sprintf("https://127.0.0.1:%d/healthz", c.State.Ports.Coscheduler), "", "ok")
}

func (c *Cluster) podGroupControllerCommand(context.Context) (string, []string, []string, error) {
	return c.Layout.Bin("scheduler-plugins-controller"), []string{
		"--metricsAddr=0",
		"--probeAddr=" + loopback(c.State.Ports.PodGroupControllerHealth),
		"--qps=50",
		"--burst=100",
	}, []string{"KUBECONFIG=" + c.Layout.Kubeconfig(CompPodGroupController)}, nil
}

func (c *Cluster) checkPodGroupController(ctx context.Context) error {
	return checkHealthz(ctx, c.State.Ports.PodGroupControllerHealth, "/readyz")
}

// coschedulingRBAC gives the second scheduler what kube-scheduler's own
// identity has (the bootstrap roles system:kube-scheduler and
// system:volume-scheduler, delegated authentication) plus the
// scheduler-plugins resources, and its controller what it reconciles.
// scheduler-plugins ships these rules only as a Helm chart, so they are
// written here.
func (c *Cluster) coschedulingRBAC(context.Context) ([]any, error) {
	role := func(name string, rules ...rbacv1.PolicyRule) *rbacv1.ClusterRole {
		return &rbacv1.ClusterRole{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: harnessLabels()},
			Rules:      rules,
		}
	}
	readWrite := []string{"get", "list", "watch", "create", "update", "patch", "delete"}
	read := []string{"get", "list", "watch"}
	scheduler := role("odh-test-scheduler-plugins",
		rbacv1.PolicyRule{APIGroups: []string{"scheduling.x-k8s.io"}, Resources: []string{"podgroups", "elasticquotas", "podgroups/status", "elasticquotas/status"}, Verbs: readWrite},
	)
	controller := role("odh-test-scheduler-plugins-controller",
		rbacv1.PolicyRule{APIGroups: []string{"scheduling.x-k8s.io"}, Resources: []string{"podgroups", "elasticquotas", "podgroups/status", "elasticquotas/status"}, Verbs: readWrite},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: read},
		rbacv1.PolicyRule{APIGroups: []string{"", "events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"create", "patch", "update"}},
	)
	objs := []any{scheduler, controller,
		clusterRoleBinding("odh-test-scheduler-plugins", scheduler.Name, coschedulerUser),
		clusterRoleBinding("odh-test-scheduler-plugins-kube-scheduler", "system:kube-scheduler", coschedulerUser),
		clusterRoleBinding("odh-test-scheduler-plugins-volume-scheduler", "system:volume-scheduler", coschedulerUser),
		clusterRoleBinding("odh-test-scheduler-plugins-auth-delegator", "system:auth-delegator", coschedulerUser),
		clusterRoleBinding("odh-test-scheduler-plugins-controller", controller.Name, podGroupControllerUser),
		&rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
			ObjectMeta: metav1.ObjectMeta{Name: "odh-test-scheduler-plugins-auth-reader", Namespace: metav1.NamespaceSystem, Labels: harnessLabels()},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "extension-apiserver-authentication-reader"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: coschedulerUser}},
		},
	}
	return objs, nil
}
