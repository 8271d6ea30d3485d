//go:build integration

package security_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	mpiclient "github.com/kubeflow/mpi-operator/pkg/client/clientset/versioned"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/odh-training/odh-training/test/cluster"
)

// asUser returns a client acting as a user bound (cluster-wide) to a
// persona ClusterRole of deploy/rbac, through the admin's impersonation.
func asUser(t *testing.T, user string, groups ...string) (*kubernetes.Clientset, *rest.Config) {
	t.Helper()
	cfg, err := harness.RESTConfig(cluster.Admin)
	if err != nil {
		t.Fatal(err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: append([]string{"system:authenticated"}, groups...)}
	return kubernetes.NewForConfigOrDie(cfg), cfg
}

// bindClusterWide binds a ClusterRole to a user for the rest of the test.
func bindClusterWide(t *testing.T, role, user string) {
	t.Helper()
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "sec-" + user},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}}}
	if _, err := admin.RbacV1().ClusterRoleBindings().Create(t.Context(), crb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = admin.RbacV1().ClusterRoleBindings().Delete(context.Background(), crb.Name, metav1.DeleteOptions{})
	})
}

// can asks the API server whether the client's user may do something.
func can(t *testing.T, c kubernetes.Interface, ra authorizationv1.ResourceAttributes) bool {
	t.Helper()
	r, err := c.AuthorizationV1().SelfSubjectAccessReviews().Create(t.Context(), &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &ra}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Status.Allowed
}

func wantForbidden(t *testing.T, what string, err error) {
	t.Helper()
	if !apierrors.IsForbidden(err) {
		t.Errorf("%s: got %v, want Forbidden", what, err)
	}
}

