package kube

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

// The Engine's API methods: reads from the caches, writes with the request's
// clients (the caller's identity when ClientsFor is set).

// Get returns one job from the caches. A job created a moment ago that the
// cache has not seen yet is read from the API server.
func (e *Engine) Get(ctx context.Context, namespace, name string) (*job.MPIJob, error) {
	if err := e.usable(ctx); err != nil {
		return nil, err
	}
	e.mu.Lock()
	st := e.jobs[key{namespace, name}]
	var snap *job.MPIJob
	if st != nil {
		snap = st.snap
	}
	e.mu.Unlock()
	if snap != nil {
		return snap.DeepCopy(), nil
	}
	c, err := e.clients(ctx)
	if err != nil {
		return nil, err
	}
	u, err := c.MPI.KubeflowV2beta1().MPIJobs(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return e.getTrainJobLive(ctx, namespace, name)
	}
	if err != nil {
		return nil, apiError(err, "get MPIJob")
	}
	rec, _ := e.loadRecord(u, true)
	j, _, _ := e.compute(u, rec, nil)
	return j, nil
}

// List returns the matching jobs from the caches, sorted by namespace and
// name.
func (e *Engine) List(ctx context.Context, opts engine.ListOptions) ([]*job.MPIJob, error) {
	if err := e.usable(ctx); err != nil {
		return nil, err
	}
	e.mu.Lock()
	snaps := make([]*job.MPIJob, 0, len(e.jobs))
	for _, st := range e.jobs {
		if st.snap != nil && opts.Matches(st.snap) {
			snaps = append(snaps, st.snap)
		}
	}
	e.mu.Unlock()
	engine.SortJobs(snaps)
	out := make([]*job.MPIJob, len(snaps))
	for i, j := range snaps {
		out[i] = j.DeepCopy()
	}
	return out, nil
}

// snapshot returns a job's current snapshot and the UID it belongs to.
func (e *Engine) snapshot(k key) (*job.MPIJob, types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.jobs[k]
	if st == nil {
		return nil, ""
	}
	return st.snap, st.uid
}

// Admit translates the job and has the API server check it without
// creating anything (server-side dry run), so admission, validation and
// RBAC answer as they would for a real create. It warns when the MPI
// operator is not running and when the job needs more than the
// namespace's quota has left; a job bigger than the quota's hard limit is
// rejected.
func (e *Engine) Admit(ctx context.Context, j *job.MPIJob) ([]string, error) {
	if err := e.usable(ctx); err != nil {
		return nil, err
	}
	backend, rt, err := e.resolveBackend(j)
	if err != nil {
		return nil, err
	}
	if backend == BackendTrainJob {
		return e.admitTrainJob(ctx, j, rt)
	}
	u, err := Translate(j, e.opts.Translate)
	if err != nil {
		return nil, err
	}
	if err := e.checkPods(ctx, j, u); err != nil {
		return nil, err
	}
	prio, err := e.resolvePriority(ctx, j)
	if err != nil {
		return nil, err
	}
	applyPriority(u, j.Spec.Scheduling.PriorityClass, prio)
	c, err := e.clients(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := c.MPI.KubeflowV2beta1().MPIJobs(u.Namespace).Create(ctx, u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: fieldManager}); err != nil {
		return nil, apiError(err, "check MPIJob")
	}
	warnings := priorityWarnings(j, prio)
	if err := e.lease.check(ctx); err != nil {
		warnings = append(warnings, err.Error()+"; the job will wait until the operator runs")
	}
	qw, err := e.checkQuota(ctx, j)
	if err != nil {
		return nil, err
	}
	warnings = append(warnings, qw...)
	if j.Upstream == nil {
		o, _ := e.opts.Translate.withDefaults().forJob(j)
		if o.RootSSH {
			warnings = append(warnings, "SSH runs as root on port 22 (annotation "+AnnotationSSH+"=root): OpenShift's restricted-v2 SCC rejects such pods")
		}
	}
	if ttl := j.Spec.RunPolicy.TTLSecondsAfterFinished; ttl != nil && *ttl < minSafeTTL {
		warnings = append(warnings, fmt.Sprintf("spec.runPolicy.ttlSecondsAfterFinished is %ds: the TTL controller deletes the launcher Job that long after it finishes, and an MPI operator that has not recorded the end by then (it is rate-limited) starts the launcher again; use %d or more", *ttl, minSafeTTL))
	}
	return warnings, nil
}

// minSafeTTL is the shortest ttlSecondsAfterFinished Admit does not warn
// about: v0.8.2 creates a new launcher Job when the finished one is gone
// before it recorded the job's end.
const minSafeTTL = 60

