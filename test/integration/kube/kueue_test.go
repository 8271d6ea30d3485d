//go:build integration

package kube_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/test/cluster"
)

var (
	resourceFlavorGVR = schema.GroupVersionResource{Group: "kueue.x-k8s.io", Version: "v1beta2", Resource: "resourceflavors"}
	clusterQueueGVR   = schema.GroupVersionResource{Group: "kueue.x-k8s.io", Version: "v1beta2", Resource: "clusterqueues"}
	localQueueGVR     = schema.GroupVersionResource{Group: "kueue.x-k8s.io", Version: "v1beta2", Resource: "localqueues"}
)

// kueueQueue creates a ResourceFlavor, a ClusterQueue with cpu and memory
// quotas for the test namespace and a LocalQueue pointing at it, waits until
// Kueue reports the ClusterQueue active, and returns the LocalQueue's and
// the ClusterQueue's names.
func kueueQueue(t *testing.T, cpu, memory string) (string, string) {
	t.Helper()
	return kueueQueueWith(t, cpu, memory, nil)
}

// kueueQueueWith is kueueQueue with more fields of the ClusterQueue's spec
// (e.g. preemption).
func kueueQueueWith(t *testing.T, cpu, memory string, extra map[string]any) (string, string) {
	t.Helper()
	cfg, err := harness.RESTConfig(cluster.Admin)
	if err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(cfg)
	sfx := randHex(3)
	rf, cq, lq := "odh-rf-"+sfx, "odh-cq-"+sfx, "lq-"+sfx
	objs := []struct {
		gvr schema.GroupVersionResource
		ns  string
		obj map[string]any
	}{
		{resourceFlavorGVR, "", map[string]any{"metadata": map[string]any{"name": rf}}},
		{clusterQueueGVR, "", map[string]any{
			"metadata": map[string]any{"name": cq},
			"spec": withFields(extra, map[string]any{
				"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": ns}},
				"resourceGroups": []any{map[string]any{
					"coveredResources": []any{"cpu", "memory"},
					"flavors": []any{map[string]any{"name": rf, "resources": []any{
						map[string]any{"name": "cpu", "nominalQuota": cpu},
						map[string]any{"name": "memory", "nominalQuota": memory},
					}}},
				}},
			}),
		}},
		{localQueueGVR, ns, map[string]any{"metadata": map[string]any{"name": lq, "namespace": ns}, "spec": map[string]any{"clusterQueue": cq}}},
	}
	for _, o := range objs {
		u := &unstructured.Unstructured{Object: o.obj}
		u.SetAPIVersion("kueue.x-k8s.io/v1beta2")
		u.SetKind(map[string]string{"resourceflavors": "ResourceFlavor", "clusterqueues": "ClusterQueue", "localqueues": "LocalQueue"}[o.gvr.Resource])
		var ri dynamic.ResourceInterface = dyn.Resource(o.gvr)
		if o.ns != "" {
			ri = dyn.Resource(o.gvr).Namespace(o.ns)
		}
		if _, err := ri.Create(t.Context(), u, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create %s %s: %v", u.GetKind(), u.GetName(), err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = ri.Delete(ctx, u.GetName(), metav1.DeleteOptions{})
		})
	}
	eventually(t, "ClusterQueue "+cq+" active", func() bool {
		u, err := dyn.Resource(clusterQueueGVR).Get(t.Context(), cq, metav1.GetOptions{})
		if err != nil {
			return false
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			if m, _ := c.(map[string]any); m["type"] == "Active" && m["status"] == "True" {
				return true
			}
		}
		return false
	})
	return lq, cq
}