// The platform-administrator persona cannot reach cluster-admin: each
// escalation path of docs/admin/security.md is tried for real and must be
// refused, leaving nothing changed; what the persona is for still works.
func TestPlatformAdminCannotEscalate(t *testing.T) {
	user := "padmin-" + runID
	bindClusterWide(t, "odh-training-platform-admin", user)
	c, cfg := asUser(t, user)
	ctx := t.Context()

	// Relax a namespace's Pod Security labels.
	ns, err := admin.CoreV1().Namespaces().Get(ctx, nsA, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	patch := `{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"privileged"}}}`
	_, err = c.CoreV1().Namespaces().Patch(ctx, nsA, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	wantForbidden(t, "label a namespace privileged", err)
	if after, _ := admin.CoreV1().Namespaces().Get(ctx, nsA, metav1.GetOptions{}); after.ResourceVersion != ns.ResourceVersion {
		t.Errorf("namespace %s changed", nsA)
	}

	// An MPIJob in kube-system (outside the webhook): the operator would
	// create its pods with its own rights.
	mpi := mpiclient.NewForConfigOrDie(cfg)
	_, err = mpi.KubeflowV2beta1().MPIJobs("kube-system").Create(ctx, upstreamJob("escalate-"+runID, "kube-system", 1, true), metav1.CreateOptions{})
	wantForbidden(t, "create an MPIJob in kube-system", err)
	if _, err := userMPI(cluster.Admin).KubeflowV2beta1().MPIJobs("kube-system").Get(ctx, "escalate-"+runID, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("an MPIJob exists in kube-system: %v", err)
	}

	// kube-system's ConfigMaps: the client CA aggregated API servers trust.
	cm, err := admin.CoreV1().ConfigMaps("kube-system").Get(ctx, "extension-apiserver-authentication", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CoreV1().ConfigMaps("kube-system").Patch(ctx, cm.Name, types.MergePatchType, []byte(`{"data":{"requestheader-client-ca-file":"x"}}`), metav1.PatchOptions{})
	wantForbidden(t, "change kube-system/extension-apiserver-authentication", err)
	if after, _ := admin.CoreV1().ConfigMaps("kube-system").Get(ctx, cm.Name, metav1.GetOptions{}); after.ResourceVersion != cm.ResourceVersion {
		t.Error("kube-system/extension-apiserver-authentication changed")
	}

	// A service-account token Secret.
	_, err = c.CoreV1().Secrets(nsA).Create(ctx, saTokenSecret("padmin-token", "default"), metav1.CreateOptions{})
	wantForbidden(t, "create a service-account token secret", err)

	for _, ra := range []authorizationv1.ResourceAttributes{
		{Verb: "update", Resource: "namespaces", Name: nsA},
		{Verb: "create", Resource: "pods", Namespace: nsA},
		{Verb: "create", Resource: "pods", Subresource: "exec", Namespace: nsA},
		{Verb: "get", Resource: "secrets", Namespace: nsA},
		{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "rolebindings", Namespace: nsA},
		{Verb: "bind", Group: "rbac.authorization.k8s.io", Resource: "clusterroles", Name: "cluster-admin"},
		{Verb: "escalate", Group: "rbac.authorization.k8s.io", Resource: "clusterroles"},
		{Verb: "update", Group: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations", Name: "odh-training-mpijobs"},
		{Verb: "impersonate", Resource: "users", Name: "admin"},
		{Verb: "impersonate", Resource: "groups", Name: "system:masters"},
		{Verb: "create", Group: "kubeflow.org", Resource: "mpijobs", Namespace: "odh-training"},
		{Verb: "update", Resource: "configmaps", Namespace: "kube-system", Name: "coredns"},
	} {
		if can(t, c, ra) {
			t.Errorf("the platform-admin persona may %s %s/%s %s/%s", ra.Verb, ra.Group, ra.Resource, ra.Namespace, ra.Name)
		}
	}
	// What it is for.
	for _, ra := range []authorizationv1.ResourceAttributes{
		{Verb: "create", Group: "training.opendatahub.io", Resource: "trainingpolicies"},
		{Verb: "update", Resource: "configmaps", Namespace: "odh-training", Name: "odh-webhook-policy"},
		{Verb: "manage-all", Group: "kubeflow.org", Resource: "mpijobs", Namespace: nsA},
		{Verb: "delete", Group: "kubeflow.org", Resource: "mpijobs", Namespace: nsA},
		{Verb: "update", Resource: "resourcequotas", Namespace: nsA},
		{Verb: "create", Group: "kueue.x-k8s.io", Resource: "clusterqueues"},
		{Verb: "create", Group: "networking.k8s.io", Resource: "networkpolicies", Namespace: nsA},
	} {
		if !can(t, c, ra) {
			t.Errorf("the platform-admin persona may not %s %s/%s %s/%s", ra.Verb, ra.Group, ra.Resource, ra.Namespace, ra.Name)
		}
	}
}

func saTokenSecret(name, sa string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{corev1.ServiceAccountNameKey: sa}},
		Type: corev1.SecretTypeServiceAccountToken}
}

// Tenants cannot mint tokens of their namespace's ServiceAccounts or read
// its Secrets (another job's SSH key among them).
func TestTenantsCannotMintTokens(t *testing.T) {
	ctx := t.Context()
	for _, id := range []string{cluster.MLOps, cluster.Alice} {
		cfg, err := harness.RESTConfig(id)
		if err != nil {
			t.Fatal(err)
		}
		c := kubernetes.NewForConfigOrDie(cfg)
		name := "token-" + id
		_, err = c.CoreV1().Secrets(nsA).Create(ctx, saTokenSecret(name, "default"), metav1.CreateOptions{})
		wantForbidden(t, id+" creates a service-account token secret", err)
		if _, err := admin.CoreV1().Secrets(nsA).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("secret %s exists: %v", name, err)
		}
		_, err = c.CoreV1().Secrets(nsA).List(ctx, metav1.ListOptions{})
		wantForbidden(t, id+" lists secrets", err)
	}
}

// targetIdentity sets up the rights of deploy/server/rbac.yaml
// for a ServiceAccount of this run (names rewritten so the suite's
// odh-server keeps its current rights), bound per namespace in nsA only,
// and returns a client with its token.
func targetIdentity(t *testing.T) (*kubernetes.Clientset, *rest.Config) {
	t.Helper()
	ctx := t.Context()
	sa := "odh-server-target-" + runID
	data, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "server", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, r := range []struct{ old, new string }{
		{"system:serviceaccount:odh-training:odh-server'", "system:serviceaccount:odh-training:" + sa + "'"},
		{"  name: odh-server\n  namespace: odh-training", "  name: " + sa + "\n  namespace: odh-training"},
		{"name: odh-training-server", "name: target-" + runID + "-server"},
		// The binding names the policy it binds (policyName, capital N).
		{"policyName: odh-training-server", "policyName: target-" + runID + "-server"},
	} {
		if !strings.Contains(doc, r.old) {
			t.Fatalf("rbac.yaml no longer contains %q", r.old)
		}
		doc = strings.ReplaceAll(doc, r.old, r.new)
	}
	if out, err := kubectlStdin(cluster.Admin, doc, "apply", "--server-side", "--field-manager=odh-security-test", "-f", "-"); err != nil {
		t.Fatalf("apply the target rights: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		_, _ = kubectlStdin(cluster.Admin, doc, "delete", "--ignore-not-found", "-f", "-")
	})
	if _, err := admin.CoreV1().ServiceAccounts("odh-training").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "odh-server-target"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "target-" + runID + "-server-namespace"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: "odh-training"}}}
	if _, err := admin.RbacV1().RoleBindings(nsA).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kc, err := saKubeconfig(ctx, sa)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	return kubernetes.NewForConfigOrDie(cfg), cfg
}