// Create submits the job and returns it as soon as the cache has it.
func (e *Engine) Create(ctx context.Context, j *job.MPIJob) (*job.MPIJob, error) {
	if err := e.usable(ctx); err != nil {
		return nil, err
	}
	if j.Metadata.Name == "" || j.Metadata.Namespace == "" {
		return nil, job.Errorf(job.KindInvalid, "the job needs a name and a namespace")
	}
	backend, rt, err := e.resolveBackend(j)
	if err != nil {
		return nil, err
	}
	if backend == BackendTrainJob {
		return e.createTrainJob(ctx, j, rt)
	}
	if _, ok := e.getTrainJob(key{j.Metadata.Namespace, j.Metadata.Name}); ok {
		return nil, job.Errorf(job.KindAlreadyExists, "a TrainJob named %q already exists in namespace %q; choose another name", j.Metadata.Name, j.Metadata.Namespace)
	}
	u, err := Translate(j, e.opts.Translate)
	if err != nil {
		return nil, err
	}
	if err := e.checkPods(ctx, j, u); err != nil {
		return nil, err
	}
	prio, err := e.resolvePriority(ctx, j)
	if err != nil {
		return nil, err
	}
	applyPriority(u, j.Spec.Scheduling.PriorityClass, prio)
	if _, err := e.checkQuota(ctx, j); err != nil {
		return nil, err
	}
	c, err := e.clients(ctx)
	if err != nil {
		return nil, err
	}
	created, err := c.MPI.KubeflowV2beta1().MPIJobs(u.Namespace).Create(ctx, u, metav1.CreateOptions{FieldManager: fieldManager})
	if err != nil {
		return nil, apiError(err, "create MPIJob")
	}
	e.ensureJobNetworkPolicy(ctx, created)
	return e.afterWrite(ctx, created), nil
}

// afterWrite returns the job once the cache has caught up with a write (so
// a Get right after sees it), or computed from the written object when the
// cache is slow.
func (e *Engine) afterWrite(ctx context.Context, u *kubeflow.MPIJob) *job.MPIJob {
	k := key{u.Namespace, u.Name}
	want, _ := strconv.ParseUint(u.ResourceVersion, 10, 64)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var out *job.MPIJob
	_ = e.waitFor(wctx, func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		st := e.jobs[k]
		if st == nil || st.snap == nil || st.uid != u.UID || st.mpiRV < want {
			return false
		}
		out = st.snap
		return true
	})
	if out != nil {
		return out.DeepCopy()
	}
	rec, _ := e.loadRecord(u, true)
	j, _, _ := e.compute(u, rec, nil)
	return j
}

// Delete deletes the MPIJob with foreground propagation: the API server
// removes the launcher Job, the worker pods, the Service, ConfigMap, Secret
// (and PodGroup) before the MPIJob. With Wait it returns once the MPIJob
// and every pod of the job are gone.
func (e *Engine) Delete(ctx context.Context, namespace, name string, opts engine.DeleteOptions) (*job.MPIJob, error) {
	if err := e.usable(ctx); err != nil {
		return nil, err
	}
	cur, err := e.Get(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	c, err := e.clients(ctx)
	if err != nil {
		return nil, err
	}
	fg := metav1.DeletePropagationForeground
	uid := types.UID(cur.Metadata.UID)
	if cur.Status.Backend == job.BackendTrainJob {
		err = e.deleteTrainJob(ctx, cur)
	} else {
		err = c.MPI.KubeflowV2beta1().MPIJobs(namespace).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &fg, Preconditions: &metav1.Preconditions{UID: &uid}})
		if apierrors.IsNotFound(err) {
			err = job.NotFound(namespace, name)
		} else if err != nil {
			err = apiError(err, "delete MPIJob")
		}
	}
	if err != nil {
		return nil, err
	}
	out := cur.DeepCopy()
	if out.Status.Phase != job.PhaseDeleting {
		out.Status.SetPhase(job.PhaseDeleting, job.ReasonDeleting, "deleting: waiting for the launcher Job, the worker pods, the Service, ConfigMap and Secret to be removed", time.Now())
	}
	if !opts.Wait {
		return out, nil
	}
	k := key{namespace, name}
	err = e.waitFor(ctx, func() bool {
		if _, id := e.snapshot(k); id == uid {
			return false
		}
		for _, p := range e.podsOf(k.String()) {
			if cur.Status.Backend == job.BackendTrainJob && trainJobPodOwned(p, name, metav1.NewTime(cur.Metadata.CreationTimestamp)) {
				return false
			}
			for _, r := range p.OwnerReferences {
				if r.UID == uid || (r.Kind == "Job" && r.Name == name+"-launcher") {
					return false
				}
			}
		}
		return true
	})
	if err != nil {
		return out, job.Errorf(job.KindTimeout, "MPIJob %q is still being deleted: %v", name, err)
	}
	return out, nil
}

