//go:build integration

package kube_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/engine/kube"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/test/cluster"
)

// create → Running → Succeeded, driven by the launcher's exit code; Watch
// delivers every phase and the history records them in order.
func TestLifecycleSucceeded(t *testing.T) {
	t.Parallel()
	name := uniqueName("life")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	events := make(chan *job.MPIJob, 1000)
	watchDone := make(chan error, 1)
	go func() {
		watchDone <- eng.Watch(ctx, engine.WatchOptions{ListOptions: engine.ListOptions{Namespace: ns}, Name: name}, func(ev job.WatchEvent) error {
			if ev.Job != nil {
				events <- ev.Job
			}
			return nil
		})
	}()
	time.Sleep(200 * time.Millisecond) // the watch is registered
	created := create(t, simpleJob(t, name, 2, job.OpenMPI))
	if created.Metadata.UID == "" || created.Status.Requested == nil || created.Status.Requested.CPU != "200m" {
		t.Errorf("created job: uid %q requested %+v", created.Metadata.UID, created.Status.Requested)
	}
	// Read-your-writes: the cache has it.
	if _, err := eng.Get(t.Context(), ns, name); err != nil {
		t.Fatalf("get right after create: %v", err)
	}
	running := awaitPhase(t, name, job.PhaseRunning)
	if running.Status.Workers.Running != 2 || running.Status.Workers.Ready != 2 || running.Status.Launcher == nil || running.Status.Launcher.State != job.StateRunning {
		t.Errorf("running: workers %+v launcher %+v", running.Status.Workers, running.Status.Launcher)
	}
	for _, w := range running.Status.WorkerStatuses {
		if w.Node == "" || w.Pod == "" {
			t.Errorf("worker without node or pod: %+v", w)
		}
	}
	exitPod(t, launcherPod(t, name), 0)
	done := awaitPhase(t, name, job.PhaseSucceeded)
	if done.Status.ExitCode == nil || *done.Status.ExitCode != 0 || done.Status.CompletionTime.IsZero() {
		t.Errorf("succeeded: exit %v completion %v", done.Status.ExitCode, done.Status.CompletionTime)
	}
	var phases []job.Phase
	for _, h := range done.Status.History {
		if len(phases) == 0 || phases[len(phases)-1] != h.Phase {
			phases = append(phases, h.Phase)
		}
	}
	if want := []job.Phase{job.PhasePending, job.PhaseStarting, job.PhaseRunning, job.PhaseSucceeded}; !slices.Equal(phases, want) {
		t.Errorf("history phases %v, want %v (%+v)", phases, want, done.Status.History)
	}
	for i := 1; i < len(done.Status.History); i++ {
		if done.Status.History[i].Time.Before(done.Status.History[i-1].Time) {
			t.Errorf("history out of order: %+v", done.Status.History)
		}
	}
	// Every transition in the history reached the watcher, in order.
	cancel()
	<-watchDone
	close(events)
	var seen []string
	for j := range events {
		p := string(j.Status.Phase) + "/" + j.Status.Reason
		if len(seen) == 0 || seen[len(seen)-1] != p {
			seen = append(seen, p)
		}
	}
	var want []string
	for _, h := range done.Status.History {
		want = append(want, string(h.Phase)+"/"+h.Reason)
	}
	if !slices.Equal(seen, want) {
		t.Errorf("watch saw %v, history is %v", seen, want)
	}
	// The history is saved for a restarted server.
	eventually(t, "saved status record", func() bool {
		b, err := os.ReadFile(filepath.Join(archiveDir, ns, name, created.Metadata.UID, "status.json"))
		return err == nil && strings.Contains(string(b), `"Succeeded"`)
	})
}

