//go:build integration

package security_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/odh-training/odh-training/internal/podpolicy"
	"github.com/odh-training/odh-training/internal/podpolicy/kubepolicy"
	"github.com/odh-training/odh-training/test/cluster"
)

// ensurePolicyCRD waits until the API server serves TrainingPolicies (the
// harness installs deploy/policy on every cluster-up).
func ensurePolicyCRD(t *testing.T) {
	t.Helper()
	waitFor(t, 30*time.Second, "trainingpolicies served", func() error {
		_, err := kubectl(cluster.Admin, "get", "trainingpolicies")
		return err
	})
}

func policyDoc(name, spec string) string {
	return fmt.Sprintf("apiVersion: training.opendatahub.io/v1alpha1\nkind: TrainingPolicy\nmetadata: {name: %s}\nspec:\n%s", name, spec)
}

// The API server checks TrainingPolicies when they are applied (the CRD's
// schema and validation rules) and says which field is wrong; nothing is
// stored. The shipped examples apply.
func TestTrainingPolicyValidatedOnApply(t *testing.T) {
	ensurePolicyCRD(t)
	for _, tc := range []struct {
		name, spec string
		want       []string
	}{
		{"privileged", "  namespaces: [a]\n  podSecurity: privileged\n", []string{"spec.podSecurity", `Unsupported value: "privileged"`}},
		{"no-selection", "  podSecurity: restricted\n", []string{"name the namespaces the policy is for"}},
		{"misspelt", "  namespaces: [a]\n  allowedSecret: [x]\n", []string{".spec.allowedSecret: field not declared in schema"}},
		{"bad-toleration", "  namespaces: [a]\n  allowedTolerations: [{key: k, operator: Near}]\n", []string{"spec.allowedTolerations[0].operator", "Unsupported value"}},
		{"bad-quantity", "  namespaces: [a]\n  maxPerJob: {cpu: lots}\n", []string{"spec.maxPerJob.cpu"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "invalid-" + tc.name + "-" + runID
			out, err := kubectlStdin(cluster.Admin, policyDoc(name, tc.spec), "apply", "--server-side", "--field-manager=odh-security-test", "-f", "-")
			if err == nil {
				t.Fatalf("applied:\n%s", out)
			}
			mustContain(t, "kubectl apply", out, tc.want...)
			if out, err := kubectl(cluster.Admin, "get", "trainingpolicy", name); err == nil {
				t.Errorf("stored anyway:\n%s", out)
			}
		})
	}

	data, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "policy", "examples", "team-a.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, n := range []string{"cluster-default", "team-a", "legacy-root-images"} {
		doc = strings.Replace(doc, "name: "+n+"\n", "name: "+n+"-"+runID+"\n", 1)
	}
	if out, err := kubectlStdin(cluster.Admin, doc, "apply", "--server-side", "--field-manager=odh-security-test", "-f", "-"); err != nil {
		t.Fatalf("apply the examples: %v\n%s", err, out)
	}
	t.Cleanup(func() { _, _ = kubectlStdin(cluster.Admin, doc, "delete", "--ignore-not-found", "-f", "-") })
	out, err := kubectl(cluster.Admin, "get", "trainingpolicies", "team-a-"+runID)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "kubectl get", out, "restricted", "team-a")
}

// Tenants — data scientists and MLOps engineers, the namespace's own admins
// included — cannot write the policy of their namespace; the platform
// administrator persona can.
func TestTrainingPolicyOnlyPlatformAdmins(t *testing.T) {
	ensurePolicyCRD(t)
	doc := policyDoc("mine-"+runID, fmt.Sprintf("  namespaces: [%s]\n  podSecurity: baseline\n  allowedSecrets: [\"*\"]\n", nsA))
	for _, id := range []string{cluster.Alice, cluster.MLOps} {
		out, err := kubectlStdin(id, doc, "apply", "--server-side", "--field-manager=odh-security-test", "-f", "-")
		if err == nil {
			t.Fatalf("%s applied a TrainingPolicy:\n%s", id, out)
		}
		mustContain(t, id+" kubectl apply", out, "forbidden")
		if out, err := kubectl(cluster.Admin, "get", "trainingpolicy", "mine-"+runID); err == nil {
			t.Fatalf("stored anyway:\n%s", out)
		}
	}
	user := "padmin-policy-" + runID
	bindClusterWide(t, "odh-training-platform-admin", user)
	c, _ := asUser(t, user)
	ok := can(t, c, authorizationv1.ResourceAttributes{Verb: "create", Group: "training.opendatahub.io", Resource: "trainingpolicies"})
	if !ok {
		t.Error("the platform-admin persona may not create TrainingPolicies")
	}
}

