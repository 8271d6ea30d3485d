//go:build integration

package security_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/internal/webhook"
	"github.com/odh-training/odh-training/test/cluster"
)

func manifest(t *testing.T, name string, workers int32, edit func(map[string]any)) string {
	t.Helper()
	b, _ := json.Marshal(upstreamJob(name, nsA, workers, true))
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	m["apiVersion"], m["kind"] = "kubeflow.org/v2beta1", "MPIJob"
	if edit != nil {
		edit(m)
	}
	out, _ := json.Marshal(m)
	return string(out)
}

const denial = `admission webhook "validate.mpijobs.training.opendatahub.io" denied the request`

// TestWebhookWithKubectl: MPIJobs from kubectl meet the same validator as
// the API, the creator stamp cannot be forged or changed, defaults are set
// and the namespace policy applies.
func TestWebhookWithKubectl(t *testing.T) {
	// Invalid for the Training Service's validator, though the CRD schema
	// and the API server accept it: a 60-character name leaves no room for
	// the worker pods' names.
	long := "x" + strings.Repeat("y", 58) + "z"
	out, err := kubectlStdin(cluster.Alice, manifest(t, long, 2, nil), "create", "-f", "-")
	if err == nil {
		t.Fatalf("an invalid MPIJob was created with kubectl:\n%s", out)
	}
	// The API server passes the webhook's 422 with its field causes on;
	// the message is the Training Service validator's.
	mustContain(t, "kubectl create invalid", out, "metadata.name", "would exceed 63 characters; with 2 workers use at most 54 characters")

	// A forged creator.
	out, err = kubectlStdin(cluster.Alice, manifest(t, "forged", 1, func(m map[string]any) {
		m["metadata"].(map[string]any)["annotations"] = map[string]any{webhook.AnnotationCreator: "bob"}
	}), "create", "-f", "-")
	if err == nil {
		t.Fatalf("a forged creator was accepted:\n%s", out)
	}
	mustContain(t, "kubectl create forged", out, denial, `training.opendatahub.io/creator="bob"`)

	// Stamped and defaulted.
	if out, err := kubectlStdin(cluster.Alice, manifest(t, "stamped", 1, nil), "create", "-f", "-"); err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	u, err := userMPI(cluster.Admin).KubeflowV2beta1().MPIJobs(nsA).Get(t.Context(), "stamped", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Annotations[webhook.AnnotationCreator]; got != "alice" {
		t.Errorf("creator annotation = %q, want alice", got)
	}
	for rt, r := range u.Spec.MPIReplicaSpecs {
		ps := r.Template.Spec
		if ps.SecurityContext == nil || ps.SecurityContext.SeccompProfile == nil || ps.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: no RuntimeDefault seccomp profile: %+v", rt, ps.SecurityContext)
		}
		sc := ps.Containers[0].SecurityContext
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 {
			t.Errorf("%s: container securityContext not defaulted: %+v", rt, sc)
		}
	}

	// The stamp cannot be changed, by the creator or by an MLOps engineer.
	for _, who := range []string{cluster.Alice, cluster.MLOps} {
		out, err := kubectl(who, "-n", nsA, "annotate", "mpijobs.kubeflow.org", "stamped", "--overwrite", webhook.AnnotationCreator+"="+who+"-x")
		if err == nil {
			t.Errorf("%s changed the creator annotation:\n%s", who, out)
		}
		mustContain(t, who+" annotate", out, denial, "cannot be changed")
	}
	out, err = kubectl(cluster.Alice, "-n", nsA, "annotate", "mpijobs.kubeflow.org", "stamped", webhook.AnnotationCreator+"-")
	if err == nil {
		t.Errorf("alice removed the creator annotation:\n%s", out)
	}

	// Someone else's job: only its creator and MLOps engineers change it.
	createAs(t, cluster.MLOps, nsA, "mlops-job", true)
	out, err = kubectl(cluster.Alice, "-n", nsA, "label", "mpijobs.kubeflow.org", "mlops-job", "team=nlp")
	if err == nil {
		t.Errorf("alice changed mlops's job:\n%s", out)
	}
	mustContain(t, "alice labels mlops's job", out, denial, `it was created by "mlops"`)
	if out, err := kubectl(cluster.MLOps, "-n", nsA, "label", "mpijobs.kubeflow.org", "stamped", "team=nlp"); err != nil {
		t.Errorf("mlops labels alice's job: %v\n%s", err, out)
	}

	// Policy from namespace annotations: at most 2 workers, quay.io only.
	patch := `{"metadata":{"annotations":{"training.opendatahub.io/max-workers":"2","training.opendatahub.io/allowed-registries":"quay.io/odh/"}}}`
	if _, err := admin.CoreV1().Namespaces().Patch(t.Context(), nsA, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.CoreV1().Namespaces().Patch(context.Background(), nsA, types.MergePatchType, []byte(`{"metadata":{"annotations":{"training.opendatahub.io/max-workers":null,"training.opendatahub.io/allowed-registries":null}}}`), metav1.PatchOptions{})
	})
	// The webhook caches namespace annotations for 30s.
	eventually(t, "max-workers policy", func() error {
		out, err := kubectlStdin(cluster.Alice, manifest(t, "wide", 3, nil), "create", "--dry-run=server", "-f", "-")
		if err == nil {
			return errString("3 workers accepted: " + out)
		}
		if !strings.Contains(out, "3 workers exceed the maximum of 2") {
			return errString(out)
		}
		return nil
	})
	out, err = kubectlStdin(cluster.Alice, manifest(t, "dockerhub", 1, func(m map[string]any) {
		w := m["spec"].(map[string]any)["mpiReplicaSpecs"].(map[string]any)["Worker"].(map[string]any)
		w["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"] = "mpioperator/mpi-pi"
	}), "create", "--dry-run=server", "-f", "-")
	if err == nil {
		t.Errorf("an image from docker.io was accepted:\n%s", out)
	}
	mustContain(t, "registry policy", out, denial, `image "mpioperator/mpi-pi" is not from a registry allowed`)
}

