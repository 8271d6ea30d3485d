package kube

import (
	"strings"
	"testing"
)

// What each kind of class becomes on the MPIJob (the lookup itself runs
// against a real API server in test/integration/kube).
func TestApplyPriority(t *testing.T) {
	for _, tc := range []struct {
		name      string
		kinds     priorityKinds
		wantPod   string // pods' priorityClassName and schedulingPolicy.priorityClass
		wantLabel string // kueue.x-k8s.io/priority-class
	}{
		{"PriorityClass only", priorityKinds{pod: true}, "high", ""},
		{"WorkloadPriorityClass only", priorityKinds{workload: true}, "", "high"},
		{"both", priorityKinds{pod: true, workload: true}, "high", "high"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := parseJob(t, `
metadata: {name: p, namespace: team-a}
spec: {image: x, command: [a], workers: {replicas: 2}, scheduling: {queue: q, priorityClass: high}}
`)
			u, err := Translate(j, TranslateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			applyPriority(u, "high", tc.kinds)
			for rt, r := range u.Spec.MPIReplicaSpecs {
				if got := r.Template.Spec.PriorityClassName; got != tc.wantPod {
					t.Errorf("%s priorityClassName = %q, want %q", rt, got, tc.wantPod)
				}
			}
			if got := u.Spec.RunPolicy.SchedulingPolicy.PriorityClass; got != tc.wantPod {
				t.Errorf("schedulingPolicy.priorityClass = %q, want %q", got, tc.wantPod)
			}
			if got := u.Labels[LabelKueuePriorityClass]; got != tc.wantLabel {
				t.Errorf("label = %q, want %q", got, tc.wantLabel)
			}
			if u.Labels[LabelKueueQueue] != "q" {
				t.Errorf("queue label lost: %v", u.Labels)
			}
		})
	}
	// A WorkloadPriorityClass without a queue cannot take effect: say so.
	j := parseJob(t, `
metadata: {name: p}
spec: {image: x, command: [a], scheduling: {priorityClass: high}}
`)
	if w := priorityWarnings(j, priorityKinds{workload: true}); len(w) != 1 || !strings.Contains(w[0], "spec.scheduling.queue") {
		t.Errorf("warnings = %q", w)
	}
	if w := priorityWarnings(j, priorityKinds{pod: true, workload: true}); len(w) != 0 {
		t.Errorf("warnings with a PriorityClass too = %q", w)
	}
}
