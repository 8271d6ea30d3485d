package job_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/odh-training/odh-training/internal/job"
)

func TestParseTrainJob(t *testing.T) {
	const doc = `apiVersion: trainer.kubeflow.org/v1alpha1
kind: TrainJob
metadata:
  name: pi
  labels: {kueue.x-k8s.io/queue-name: team-a}
spec:
  runtimeRef: {name: odh-openmpi5}
  trainer:
    image: quay.io/acme/pi:1
    command: [mpirun, -np, "4"]
    args: [python3, pi.py]
    numNodes: 2
    numProcPerNode: 2
    resourcesPerNode: {requests: {cpu: "2", memory: 1Gi, nvidia.com/gpu: "1"}}
    env: [{name: A, value: "1"}]
  suspend: true
  initializer: {model: {storageUri: "hf://x"}}
`
	j, format, err := job.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if format != job.FormatTrainJob {
		t.Errorf("format = %q", format)
	}
	if err := job.Prepare(j); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	want := job.Spec{
		Runtime: "odh-openmpi5", Image: "quay.io/acme/pi:1", Command: []string{"mpirun", "-np", "4", "python3", "pi.py"},
		Env:               []job.EnvVar{{Name: "A", Value: "1"}},
		Workers:           job.WorkerSpec{Replicas: job.Ptr(int32(2)), SlotsPerWorker: job.Ptr(int32(2)), Resources: job.Resources{CPU: "2", Memory: "1Gi", GPUs: 1}},
		MPIImplementation: job.OpenMPI, RunPolicy: job.RunPolicy{Suspend: true}, Scheduling: job.Scheduling{Queue: "team-a"},
	}
	got := j.Spec
	got.RunPolicy.BackoffLimit, got.RunPolicy.CleanPodPolicy, got.ImagePullPolicy = nil, "", ""
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	// Fields the model does not describe are kept for the cluster.
	if _, ok := j.UpstreamTrainJob["spec"].(map[string]any)["initializer"]; !ok {
		t.Error("spec.initializer was dropped from the manifest")
	}
}

func TestParseTrainJobErrors(t *testing.T) {
	for _, tc := range []struct{ name, doc, field string }{
		{"no runtime", "apiVersion: trainer.kubeflow.org/v1alpha1\nkind: TrainJob\nmetadata: {name: a}\nspec: {}\n", "spec.runtimeRef.name"},
		{"runtime kind", "apiVersion: trainer.kubeflow.org/v1alpha1\nkind: TrainJob\nmetadata: {name: a}\nspec: {runtimeRef: {name: r, kind: Pod}}\n", "spec.runtimeRef.kind"},
		{"wrong kind", "apiVersion: trainer.kubeflow.org/v1alpha1\nkind: ClusterTrainingRuntime\nmetadata: {name: a}\n", "kind"},
		{"bad nodes type", "apiVersion: trainer.kubeflow.org/v1alpha1\nkind: TrainJob\nmetadata: {name: a}\nspec: {runtimeRef: {name: r}, trainer: {numNodes: two}}\n", "spec.trainer.numNodes"},
		{"zero nodes", "apiVersion: trainer.kubeflow.org/v1alpha1\nkind: TrainJob\nmetadata: {name: a}\nspec: {runtimeRef: {name: r}, trainer: {numNodes: 0}}\n", "spec.trainer.numNodes"},
		{"bad runtime name", "apiVersion: training.opendatahub.io/v1alpha1\nkind: MPIJob\nmetadata: {name: a}\nspec: {runtime: Bad_Name, command: [x]}\n", "spec.runtime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j, _, err := job.Parse([]byte(tc.doc))
			if err == nil {
				err = job.Prepare(j)
			}
			var je *job.Error
			if !errors.As(err, &je) {
				t.Fatalf("err = %v, want a field error at %s", err, tc.field)
			}
			for _, f := range je.Fields {
				if f.Field == tc.field {
					return
				}
			}
			t.Errorf("fields = %+v, want %s", je.Fields, tc.field)
		})
	}
}
