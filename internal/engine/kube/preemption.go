package kube

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"
)

// Preemption. When Kueue evicts a job's Workload to make room for a
// higher-priority one, it sets the Workload's Preempted condition (True
// until the Workload gets quota again, then False with "Previously: …"),
// counts the eviction in status.schedulingStats.evictions, and suspends the
// job; the MPI operator removes its pods and the job goes back to its
// queue. The Kueue tracker reads that from the Workloads it already
// watches, so the job's status says who preempted it and why.

// labelKueueJobUID is the label Kueue puts on a Workload with its job's UID.
const labelKueueJobUID = "kueue.x-k8s.io/job-uid"

// preemption is what Kueue says about a job's preemptions.
type preemption struct {
	Active bool      // preempted and not admitted again yet
	Reason string    // the Preempted condition's reason (InClusterQueue, …)
	Why    string    // Kueue's words: "prioritization in the ClusterQueue"
	JobUID string    // the preemptor's job UID
	Time   time.Time // of the last preemption
	Count  int32     // preemptions since the Workload was created
}

// preemptorRE reads the preemptor and the cause from the condition's
// message: "Preempted to accommodate a workload (UID: …, JobUID: …) due to
// prioritization in the ClusterQueue; preemptor path: …".
var preemptorRE = regexp.MustCompile(`JobUID: ([^)\s,]+)\) due to ([^;]+)`)

// workloadJob returns the key of the job a Workload belongs to.
func workloadJob(u *unstructured.Unstructured) (key, bool) {
	for _, r := range u.GetOwnerReferences() {
		if r.Kind == kubeflow.Kind || r.Kind == trainJobKind {
			return key{u.GetNamespace(), r.Name}, true
		}
	}
	return key{}, false
}

// preemptionOf reads a Workload's preemption state; nil when it was never
// preempted.
func preemptionOf(u *unstructured.Unstructured) *preemption {
	var p preemption
	evs, _, _ := unstructured.NestedSlice(u.Object, "status", "schedulingStats", "evictions")
	for _, e := range evs {
		m, _ := e.(map[string]any)
		if m["reason"] == "Preempted" {
			c, _ := m["count"].(int64)
			p.Count += int32(c)
		}
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	found := false
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] != "Preempted" {
			continue
		}
		msg, _ := m["message"].(string)
		if !strings.Contains(msg, "Preempted to accommodate") {
			continue // never preempted (or a reset we cannot read)
		}
		found = true
		p.Active = m["status"] == "True"
		if p.Active {
			p.Reason, _ = m["reason"].(string)
		}
		if s, _ := m["lastTransitionTime"].(string); s != "" && p.Active {
			p.Time, _ = time.Parse(time.RFC3339, s)
		}
		if sm := preemptorRE.FindStringSubmatch(msg); sm != nil {
			p.JobUID, p.Why = sm[1], strings.TrimSpace(sm[2])
		}
	}
	if !found && p.Count == 0 {
		return nil
	}
	if p.Count == 0 {
		p.Count = 1
	}
	return &p
}

// onPreemption records a Workload's preemption state and the job UID it
// belongs to, and resyncs its job when the state changed.
func (t *kueueTracker) onPreemption(o any, deleted bool) {
	if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	u, ok := o.(*unstructured.Unstructured)
	if !ok {
		return
	}
	k, ok := workloadJob(u)
	if !ok {
		return
	}
	uid := u.GetLabels()[labelKueueJobUID]
	t.mu.Lock()
	changed := false
	if deleted {
		if uid != "" {
			delete(t.jobByUID, uid)
		}
		_, changed = t.preempted[k]
		delete(t.preempted, k)
	} else {
		if uid != "" {
			t.jobByUID[uid] = k
		}
		p := preemptionOf(u)
		old, had := t.preempted[k]
		switch {
		case p == nil && had:
			delete(t.preempted, k)
			changed = true
		case p != nil && (!had || old != *p):
			t.preempted[k] = *p
			changed = true
		}
	}
	t.mu.Unlock()
	if changed {
		t.e.queue.Add(k.String())
	}
}

// preemptionFor returns a job's preemption state, with the preemptor's
// name when it is a job of the same namespace the engine sees.
func (t *kueueTracker) preemptionFor(k key) *preemptionView {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.preempted[k]
	if !ok {
		return nil
	}
	v := &preemptionView{preemption: p}
	if pk, ok := t.jobByUID[p.JobUID]; ok {
		if pk.namespace == k.namespace {
			v.By = pk.name
		} else {
			v.elsewhere = true
		}
	}
	return v
}

// preemptionView is a job's preemption state as its status shows it.
type preemptionView struct {
	preemption
	// By names the preemptor when it is a job in the same namespace;
	// jobs of other namespaces are not named (tenants do not see each
	// other's jobs).
	By        string
	elsewhere bool // the preemptor is a job of another namespace
}

// describe says who preempted the job and why.
func (p *preemptionView) describe() string {
	who := "a higher-priority workload"
	switch {
	case p.By != "":
		who = fmt.Sprintf("job %q", p.By)
	case p.elsewhere:
		who = "a higher-priority job of another namespace"
	}
	why := p.Why
	if why == "" {
		why = p.Reason
	}
	s := "preempted by " + who
	if why != "" {
		s += " (Kueue: " + why + ")"
	}
	return s
}