// With the target rights, odh-server's ServiceAccount cannot become a
// cluster admin: no impersonation, no pod or NetworkPolicy write outside
// the namespaces bound to it, and there nothing of a pod but its finalizer.
func TestServerTargetRightsCannotEscalate(t *testing.T) {
	c, own := targetIdentity(t)
	ctx := t.Context()

	// Impersonating system:masters.
	cfg := rest.CopyConfig(own)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "admin", Groups: []string{"system:masters"}}
	_, err := kubernetes.NewForConfigOrDie(cfg).CoreV1().Secrets("kube-system").List(ctx, metav1.ListOptions{})
	wantForbidden(t, "impersonate system:masters", err)

	// A pod of each namespace to try it on.
	pods := map[string]*corev1.Pod{}
	for _, ns := range []string{nsA, nsB} {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "target-" + runID, Labels: map[string]string{"app": "x"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "quay.io/odh-training/mpi-openmpi:latest"}},
				NodeSelector: map[string]string{"odh.test/no-such-node": "true"}}}
		p, err := admin.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pods[ns] = p
		t.Cleanup(func() {
			bg := context.Background()
			_, _ = admin.CoreV1().Pods(ns).Patch(bg, p.Name, types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
			_ = admin.CoreV1().Pods(ns).Delete(bg, p.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))})
		})
	}
	patchPod := func(ns, patch string) error {
		_, err := c.CoreV1().Pods(ns).Patch(ctx, pods[ns].Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
		return err
	}
	const fin = "training.opendatahub.io/log-archive"
	// The API server enforces a ValidatingAdmissionPolicy a moment after it
	// is applied: wait until a dry-run change is refused.
	waitFor(t, 30*time.Second, "the ValidatingAdmissionPolicy enforced", func() error {
		_, err := c.CoreV1().Pods(nsA).Patch(ctx, pods[nsA].Name, types.StrategicMergePatchType, []byte(`{"metadata":{"labels":{"app":"probe"}}}`), metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil || !strings.Contains(err.Error(), "may only add or remove the finalizer "+fin) {
			return fmt.Errorf("not yet: %v", err)
		}
		return nil
	})
	for _, tc := range []struct{ what, patch string }{
		{"change the image", `{"spec":{"containers":[{"name":"c","image":"quay.io/evil/root:latest"}]}}`},
		{"change a label", `{"metadata":{"labels":{"app":"y"}}}`},
		{"add an annotation", `{"metadata":{"annotations":{"x":"y"}}}`},
		{"add another finalizer", `{"metadata":{"finalizers":["example.com/hold"]}}`},
	} {
		err := patchPod(nsA, tc.patch)
		if err == nil || !strings.Contains(err.Error(), "may only add or remove the finalizer "+fin) {
			t.Errorf("%s in a bound namespace: got %v, want the ValidatingAdmissionPolicy's refusal", tc.what, err)
		}
	}
	// (The scheduler writes the pod's status meanwhile: compare what the
	// patches tried to change, not the resourceVersion.)
	if got, err := admin.CoreV1().Pods(nsA).Get(ctx, pods[nsA].Name, metav1.GetOptions{}); err != nil {
		t.Error(err)
	} else if was := pods[nsA]; !maps.Equal(got.Labels, was.Labels) || !maps.Equal(got.Annotations, was.Annotations) ||
		!slices.Equal(got.Finalizers, was.Finalizers) || got.Spec.Containers[0].Image != was.Spec.Containers[0].Image {
		t.Errorf("the pod changed: labels %v, annotations %v, finalizers %v, image %s", got.Labels, got.Annotations, got.Finalizers, got.Spec.Containers[0].Image)
	}
	// Its own finalizer, on and off.
	if err := patchPod(nsA, fmt.Sprintf(`{"metadata":{"finalizers":[%q]}}`, fin)); err != nil {
		t.Errorf("add the log-archive finalizer: %v", err)
	}
	if err := patchPod(nsA, fmt.Sprintf(`{"metadata":{"$deleteFromPrimitiveList/finalizers":[%q]}}`, fin)); err != nil {
		t.Errorf("remove the log-archive finalizer: %v", err)
	}
	// A namespace that did not bind it.
	wantForbidden(t, "patch a pod in an unbound namespace", patchPod(nsB, fmt.Sprintf(`{"metadata":{"finalizers":[%q]}}`, fin)))
	allowAll := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "allow-all-" + runID},
		Spec: networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{}}}}
	_, err = c.NetworkingV1().NetworkPolicies(nsB).Create(ctx, allowAll, metav1.CreateOptions{})
	wantForbidden(t, "create an allow-all NetworkPolicy in an unbound namespace", err)
	_, err = c.CoreV1().Pods(nsB).GetLogs(pods[nsB].Name, &corev1.PodLogOptions{}).DoRaw(ctx)
	wantForbidden(t, "read logs in an unbound namespace", err)

	// Reads its informers need, everywhere.
	if _, err := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		t.Errorf("list pods: %v", err)
	}
	for _, ra := range []authorizationv1.ResourceAttributes{
		{Verb: "create", Resource: "pods", Namespace: nsA},
		{Verb: "delete", Resource: "pods", Namespace: nsA},
		{Verb: "create", Group: "kubeflow.org", Resource: "mpijobs", Namespace: nsA},
		{Verb: "get", Resource: "secrets", Namespace: nsA},
		{Verb: "impersonate", Resource: "users", Name: "alice"},
		{Verb: "impersonate", Resource: "serviceaccounts", Namespace: "kube-system", Name: "default"},
	} {
		if can(t, c, ra) {
			t.Errorf("the target server identity may %s %s/%s %s/%s", ra.Verb, ra.Group, ra.Resource, ra.Namespace, ra.Name)
		}
	}
}
