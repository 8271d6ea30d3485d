//go:build integration

package kube_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/test/cluster"
)

// cycleWorkers and cycles: 100 create/delete cycles of 10-worker jobs.
const (
	cycles       = 100
	cycleWorkers = 10
	cycleAtOnce  = 10
)

// 100 create/delete cycles of 10-worker jobs — a third of them admitted by
// Kueue, a tenth deleted once their launcher exists, the others as soon as
// their workers do (while the operator is still at work) — leave nothing
// behind: no pod, service, secret, configmap,
// NetworkPolicy, launcher Job, PodGroup or Kueue Workload whose name
// carries one of the jobs' names.
func TestCreateDeleteCyclesLeaveNothing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	queue, _ := kueueQueue(t, "200", "200Gi")
	prefix := "cyc-" + randHex(2) + "-"
	sem := make(chan struct{}, cycleAtOnce)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for i := range cycles {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := cycle(ctx, fmt.Sprintf("%s%d", prefix, i), i%3 == 0, i%10 == 0, queue); err != nil {
				mu.Lock()
				failures = append(failures, err.Error())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d cycles failed: %s", len(failures), cycles, strings.Join(failures, "; "))
	}
	var left []string
	deadline := time.Now().Add(awaitTimeout)
	for {
		left = leftovers(t, prefix)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d objects left %s after %d create/delete cycles: %v", len(left), awaitTimeout, cycles, left)
		}
		time.Sleep(time.Second)
	}
}

// cycle creates a job, waits until the operator made its workers (and,
// with launcher, its launcher: the operator makes it only once every
// worker is ready, slowly on a busy machine) and deletes it.
func cycle(ctx context.Context, name string, queued, launcher bool, queue string) error {
	doc := fmt.Sprintf(`
metadata: {name: %s, namespace: %s}
spec:
  image: mpioperator/mpi-pi:openmpi
  command: [python3, train.py]
  workers: {replicas: %d, resources: {cpu: 10m, memory: 16Mi}}
  launcher: {resources: {cpu: 10m, memory: 16Mi}}
`, name, ns, cycleWorkers)
	if queued {
		doc += "  scheduling: {queue: " + queue + "}\n"
	}
	j, _, err := job.Parse([]byte(doc))
	if err == nil {
		err = job.Prepare(j)
	}
	if err == nil {
		_, err = eng.Admit(ctx, j)
	}
	if err == nil {
		_, err = eng.Create(ctx, j)
	}
	if err != nil {
		return fmt.Errorf("%s: create: %w", name, err)
	}
	deadline := time.Now().Add(awaitTimeout)
	for {
		l, err := admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: kubeflow.JobNameLabel + "=" + name})
		want := cycleWorkers
		if launcher {
			want++
		}
		if err == nil && len(l.Items) >= want {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %d pods after %s (%v)", name, len(l.Items), awaitTimeout, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if _, err := eng.Delete(ctx, ns, name, engine.DeleteOptions{}); err != nil {
		return fmt.Errorf("%s: delete: %w", name, err)
	}
	return nil
}

// leftovers lists the objects of the namespace whose names carry prefix.
func leftovers(t *testing.T, prefix string) []string {
	t.Helper()
	ctx := t.Context()
	cfg, err := harness.RESTConfig(cluster.Admin)
	if err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(cfg)
	var out []string
	kinds := []schema.GroupVersionResource{
		{Version: "v1", Resource: "pods"},
		{Version: "v1", Resource: "services"},
		{Version: "v1", Resource: "secrets"},
		{Version: "v1", Resource: "configmaps"},
		{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"},
		{Group: "batch", Version: "v1", Resource: "jobs"},
		{Group: "kubeflow.org", Version: "v2beta1", Resource: "mpijobs"},
		{Group: "kueue.x-k8s.io", Version: "v1beta2", Resource: "workloads"},
		{Group: "scheduling.x-k8s.io", Version: "v1alpha1", Resource: "podgroups"},
		{Group: "scheduling.volcano.sh", Version: "v1beta1", Resource: "podgroups"},
	}
	for _, gvr := range kinds {
		if _, err := admin.Discovery().ServerResourcesForGroupVersion(gvr.GroupVersion().String()); err != nil {
			continue // not installed on this harness: nothing of the kind can be left
		}
		l, err := dyn.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatalf("list %s: %v", gvr.Resource, err)
		}
		for _, o := range l.Items {
			if strings.Contains(o.GetName(), prefix) {
				out = append(out, gvr.Resource+"/"+o.GetName())
			}
		}
	}
	sort.Strings(out)
	return out
}