// A worker fails while mpirun runs: the job reports that worker at once,
// and when the launcher then fails the job fails with the worker's index
// and exit code — also after the operator removed the pods.
func TestWorkerFailureReported(t *testing.T) {
	t.Parallel()
	name := uniqueName("wfail")
	create(t, simpleJob(t, name, 3, job.OpenMPI))
	awaitPhase(t, name, job.PhaseRunning)
	exitPod(t, name+"-worker-2", 42)
	j := await(t, name, awaitTimeout, "worker failure reported", func(j *job.MPIJob) bool { return j.Status.FirstFailedWorker != nil })
	if j.Status.Phase != job.PhaseRunning || j.Status.Reason != job.ReasonWorkerFailed || *j.Status.FirstFailedWorker != 2 {
		t.Errorf("while running: %s/%s first failed %v", j.Status.Phase, j.Status.Reason, *j.Status.FirstFailedWorker)
	}
	w := j.Status.WorkerStatuses[2]
	if w.State != job.StateFailed || w.ExitCode == nil || *w.ExitCode != 42 || w.Node == "" {
		t.Errorf("worker-2: %+v", w)
	}
	mustContain(t, "message", j.Status.Message, "worker 2", "exit code 42")
	exitPod(t, launcherPod(t, name), 1)
	f := awaitPhase(t, name, job.PhaseFailed)
	if f.Status.Reason != job.ReasonWorkerFailed || f.Status.FirstFailedWorker == nil || *f.Status.FirstFailedWorker != 2 {
		t.Errorf("failed: %s %v", f.Status.Reason, f.Status.FirstFailedWorker)
	}
	mustContain(t, "message", f.Status.Message, "worker 2", "exit code 42", "launcher exited with code 1")
	if w := f.Status.WorkerStatuses[2]; w.ExitCode == nil || *w.ExitCode != 42 {
		t.Errorf("worker-2 after failure: %+v", w)
	}
	// A fresh engine (a restarted server) still knows which worker failed.
	e2, err := kube.New(t.Context(), kube.Options{RestConfig: serverCfg, ClientsFor: asAdmin, Namespace: ns, ArchiveDir: archiveDir})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close(context.Background())
	g, err := e2.Get(t.Context(), ns, name)
	if err != nil {
		t.Fatal(err)
	}
	if g.Status.FirstFailedWorker == nil || *g.Status.FirstFailedWorker != 2 || g.Status.Phase != job.PhaseFailed || len(g.Status.History) < 4 {
		t.Errorf("after restart: %s first failed %v history %d", g.Status.Phase, g.Status.FirstFailedWorker, len(g.Status.History))
	}
}

// An OOMKilled worker is named as such.
func TestWorkerOOMKilled(t *testing.T) {
	t.Parallel()
	name := uniqueName("oom")
	create(t, simpleJob(t, name, 2, job.OpenMPI))
	awaitPhase(t, name, job.PhaseRunning)
	if err := harness.SetPodOOMKilled(t.Context(), ns, name+"-worker-0"); err != nil {
		t.Fatal(err)
	}
	j := await(t, name, awaitTimeout, "OOMKilled worker", func(j *job.MPIJob) bool { return j.Status.FirstFailedWorker != nil })
	if w := j.Status.WorkerStatuses[0]; w.Reason != job.ReasonOOMKilled || w.ExitCode == nil || *w.ExitCode != 137 {
		t.Errorf("worker-0: %+v", w)
	}
	mustContain(t, "message", j.Status.Message, "OOMKilled")
}

// A worker evicted under node pressure is named, with the kubelet's message.
func TestWorkerEvicted(t *testing.T) {
	t.Parallel()
	name := uniqueName("evict")
	create(t, simpleJob(t, name, 2, job.OpenMPI))
	awaitPhase(t, name, job.PhaseRunning)
	const why = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 90Mi."
	if err := harness.SetPodEvicted(t.Context(), ns, name+"-worker-1", why); err != nil {
		t.Fatal(err)
	}
	j := await(t, name, awaitTimeout, "evicted worker", func(j *job.MPIJob) bool { return j.Status.FirstFailedWorker != nil })
	if *j.Status.FirstFailedWorker != 1 {
		t.Errorf("first failed worker %d, want 1", *j.Status.FirstFailedWorker)
	}
	if w := j.Status.WorkerStatuses[1]; w.Reason != job.ReasonEvicted || w.State != job.StateFailed || !strings.Contains(w.Message, "low on resource") {
		t.Errorf("worker-1: %+v", w)
	}
	mustContain(t, "message", j.Status.Message, "worker 1", "low on resource")
}

// Workers whose image cannot be pulled keep the job Pending, and the status
// says which image and what to check.
func TestImagePullFailureExplained(t *testing.T) {
	t.Parallel()
	name := uniqueName("pull")
	j := simpleJob(t, name, 2, job.OpenMPI)
	image := cluster.UnpullableRegistry + "team/trainer:v9"
	j.Spec.Image = image
	create(t, j)
	p := await(t, name, awaitTimeout, "image pull failure on every worker", func(j *job.MPIJob) bool {
		return j.Status.Reason == job.ReasonImagePull && len(j.Status.WorkerStatuses) == 2 &&
			!slices.ContainsFunc(j.Status.WorkerStatuses, func(w job.ReplicaStatus) bool { return w.Reason != job.ReasonImagePull })
	})
	if p.Status.Phase != job.PhasePending {
		t.Errorf("phase %s, want Pending", p.Status.Phase)
	}
	mustContain(t, "message", p.Status.Message, image, "ErrImagePull", "spec.imagePullSecrets")
	for _, w := range p.Status.WorkerStatuses {
		if w.State != job.StatePending || w.Node == "" || !strings.Contains(w.Message, image) {
			t.Errorf("%s: %+v", w.Name, w)
		}
	}
}

