package kube

import (
	"strings"
	"testing"
	"time"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/odh-training/odh-training/internal/job"
)

// A Workload as Kueue v0.17 leaves it after preempting it, and after
// admitting it again.
func workload(status string, evictions int64) *unstructured.Unstructured {
	msg := "Preempted to accommodate a workload (UID: w-2, JobUID: job-2) due to prioritization in the ClusterQueue; preemptor path: /cq; preemptee path: /cq"
	if status == "False" {
		msg = "Previously: " + msg
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "mpijob-low-1a2b3", "namespace": "ns",
			"ownerReferences": []any{map[string]any{"kind": "MPIJob", "name": "low", "apiVersion": "kubeflow.org/v2beta1", "uid": "job-1"}}},
		"status": map[string]any{
			"conditions": []any{map[string]any{"type": "Preempted", "status": status, "reason": "InClusterQueue", "message": msg, "lastTransitionTime": "2026-12-07T15:00:00Z"}},
			"schedulingStats": map[string]any{"evictions": []any{
				map[string]any{"reason": "Preempted", "underlyingCause": "InClusterQueue", "count": evictions},
				map[string]any{"reason": "PodsReadyTimeout", "underlyingCause": "", "count": int64(5)},
			}},
		},
	}}
}

func TestPreemptionOf(t *testing.T) {
	p := preemptionOf(workload("True", 2))
	if p == nil || !p.Active || p.Count != 2 || p.JobUID != "job-2" || p.Why != "prioritization in the ClusterQueue" || p.Reason != "InClusterQueue" || p.Time.IsZero() {
		t.Fatalf("active preemption = %+v", p)
	}
	if p := preemptionOf(workload("False", 1)); p == nil || p.Active || p.Count != 1 || p.JobUID != "job-2" {
		t.Fatalf("past preemption = %+v", p)
	}
	never := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": "w"}}}
	if p := preemptionOf(never); p != nil {
		t.Fatalf("never preempted = %+v", p)
	}
	if k, ok := workloadJob(workload("True", 1)); !ok || k != (key{"ns", "low"}) {
		t.Fatalf("workload's job = %v %v", k, ok)
	}
}

// The status of a preempted job: Queued/Preempted, by whom (named only in
// the same namespace) and why; the count stays after it runs again.
func TestAggregatePreempted(t *testing.T) {
	u := mpiJob(kubeflow.JobCreated)
	u.Labels = map[string]string{LabelKueueQueue: "lq"}
	u.Spec.RunPolicy.Suspend = new(true)
	for _, tc := range []struct {
		view *preemptionView
		want []string
		by   string
	}{
		{&preemptionView{preemption: preemption{Active: true, Why: "prioritization in the ClusterQueue", Count: 1}, By: "high"},
			[]string{`preempted by job "high" (Kueue: prioritization in the ClusterQueue)`, `requeued in Kueue LocalQueue "lq" (position 1; 2 in its ClusterQueue)`}, "high"},
		{&preemptionView{preemption: preemption{Active: true, Reason: "InCohortReclamation", Count: 1}, elsewhere: true},
			[]string{"preempted by a higher-priority job of another namespace (Kueue: InCohortReclamation)"}, ""},
	} {
		st, _, _ := aggregate(observed{mpiJob: u, spec: spec(2), now: t0.Add(time.Hour), queuePos: &queuePos{local: 1, cluster: 2}, preemption: tc.view})
		if st.Phase != job.PhaseQueued || st.Reason != job.ReasonPreempted || st.Preemptions != 1 || st.PreemptedBy != tc.by {
			t.Errorf("status %s/%s preemptions %d by %q", st.Phase, st.Reason, st.Preemptions, st.PreemptedBy)
		}
		for _, w := range tc.want {
			if !strings.Contains(st.Message, w) {
				t.Errorf("message %q lacks %q", st.Message, w)
			}
		}
	}
	// Admitted again: queued for capacity like any job, count kept.
	st, _, _ := aggregate(observed{mpiJob: u, spec: spec(2), now: t0.Add(time.Hour), preemption: &preemptionView{preemption: preemption{Count: 1}}})
	if st.Reason != job.ReasonQueued || st.Preemptions != 1 {
		t.Errorf("after the preemption ended: %s, %d preemptions", st.Reason, st.Preemptions)
	}
}
