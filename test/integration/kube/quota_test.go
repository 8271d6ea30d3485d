//go:build integration

package kube_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/odh-training/odh-training/internal/engine/kube"
	"github.com/odh-training/odh-training/internal/job"
)

// A namespace ResourceQuota: Capacity reports hard − used; the quota
// pre-check of Admit and Create rejects a job that asks for more than is
// left (listing requested vs available) and creates nothing; a job created
// suspended is held only to the hard limits, and when its pods are refused
// after it is resumed it is Pending with QuotaExceeded.
func TestQuota(t *testing.T) {
	t.Parallel()
	qns := "kitq-" + randHex(2)
	ctx := t.Context()
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: qns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer cleanupNamespace(qns)
	q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "compute"}, Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
		corev1.ResourceRequestsCPU: mustQ("2"), corev1.ResourceRequestsMemory: mustQ("4Gi"), "requests.nvidia.com/gpu": mustQ("2"),
	}}}
	if _, err := admin.CoreV1().ResourceQuotas(qns).Create(ctx, q, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e, err := kube.New(ctx, kube.Options{RestConfig: serverCfg, ClientsFor: asAdmin, Namespace: qns})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	eventually(t, "quota status", func() bool {
		c, err := e.Capacity(ctx, qns)
		return err == nil && len(c.Resources) == 3 && c.Resources[0].Hard == "2" && c.Resources[0].Used == "0"
	})
	big := newJob(t, fmt.Sprintf(`metadata: {name: big, namespace: %s}
spec: {image: x, command: [a], workers: {replicas: 3, resources: {cpu: "1", memory: 1Gi}}}`, qns))
	_, err = e.Admit(ctx, big)
	var je *job.Error
	if !errors.As(err, &je) || je.Kind != job.KindQuotaExceeded || len(je.Quota) != 1 || je.Quota[0].Resource != "cpu" {
		t.Fatalf("admit a job over the hard limit: %v (%+v)", err, je)
	}
	// Fits the quota alone, but its worker asks for more than is left
	// once another pod holds some: pods are refused, status says why.
	hog := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "hog"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x",
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: mustQ("1500m"), corev1.ResourceMemory: mustQ("1Gi")}}}}}}
	if _, err := admin.CoreV1().Pods(qns).Create(ctx, hog, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "quota used", func() bool {
		c, err := e.Capacity(ctx, qns)
		return err == nil && c.Resources[0].Used == "1500m"
	})
	small := newJob(t, fmt.Sprintf(`metadata: {name: small, namespace: %s}
spec: {image: x, command: [a], workers: {replicas: 1, resources: {cpu: "1", memory: 1Gi}}, launcher: {resources: {cpu: 100m, memory: 100Mi}}}`, qns))
	for what, call := range map[string]func() error{
		"admit":  func() error { _, err := e.Admit(ctx, small); return err },
		"create": func() error { _, err := e.Create(ctx, small); return err },
	} {
		err := call()
		if !errors.As(err, &je) || je.Kind != job.KindQuotaExceeded || len(je.Quota) != 1 || je.Quota[0].Requested != "1100m" || je.Quota[0].Available != "500m" {
			t.Fatalf("%s a job over what is left: %v (%+v)", what, err, je)
		}
		mustContain(t, "quota message", je.Message, "cpu: requested 1100m, available 500m (ResourceQuota compute)")
	}
	if _, err := e.Get(ctx, qns, "small"); !job.IsKind(err, job.KindNotFound) {
		t.Fatalf("a rejected job exists: %v", err)
	}
	small.Spec.RunPolicy.Suspend = true
	if _, err := e.Admit(ctx, small); err != nil {
		t.Fatalf("admit suspended: %v", err)
	}
	if _, err := e.Create(ctx, small); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Resume(ctx, qns, "small"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(awaitTimeout)
	for {
		j, err := e.Get(ctx, qns, "small")
		if err == nil && j.Status.Reason == job.ReasonQuotaExceeded {
			mustContain(t, "message", j.Status.Message, "exceeded quota")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no QuotaExceeded: %+v %v", j.Status, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Ready is fine on the harness and says plainly when the operator is not
// running (here: looking for its lease in the wrong namespace).
func TestReady(t *testing.T) {
	t.Parallel()
	if err := eng.Ready(t.Context()); err != nil {
		t.Fatalf("ready: %v", err)
	}
	e, err := kube.New(t.Context(), kube.Options{RestConfig: serverCfg, ClientsFor: asAdmin, Namespace: ns, OperatorNamespace: "no-operator-here"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	err = e.Ready(t.Context())
	if !job.IsKind(err, job.KindUnavailable) {
		t.Fatalf("ready without operator: %v", err)
	}
	mustContain(t, "error", err.Error(), "MPI operator is not running")
	w, err := e.Admit(t.Context(), simpleJob(t, "x", 1, job.OpenMPI))
	if err != nil || !slices.ContainsFunc(w, func(s string) bool { return strings.Contains(s, "MPI operator is not running") }) {
		t.Errorf("admit without operator: warnings %v err %v", w, err)
	}
}

func mustQ(s string) resource.Quantity { return resource.MustParse(s) }
