//go:build integration

package kube_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/engine/kube"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/test/cluster"
)

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
  sshAuthMountPath: /home/mpiuser/.ssh
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
