package cluster

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Test identities with a kubeconfig in .cluster/<name>.kubeconfig. Every one
// authenticates with a static bearer token (kube-apiserver --token-auth-file)
// and also gets the group system:authenticated.
const (
	// Admin is cluster-admin (group system:masters).
	Admin = "admin"
	// Alice is a data scientist working in namespace TeamA.
	Alice = "alice"
	// Bob is a data scientist working in namespace TeamB.
	Bob = "bob"
	// MLOps is an MLOps engineer responsible for namespace TeamA.
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
		// The MPI operator runs with its own user and the upstream ClusterRole
		// (see operatorRBAC).
		{Name: "mpi-operator", User: operatorUser},
	}
}

const operatorUser = "system:odh:mpi-operator"

// grantTestIdentities gives the human test identities their permissions.
//
// For now these are the built-in roles: alice and bob get `edit` in their own
// namespace, mlops gets `admin` in team-a (the built-in roles include MPIJobs
// through the aggregated ClusterRoles in mpiJobAggregationRoles). A later
// security issue replaces this with the persona roles from deploy/rbac: change
// this one function.
func grantTestIdentities(ctx context.Context, a *applier) error {
	bindings := []struct{ ns, user, role string }{
		{TeamA, "alice", "edit"},
		{TeamB, "bob", "edit"},
		{TeamA, "mlops", "admin"},
	}
	for _, b := range bindings {
		rb := &rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
			ObjectMeta: metav1.ObjectMeta{Name: "odh-test-" + b.user + "-" + b.role, Namespace: b.ns, Labels: harnessLabels()},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: b.role},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: b.user}},
		}
		if err := a.apply(ctx, rb); err != nil {
			return fmt.Errorf("bind %s to %s in %s: %w", b.user, b.role, b.ns, err)
		}
	}
	for _, cr := range mpiJobAggregationRoles() {
		if err := a.apply(ctx, cr); err != nil {
			return fmt.Errorf("apply clusterrole %s: %w", cr.Name, err)
		}
	}
	return nil
}

// mpiJobAggregationRoles add MPIJobs to the built-in admin, edit and view
// ClusterRoles. Upstream's kubeflow-mpijobs-* roles aggregate into Kubeflow's
// own kubeflow-edit/kubeflow-view roles, not into the built-in ones.
func mpiJobAggregationRoles() []*rbacv1.ClusterRole {
	write := []string{"get", "list", "watch", "create", "delete", "deletecollection", "patch", "update"}
	read := []string{"get", "list", "watch"}
	mk := func(name string, verbs []string, aggregateTo ...string) *rbacv1.ClusterRole {
		labels := harnessLabels()
		for _, to := range aggregateTo {
			labels["rbac.authorization.k8s.io/aggregate-to-"+to] = "true"
		}
		return &rbacv1.ClusterRole{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Rules: []rbacv1.PolicyRule{{
				APIGroups: []string{"kubeflow.org"},
				Resources: []string{"mpijobs", "mpijobs/status"},
				Verbs:     verbs,
			}},
		}
	}
	return []*rbacv1.ClusterRole{
		mk("odh-test-mpijobs-edit", write, "admin", "edit"),
		mk("odh-test-mpijobs-view", read, "view"),
	}
}

// operatorRBAC returns the extra rule the operator needs beyond upstream's
// manifests/base/cluster-role.yaml: v0.8.2 updates launcher Jobs' status when
// it unsuspends them but its shipped ClusterRole lacks that permission.
func operatorRBAC() []any {
	extra := &rbacv1.ClusterRole{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
		ObjectMeta: metav1.ObjectMeta{Name: "odh-test-mpi-operator-extra", Labels: harnessLabels()},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"batch"},
			Resources: []string{"jobs/status"},
			Verbs:     []string{"update", "patch"},
		}},
	}
	var objs []any
	objs = append(objs, extra)
	for _, role := range []string{"mpi-operator", extra.Name} {
		objs = append(objs, &rbacv1.ClusterRoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
			ObjectMeta: metav1.ObjectMeta{Name: "odh-test-" + role, Labels: harnessLabels()},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: operatorUser}},
		})
	}
	return objs
}

func harnessLabels() map[string]string {
	return map[string]string{"app.kubernetes.io/managed-by": "odh-cluster"}
}
