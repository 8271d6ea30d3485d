package odhwebhook

import (
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestBundlePatcher(t *testing.T) {
	ctx := t.Context()
	mk := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "odh-training-mpijobs"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: "a.example"}, {Name: "b.example"}}}
	vk := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "odh-training-mpijobs"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "c.example"}}}
	c := fake.NewClientset(mk, vk)
	p := &bundlePatcher{client: c, mutating: []string{"odh-training-mpijobs", "absent"}, validating: []string{"odh-training-mpijobs"}}
	if err := p.patch(ctx, []byte("BUNDLE")); err != nil {
		t.Fatal(err)
	}
	m, _ := c.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, "odh-training-mpijobs", metav1.GetOptions{})
	v, _ := c.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "odh-training-mpijobs", metav1.GetOptions{})
	for _, b := range [][]byte{m.Webhooks[0].ClientConfig.CABundle, m.Webhooks[1].ClientConfig.CABundle, v.Webhooks[0].ClientConfig.CABundle} {
		if string(b) != "BUNDLE" {
			t.Errorf("caBundle = %q", b)
		}
	}
}
