package kube

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/odh-training/odh-training/internal/job"
)

// Trainer's status.trainerStatus (v2.2 field names) becomes the job's
// progress; a TrainJob without it leaves the progress unset.
func TestTrainerProgress(t *testing.T) {
	tj := &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"trainerStatus": map[string]any{
		"progressPercentage": int64(40), "estimatedRemainingSeconds": int64(90), "lastUpdatedTime": "2026-01-02T03:04:05Z",
		"metrics": []any{
			map[string]any{"name": "step", "value": "400"}, map[string]any{"name": "total_steps", "value": "1000"},
			map[string]any{"name": "loss", "value": "0.25"}, map[string]any{"name": "note", "value": "not a number"},
		},
	}}}}
	var st job.Status
	trainerProgress(&st, trainStatusOf(tj))
	want := &job.Progress{Step: 400, TotalSteps: 1000, Percent: job.Ptr(40.0), EstimatedRemainingSeconds: job.Ptr(int32(90)),
		Metrics: []job.MetricValue{{Name: "loss", Value: 0.25}}, UpdateTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if diff := cmp.Diff(want, st.Progress); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	var none job.Status
	trainerProgress(&none, trainStatusOf(&unstructured.Unstructured{Object: map[string]any{"status": map[string]any{}}}))
	if none.Progress != nil {
		t.Errorf("progress without trainerStatus: %+v", none.Progress)
	}
}
