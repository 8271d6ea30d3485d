//go:build integration

package kube_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/test/cluster"
)

var (
	workloadPriorityClassGVR = schema.GroupVersionResource{Group: "kueue.x-k8s.io", Version: "v1beta2", Resource: "workloadpriorityclasses"}
	trainingPolicyGVR        = schema.GroupVersionResource{Group: "training.opendatahub.io", Version: "v1alpha1", Resource: "trainingpolicies"}
)

// priorityClasses are the classes one test run makes (unique names; the
// harness is shared).
type priorityClasses struct {
	pod       string // a Kubernetes PriorityClass only
	low, high string // Kueue WorkloadPriorityClasses only (values 100, 1000)
	both      string // a PriorityClass and a WorkloadPriorityClass
	forbidden string // a PriorityClass the namespace's policy does not allow
}

// makePriorityClasses creates the classes and a TrainingPolicy for the
// suite's namespace that allows all but forbidden, and waits until
// odh-webhook enforces it.
func makePriorityClasses(t *testing.T) priorityClasses {
	t.Helper()
	cfg, err := harness.RESTConfig(cluster.Admin)
	if err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(cfg)
	sfx := randHex(3)
	pc := priorityClasses{pod: "odh-pc-" + sfx, low: "odh-low-" + sfx, high: "odh-high-" + sfx, both: "odh-both-" + sfx, forbidden: "odh-forbidden-" + sfx}
	cleanup := func(f func(ctx context.Context)) {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			f(ctx)
		})
	}
	for name, value := range map[string]int32{pc.pod: 500, pc.both: 800, pc.forbidden: 900000} {
		if _, err := admin.SchedulingV1().PriorityClasses().Create(t.Context(), &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		cleanup(func(ctx context.Context) {
			_ = admin.SchedulingV1().PriorityClasses().Delete(ctx, name, metav1.DeleteOptions{})
		})
	}
	for name, value := range map[string]int64{pc.low: 100, pc.high: 1000, pc.both: 800} {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "WorkloadPriorityClass", "metadata": map[string]any{"name": name}, "value": value}}
		if _, err := dyn.Resource(workloadPriorityClassGVR).Create(t.Context(), u, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		cleanup(func(ctx context.Context) {
			_ = dyn.Resource(workloadPriorityClassGVR).Delete(ctx, name, metav1.DeleteOptions{})
		})
	}
	policy := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "training.opendatahub.io/v1alpha1", "kind": "TrainingPolicy",
		"metadata": map[string]any{"name": "kube-prio-" + sfx},
		"spec":     map[string]any{"namespaces": []any{ns}, "allowedPriorityClasses": []any{pc.pod, pc.low, pc.high, pc.both}},
	}}
	if _, err := dyn.Resource(trainingPolicyGVR).Create(t.Context(), policy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cleanup(func(ctx context.Context) {
		_ = dyn.Resource(trainingPolicyGVR).Delete(ctx, policy.GetName(), metav1.DeleteOptions{})
	})
	// odh-webhook sees the policy through its informer: wait until it
	// admits an allowed class (dry run).
	eventually(t, "odh-webhook enforces the new policy", func() bool {
		_, err := eng.Admit(t.Context(), prioJob(t, uniqueName("pw"), "", pc.pod, "100m"))
		return err == nil
	})
	return pc
}

func prioJob(t *testing.T, name, queue, class, cpu string) *job.MPIJob {
	return newJob(t, fmt.Sprintf(`
metadata: {name: %s, labels: {suite: kube}}
spec:
  image: mpioperator/mpi-pi:openmpi
  command: [python3, train.py]
  workers: {replicas: 2, resources: {cpu: %s, memory: 64Mi}}
  launcher: {resources: {cpu: 100m, memory: 64Mi}}
  scheduling: {queue: %q, priorityClass: %q}
`, name, cpu, queue, class))
}