// withFields returns m with the fields of extra added.
func withFields(extra, m map[string]any) map[string]any {
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func queuedJob(t *testing.T, name, queue string, workers int, cpu string) *job.MPIJob {
	return newJob(t, fmt.Sprintf(`
metadata: {name: %s, labels: {suite: kube}}
spec:
  image: mpioperator/mpi-pi:openmpi
  command: [python3, train.py]
  workers: {replicas: %d, resources: {cpu: %s, memory: 64Mi}}
  launcher: {resources: {cpu: 100m, memory: 64Mi}}
  scheduling: {queue: %s}
`, name, workers, cpu, queue))
}

// Real Kueue in front of the MPI operator: a job its ClusterQueue can admit
// runs; the next ones wait Queued with Kueue's own reason and their
// positions (from Kueue's visibility API); one larger than the queue's whole
// quota is refused before anything is created; when the first finishes,
// Kueue admits the next one and the last moves up.
func TestKueueQueuesAndAdmits(t *testing.T) {
	t.Parallel()
	lq, cq := kueueQueue(t, "1", "2Gi")

	first, second, third := uniqueName("kq1"), uniqueName("kq2"), uniqueName("kq3")
	create(t, queuedJob(t, first, lq, 2, "400m")) // 900m of the queue's 1 cpu
	awaitPhase(t, first, job.PhaseRunning)
	// Kueue records the first job's usage in the ClusterQueue's status
	// shortly after admitting it; from then on Admit warns that the next
	// one will wait.
	eventually(t, "Admit warns that the queue is full", func() bool {
		w, err := eng.Admit(t.Context(), queuedJob(t, second, lq, 2, "400m"))
		if err != nil {
			t.Fatalf("admit a job that must wait: %v", err)
		}
		return strings.Contains(strings.Join(w, "\n"), "ClusterQueue "+cq)
	})
	create(t, queuedJob(t, second, lq, 2, "400m"))
	q := await(t, second, awaitTimeout, "Kueue's reason for queueing", func(j *job.MPIJob) bool {
		return j.Status.Phase == job.PhaseQueued && strings.Contains(j.Status.Message, "insufficient unused quota")
	})
	mustContain(t, "queued message", q.Status.Message, "LocalQueue \""+lq+"\"", "cpu", "more needed")
	// Kueue orders a queue by creation time, in whole seconds: let one pass
	// so the third is behind the second.
	time.Sleep(1100 * time.Millisecond)
	create(t, queuedJob(t, third, lq, 1, "400m")) // 500m: waits behind the second
	await(t, second, awaitTimeout, "first in the queue", func(j *job.MPIJob) bool { return j.Status.QueuePosition == 1 })
	p3 := await(t, third, awaitTimeout, "second in the queue", func(j *job.MPIJob) bool { return j.Status.QueuePosition == 2 })
	mustContain(t, "position in the message", p3.Status.Message, "position 2")
	if n := len(podsOf(t, second, "")); n != 0 {
		t.Errorf("%d pods for a queued job", n)
	}
	evs, err := eng.Events(t.Context(), ns, second)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.Object)
	}
	if !strings.Contains(strings.Join(kinds, " "), "workload/mpijob-"+second+"-") {
		t.Errorf("events of the queued job lack its Workload's: %v", kinds)
	}

	// More than the ClusterQueue's nominal quota: never admissible.
	_, err = eng.Admit(t.Context(), queuedJob(t, uniqueName("kq4"), lq, 3, "400m"))
	if job.KindOf(err) != job.KindQuotaExceeded {
		t.Fatalf("admit a job larger than the queue: %v, want QuotaExceeded", err)
	}
	mustContain(t, "quota error", err.Error(), "cpu", "ClusterQueue "+cq)

	// The first job ends: Kueue releases its quota and admits the second.
	exitPod(t, launcherPod(t, first), 0)
	awaitPhase(t, first, job.PhaseSucceeded)
	if r := awaitPhase(t, second, job.PhaseRunning); r.Status.QueuePosition != 0 {
		t.Errorf("running job keeps queue position %d", r.Status.QueuePosition)
	}
	await(t, third, awaitTimeout, "first in the queue now", func(j *job.MPIJob) bool {
		return j.Status.Phase == job.PhaseQueued && j.Status.QueuePosition == 1
	})
}
