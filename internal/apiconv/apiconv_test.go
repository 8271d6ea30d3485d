package apiconv_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/internal/job"
)

// fullJob sets every field, so a field missing from the conversion or named
// differently in the proto shows up as a difference.
func fullJob() *job.MPIJob {
	t0 := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	return &job.MPIJob{
		APIVersion: job.APIVersion, Kind: job.Kind,
		Metadata: job.ObjectMeta{Name: "n", GenerateName: "g-", Namespace: "ns", Labels: map[string]string{"a": "b"}, Annotations: map[string]string{"c": "d"},
			UID: "u", ResourceVersion: "7", CreationTimestamp: t0, Creator: "alice"},
		Spec: job.Spec{
			Image: "img", ImagePullPolicy: "Always", Command: []string{"python3", "x.py"}, Env: []job.EnvVar{{Name: "A", Value: "1"}},
			WorkingDir:        "/w",
			Workers:           job.WorkerSpec{Replicas: job.Ptr(int32(3)), SlotsPerWorker: job.Ptr(int32(2)), Resources: job.Resources{CPU: "1", Memory: "1Gi", GPUs: 1, CPULimit: "2", MemoryLimit: "2Gi"}},
			Launcher:          job.LauncherSpec{Resources: job.Resources{CPU: "500m", Memory: "256Mi"}},
			MPIImplementation: job.MPICH,
			RunPolicy:         job.RunPolicy{ActiveDeadlineSeconds: job.Ptr(int32(60)), BackoffLimit: job.Ptr(int32(0)), TTLSecondsAfterFinished: job.Ptr(int32(5)), CleanPodPolicy: job.CleanPodPolicyAll, Suspend: true},
			Scheduling:        job.Scheduling{Queue: "q", PriorityClass: "p"},
			Volumes:           []job.Volume{{Name: "v", MountPath: "/v", ReadOnly: true, PersistentVolumeClaim: "c"}, {Name: "e", MountPath: "/e", EmptyDir: true}},
			NodeSelector:      map[string]string{"gpu": "a100"}, Tolerations: []job.Toleration{{Key: "k", Operator: "Equal", Value: "v", Effect: "NoSchedule"}},
			ImagePullSecrets: []string{"s"},
		},
		Status: job.Status{
			Phase: job.PhaseFailed, Reason: job.ReasonRankFailed, Message: "m", StartTime: t0, CompletionTime: t0.Add(time.Minute),
			Workers:           job.WorkerCounts{Total: 3, Pending: 1, Running: 1, Ready: 1, Succeeded: 0, Failed: 1},
			Launcher:          &job.ReplicaStatus{Name: "launcher", Index: -1, State: "Failed", ExitCode: job.Ptr(int32(1)), StartTime: t0},
			WorkerStatuses:    []job.ReplicaStatus{{Name: "worker-0", Index: 0, State: "Failed", Ready: true, Node: "n1", Restarts: 2, ExitCode: job.Ptr(int32(0)), Reason: "OOMKilled", Message: "x", StartTime: t0, FinishTime: t0, Ranks: []int32{0, 1}, Pod: "p"}},
			FirstFailedWorker: job.Ptr(int32(0)), FirstFailedRank: job.Ptr(int32(1)), Attempts: 2,
			History:       []job.Transition{{Phase: job.PhasePending, Reason: "Created", Message: "c", Time: t0}},
			Conditions:    []job.Condition{{Type: "Running", Status: "True", Reason: "r", Message: "m", LastTransitionTime: t0}},
			Requested:     &job.Totals{CPU: "3500m", Memory: "3328Mi", GPUs: 3, Slots: 6},
			QueuePosition: 4, ExitCode: job.Ptr(int32(1)),
			Progress: &job.Progress{Step: 30, TotalSteps: 120, Epoch: 1.5, TotalEpochs: 3, Percent: job.Ptr(25.0), EstimatedRemainingSeconds: job.Ptr(int32(90)),
				Metrics: []job.MetricValue{{Name: "loss", Value: 0.25}}, UpdateTime: t0},
		},
	}
}

func TestProgressHistoryRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h := &job.ProgressHistory{Latest: fullJob().Status.Progress, Points: []job.ProgressPoint{{Time: t0, Step: 1, Epoch: 0.5, Metrics: []job.MetricValue{{Name: "loss", Value: 2}}}, {Time: t0.Add(time.Second), Step: 2}}}
	if diff := cmp.Diff(h, apiconv.ProgressHistoryFromProto(apiconv.ProgressHistoryToProto(h))); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	domain, _ := json.Marshal(h)
	wire, _ := protojson.Marshal(apiconv.ProgressHistoryToProto(h))
	if diff := cmp.Diff(generic(t, domain), generic(t, wire)); diff != "" {
		t.Errorf("JSON of the model (-) vs protojson of the message (+):\n%s", diff)
	}
}

func generic(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRoundTrip(t *testing.T) {
	j := fullJob()
	back := apiconv.FromProto(apiconv.ToProto(j))
	if diff := cmp.Diff(j, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// TestJSONMatchesProtoJSON: the job file format and the REST body are one
// document, so SDK/UI/CLI users see the same field names everywhere.
func TestJSONMatchesProtoJSON(t *testing.T) {
	j := fullJob()
	domain, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	wire, err := protojson.Marshal(apiconv.ToProto(j))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(generic(t, domain), generic(t, wire)); diff != "" {
		t.Errorf("JSON of the model (-) vs protojson of the message (+):\n%s", diff)
	}
}
