package describe_test

import (
	"bytes"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/odh-training/odh-training/internal/cli/iostreams"
	"github.com/odh-training/odh-training/internal/cli/training/describe"
	"github.com/odh-training/odh-training/internal/job"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestGolden(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 11, 0, 0, 0, time.UTC)
	j := &job.MPIJob{
		Metadata: job.ObjectMeta{Name: "mnist", Namespace: "team-a", Labels: map[string]string{"team": "nlp", "tier": "gold"}, Creator: "alice", UID: "u-1", CreationTimestamp: t0},
		Spec: job.Spec{Command: []string{"python3", "train.py"}, MPIImplementation: job.OpenMPI, Env: []job.EnvVar{{Name: "EPOCHS", Value: "3"}},
			Workers:   job.WorkerSpec{Replicas: job.Ptr(int32(2)), SlotsPerWorker: job.Ptr(int32(2)), Resources: job.Resources{CPU: "2", Memory: "4Gi", GPUs: 1}},
			RunPolicy: job.RunPolicy{BackoffLimit: job.Ptr(int32(0)), CleanPodPolicy: job.CleanPodPolicyRunning, ActiveDeadlineSeconds: job.Ptr(int32(600))}},
		Status: job.Status{Phase: job.PhaseFailed, Reason: job.ReasonRankFailed, Message: "rank 3 on worker-1 exited with code 2", StartTime: t0.Add(time.Second), CompletionTime: t0.Add(95 * time.Second),
			Attempts: 1, ExitCode: job.Ptr(int32(2)), FirstFailedWorker: job.Ptr(int32(1)), FirstFailedRank: job.Ptr(int32(3)),
			Launcher: &job.ReplicaStatus{Name: "launcher", Index: -1, State: "Failed", Node: "vm", ExitCode: job.Ptr(int32(2))},
			Workers:  job.WorkerCounts{Total: 2, Succeeded: 1, Failed: 1},
			WorkerStatuses: []job.ReplicaStatus{
				{Name: "worker-0", Index: 0, State: "Succeeded", Node: "vm", ExitCode: job.Ptr(int32(0)), Ranks: []int32{0, 1}},
				{Name: "worker-1", Index: 1, State: "Failed", Node: "vm", ExitCode: job.Ptr(int32(2)), Ranks: []int32{2, 3}, Reason: "Error"},
			},
			History: []job.Transition{{Phase: job.PhasePending, Reason: "Created", Message: "created", Time: t0}, {Phase: job.PhaseFailed, Reason: job.ReasonRankFailed, Message: "rank 3 failed", Time: t0.Add(95 * time.Second)}},
		},
	}
	events := []job.Event{{Type: "Warning", Reason: "RankFailed", Message: "rank 3 exited with code 2", Object: "worker-1", LastTime: t0.Add(95 * time.Second), Count: 1}}
	ios, _, _, _ := iostreams.Test()
	var buf bytes.Buffer
	describe.Print(&buf, ios, j, events, t0.Add(10*time.Minute))
	const path = "testdata/failed.golden"
	if *update {
		_ = os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
		t.Errorf("describe (-want +got):\n%s", diff)
	}
}