// Worker restarts and the last exit code show while the pod keeps running.
func TestWorkerRestarts(t *testing.T) {
	t.Parallel()
	name := uniqueName("restart")
	create(t, simpleJob(t, name, 1, job.OpenMPI))
	awaitPhase(t, name, job.PhaseRunning)
	if err := harness.SetPodRestarts(t.Context(), ns, name+"-worker-0", 2, 139, "Error"); err != nil {
		t.Fatal(err)
	}
	j := await(t, name, awaitTimeout, "restarts", func(j *job.MPIJob) bool { return j.Status.WorkerStatuses[0].Restarts == 2 })
	if w := j.Status.WorkerStatuses[0]; w.ExitCode == nil || *w.ExitCode != 139 || w.State != job.StateRunning {
		t.Errorf("worker-0: %+v", w)
	}
	if j.Status.FirstFailedWorker == nil || *j.Status.FirstFailedWorker != 0 {
		t.Errorf("first failed worker %v", j.Status.FirstFailedWorker)
	}
}

// Invalid jobs are rejected with field errors and nothing is created.
func TestValidationRejectedBeforeCreate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, doc string
		fields    []string
	}{
		{"missing image", `metadata: {name: noimage}
spec: {command: [a]}`, []string{"spec.image"}},
		{"unknown annotation value", `metadata: {name: badssh, annotations: {training.opendatahub.io/ssh: sometimes}}
spec: {image: x, command: [a]}`, []string{`metadata.annotations["training.opendatahub.io/ssh"]`}},
	}
	for _, tc := range cases {
		j := newJob(t, tc.doc)
		_, err := eng.Admit(t.Context(), j)
		assertInvalid(t, tc.name, err, tc.fields)
		_, err = eng.Create(t.Context(), j)
		assertInvalid(t, tc.name, err, tc.fields)
		if _, err := adminMPI.KubeflowV2beta1().MPIJobs(ns).Get(t.Context(), j.Metadata.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s: MPIJob exists after a rejected create (err %v)", tc.name, err)
		}
	}
	// Problems job.Prepare catches never reach the engine.
	for _, doc := range []string{
		"metadata: {name: a}\nspec: {image: x, command: [a], mpiImplementation: LAM}",
		"metadata: {name: " + strings.Repeat("n", 56) + "}\nspec: {image: x, command: [a], workers: {replicas: 10}}",
		"metadata: {name: a}\nspec: {image: x, command: [a], workers: {resources: {cpu: \"-1\"}}}",
		"apiVersion: kubeflow.org/v2beta1\nkind: MPIJob\nmetadata: {name: a}\nspec: {mpiReplicaSpecs: {Worker: {replicas: 1}}}",
	} {
		j, _, err := job.Parse([]byte(doc))
		if err == nil {
			err = job.Prepare(j)
		}
		if !job.IsKind(err, job.KindInvalid) {
			t.Errorf("%q: got %v, want Invalid", doc, err)
		}
	}
	// The API server's own answer comes back from a dry run: a namespace
	// that does not exist.
	j := simpleJob(t, "nons", 1, job.OpenMPI)
	j.Metadata.Namespace = "does-not-exist-" + randHex(2)
	_, err := eng.Admit(t.Context(), j)
	if !job.IsKind(err, job.KindNotFound) {
		t.Errorf("admit in a missing namespace: %v", err)
	}
}

func assertInvalid(t *testing.T, name string, err error, fields []string) {
	t.Helper()
	var je *job.Error
	if !errors.As(err, &je) || je.Kind != job.KindInvalid {
		t.Errorf("%s: got %v, want an Invalid error", name, err)
		return
	}
	var got []string
	for _, f := range je.Fields {
		got = append(got, f.Field)
	}
	if !slices.Equal(got, fields) {
		t.Errorf("%s: fields %v, want %v", name, got, fields)
	}
}

