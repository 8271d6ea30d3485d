package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Test identities with a kubeconfig in .cluster/<name>.kubeconfig. Every one
// authenticates with a static bearer token (kube-apiserver --token-auth-file)
// and also gets the group system:authenticated.
const (
	// Admin is cluster-admin (group system:masters).
	Admin = "admin"
	// Alice is a data scientist (deploy/rbac persona) in namespace TeamA.
	Alice = "alice"
	// Bob is a data scientist in namespace TeamB.
	Bob = "bob"
	// MLOps is the MLOps engineer (deploy/rbac persona) of namespace TeamA.
	MLOps = "mlops"
)

// Namespaces created for the test identities.
const (
	TeamA = "team-a"
	TeamB = "team-b"
)

// operatorNamespace holds the MPI operator's leader-election lease.
const operatorNamespace = "mpi-operator"

// Users returns the names of the human test identities.
func Users() []string { return []string{Admin, Alice, Bob, MLOps} }

// Identity is one static-token identity of the harness.
type Identity struct {
	// Name names the kubeconfig file.
	Name string
	// User is the Kubernetes user name.
	User   string
	Groups []string
}

// identities lists every identity, users first, then the components. The
// components' users are the ones the bootstrap RBAC policy of kube-apiserver
// already grants (system:kube-controller-manager, system:kube-scheduler).
func identities() []Identity {
	return []Identity{
		{Name: Admin, User: "admin", Groups: []string{"system:masters"}},
		{Name: Alice, User: "alice"},
		{Name: Bob, User: "bob"},
		{Name: MLOps, User: "mlops"},
		{Name: "kube-controller-manager", User: "system:kube-controller-manager"},
		{Name: "kube-scheduler", User: "system:kube-scheduler"},
		// kwok plays the kubelet of every fake node and patches pod and node
		// status, leases and events for all of them: the Node authorizer only
		// admits one node per identity, so kwok runs as a cluster admin.
		{Name: "kwok", User: "kwok", Groups: []string{"system:masters"}},
		// The MPI operator, JobSet, Trainer, the coscheduling scheduler and
		// its PodGroup controller run with their own users and the
		// ClusterRoles their projects ship (see componentRBAC).
		{Name: CompOperator, User: operatorUser},
		{Name: CompKueue, User: kueueUser, Groups: []string{"system:masters"}},
		{Name: CompJobSet, User: jobSetUser},
		{Name: CompTrainer, User: trainerUser},
		{Name: CompCoscheduler, User: coschedulerUser},
		{Name: CompPodGroupController, User: podGroupControllerUser},
		// metrics-server and odh-webhook authenticate as the ServiceAccounts
		// their manifests bind (deploy/webhook; metrics-server's
		// manifests/base/rbac.yaml), by static tokens.
		{Name: CompMetricsServer, User: serviceAccountUser(metricsServerNamespace, metricsServerService), Groups: serviceAccountGroups(metricsServerNamespace)},
		{Name: CompWebhook, User: serviceAccountUser(WebhookNamespace, webhookServiceAccount), Groups: serviceAccountGroups(WebhookNamespace)},
	}
}

// Users of the components with identities of their own.
const (
	operatorUser           = "system:odh:mpi-operator"
	jobSetUser             = "system:odh:jobset"
	trainerUser            = "system:odh:trainer"
	coschedulerUser        = "system:odh:scheduler-plugins"
	podGroupControllerUser = "system:odh:scheduler-plugins-controller"
)

func serviceAccountUser(ns, name string) string { return "system:serviceaccount:" + ns + ":" + name }

func serviceAccountGroups(ns string) []string {
	return []string{"system:serviceaccounts", "system:serviceaccounts:" + ns}
}

// Persona ClusterRoles of deploy/rbac the test identities are bound to.
const (
	RoleDataScientist = "odh-training-data-scientist"
	RoleMLOps         = "odh-training-mlops"
)