// Suspend sets runPolicy.suspend: the operator removes the worker pods and
// suspends the launcher Job.
func (e *Engine) Suspend(ctx context.Context, namespace, name string) (*job.MPIJob, error) {
	return e.setSuspend(ctx, namespace, name, true)
}

// Resume clears runPolicy.suspend: the operator recreates the pods.
func (e *Engine) Resume(ctx context.Context, namespace, name string) (*job.MPIJob, error) {
	return e.setSuspend(ctx, namespace, name, false)
}

func (e *Engine) setSuspend(ctx context.Context, namespace, name string, suspend bool) (*job.MPIJob, error) {
	cur, err := e.Get(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	verb := map[bool]string{true: "suspended", false: "resumed"}[suspend]
	switch ph := cur.Status.Phase; {
	case cur.Status.ReadOnly:
		return nil, &job.Error{Kind: job.KindConflict, Message: fmt.Sprintf("TrainJob %q runs on runtime %q, which has no MPI policy: odh-training shows it read-only (status, logs, events, delete) and it cannot be %s here", name, cur.Spec.Runtime, verb), Hint: "Use kubectl patch trainjob " + name + " or the tool that created it"}
	case ph == job.PhaseDeleting:
		return nil, job.Errorf(job.KindConflict, "MPIJob %q is being deleted and cannot be %s", name, verb)
	case ph.Terminal():
		msg := fmt.Sprintf("MPIJob %q has already finished (%s) and cannot be %s", name, ph, verb)
		if !suspend {
			msg += "; create it again to rerun it"
		}
		return nil, job.Errorf(job.KindConflict, "%s", msg)
	case cur.Spec.RunPolicy.Suspend == suspend:
		return cur, nil
	case !suspend && ph == job.PhaseQueued:
		return nil, &job.Error{Kind: job.KindConflict, Message: fmt.Sprintf("MPIJob %q is queued by Kueue in LocalQueue %q; Kueue resumes it when it admits it", name, cur.Spec.Scheduling.Queue), Hint: "See the queue with: kubectl get workloads -n " + namespace}
	}
	if cur.Status.Backend == job.BackendTrainJob {
		return e.suspendTrainJob(ctx, cur, suspend)
	}
	c, err := e.clients(ctx)
	if err != nil {
		return nil, err
	}
	patch := fmt.Sprintf(`{"metadata":{"uid":%q},"spec":{"runPolicy":{"suspend":%t}}}`, cur.Metadata.UID, suspend)
	u, err := c.MPI.KubeflowV2beta1().MPIJobs(namespace).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: fieldManager})
	if apierrors.IsNotFound(err) {
		return nil, job.NotFound(namespace, name)
	}
	if err != nil {
		return nil, apiError(err, "update MPIJob")
	}
	return e.afterWrite(ctx, u), nil
}

// Events returns the Kubernetes Events of the MPIJob and of its children
// (launcher Job and pods, worker pods, PodGroup), oldest first.
func (e *Engine) Events(ctx context.Context, namespace, name string) ([]job.Event, error) {
	j, err := e.Get(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	c, err := e.clients(ctx)
	if err != nil {
		return nil, err
	}
	list, err := c.Kube.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, apiError(err, "list events")
	}
	created := j.Metadata.CreationTimestamp
	var out []job.Event
	for i := range list.Items {
		ev := &list.Items[i]
		ks, _ := e.eventJobKey(ev)
		if len(ks) == 0 || ks[0] != (key{namespace, name}).String() {
			continue
		}
		io := ev.InvolvedObject
		if (io.Kind == kubeflow.Kind || io.Kind == trainJobKind) && string(io.UID) != j.Metadata.UID {
			continue
		}
		if eventTime(ev).Before(created.Add(-time.Second)) {
			continue
		}
		first := ev.FirstTimestamp.Time
		if first.IsZero() {
			first = eventTime(ev)
		}
		src := ev.Source.Component
		if src == "" {
			src = ev.ReportingController
		}
		count := ev.Count
		if count == 0 {
			count = 1
		}
		out = append(out, job.Event{
			Type: ev.Type, Reason: ev.Reason, Message: ev.Message,
			Object:    objectName(io.Kind, io.Name),
			FirstTime: first.UTC(), LastTime: eventTime(ev).UTC(), Count: count, Source: src,
		})
	}
	slices.SortStableFunc(out, func(a, b job.Event) int { return a.LastTime.Compare(b.LastTime) })
	return out, nil
}

func objectName(kind, name string) string {
	return strings.ToLower(kind) + "/" + name
}

var everything = labels.Everything()