// kubepolicy.Source follows TrainingPolicies and namespaces as they change:
// the closest policy wins, two equally close ones refuse jobs, a deleted
// policy falls back, malformed OpenShift annotations refuse jobs.
func TestPolicySourceFollowsCluster(t *testing.T) {
	ensurePolicyCRD(t)
	ctx := t.Context()
	cfg, err := harness.RESTConfig(cluster.Admin)
	if err != nil {
		t.Fatal(err)
	}
	src := kubepolicy.New(admin, dynamic.NewForConfigOrDie(cfg), slog.New(slog.DiscardHandler))
	if err := src.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if !src.Watching() {
		t.Fatal("not watching TrainingPolicies although the CRD is installed")
	}
	policyOf := func(ns string) (string, error) {
		p, _, err := src.For(ctx, ns)
		if err != nil {
			return "", err
		}
		return p.Name, nil
	}
	if name, err := policyOf(nsA); err != nil || name != "" {
		t.Fatalf("before any policy: %q, %v; want the default", name, err)
	}
	apply := func(name, spec string) {
		t.Helper()
		doc := policyDoc(name, spec)
		if out, err := kubectlStdin(cluster.Admin, doc, "apply", "--server-side", "--field-manager=odh-security-test", "-f", "-"); err != nil {
			t.Fatalf("apply %s: %v\n%s", name, err, out)
		}
		t.Cleanup(func() { _, _ = kubectl(cluster.Admin, "delete", "--ignore-not-found", "trainingpolicy", name) })
	}
	first, second := "src-a-"+runID, "src-b-"+runID
	apply(first, fmt.Sprintf("  namespaces: [%s]\n  allowedSecrets: [s3]\n", nsA))
	waitFor(t, 30*time.Second, "the policy is seen", func() error {
		if name, err := policyOf(nsA); err != nil || name != first {
			return fmt.Errorf("policy %q, %v", name, err)
		}
		return nil
	})
	apply(second, fmt.Sprintf("  namespaces: [%s]\n", nsA))
	waitFor(t, 30*time.Second, "two policies for one namespace refuse", func() error {
		_, err := policyOf(nsA)
		if err == nil || !strings.Contains(err.Error(), "ambiguous") {
			return fmt.Errorf("got %v, want ambiguous", err)
		}
		return nil
	})
	if name, err := policyOf(nsB); err != nil || name != "" {
		t.Errorf("namespace %s: %q, %v; want the default", nsB, name, err)
	}
	if out, err := kubectl(cluster.Admin, "delete", "trainingpolicy", second); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	waitFor(t, 30*time.Second, "back to one policy", func() error {
		if name, err := policyOf(nsA); err != nil || name != first {
			return fmt.Errorf("policy %q, %v", name, err)
		}
		return nil
	})

	// A namespace with malformed OpenShift ranges.
	bad := "sec-ocp-" + runID
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: bad,
		Annotations: map[string]string{podpolicy.AnnotationUIDRange: "lots"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteNamespace(bad) })
	if _, _, err := src.For(ctx, bad); err == nil || !strings.Contains(err.Error(), "openshift.io/sa.scc.uid-range") {
		t.Errorf("malformed uid range: %v", err)
	}
	if _, _, err := src.For(ctx, "no-such-namespace-"+runID); err == nil {
		t.Error("a namespace that does not exist has a policy")
	}
}
