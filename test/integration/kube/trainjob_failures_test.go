//go:build integration

package kube_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/test/cluster"
)

// Failure explanations for TrainJobs, as for MPIJobs (failures_test.go).

func TestTrainJobEvictionExplained(t *testing.T) {
	installRuntimes(t)
	name := uniqueName("tevict")
	create(t, backendJob(t, name, "odh-openmpi4", 2))
	awaitPhase(t, name, job.PhaseRunning)
	const why = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 90Mi."
	if err := harness.SetPodEvicted(t.Context(), ns, trainPod(t, name, "node", 1), why); err != nil {
		t.Fatal(err)
	}
	j := await(t, name, awaitTimeout, "evicted worker", func(j *job.MPIJob) bool { return j.Status.FirstFailedWorker != nil })
	if w := j.Status.WorkerStatuses[1]; *j.Status.FirstFailedWorker != 1 || w.Reason != job.ReasonEvicted || !strings.Contains(w.Message, "low on resource") {
		t.Errorf("first failed %d, worker-1 %+v", *j.Status.FirstFailedWorker, w)
	}
	mustContain(t, "message", j.Status.Message, "worker 1", "low on resource")
}

// spec.image reaches the launcher (Trainer v2.2): an unpullable one keeps
// the job Pending with the image named.
func TestTrainJobImagePullExplained(t *testing.T) {
	installRuntimes(t)
	name := uniqueName("tpull")
	j := backendJob(t, name, "odh-openmpi4", 1)
	image := cluster.UnpullableRegistry + "team/trainer:v9"
	j.Spec.Image = image
	create(t, j)
	p := await(t, name, awaitTimeout, "image pull failure", func(j *job.MPIJob) bool { return j.Status.Reason == job.ReasonImagePull })
	if p.Status.Phase != job.PhasePending {
		t.Errorf("phase %s, want Pending", p.Status.Phase)
	}
	mustContain(t, "message", p.Status.Message, image, "ErrImagePull")
}

func TestTrainJobPendingExplained(t *testing.T) {
	installRuntimes(t)
	name := uniqueName("tgpu")
	j := backendJob(t, name, "odh-openmpi4", 1)
	j.Spec.Launcher.Resources.GPUs = 64
	create(t, j)
	p := await(t, name, awaitTimeout, "unschedulable", func(j *job.MPIJob) bool { return j.Status.Reason == job.ReasonUnschedulable })
	if p.Status.Phase != job.PhasePending {
		t.Errorf("phase %s", p.Status.Phase)
	}
	mustContain(t, "message", p.Status.Message, "nvidia.com/gpu", "launcher")
}

const torchRuntime = `
apiVersion: trainer.kubeflow.org/v1alpha1
kind: ClusterTrainingRuntime
metadata: {name: %s}
spec:
  mlPolicy:
    numNodes: 1
    torch: {numProcPerNode: auto}
  template:
    spec:
      replicatedJobs:
      - name: node
        template:
          metadata:
            labels: {trainer.kubeflow.org/trainjob-ancestor-step: trainer}
          spec:
            template:
              spec:
                containers:
                - {name: node, image: registry.example/torch:1, command: [torchrun, train.py]}
`

// A TrainJob of a runtime without an MPI policy (torch) is listed read-only:
// status and delete work, suspend is refused with the reason.
func TestNonMPITrainJobReadOnly(t *testing.T) {
	dyn := adminDynamic(t)
	rt, name := uniqueName("torch-rt"), uniqueName("torch")
	var obj map[string]any
	if err := yaml.Unmarshal(fmt.Appendf(nil, torchRuntime, rt), &obj); err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(runtimesGVR).Create(t.Context(), &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dyn.Resource(runtimesGVR).Delete(t.Context(), rt, metav1.DeleteOptions{}) })
	if err := yaml.Unmarshal(fmt.Appendf(nil, "apiVersion: trainer.kubeflow.org/v1alpha1\nkind: TrainJob\nmetadata: {name: %s, namespace: %s}\nspec: {runtimeRef: {name: %s}}\n", name, ns, rt), &obj); err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(trainJobsGVR).Namespace(ns).Create(t.Context(), &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	j := await(t, name, awaitTimeout, "listed read-only", func(j *job.MPIJob) bool { return j.Status.ReadOnly })
	if j.Status.Backend != job.BackendTrainJob || j.Spec.Runtime != rt {
		t.Errorf("backend %q runtime %q", j.Status.Backend, j.Spec.Runtime)
	}
	_, err := eng.Suspend(t.Context(), ns, name)
	var je *job.Error
	if !errors.As(err, &je) || je.Kind != job.KindConflict || !strings.Contains(je.Message, "read-only") {
		t.Errorf("suspend of a read-only TrainJob: %v", err)
	}
	if got, _ := dyn.Resource(trainJobsGVR).Namespace(ns).Get(t.Context(), name, metav1.GetOptions{}); got != nil {
		if s, _, _ := unstructured.NestedBool(got.Object, "spec", "suspend"); s {
			t.Error("the refused suspend changed the TrainJob")
		}
	}
	if _, err := eng.Delete(t.Context(), ns, name, engine.DeleteOptions{Wait: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(trainJobsGVR).Namespace(ns).Get(t.Context(), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after delete: %v", err)
	}
}