// spec.scheduling.priorityClass on a real cluster: a PriorityClass goes to
// the pods and the gang, a Kueue WorkloadPriorityClass to Kueue's label,
// a name that is both to both; an unknown name is refused with the classes
// that exist, a class the namespace's policy does not allow is refused (also
// when a raw manifest sets Kueue's label itself), and nothing is created.
func TestPriorityClasses(t *testing.T) {
	pc := makePriorityClasses(t)
	lq, _ := kueueQueue(t, "4", "4Gi")
	for _, tc := range []struct {
		class              string
		wantPod, wantLabel bool
	}{
		{pc.pod, true, false},
		{pc.high, false, true},
		{pc.both, true, true},
	} {
		name := uniqueName("prio")
		create(t, prioJob(t, name, lq, tc.class, "100m"))
		u, err := adminClients.MPI.KubeflowV2beta1().MPIJobs(ns).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wantPod := map[bool]string{true: tc.class}[tc.wantPod]
		for rt, r := range u.Spec.MPIReplicaSpecs {
			if got := r.Template.Spec.PriorityClassName; got != wantPod {
				t.Errorf("%s: %s priorityClassName = %q, want %q", tc.class, rt, got, wantPod)
			}
		}
		if got := u.Spec.RunPolicy.SchedulingPolicy.PriorityClass; got != wantPod {
			t.Errorf("%s: schedulingPolicy.priorityClass = %q, want %q", tc.class, got, wantPod)
		}
		if got, want := u.Labels["kueue.x-k8s.io/priority-class"], map[bool]string{true: tc.class}[tc.wantLabel]; got != want {
			t.Errorf("%s: label kueue.x-k8s.io/priority-class = %q, want %q", tc.class, got, want)
		}
		// The job runs: its pods exist with the class's priority.
		awaitPhase(t, name, job.PhaseRunning)
		if tc.wantPod {
			for _, p := range podsOf(t, name, "worker") {
				if p.Spec.PriorityClassName != tc.class || p.Spec.Priority == nil {
					t.Errorf("%s: pod %s priority %q/%v", tc.class, p.Name, p.Spec.PriorityClassName, p.Spec.Priority)
				}
			}
		}
	}

	// Misuse: names that are not classes, classes the policy forbids.
	nothingCreated := func(name string) {
		t.Helper()
		if _, err := adminClients.MPI.KubeflowV2beta1().MPIJobs(ns).Get(t.Context(), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("MPIJob %s exists after a refusal (%v)", name, err)
		}
	}
	unknown := uniqueName("prio-unknown")
	_, err := eng.Create(t.Context(), prioJob(t, unknown, lq, "no-such-class", "100m"))
	if job.KindOf(err) != job.KindInvalid {
		t.Fatalf("unknown class: %v, want Invalid", err)
	}
	mustContain(t, "unknown class error", err.Error(), "spec.scheduling.priorityClass", `"no-such-class" does not exist`, "PriorityClasses", pc.pod, "WorkloadPriorityClasses", pc.low, pc.high)
	if strings.Contains(err.Error(), "system-node-critical") {
		t.Errorf("the error offers system classes: %v", err)
	}
	nothingCreated(unknown)

	forbidden := uniqueName("prio-forbidden")
	_, err = eng.Create(t.Context(), prioJob(t, forbidden, lq, pc.forbidden, "100m"))
	if err == nil {
		t.Fatal("a class the policy does not allow was accepted")
	}
	mustContain(t, "forbidden class error", err.Error(), pc.forbidden, "allowedPriorityClasses")
	nothingCreated(forbidden)

	// A raw manifest naming a WorkloadPriorityClass by Kueue's label: the
	// policy applies to it too (odh-webhook, any client).
	raw := uniqueName("prio-raw")
	rawJob := newJob(t, fmt.Sprintf(`
apiVersion: kubeflow.org/v2beta1
kind: MPIJob
metadata: {name: %s, labels: {kueue.x-k8s.io/queue-name: %s, kueue.x-k8s.io/priority-class: %s}}
spec:
  slotsPerWorker: 1
  mpiReplicaSpecs:
    Launcher:
      replicas: 1
      template: {spec: {containers: [{name: launcher, image: mpioperator/mpi-pi:openmpi, command: [mpirun, x]}]}}
    Worker:
      replicas: 1
      template: {spec: {containers: [{name: worker, image: mpioperator/mpi-pi:openmpi}]}}
`, raw, lq, pc.forbidden))
	_, err = eng.Create(t.Context(), rawJob)
	if err == nil {
		t.Fatal("a raw MPIJob with a forbidden Kueue priority label was accepted")
	}
	mustContain(t, "forbidden label error", err.Error(), "kueue.x-k8s.io/priority-class", pc.forbidden)
	nothingCreated(raw)
}

