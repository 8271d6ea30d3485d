//go:build integration

package cluster_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/odh-training/odh-training/test/cluster"
)

var (
	podGroups        = schema.GroupVersionResource{Group: "scheduling.x-k8s.io", Version: "v1alpha1", Resource: "podgroups"}
	volcanoPodGroups = schema.GroupVersionResource{Group: "scheduling.volcano.sh", Version: "v1beta1", Resource: "podgroups"}
	volcanoQueues    = schema.GroupVersionResource{Group: "scheduling.volcano.sh", Version: "v1beta1", Resource: "queues"}
)

// TestCoschedulingGang: a PodGroup of 3 pods that cannot all fit gets no pod
// bound by the coscheduling scheduler; once capacity frees, all 3 bind. On
// a node of its own (tainted, so no other test's pods land there and take
// the capacity the test counts on).
func TestCoschedulingGang(t *testing.T) {
	ctx := t.Context()
	cs, _ := clients(t, cluster.Admin)
	dyn := dynClient(t, cluster.Admin)
	id := uniqueName("gang")
	ns := cluster.TeamB
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        id,
			Labels:      map[string]string{"odh.test/gang": id, "kubernetes.io/hostname": id},
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "metrics.k8s.io/resource-metrics-path": "/metrics/nodes/" + id + "/metrics/resource"},
		},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "odh.test/gang", Value: id, Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{
			Capacity:        corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("6"), corev1.ResourceMemory: resource.MustParse("16Gi"), corev1.ResourcePods: resource.MustParse("110")},
			Allocatable:     corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("6"), corev1.ResourceMemory: resource.MustParse("16Gi"), corev1.ResourcePods: resource.MustParse("110")},
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(harness.State.Ports.Kwok)}},
		},
	}
	if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Nodes().Delete(context.Background(), id, metav1.DeleteOptions{}) })
	eventually(t, "node Ready", func(ctx context.Context) (bool, error) {
		n, err := cs.CoreV1().Nodes().Get(ctx, id, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	pod := func(name, scheduler, group string) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{}},
			Spec: corev1.PodSpec{
				SchedulerName: scheduler,
				NodeSelector:  map[string]string{"odh.test/gang": id},
				Tolerations:   []corev1.Toleration{{Key: "odh.test/gang", Operator: corev1.TolerationOpEqual, Value: id, Effect: corev1.TaintEffectNoSchedule}},
				Containers: []corev1.Container{{Name: "main", Image: "x", Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
				}}},
			},
		}
		if group != "" {
			p.Labels[cluster.PodGroupLabel] = group
		}
		return p
	}
	create := func(p *corev1.Pod) {
		t.Helper()
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cs.CoreV1().Pods(ns).Delete(context.Background(), p.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
		})
	}
	// The blocker takes 2 of the node's 6 CPUs: 2 of the gang's 3 pods fit.
	blocker := id + "-blocker"
	create(pod(blocker, "", ""))
	eventually(t, "blocker Running", func(ctx context.Context) (bool, error) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, blocker, metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, err
	})
	pg := mustObject(t, fmt.Sprintf(`
apiVersion: scheduling.x-k8s.io/v1alpha1
kind: PodGroup
metadata: {name: %s, namespace: %s}
spec: {minMember: 3}
`, id, ns))
	if _, err := dyn.Resource(podGroups).Namespace(ns).Create(ctx, pg, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = dyn.Resource(podGroups).Namespace(ns).Delete(context.Background(), id, metav1.DeleteOptions{})
	})
	var members []string
	for i := range 3 {
		members = append(members, fmt.Sprintf("%s-%d", id, i))
		create(pod(members[i], cluster.CoschedulerName, id))
	}
	bound := func(ctx context.Context) (int, error) {
		n := 0
		for _, m := range members {
			p, err := cs.CoreV1().Pods(ns).Get(ctx, m, metav1.GetOptions{})
			if err != nil {
				return 0, err
			}
			if p.Spec.NodeName != "" {
				n++
			}
		}
		return n, nil
	}
	// The coscheduling scheduler tried the gang and held it back: a member
	// is marked unschedulable, while none is bound.
	eventually(t, "gang tried and held back", func(ctx context.Context) (bool, error) {
		if n, err := bound(ctx); err != nil || n != 0 {
			return false, fmt.Errorf("%d of 3 bound (%v): the gang must not be partly bound", n, err)
		}
		for _, m := range members {
			p, err := cs.CoreV1().Pods(ns).Get(ctx, m, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
					return true, nil
				}
			}
		}
		return false, fmt.Errorf("no member marked unschedulable yet")
	})
	// Held back for longer than the Permit wait (10 s), during which the
	// two that fit would have been bound by a scheduler without gangs.
	deadline := time.Now().Add(12 * time.Second)
	for time.Now().Before(deadline) {
		if n, err := bound(ctx); err != nil || n != 0 {
			t.Fatalf("%d of 3 gang members bound while only 2 fit (%v)", n, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// Capacity frees: the gang binds whole.
	if err := cs.CoreV1().Pods(ns).Delete(ctx, blocker, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 90*time.Second, "all 3 gang members bound and Running", func(ctx context.Context) (bool, error) {
		for _, m := range members {
			p, err := cs.CoreV1().Pods(ns).Get(ctx, m, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if p.Spec.NodeName != id || p.Status.Phase != corev1.PodRunning {
				return false, fmt.Errorf("%s on %q is %s", m, p.Spec.NodeName, p.Status.Phase)
			}
		}
		return true, nil
	})
}

// TestVolcanoCRDs: Volcano's Queue and PodGroup CRDs, generated from
// volcano.sh/apis, are served with their schema (defaults, validation).
func TestVolcanoCRDs(t *testing.T) {
	ctx := t.Context()
	dyn := dynClient(t, cluster.Admin)
	q := uniqueName("queue")
	if _, err := dyn.Resource(volcanoQueues).Create(ctx, mustObject(t, fmt.Sprintf(`
apiVersion: scheduling.volcano.sh/v1beta1
kind: Queue
metadata: {name: %s}
spec: {weight: 0}
`, q)), metav1.CreateOptions{}); err == nil || !strings.Contains(err.Error(), "spec.weight") {
		t.Errorf("a Queue with weight 0: error %v, want the CRD's minimum for spec.weight", err)
	}
	if _, err := dyn.Resource(volcanoQueues).Create(ctx, mustObject(t, fmt.Sprintf(`
apiVersion: scheduling.volcano.sh/v1beta1
kind: Queue
metadata: {name: %s}
spec: {weight: 2, capability: {cpu: "8"}}
`, q)), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create Queue: %v", err)
	}
	t.Cleanup(func() { _ = dyn.Resource(volcanoQueues).Delete(context.Background(), q, metav1.DeleteOptions{}) })
	pg, err := dyn.Resource(volcanoPodGroups).Namespace(cluster.TeamA).Create(ctx, mustObject(t, fmt.Sprintf(`
apiVersion: scheduling.volcano.sh/v1beta1
kind: PodGroup
metadata: {name: %s, namespace: %s}
spec:
  minMember: 3
  queue: %s
  priorityClassName: high
  minResources: {cpu: "3"}
`, q, cluster.TeamA, q)), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create Volcano PodGroup: %v", err)
	}
	t.Cleanup(func() {
		_ = dyn.Resource(volcanoPodGroups).Namespace(cluster.TeamA).Delete(context.Background(), q, metav1.DeleteOptions{})
	})
	if m, _, _ := unstructured.NestedInt64(pg.Object, "spec", "minMember"); m != 3 {
		t.Errorf("minMember %d", m)
	}
	// A PodGroup without a queue gets the CRD's default queue.
	pg2, err := dyn.Resource(volcanoPodGroups).Namespace(cluster.TeamA).Create(ctx, mustObject(t, fmt.Sprintf(`
apiVersion: scheduling.volcano.sh/v1beta1
kind: PodGroup
metadata: {name: %s-2, namespace: %s}
spec: {minMember: 1}
`, q, cluster.TeamA)), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := unstructured.NestedString(pg2.Object, "spec", "queue"); got != "default" {
		t.Errorf("default queue %q, want %q (from the CRD schema)", got, "default")
	}
}
