//go:build integration

package kube_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
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