// Delete with Wait returns when every child the operator created is gone.
func TestDeleteLeavesNoChildren(t *testing.T) {
	t.Parallel()
	name := uniqueName("del")
	create(t, simpleJob(t, name, 3, job.OpenMPI))
	awaitPhase(t, name, job.PhaseRunning)
	// Every kind of child exists before.
	children := childCount(t, name)
	for kind, n := range children {
		if n == 0 && kind != "PodGroup" {
			t.Errorf("before delete: no %s", kind)
		}
	}
	start := time.Now()
	out, err := eng.Delete(t.Context(), ns, name, engine.DeleteOptions{Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("delete with wait took %s", time.Since(start).Round(time.Millisecond))
	if out.Status.Phase != job.PhaseDeleting {
		t.Errorf("delete returned phase %s", out.Status.Phase)
	}
	for kind, n := range childCount(t, name) {
		if n != 0 {
			t.Errorf("after delete: %d %s left", n, kind)
		}
	}
	if _, err := eng.Get(t.Context(), ns, name); !job.IsKind(err, job.KindNotFound) {
		t.Errorf("get after delete: %v", err)
	}
	if _, err := eng.Delete(t.Context(), ns, name, engine.DeleteOptions{}); !job.IsKind(err, job.KindNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

// childCount counts every kind of object the operator creates for a job.
func childCount(t *testing.T, name string) map[string]int {
	t.Helper()
	ctx := t.Context()
	out := map[string]int{}
	pods, err := admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: kubeflow.JobNameLabel + "=" + name})
	if err != nil {
		t.Fatal(err)
	}
	out["Pod"] = len(pods.Items)
	get := func(kind string, f func() error) {
		switch err := f(); {
		case err == nil:
			out[kind]++
		case apierrors.IsNotFound(err):
			out[kind] += 0
		default:
			t.Fatalf("get %s: %v", kind, err)
		}
	}
	get("Job", func() error {
		_, err := admin.BatchV1().Jobs(ns).Get(ctx, name+"-launcher", metav1.GetOptions{})
		return err
	})
	get("Service", func() error { _, err := admin.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{}); return err })
	get("ConfigMap", func() error {
		_, err := admin.CoreV1().ConfigMaps(ns).Get(ctx, name+"-config", metav1.GetOptions{})
		return err
	})
	get("Secret", func() error {
		_, err := admin.CoreV1().Secrets(ns).Get(ctx, name+"-ssh", metav1.GetOptions{})
		return err
	})
	get("MPIJob", func() error {
		_, err := adminMPI.KubeflowV2beta1().MPIJobs(ns).Get(ctx, name, metav1.GetOptions{})
		return err
	})
	// The harness runs the operator without gang scheduling: no PodGroup
	// kind is installed. Count any that a gang scheduler would create.
	out["PodGroup"] = 0
	for _, gv := range []string{"scheduling.volcano.sh/v1beta1", "scheduling.x-k8s.io/v1alpha1"} {
		if _, err := admin.Discovery().ServerResourcesForGroupVersion(gv); err == nil {
			res := admin.RESTClient().Get().AbsPath("/apis/" + gv + "/namespaces/" + ns + "/podgroups/" + name).Do(ctx)
			if res.Error() == nil {
				out["PodGroup"]++
			}
		}
	}
	return out
}

// Suspend removes the pods and holds the job; Resume recreates them and
// the job runs again (needs the jobs/status rule deploy/ adds).
func TestSuspendResume(t *testing.T) {
	t.Parallel()
	name := uniqueName("susp")
	create(t, simpleJob(t, name, 2, job.OpenMPI))
	awaitPhase(t, name, job.PhaseRunning)
	s, err := eng.Suspend(t.Context(), ns, name)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Spec.RunPolicy.Suspend {
		t.Errorf("suspend returned spec.runPolicy.suspend false")
	}
	awaitPhase(t, name, job.PhaseSuspended)
	eventually(t, "worker pods removed", func() bool { return len(podsOf(t, name, "worker")) == 0 })
	if _, err := eng.Suspend(t.Context(), ns, name); err != nil {
		t.Errorf("suspending again: %v", err)
	}
	if _, err := eng.Resume(t.Context(), ns, name); err != nil {
		t.Fatal(err)
	}
	j := await(t, name, awaitTimeout, "running again after resume", func(j *job.MPIJob) bool {
		return j.Status.Phase == job.PhaseRunning && slices.ContainsFunc(j.Status.History, func(h job.Transition) bool { return h.Phase == job.PhaseSuspended })
	})
	if !slices.ContainsFunc(j.Status.History, func(h job.Transition) bool { return h.Phase == job.PhaseSuspended }) {
		t.Errorf("history lacks Suspended: %+v", j.Status.History)
	}
	exitPod(t, launcherPod(t, name), 0)
	awaitPhase(t, name, job.PhaseSucceeded)
	if _, err := eng.Suspend(t.Context(), ns, name); !job.IsKind(err, job.KindConflict) {
		t.Errorf("suspend a finished job: %v", err)
	}
}

// Created suspended: no pods until resumed.
func TestCreateSuspended(t *testing.T) {
	t.Parallel()
	name := uniqueName("csusp")
	j := simpleJob(t, name, 1, job.OpenMPI)
	j.Spec.RunPolicy.Suspend = true
	create(t, j)
	awaitPhase(t, name, job.PhaseSuspended)
	time.Sleep(time.Second)
	if n := len(podsOf(t, name, "")); n != 0 {
		t.Errorf("%d pods for a suspended job", n)
	}
	if _, err := eng.Resume(t.Context(), ns, name); err != nil {
		t.Fatal(err)
	}
	awaitPhase(t, name, job.PhaseRunning)
}

// List reads the cache with label selectors and phase filters.
func TestListSelectors(t *testing.T) {
	t.Parallel()
	a, b := uniqueName("lista"), uniqueName("listb")
	ja := simpleJob(t, a, 1, job.OpenMPI)
	ja.Metadata.Labels = map[string]string{"team": "red"}
	jb := simpleJob(t, b, 1, job.OpenMPI)
	jb.Metadata.Labels = map[string]string{"team": "blue"}
	jb.Spec.RunPolicy.Suspend = true
	create(t, ja)
	create(t, jb)
	awaitPhase(t, b, job.PhaseSuspended)
	sel, _ := labels.Parse("team=red")
	l, err := eng.List(t.Context(), engine.ListOptions{Namespace: ns, Selector: sel})
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 1 || l[0].Metadata.Name != a || l[0].Metadata.Labels["team"] != "red" {
		t.Errorf("team=red: %v", names(l))
	}
	l, _ = eng.List(t.Context(), engine.ListOptions{Namespace: ns, Phases: []job.Phase{job.PhaseSuspended}})
	if !slices.Contains(names(l), b) || slices.Contains(names(l), a) {
		t.Errorf("suspended: %v", names(l))
	}
	l, _ = eng.List(t.Context(), engine.ListOptions{Namespace: "other"})
	if len(l) != 0 {
		t.Errorf("other namespace: %v", names(l))
	}
}

func names(js []*job.MPIJob) []string {
	var out []string
	for _, j := range js {
		out = append(out, j.Metadata.Name)
	}
	return out
}

// A job that asks for more GPUs than any node has is Pending with the
// scheduler's reason, and Capacity reports the nodes' GPUs.
func TestPendingExplained(t *testing.T) {
	t.Parallel()
	name := uniqueName("gpu")
	j := simpleJob(t, name, 1, job.OpenMPI)
	j.Spec.Workers.Resources.GPUs = 64
	create(t, j)
	p := await(t, name, awaitTimeout, "unschedulable", func(j *job.MPIJob) bool { return j.Status.Reason == job.ReasonUnschedulable })
	if p.Status.Phase != job.PhasePending {
		t.Errorf("phase %s", p.Status.Phase)
	}
	mustContain(t, "message", p.Status.Message, "nvidia.com/gpu", "worker-0")
	c, err := eng.Capacity(t.Context(), ns)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.Source, "nodes") || !slices.ContainsFunc(c.Resources, func(r job.ResourceCapacity) bool { return r.Name == "nvidia.com/gpu" }) {
		t.Errorf("capacity %+v", c)
	}
}

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