// grantTestIdentities gives the human test identities their permissions:
// it applies the real RBAC personas of deploy/rbac (the files its
// kustomization lists) and binds alice and bob as data scientists in their
// namespaces and mlops as the MLOps engineer of team-a. admin is
// system:masters. The bindings of earlier harness versions (built-in
// edit/admin) are removed.
func grantTestIdentities(ctx context.Context, a *applier, root string) error {
	files, err := kustomizationResources(filepath.Join(root, "deploy", "rbac"))
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := a.applyFile(ctx, f); err != nil {
			return err
		}
	}
	bindings := []struct{ ns, user, role string }{
		{TeamA, "alice", RoleDataScientist},
		{TeamB, "bob", RoleDataScientist},
		{TeamA, "mlops", RoleMLOps},
	}
	for _, b := range bindings {
		rb := &rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
			ObjectMeta: metav1.ObjectMeta{Name: "odh-test-" + b.user, Namespace: b.ns, Labels: harnessLabels()},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: b.role},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: b.user}},
		}
		if err := a.apply(ctx, rb); err != nil {
			return fmt.Errorf("bind %s to %s in %s: %w", b.user, b.role, b.ns, err)
		}
	}
	stale := []struct{ ns, name string }{
		{TeamA, "odh-test-alice-edit"}, {TeamB, "odh-test-bob-edit"}, {TeamA, "odh-test-mlops-admin"},
		{"", "odh-test-mpijobs-edit"}, {"", "odh-test-mpijobs-view"},
	}
	for _, s := range stale {
		var err error
		if s.ns == "" {
			err = a.dyn.Resource(rbacv1.SchemeGroupVersion.WithResource("clusterroles")).Delete(ctx, s.name, metav1.DeleteOptions{})
		} else {
			err = a.dyn.Resource(rbacv1.SchemeGroupVersion.WithResource("rolebindings")).Namespace(s.ns).Delete(ctx, s.name, metav1.DeleteOptions{})
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("remove old binding %s: %w", s.name, err)
		}
	}
	return nil
}

// kustomizationResources lists the files a kustomization.yaml names under
// resources (files only; the harness applies them without kustomize).
func kustomizationResources(dir string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return nil, err
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("%s/kustomization.yaml: %w", dir, err)
	}
	var out []string
	for _, r := range k.Resources {
		out = append(out, filepath.Join(dir, r))
	}
	return out, nil
}

// operatorRBAC returns upstream's manifests/base/cluster-role.yaml (the
// operator's ClusterRole, bound to its identity, and the roles aggregating
// MPIJobs into admin/edit/view), plus
// the one rule the operator needs beyond it: v0.8.2 updates launcher Jobs'
// status when it unsuspends them but its shipped ClusterRole lacks that
// permission.
func (c *Cluster) operatorRBAC(ctx context.Context) ([]any, error) {
	dir, err := moduleCacheDir(ctx, c.Layout, "mpi-operator", "github.com/kubeflow/mpi-operator")
	if err != nil {
		return nil, err
	}
	roles, err := readObjects(filepath.Join(dir, "manifests", "base", "cluster-role.yaml"))
	if err != nil {
		return nil, err
	}
	var objs []any
	for _, r := range roles {
		objs = append(objs, r)
	}
	objs = append(objs, clusterRoleBinding("odh-test-mpi-operator", "mpi-operator", operatorUser))
	extra := &rbacv1.ClusterRole{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
		ObjectMeta: metav1.ObjectMeta{Name: "odh-test-mpi-operator-extra", Labels: harnessLabels()},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"batch"},
			Resources: []string{"jobs/status"},
			Verbs:     []string{"update", "patch"},
		}},
	}
	return append(objs, extra, clusterRoleBinding("odh-test-"+extra.Name, extra.Name, operatorUser)), nil
}

func harnessLabels() map[string]string {
	return map[string]string{"app.kubernetes.io/managed-by": "odh-cluster"}
}
