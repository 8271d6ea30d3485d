package kube

import (
	"context"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"

	"github.com/odh-training/odh-training/internal/job"
)

// The informers' event handlers and the sync loop: a change to an MPIJob,
// one of its pods or a Warning event about it queues the job's key, and sync
// recomputes the job's status from the caches and publishes it to watchers.

func podJobKey(o any) ([]string, error) {
	p, ok := o.(*corev1.Pod)
	if !ok {
		return nil, nil
	}
	name := p.Labels[kubeflow.JobNameLabel]
	if name == "" {
		return nil, nil
	}
	return []string{key{p.Namespace, name}.String()}, nil
}

var (
	workerPodName   = regexp.MustCompile(`^(.+)-worker-\d+$`)
	launcherPodName = regexp.MustCompile(`^(.+)-launcher-[a-z0-9]{5}$`)
	// Kueue names an MPIJob's Workload "mpijob-<job>-<5 hex digits of a hash>".
	kueueWorkloadName = regexp.MustCompile(`^mpijob-(.+)-[0-9a-f]{5}$`)
)

// eventJobKey maps an event to the job it is about, by the names the
// operator gives the children (and Kueue gives the job's Workload).
func (e *Engine) eventJobKey(o any) ([]string, error) {
	ev, ok := o.(*corev1.Event)
	if !ok {
		return nil, nil
	}
	io := ev.InvolvedObject
	name := ""
	switch io.Kind {
	case kubeflow.Kind, "PodGroup":
		name = io.Name
	case "Job":
		name = strings.TrimSuffix(io.Name, "-launcher")
		if name == io.Name {
			name = trainJobEventName(io)
		}
	case "Workload":
		if m := kueueWorkloadName.FindStringSubmatch(io.Name); m != nil && strings.HasPrefix(io.APIVersion, "kueue.x-k8s.io/") {
			name = m[1]
		} else if strings.HasPrefix(io.APIVersion, "kueue.x-k8s.io/") {
			name = trainJobEventName(io)
		}
	case trainJobKind, "JobSet":
		name = trainJobEventName(io)
	case "Pod":
		if n := trainJobEventName(io); n != "" {
			name = n
		} else if m := workerPodName.FindStringSubmatch(io.Name); m != nil {
			name = m[1]
		} else if m := launcherPodName.FindStringSubmatch(io.Name); m != nil {
			name = m[1]
		}
	}
	if name == "" {
		return nil, nil
	}
	return []string{key{io.Namespace, name}.String()}, nil
}

func (e *Engine) onMPIJob(o any) {
	if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = t.Obj
	}
	if u, ok := o.(*kubeflow.MPIJob); ok {
		e.queue.Add(key{u.Namespace, u.Name}.String())
	}
}

func (e *Engine) onPod(old, o any) {
	if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = t.Obj
	}
	p, ok := o.(*corev1.Pod)
	if !ok {
		return
	}
	if ks, _ := podJobKey(p); len(ks) > 0 {
		e.queue.Add(ks[0])
	}
	e.archive.onPod(p)
}

func (e *Engine) onEvent(o any) {
	if ks, _ := e.eventJobKey(o); len(ks) > 0 {
		e.queue.Add(ks[0])
	}
}

func (e *Engine) syncLoop() {
	defer e.wg.Done()
	for {
		k, quit := e.queue.Get()
		if quit {
			return
		}
		e.sync(k)
		e.queue.Done(k)
	}
}

