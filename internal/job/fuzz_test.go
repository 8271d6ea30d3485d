package job_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/odh-training/odh-training/internal/job"
)

// The fuzz targets of the job model (make fuzz runs each for a while; their
// seeds, and any failing input saved in testdata/fuzz, run in go test):
//
//   - FuzzParse (parse_test.go): any document through Parse and Prepare;
//   - FuzzHighLevelSpec: our format — a job that is accepted must come back
//     the same through its own JSON, and be accepted again;
//   - FuzzUpstreamManifest: kubeflow.org/v2beta1 manifests — accepted ones
//     keep the manifest, survive a YAML round trip, and are still accepted;
//   - FuzzValidate: the validator on structured values (names, counts,
//     quantities, labels), where byte-level mutation rarely reaches.

// checkInvalid fails unless err is an Invalid *job.Error whose every field
// error says something.
func checkInvalid(t *testing.T, what string, err error) {
	t.Helper()
	var e *job.Error
	if !errors.As(err, &e) || e.Kind != job.KindInvalid || len(e.Fields) == 0 {
		t.Fatalf("%s: unclassified error: %#v", what, err)
	}
	for _, f := range e.Fields {
		if f.Message == "" {
			t.Fatalf("%s: field error without a message: %#v", what, f)
		}
	}
}

func addExamples(f *testing.F, upstream bool) {
	seeds, _ := filepath.Glob("../../examples/*/*.yaml")
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil && strings.Contains(string(data), job.UpstreamAPIVersion) == upstream {
			f.Add(data)
		}
	}
}

func FuzzHighLevelSpec(f *testing.F) {
	addExamples(f, false)
	for _, s := range []string{
		`{"metadata":{"name":"a"},"spec":{"command":["x"],"workers":{"replicas":3,"slotsPerWorker":2,"resources":{"cpu":"500m","memory":"1Gi","gpus":1}}}}`,
		"metadata: {name: b, labels: {team: x}}\nspec:\n  command: [python3, t.py]\n  env: [{name: A, value: b}]\n  runPolicy: {backoffLimit: 2, cleanPodPolicy: All, ttlSecondsAfterFinished: 60}\n  scheduling: {queue: q, priorityClass: high}",
		"metadata: {generateName: c-}\nspec: {command: [x], mpiImplementation: MPICH, launcher: {resources: {cpu: 1}}, volumes: [{name: d, mountPath: /d, persistentVolumeClaim: {claimName: p}}]}",
		"spec: {command: [x], workers: {replicas: -1}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		j, format, err := job.Parse(data)
		if err != nil {
			checkInvalid(t, "parse", err)
			return
		}
		if format != job.FormatHighLevel {
			return // FuzzUpstreamManifest's part
		}
		if err := job.Prepare(j); err != nil {
			checkInvalid(t, "prepare", err)
			return
		}
		// An accepted job is what it says: its own JSON parses back to
		// the same job, which is accepted again unchanged.
		doc, err := json.Marshal(j)
		if err != nil {
			t.Fatalf("marshal an accepted job: %v", err)
		}
		again, _, err := job.Parse(doc)
		if err != nil {
			t.Fatalf("an accepted job does not parse back: %v\n%s", err, doc)
		}
		if err := job.Prepare(again); err != nil {
			t.Fatalf("an accepted job is refused the second time: %v\n%s", err, doc)
		}
		if diff := cmp.Diff(j, again); diff != "" {
			t.Fatalf("round trip changed the job (-first +again):\n%s", diff)
		}
	})
}