// Kueue preemption within a ClusterQueue (preemption.withinClusterQueue:
// LowerPriority): a high-priority job takes the quota of a running
// low-priority one; the low one shows Preempted with who and why, loses its
// pods, waits in its queue, and runs again when the high one ends.
//
// ODH_PREEMPTION_SAMPLES=N repeats the cycle N more times and logs the
// latencies (docs/benchmarks.md); it asserts no timing.
func TestPreemptionAndResume(t *testing.T) {
	pc := makePriorityClasses(t)
	lq, _ := kueueQueueWith(t, "1", "2Gi", map[string]any{"preemption": map[string]any{"withinClusterQueue": "LowerPriority"}})
	toPreempted, toRunning := preemptionCycle(t, pc, lq, true)
	t.Logf("high-priority submit → low Preempted %s, → high Running %s", toPreempted.Round(time.Millisecond), toRunning.Round(time.Millisecond))
	n, _ := strconv.Atoi(os.Getenv("ODH_PREEMPTION_SAMPLES"))
	if n <= 0 {
		return
	}
	var pre, run []time.Duration
	for range n {
		a, b := preemptionCycle(t, pc, lq, false)
		pre, run = append(pre, a), append(run, b)
	}
	t.Logf("PREEMPTION %d samples: submit → low Preempted p50 %s p95 %s max %s; submit → high Running p50 %s p95 %s max %s",
		n, pct(pre, 50), pct(pre, 95), pct(pre, 100), pct(run, 50), pct(run, 95), pct(run, 100))
}

// pct returns the p-th percentile (nearest rank).
func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p+99)/100 - 1
	return s[max(i, 0)].Round(time.Millisecond)
}

// preemptionCycle runs one low job, preempts it with a high one, checks
// what the low one shows, ends the high one, and waits until the low one
// runs again; it deletes both and returns the times from the high job's
// submission to the low one's Preempted status and to the high one's
// Running.
func preemptionCycle(t *testing.T, pc priorityClasses, lq string, check bool) (time.Duration, time.Duration) {
	t.Helper()
	low, high := uniqueName("low"), uniqueName("high")
	create(t, prioJob(t, low, lq, pc.low, "400m")) // 900m of 1 cpu
	awaitPhase(t, low, job.PhaseRunning)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, n := range []string{low, high} {
			_, _ = eng.Delete(ctx, ns, n, engine.DeleteOptions{Wait: true})
		}
	}()

	submitted := time.Now()
	create(t, prioJob(t, high, lq, pc.high, "400m"))
	p := await(t, low, awaitTimeout, "preempted", func(j *job.MPIJob) bool { return j.Status.Reason == job.ReasonPreempted })
	toPreempted := time.Since(submitted)
	h := awaitPhase(t, high, job.PhaseRunning)
	toRunning := time.Since(submitted)
	if check {
		if p.Status.Phase != job.PhaseQueued {
			t.Errorf("preempted job in phase %s, want Queued", p.Status.Phase)
		}
		mustContain(t, "preempted message", p.Status.Message, fmt.Sprintf("preempted by job %q", high), "prioritization in the ClusterQueue", "requeued in Kueue LocalQueue \""+lq+"\"")
		if p.Status.Preemptions != 1 || p.Status.PreemptedBy != high {
			t.Errorf("preemptions %d by %q, want 1 by %q", p.Status.Preemptions, p.Status.PreemptedBy, high)
		}
		if h.Status.Preemptions != 0 {
			t.Errorf("the preemptor counts %d preemptions", h.Status.Preemptions)
		}
		eventually(t, "the preempted job's pods removed", func() bool {
			for _, p := range podsOf(t, low, "") {
				if p.DeletionTimestamp == nil && p.Status.Phase == "Running" {
					return false
				}
			}
			return true
		})
		if l, err := eng.Get(t.Context(), ns, low); err != nil || l.Status.Phase != job.PhaseQueued {
			t.Errorf("preempted job while the high one runs: %v %v", l.Status.Phase, err)
		}
		evs, err := eng.Events(t.Context(), ns, low)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(evs, func(e job.Event) bool {
			return e.Reason == "Preempted" && strings.Contains(e.Message, "prioritization in the ClusterQueue")
		}) {
			t.Errorf("events of the preempted job lack Kueue's Preempted event: %+v", evs)
		}
	}

	// Capacity returns: the low job is admitted again and runs.
	exitPod(t, launcherPod(t, high), 0)
	awaitPhase(t, high, job.PhaseSucceeded)
	r := await(t, low, awaitTimeout, "running again", func(j *job.MPIJob) bool {
		return j.Status.Phase == job.PhaseRunning && j.Status.Reason == job.ReasonRunning
	})
	if check {
		if r.Status.Preemptions != 1 {
			t.Errorf("after resuming: %d preemptions, want 1", r.Status.Preemptions)
		}
		var phases []string
		for _, tr := range r.Status.History {
			phases = append(phases, string(tr.Phase)+"/"+tr.Reason)
		}
		if i := slices.Index(phases, "Queued/Preempted"); i < 0 || !slices.Contains(phases[i:], "Running/Running") {
			t.Errorf("history %v lacks Queued/Preempted then Running", phases)
		}
	}
	return toPreempted, toRunning
}
