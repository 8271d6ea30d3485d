package server

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/odh-training/odh-training/internal/job"
)

// odh_job_pod_info names the pod of every replica (a cluster's jobs carry
// pod names; the local engine's do not), so the dashboard can attribute
// container metrics to jobs.
func TestPodInfo(t *testing.T) {
	j := &job.MPIJob{Metadata: job.ObjectMeta{Namespace: "team-a", Name: "bert"}, Status: job.Status{
		Launcher:       &job.ReplicaStatus{Name: "launcher", Pod: "bert-launcher-x1"},
		WorkerStatuses: []job.ReplicaStatus{{Name: "worker-0", Pod: "bert-node-0-0"}, {Name: "worker-1"}},
	}}
	ch := make(chan prometheus.Metric, 10)
	collectPods(ch, j)
	close(ch)
	var got []string
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		var ls []string
		for _, l := range pb.GetLabel() {
			ls = append(ls, l.GetName()+"="+l.GetValue())
		}
		got = append(got, strings.Join(ls, ","))
	}
	want := []string{
		"job=bert,namespace=team-a,pod=bert-launcher-x1,replica=launcher,role=launcher",
		"job=bert,namespace=team-a,pod=bert-node-0-0,replica=worker-0,role=worker",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("odh_job_pod_info:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