func FuzzUpstreamManifest(f *testing.F) {
	addExamples(f, true)
	for _, s := range []string{
		"apiVersion: kubeflow.org/v2beta1\nkind: MPIJob\nmetadata: {name: x}\nspec: {mpiReplicaSpecs: {Launcher: {replicas: 1, template: {spec: {containers: [{name: l, image: i, command: [mpirun, x]}]}}}, Worker: {replicas: 2, template: {spec: {containers: [{name: w, image: i, resources: {limits: {cpu: 2, memory: 1Gi}}}]}}}}}",
		"apiVersion: kubeflow.org/v2beta1\nkind: MPIJob\nmetadata: {name: y}\nspec: {slotsPerWorker: 4, runPolicy: {cleanPodPolicy: Running, schedulingPolicy: {minAvailable: 3}}, mpiImplementation: Intel, mpiReplicaSpecs: {Launcher: {replicas: 1}}}",
		"apiVersion: kubeflow.org/v2beta1\nkind: MPIJob\nspec: {mpiReplicaSpecs: {Worker: {template: {spec: {containers: [{resources: {limits: {cpu: '1x'}}}]}}}}}",
		"apiVersion: kubeflow.org/v2beta1\nkind: MPIJob\nmetadata: {name: z}\nspec: {mpiReplicaSpecs: {Launcher: null, Worker: {replicas: 0}}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		j, format, err := job.Parse(data)
		if err != nil {
			checkInvalid(t, "parse", err)
			return
		}
		if format != job.FormatUpstream {
			return
		}
		if j.Upstream == nil {
			t.Fatal("an upstream manifest lost its MPIJob")
		}
		if err := job.Prepare(j); err != nil {
			checkInvalid(t, "prepare", err)
			return
		}
		// What the kubernetes engine submits must read back as the same
		// job and still be accepted.
		doc, err := yaml.Marshal(j.Upstream)
		if err != nil {
			t.Fatalf("marshal an accepted manifest: %v", err)
		}
		again, format, err := job.Parse(doc)
		if err != nil || format != job.FormatUpstream {
			t.Fatalf("an accepted manifest does not parse back (%s): %v\n%s", format, err, doc)
		}
		if err := job.Prepare(again); err != nil {
			t.Fatalf("an accepted manifest is refused the second time: %v\n%s", err, doc)
		}
		if diff := cmp.Diff(j.Spec, again.Spec); diff != "" {
			t.Fatalf("round trip changed the spec (-first +again):\n%s", diff)
		}
	})
}

func FuzzValidate(f *testing.F) {
	f.Add("train", "", int32(2), int32(1), "1", "1Gi", int32(0), "team", "a", "python3 t.py", "OpenMPI", "Running", int32(0))
	f.Add("", "gen-", int32(0), int32(-1), "1x", "-1Gi", int32(-1), "a/b/c", "", "", "LAM", "Sometimes", int32(-3))
	f.Add(strings.Repeat("n", 70), "", int32(1<<30), int32(1<<30), "1e400", "9Ei", int32(1<<30), "kueue.x-k8s.io/queue-name", strings.Repeat("v", 70), "mpirun -np 4 x", "MPICH", "All", int32(1<<30))
	f.Fuzz(func(t *testing.T, name, generateName string, replicas, slots int32, cpu, memory string, gpus int32, labelKey, labelValue, command, impl, cleanPod string, backoff int32) {
		j := &job.MPIJob{}
		j.Metadata.Name, j.Metadata.GenerateName, j.Metadata.Namespace = name, generateName, "ns"
		j.Metadata.Labels = map[string]string{labelKey: labelValue}
		if command != "" {
			j.Spec.Command = strings.Fields(command)
		}
		j.Spec.Workers.Replicas, j.Spec.Workers.SlotsPerWorker = &replicas, &slots
		j.Spec.Workers.Resources = job.Resources{CPU: job.Quantity(cpu), Memory: job.Quantity(memory), GPUs: gpus}
		j.Spec.MPIImplementation = job.MPIImplementation(impl)
		j.Spec.RunPolicy.CleanPodPolicy = job.CleanPodPolicy(cleanPod)
		j.Spec.RunPolicy.BackoffLimit = &backoff
		first := job.Prepare(j)
		if first != nil {
			checkInvalid(t, "prepare", first)
		}
		// Defaulting is idempotent and validation deterministic.
		second := job.Prepare(j)
		if (first == nil) != (second == nil) || (first != nil && first.Error() != second.Error()) {
			t.Fatalf("Prepare twice: %v, then %v", first, second)
		}
		if first == nil {
			r := job.TotalRequests(&j.Spec)
			if r.CPU.Sign() < 0 || r.Memory.Sign() < 0 || r.GPUs < 0 || r.Slots < 1 {
				t.Fatalf("totals of an accepted job: %+v", r.Totals())
			}
		}
	})
}
