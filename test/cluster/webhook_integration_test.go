//go:build integration

package cluster_test

import (
	"encoding/json"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/odh-training/odh-training/test/cluster"
)

var mpiJobs = schema.GroupVersionResource{Group: "kubeflow.org", Version: "v2beta1", Resource: "mpijobs"}

// TestWebhookAsInstalled: odh-webhook runs on the harness with the webhook
// configurations deploy/webhook renders (only the client config differs),
// so MPIJobs from any client are admitted as on a real install.
func TestWebhookAsInstalled(t *testing.T) {
	ctx := t.Context()
	out, err := exec.CommandContext(ctx, harness.Layout.Bin("kubectl"), "kustomize", harness.Layout.Root+"/deploy/webhook").Output()
	if err != nil {
		t.Fatalf("kubectl kustomize deploy/webhook: %v", err)
	}
	admin, _ := clients(t, cluster.Admin)
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(string(out)), 4096)
	configs := 0
	for {
		var u unstructured.Unstructured
		if err := dec.Decode(&u.Object); err != nil {
			break
		}
		b, _ := json.Marshal(u.Object)
		switch u.GetKind() {
		case "ValidatingWebhookConfiguration":
			var want admissionregistrationv1.ValidatingWebhookConfiguration
			_ = json.Unmarshal(b, &want)
			got, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, want.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("deploy/webhook's %s is not registered: %v", want.Name, err)
			}
			configs++
			compareWebhooks(t, want.Name, len(want.Webhooks), len(got.Webhooks), func(i int) (any, any, *string) {
				w, g := want.Webhooks[i], got.Webhooks[i]
				url := g.ClientConfig.URL
				w.ClientConfig, g.ClientConfig = admissionregistrationv1.WebhookClientConfig{}, admissionregistrationv1.WebhookClientConfig{}
				if w.ObjectSelector == nil { // the API server defaults it to {} (everything)
					w.ObjectSelector = &metav1.LabelSelector{}
				}
				return w, g, url
			})
		case "MutatingWebhookConfiguration":
			var want admissionregistrationv1.MutatingWebhookConfiguration
			_ = json.Unmarshal(b, &want)
			got, err := admin.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, want.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("deploy/webhook's %s is not registered: %v", want.Name, err)
			}
			configs++
			compareWebhooks(t, want.Name, len(want.Webhooks), len(got.Webhooks), func(i int) (any, any, *string) {
				w, g := want.Webhooks[i], got.Webhooks[i]
				url := g.ClientConfig.URL
				w.ClientConfig, g.ClientConfig = admissionregistrationv1.WebhookClientConfig{}, admissionregistrationv1.WebhookClientConfig{}
				if w.ObjectSelector == nil { // the API server defaults it to {} (everything)
					w.ObjectSelector = &metav1.LabelSelector{}
				}
				return w, g, url
			})
		}
	}
	if configs == 0 {
		t.Fatal("deploy/webhook renders no webhook configurations")
	}

	// Admission from a plain Kubernetes client: the creator is stamped, a
	// forged one refused, the Training Service's validator applies.
	dyn := dynClient(t, cluster.Alice)
	name := uniqueName("adm")
	job := func(name string, annotations map[string]any) *unstructured.Unstructured {
		b, _ := json.Marshal(newMPIJob(name))
		u := &unstructured.Unstructured{}
		_ = json.Unmarshal(b, &u.Object)
		u.SetAPIVersion("kubeflow.org/v2beta1")
		u.SetKind("MPIJob")
		if annotations != nil {
			_ = unstructured.SetNestedMap(u.Object, annotations, "metadata", "annotations")
		}
		return u
	}
	got, err := dyn.Resource(mpiJobs).Namespace(cluster.TeamA).Create(ctx, job(name, nil), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		t.Fatalf("alice creates an MPIJob (dry run): %v", err)
	}
	if c := got.GetAnnotations()["training.opendatahub.io/creator"]; c != "alice" {
		t.Errorf("creator annotation %q, want alice (the webhook stamps it)", c)
	}
	_, err = dyn.Resource(mpiJobs).Namespace(cluster.TeamA).Create(ctx, job(name, map[string]any{"training.opendatahub.io/creator": "bob"}), metav1.CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), `denied the request`) || !strings.Contains(err.Error(), `"bob"`) {
		t.Errorf("a forged creator: error %v, want the webhook's refusal naming it", err)
	}
	long := "x" + strings.Repeat("y", 58) + "z"
	_, err = dyn.Resource(mpiJobs).Namespace(cluster.TeamA).Create(ctx, job(long, nil), metav1.CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), "metadata.name") {
		t.Errorf("a name too long for its pods: error %v, want the validator's field error", err)
	}
	if _, err := dyn.Resource(mpiJobs).Namespace(cluster.TeamA).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a refused MPIJob exists: %v", err)
	}
}

func compareWebhooks(t *testing.T, config string, want, got int, pair func(i int) (want, got any, url *string)) {
	t.Helper()
	if want != got {
		t.Errorf("%s: %d webhooks registered, deploy/webhook has %d", config, got, want)
		return
	}
	for i := range want {
		w, g, url := pair(i)
		if url == nil || !strings.HasPrefix(*url, "https://127.0.0.1:") {
			t.Errorf("%s webhook %d: url %v, want the loopback odh-webhook", config, i, url)
		}
		if !reflect.DeepEqual(w, g) {
			wb, _ := json.Marshal(w)
			gb, _ := json.Marshal(g)
			t.Errorf("%s webhook %d differs from deploy/webhook (beyond the client config):\n deploy: %s\nharness: %s", config, i, wb, gb)
		}
	}
}
