package job_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/odh-training/odh-training/internal/job"
)

func TestParseHighLevelDefaults(t *testing.T) {
	j, format, err := job.Parse([]byte(`
apiVersion: training.opendatahub.io/v1alpha1
kind: MPIJob
metadata: {name: mnist}
spec:
  command: [python3, train.py]
  workers: {resources: {cpu: 2, memory: 4Gi, gpus: 1}}
  launcher: {resources: {cpu: 500m, memory: 1Gi}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if format != job.FormatHighLevel {
		t.Errorf("format = %q", format)
	}
	if err := job.Prepare(j); err != nil {
		t.Fatal(err)
	}
	if got := j.Spec.Replicas(); got != 1 {
		t.Errorf("replicas default = %d, want 1", got)
	}
	if j.Spec.MPIImplementation != job.OpenMPI || j.Spec.RunPolicy.CleanPodPolicy != job.CleanPodPolicyRunning || j.Metadata.Namespace != "default" {
		t.Errorf("defaults not applied: %+v %+v", j.Spec, j.Metadata)
	}
	if j.Spec.Workers.Resources.CPU != "2" {
		t.Errorf("numeric cpu = %q, want \"2\"", j.Spec.Workers.Resources.CPU)
	}
}

func TestTotals(t *testing.T) {
	j := &job.MPIJob{Spec: job.Spec{
		Workers:  job.WorkerSpec{Replicas: job.Ptr(int32(4)), SlotsPerWorker: job.Ptr(int32(2)), Resources: job.Resources{CPU: "4", Memory: "16Gi", GPUs: 2}},
		Launcher: job.LauncherSpec{Resources: job.Resources{CPU: "500m", Memory: "1Gi"}},
	}}
	got := job.TotalRequests(&j.Spec).Totals()
	want := job.Totals{CPU: "16.5", Memory: "65Gi", GPUs: 8, Slots: 8}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
}

// upstreamExamples are the MPI operator's own example manifests, read from
// the module cache so the test checks exactly what upstream ships.
func upstreamExamples(t *testing.T) map[string][]byte {
	t.Helper()
	dir := moduleDir(t, "github.com/kubeflow/mpi-operator")
	out := map[string][]byte{}
	for _, n := range []string{"pi.yaml", "pi-intel.yaml", "pi-mpich.yaml"} {
		data, err := os.ReadFile(filepath.Join(dir, "examples", "v2beta1", "pi", n))
		if err != nil {
			t.Fatalf("read upstream example: %v", err)
		}
		out[n] = data
	}
	return out
}

func TestParseUpstreamExamples(t *testing.T) {
	want := map[string]job.MPIImplementation{"pi.yaml": job.OpenMPI, "pi-intel.yaml": job.Intel, "pi-mpich.yaml": job.MPICH}
	for name, data := range upstreamExamples(t) {
		t.Run(name, func(t *testing.T) {
			j, format, err := job.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if format != job.FormatUpstream || j.Upstream == nil {
				t.Fatalf("format %q, upstream kept: %v", format, j.Upstream != nil)
			}
			if err := job.Prepare(j); err != nil {
				t.Fatal(err)
			}
			if j.Spec.MPIImplementation != want[name] {
				t.Errorf("implementation %q, want %q", j.Spec.MPIImplementation, want[name])
			}
			if j.Spec.Replicas() != 2 || j.Spec.Slots() != 1 {
				t.Errorf("workers %d x %d", j.Spec.Replicas(), j.Spec.Slots())
			}
			if got := strings.Join(j.Spec.Command, " "); got != "mpirun -n 2 /home/mpiuser/pi" {
				t.Errorf("command %q", got)
			}
			if j.Spec.Workers.Resources.CPU != "1" || j.Spec.Workers.Resources.Memory != "1Gi" {
				t.Errorf("worker resources %+v", j.Spec.Workers.Resources)
			}
		})
	}
}

func TestParseOwnUpstreamFixture(t *testing.T) {
	data, err := os.ReadFile("../../examples/upstream/sgd-allreduce-v2beta1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	j, _, err := job.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Prepare(j); err != nil {
		t.Fatal(err)
	}
	if j.Spec.RunPolicy.TTLSecondsAfterFinished == nil || *j.Spec.RunPolicy.TTLSecondsAfterFinished != 3600 {
		t.Errorf("ttl not carried over: %+v", j.Spec.RunPolicy)
	}
}

func TestParseUpstreamInvalid(t *testing.T) {
	_, _, err := job.Parse([]byte(`
apiVersion: kubeflow.org/v2beta1
kind: MPIJob
metadata: {name: Bad_Name}
spec:
  slotsPerWorker: 1
  mpiImplementation: LAM
  bogus: 1
  mpiReplicaSpecs:
    Launcher:
      replicas: 1
      template: {spec: {containers: [{name: l, image: x, command: [mpirun], resources: {limits: {memory: 1GG}}}]}}
    Worker:
      replicas: 0
      template: {spec: {containers: [{name: w, image: x}]}}
`))
	var e *job.Error
	if !errors.As(err, &e) {
		t.Fatalf("want *job.Error, got %v", err)
	}
	var fields []string
	for _, f := range e.Fields {
		fields = append(fields, f.Field)
	}
	want := []string{
		"metadata.name",
		"spec.bogus",
		"spec.mpiImplementation",
		"spec.mpiReplicaSpecs[Launcher].template.spec.containers[0].resources.limits.memory",
		"spec.mpiReplicaSpecs[Worker].replicas",
	}
	if diff := cmp.Diff(want, fields); diff != "" {
		t.Errorf("field paths (-want +got):\n%s\n%v", diff, err)
	}
}

func TestSplitDocuments(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr string
	}{
		{in: "# comment only\n---\na: 1\n---\n\n---\nb: 2\n", want: 2},
		{in: "a: 1\n--- # a comment\nb: 2\n", want: 2},
		{in: "{\"a\": 1}", want: 1},
		{in: "a: 1\n--- b: 2\nc: 3\n", wantErr: "line 2: text after the document separator"},
		{in: "---metadata: {name: x}\n", wantErr: "line 1:"},
	}
	for _, tt := range tests {
		docs, err := job.SplitDocuments([]byte(tt.in))
		if tt.wantErr != "" {
			if !job.IsKind(err, job.KindBadRequest) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("SplitDocuments(%q) = %q, %v; want an error with %q", tt.in, docs, err, tt.wantErr)
			}
			continue
		}
		if err != nil || len(docs) != tt.want {
			t.Errorf("SplitDocuments(%q) = %d documents %q, %v; want %d", tt.in, len(docs), docs, err, tt.want)
		}
	}
}

func TestParseSyntaxErrors(t *testing.T) {
	for _, doc := range []string{"", "   \n", "metadata: [", "{\"a\": }", "- a\n- b", "metadata:\n  name: a\nmetadata:\n  name: b\n"} {
		_, _, err := job.Parse([]byte(doc))
		if !job.IsKind(err, job.KindInvalid) {
			t.Errorf("Parse(%q) = %v, want an Invalid error", doc, err)
		}
	}
}

// FuzzParse checks that no document crashes the parser and that every
// rejection is a classified Invalid error with at least one field error.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("../../examples/*/*.yaml")
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{
		"metadata: {name: x}\nspec: {command: [a]}",
		"apiVersion: kubeflow.org/v2beta1\nkind: MPIJob\nmetadata: {name: x}\nspec: {mpiReplicaSpecs: {Launcher: {replicas: 1}}}",
		"apiVersion: kubeflow.org/v2beta1\nkind: MPIJob\nspec: {mpiReplicaSpecs: {Worker: {template: {spec: {containers: [{resources: {limits: {cpu: '1x'}}}]}}}}}",
		"spec: {workers: {replicas: 99999999999}}",
		"spec: {workers: {resources: {gpus: 1e400}}}",
		"[1, 2",
		"metadata: {labels: {'a/b/c': x}}",
		"\x00\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		j, _, err := job.Parse(data)
		if err != nil {
			var e *job.Error
			if !errors.As(err, &e) || e.Kind != job.KindInvalid || len(e.Fields) == 0 {
				t.Fatalf("unclassified parse error: %#v", err)
			}
			return
		}
		if err := job.Prepare(j); err != nil {
			var e *job.Error
			if !errors.As(err, &e) || e.Kind != job.KindInvalid || len(e.Fields) == 0 {
				t.Fatalf("unclassified validation error: %#v", err)
			}
		}
	})
}