// A job the operator leaves alone (managedBy another controller, e.g.
// MultiKueue) gets no Created condition; its status says who manages it
// instead of waiting for the operator.
func TestManagedElsewhere(t *testing.T) {
	t.Parallel()
	e, err := kube.New(t.Context(), kube.Options{RestConfig: serverCfg, ClientsFor: asAdmin, Namespace: ns, OperatorTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	name := uniqueName("managed")
	j := newJob(t, fmt.Sprintf(`apiVersion: kubeflow.org/v2beta1
kind: MPIJob
metadata: {name: %s}
spec:
  runPolicy: {managedBy: kueue.x-k8s.io/multikueue}
  mpiReplicaSpecs:
    Launcher: {replicas: 1, template: {spec: {containers: [{name: l, image: x, command: [mpirun, a]}]}}}
    Worker: {replicas: 1, template: {spec: {containers: [{name: w, image: x}]}}}
`, name))
	if _, err := e.Create(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	defer e.Delete(context.Background(), ns, name, engine.DeleteOptions{})
	deadline := time.Now().Add(30 * time.Second)
	for {
		g, err := e.Get(t.Context(), ns, name)
		if err == nil && g.Status.Reason == kube.ReasonManagedElsewhere {
			mustContain(t, "message", g.Status.Message, "kueue.x-k8s.io/multikueue")
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %+v err %v", g.Status, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func mustQ(s string) resource.Quantity { return resource.MustParse(s) }
