package server

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/service"
)

func sampleJob() *trainingv1.MPIJob {
	t0 := time.Date(2026, 11, 29, 8, 0, 0, 123456789, time.UTC)
	return apiconv.ToProto(&job.MPIJob{
		APIVersion: job.APIVersion, Kind: job.Kind,
		Metadata: job.ObjectMeta{Name: "n", Namespace: "ns", Labels: map[string]string{"a": "b"}, UID: "u", ResourceVersion: "9", CreationTimestamp: t0},
		Spec: job.Spec{Command: []string{"true"}, Workers: job.WorkerSpec{Replicas: job.Ptr(int32(2)), SlotsPerWorker: job.Ptr(int32(0)), Resources: job.Resources{CPU: "1"}},
			RunPolicy: job.RunPolicy{BackoffLimit: job.Ptr(int32(0)), CleanPodPolicy: job.CleanPodPolicyRunning}},
		Status: job.Status{Phase: job.PhaseRunning, StartTime: t0, Workers: job.WorkerCounts{Total: 2, Running: 2},
			WorkerStatuses: []job.ReplicaStatus{{Name: "worker-0", State: "Running", ExitCode: job.Ptr(int32(0))}},
			History:        []job.Transition{{Phase: job.PhasePending, Time: t0}}},
	})
}

// TestRESTMarshalerMatchesProtoJSON: the fast path writes the same
// documents protojson would.
func TestRESTMarshalerMatchesProtoJSON(t *testing.T) {
	pj := &runtime.JSONPb{}
	fast := &restMarshaler{}
	for name, v := range map[string]any{
		"job":          sampleJob(),
		"list":         &trainingv1.ListJobsResponse{Items: []*trainingv1.MPIJob{sampleJob(), sampleJob()}, NextPageToken: "x", ResourceVersion: "9"},
		"empty list":   &trainingv1.ListJobsResponse{},
		"watch":        &trainingv1.WatchEvent{Type: "MODIFIED", Job: sampleJob()},
		"synced":       &trainingv1.WatchEvent{Type: "SYNCED"},
		"create":       &trainingv1.CreateJobResponse{Job: sampleJob(), Warnings: []string{"w"}},
		"dry run":      &trainingv1.CreateJobResponse{Job: sampleJob(), UpstreamManifest: "kind: MPIJob\n"},
		"delete":       &trainingv1.DeleteJobResponse{Job: sampleJob()},
		"stream chunk": map[string]any{"result": &trainingv1.WatchEvent{Type: "ADDED", Job: sampleJob()}},
		"other":        &trainingv1.Version{Version: "v1"},
	} {
		want, err := pj.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := fast.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var w, g any
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("%s (-protojson +fast):\n%s", name, diff)
		}
	}
}

// TestWireEventJSONIsTheGatewayChunk: REST watches write the shared JSON
// of service.WireEvent; it must be the chunk the gateway writes for the
// same event, byte for byte.
func TestWireEventJSONIsTheGatewayChunk(t *testing.T) {
	fast := &restMarshaler{}
	j := apiconv.FromProto(sampleJob())
	for _, ev := range []job.WatchEvent{{Type: job.Modified, Job: j}, {Type: job.Added, Job: j}, {Type: job.Synced}} {
		w := service.NewWireEvent(ev)
		want, err := fast.Marshal(map[string]any{"result": w.Message()})
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := w.WriteJSON(&got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), got.String()); diff != "" {
			t.Errorf("%s (-gateway +wire):\n%s", ev.Type, diff)
		}
	}
}