type errString string

func (e errString) Error() string { return string(e) }

// TestQuotaPreCheck: a job bigger than what the namespace's ResourceQuota
// has left is rejected before anything is created, with requested vs
// available per resource, over REST and gRPC.
func TestQuotaPreCheck(t *testing.T) {
	ctx := t.Context()
	q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "compute"}, Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
		corev1.ResourceRequestsCPU: resource.MustParse("1"), "requests.nvidia.com/gpu": resource.MustParse("2"),
	}}}
	if _, err := admin.CoreV1().ResourceQuotas(nsB).Create(ctx, q, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = admin.CoreV1().ResourceQuotas(nsB).Delete(context.Background(), "compute", metav1.DeleteOptions{})
	})
	eventually(t, "quota status", func() error {
		r, err := admin.CoreV1().ResourceQuotas(nsB).Get(ctx, "compute", metav1.GetOptions{})
		if err != nil || r.Status.Hard == nil {
			return errString("no status yet")
		}
		return nil
	})
	body := `{"job": {"metadata": {"name": "too-big"}, "spec": {"image": "quay.io/odh/mpi-pi:1", "command": ["python3", "train.py"],
	  "workers": {"replicas": 2, "resources": {"cpu": "1", "memory": "1Gi", "gpus": 2}}, "launcher": {"resources": {"cpu": "100m", "memory": "64Mi"}}}}}`
	req, _ := http.NewRequest(http.MethodPost, srvURL+"/api/v1/namespaces/"+nsB+"/mpijobs", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+harness.Token(cluster.Bob))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var eb apiconv.ErrorBody
	_ = json.Unmarshal(data, &eb)
	if resp.StatusCode != http.StatusForbidden || eb.Reason != "QuotaExceeded" {
		t.Fatalf("REST create over quota: %d %s", resp.StatusCode, data)
	}
	mustContain(t, "quota message", eb.Message, `MPIJob "too-big" requests more than namespace `+nsB+` has available, so nothing was created`,
		"cpu: requested 2100m, available 1 (ResourceQuota compute)", "nvidia.com/gpu: requested 4, available 2 (ResourceQuota compute)")
	if len(eb.Quota) != 2 {
		t.Errorf("quota details: %+v", eb.Quota)
	}
	g := newGRPC(t)
	gctx, cancel := grpcCtx(cluster.Bob)
	defer cancel()
	_, err = g.rpc.CreateJob(gctx, &trainingv1.CreateJobRequest{Namespace: nsB, Manifest: "metadata: {name: too-big}\nspec: {image: quay.io/odh/mpi-pi:1, command: [a], workers: {replicas: 4, resources: {cpu: 500m}}}"})
	if e := apiconv.Classify(err); e.Kind != "QuotaExceeded" || len(e.Quota) != 1 || e.Quota[0].Resource != "cpu" {
		t.Errorf("gRPC create over quota: %v", err)
	}
	// Nothing was created.
	l, err := userMPI(cluster.Admin).KubeflowV2beta1().MPIJobs(nsB).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range l.Items {
		if j.Name == "too-big" {
			t.Errorf("too-big exists after the rejection")
		}
	}
}

// TestCanI: the server answers as the cluster would, own-job rule included.
func TestCanI(t *testing.T) {
	createAs(t, cluster.Alice, nsA, "cani-alice", true)
	g := newGRPC(t)
	for _, c := range []struct {
		user, verb, name string
		want             bool
	}{
		{cluster.Alice, "create", "", true},
		{cluster.Alice, "delete", "cani-alice", true},
		{cluster.Bob, "delete", "cani-alice", false},
		{cluster.Bob, "list", "", false},
		{cluster.MLOps, "delete", "cani-alice", true},
		{cluster.Admin, "delete", "cani-alice", true},
	} {
		ctx, cancel := grpcCtx(c.user)
		r, err := g.rpc.CanI(ctx, &trainingv1.CanIRequest{Namespace: nsA, Verb: c.verb, Resource: "mpijobs", Name: c.name})
		cancel()
		if err != nil || r.GetAllowed() != c.want || r.GetUser() != c.user {
			t.Errorf("%s can-i %s %s: %v %v", c.user, c.verb, c.name, r, err)
		}
	}
	createAs(t, cluster.MLOps, nsA, "cani-mlops", true)
	ctx, cancel := grpcCtx(cluster.Alice)
	defer cancel()
	r, err := g.rpc.CanI(ctx, &trainingv1.CanIRequest{Namespace: nsA, Verb: "delete", Name: "cani-mlops"})
	if err != nil || r.GetAllowed() || !strings.Contains(r.GetReason(), `created by "mlops"`) {
		t.Errorf("alice can-i delete mlops's job: %v %v", r, err)
	}
}