// sync recomputes one job's status from the caches and tells watchers
// when it changed.
func (e *Engine) sync(ks string) {
	k := parseKey(ks)
	u, err := e.mpiLister.MPIJobs(k.namespace).Get(k.name)
	var tj *unstructured.Unstructured
	if apierrors.IsNotFound(err) {
		// Not an MPIJob: a TrainJob of that name?
		if tj, u = e.lookupTrainJob(k); tj != nil {
			err = nil
		}
	}
	if err != nil {
		if apierrors.IsNotFound(err) {
			e.removed(k)
		}
		return
	}
	e.mu.Lock()
	st := e.jobs[k]
	if st != nil && st.uid != u.UID {
		// Deleted and created again under the same name.
		e.removedLocked(k, st)
		st = nil
	}
	if st == nil {
		st = &jobState{uid: u.UID, gone: make(chan struct{})}
		st.rec, st.persisted = e.loadRecord(u, !e.initDone)
		e.jobs[k] = st
	}
	rec, seen := st.rec, st.seen
	e.mu.Unlock()

	var j *job.MPIJob
	var newRec statusRecord
	var newSeen map[int32]job.ReplicaStatus
	if tj != nil {
		j, newRec, newSeen = e.computeTrain(tj, rec, seen)
	} else {
		j, newRec, newSeen = e.compute(u, rec, seen)
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.jobs[k] != st {
		return
	}
	st.rec, st.seen = newRec, newSeen
	st.mpiRV, _ = strconv.ParseUint(u.ResourceVersion, 10, 64)
	old := st.snap
	if old == nil || !sameJob(old, j) {
		st.snap = j
		typ := job.Modified
		if old == nil {
			typ = job.Added
		}
		e.broadcast(typ, old, j)
	}
	if enc := newRec.encode(); enc != st.persisted && u.DeletionTimestamp == nil && e.opts.ArchiveDir != "" {
		e.persistQ.Add(ks)
	}
	e.notifyLocked()
	// Without the operator's Created condition, look again once the
	// operator timeout has passed, so the status says so.
	if j.Status.Reason == ReasonWaitingForOperator || j.Status.Reason == ReasonOperatorBusy || j.Status.Reason == ReasonOperatorNotRunning {
		if d := e.opts.OperatorTimeout - time.Since(u.CreationTimestamp.Time); d > 0 {
			e.queue.AddAfter(ks, d+100*time.Millisecond)
		} else {
			// Keep the age in the message and the lease verdict current.
			e.queue.AddAfter(ks, 15*time.Second)
		}
	}
}

// compute builds the job from the cached MPIJob, its pods and events.
func (e *Engine) compute(u *kubeflow.MPIJob, rec statusRecord, seen map[int32]job.ReplicaStatus) (*job.MPIJob, statusRecord, map[int32]job.ReplicaStatus) {
	j := jobFromUpstream(u)
	ks := key{u.Namespace, u.Name}.String()
	var pods []*corev1.Pod
	if e.pods != nil {
		objs, _ := e.pods.GetIndexer().ByIndex(podJobIndex, ks)
		for _, o := range objs {
			if p, ok := o.(*corev1.Pod); ok && ownedByJob(p, u) {
				pods = append(pods, p)
			}
		}
	}

	var warnings []*corev1.Event
	objs, _ := e.events.GetIndexer().ByIndex(eventJobIndex, ks)
	for _, o := range objs {
		if ev, ok := o.(*corev1.Event); ok && !eventTime(ev).Before(u.CreationTimestamp.Time) {
			warnings = append(warnings, ev)
		}
	}
	status, newRec, newSeen := aggregate(observed{
		mpiJob: u, spec: &j.Spec, pods: pods, warnings: warnings, record: rec, lastSeen: seen, queuePos: e.kueue.position(key{u.Namespace, u.Name}), preemption: e.kueue.preemptionFor(key{u.Namespace, u.Name}),
		now: time.Now().UTC(), operatorTimeout: e.opts.OperatorTimeout, operatorRunning: e.lease.peek(),
	})
	status.Backend = job.BackendMPIJob
	j.Status = status
	j.Metadata.ResourceVersion = maxResourceVersion(u.ResourceVersion, pods, warnings)
	return j, newRec, newSeen
}

// ownedByJob reports whether a pod belongs to this incarnation of the job
// (worker pods are owned by the MPIJob, launcher pods by its Job).
func ownedByJob(p *corev1.Pod, u *kubeflow.MPIJob) bool {
	for _, r := range p.OwnerReferences {
		if r.UID == u.UID {
			return true
		}
		if r.Kind == "Job" && r.Name == u.Name+"-launcher" {
			return !p.CreationTimestamp.Before(&u.CreationTimestamp)
		}
	}
	return false
}

// maxResourceVersion is the highest resource version among the objects a
// job's status comes from. Kubernetes resource versions are etcd revisions,
// so it grows with every change to any of them, which lets clients order
// watch events of one job.
func maxResourceVersion(rv string, pods []*corev1.Pod, evs []*corev1.Event) string {
	best, err := strconv.ParseUint(rv, 10, 64)
	if err != nil {
		return rv
	}
	bump := func(s string) {
		if n, err := strconv.ParseUint(s, 10, 64); err == nil && n > best {
			best = n
		}
	}
	for _, p := range pods {
		bump(p.ResourceVersion)
	}
	for _, ev := range evs {
		bump(ev.ResourceVersion)
	}
	return strconv.FormatUint(best, 10)
}

// sameJob compares two snapshots, ignoring the resource version.
func sameJob(a, b *job.MPIJob) bool {
	if a.Metadata.ResourceVersion == b.Metadata.ResourceVersion {
		return reflect.DeepEqual(a, b)
	}
	ac, bc := *a, *b
	ac.Metadata.ResourceVersion, bc.Metadata.ResourceVersion = "", ""
	return reflect.DeepEqual(&ac, &bc)
}

func (e *Engine) removed(k key) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if st := e.jobs[k]; st != nil {
		e.removedLocked(k, st)
	}
	e.notifyLocked()
}

func (e *Engine) removedLocked(k key, st *jobState) {
	delete(e.jobs, k)
	close(st.gone)
	if st.snap != nil {
		last := st.snap.DeepCopy()
		if last.Status.Phase != job.PhaseDeleting && !last.Status.Phase.Terminal() {
			last.Status.SetPhase(job.PhaseDeleting, job.ReasonDeleting, "deleted", time.Now())
		}
		e.broadcast(job.Deleted, st.snap, last)
	}
	e.archive.forget(k, st.uid)
}

// notifyLocked wakes everyone waiting for a change (Delete, Suspend,
// log followers). Called with e.mu held.
func (e *Engine) notifyLocked() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// waitFor calls cond after every processed change until it returns true
// or ctx ends.
func (e *Engine) waitFor(ctx context.Context, cond func() bool) error {
	for {
		e.mu.Lock()
		ch := e.changed
		e.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
