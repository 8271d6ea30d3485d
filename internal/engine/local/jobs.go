package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

// The Engine's API methods: admission, create, reads, delete, suspend and
// resume, events and capacity.

// Admit checks that the job can run on this machine and returns warnings
// for what the local engine does not apply.
func (e *Engine) Admit(ctx context.Context, j *job.MPIJob) ([]string, error) {
	_, w, err := e.admit(j)
	return w, err
}

func (e *Engine) admit(j *job.MPIJob) (*plan, []string, error) {
	s := &j.Spec
	if len(s.Command) == 0 {
		return nil, nil, job.Invalid(j.Metadata.Name, job.FieldErrors{{Field: "spec.command", Type: job.FieldRequired, Message: "a command is required"}})
	}
	var w []string
	if s.Image != "" {
		w = append(w, fmt.Sprintf("spec.image %q is ignored by the local engine: the command runs directly on this machine with its installed software", s.Image))
	}
	if s.Workers.Resources.GPUs > 0 || s.Launcher.Resources.GPUs > 0 {
		w = append(w, "GPU requests are not applied by the local engine: the ranks see every GPU of this machine (set CUDA_VISIBLE_DEVICES in spec.env to restrict them)")
	}
	if r := s.Workers.Resources; r.CPU != "" || r.Memory != "" || r.CPULimit != "" || r.MemoryLimit != "" {
		w = append(w, "CPU and memory requests and limits are not enforced by the local engine")
	}
	if len(s.NodeSelector) > 0 || len(s.Tolerations) > 0 {
		w = append(w, "nodeSelector and tolerations are ignored by the local engine: every rank runs on this machine")
	}
	if s.Scheduling.Queue != "" || s.Scheduling.PriorityClass != "" {
		w = append(w, "spec.scheduling is ignored by the local engine: it has one FIFO queue")
	}
	for i, v := range s.Volumes {
		switch {
		case v.HostPath != "" && filepath.Clean(v.HostPath) != filepath.Clean(v.MountPath):
			w = append(w, fmt.Sprintf("spec.volumes[%d] (%s): the local engine does not mount volumes; the program sees hostPath %s at its own path, not at %s", i, v.Name, v.HostPath, v.MountPath))
		case v.HostPath == "":
			w = append(w, fmt.Sprintf("spec.volumes[%d] (%s): only hostPath volumes are available locally; this volume is not mounted", i, v.Name))
		}
	}
	impl := s.MPIImplementation
	if impl == "" {
		impl = job.OpenMPI
	}
	in, err := e.mpi.get(impl)
	if err != nil {
		// The warnings still help: a dry run shows them next to the error.
		return nil, w, err
	}
	p, err := makePlan(s, in, e.ncpu)
	if err != nil {
		return nil, nil, err
	}
	if ranks := int(s.Ranks()); ranks > e.slots {
		return nil, nil, &job.Error{
			Kind:    job.KindQuotaExceeded,
			Message: fmt.Sprintf("MPIJob %q needs %d slots (%d workers × %d slots per worker = %d MPI ranks) but the local engine has %d slots in total, so it could never start", j.Metadata.Name, ranks, s.Replicas(), s.Slots(), ranks, e.slots),
			Quota:   []job.QuotaViolation{{Resource: "slots", Requested: strconv.Itoa(ranks), Available: strconv.Itoa(e.slots), Limit: strconv.Itoa(e.slots), Source: "local engine capacity (odh-server --slots)"}},
			Hint:    fmt.Sprintf("Reduce spec.workers.replicas or spec.workers.slotsPerWorker, or restart odh-server with --slots %d or more.", ranks),
		}
	}
	if s.WorkingDir != "" {
		if st, err := os.Stat(s.WorkingDir); err != nil || !st.IsDir() {
			return nil, nil, job.Invalid(j.Metadata.Name, job.FieldErrors{{
				Field: "spec.workingDir", Type: job.FieldInvalid, Value: s.WorkingDir,
				Message: fmt.Sprintf("directory %q does not exist on this machine; the local engine runs the command there. Create it, or leave workingDir empty to run in the server's working directory (%s)", s.WorkingDir, e.workDir),
			}})
		}
	}
	return p, append(slices.Clone(p.warnings), w...), nil
}

// Create records the job and starts it, queues it, or holds it suspended.
func (e *Engine) Create(ctx context.Context, in *job.MPIJob) (*job.MPIJob, error) {
	if in.Metadata.Name == "" || in.Metadata.Namespace == "" {
		return nil, job.Errorf(job.KindInvalid, "the job needs a name and a namespace")
	}
	if _, _, err := e.admit(in); err != nil {
		return nil, err
	}
	t := e.lock()
	if e.closed {
		t.unlock()
		return nil, job.Errorf(job.KindUnavailable, "the server is shutting down; try again when it is back")
	}
	k := key{in.Metadata.Namespace, in.Metadata.Name}
	if _, ok := e.jobs[k]; ok {
		t.unlock()
		return nil, &job.Error{
			Kind:    job.KindAlreadyExists,
			Message: fmt.Sprintf("MPIJob %q already exists in namespace %q", k.name, k.namespace),
			Hint:    "Choose another name, or delete the existing job first: odh training delete mpijob " + k.name + " -n " + k.namespace,
		}
	}
	j := in.DeepCopy()
	j.Upstream = nil
	if j.APIVersion == "" {
		j.APIVersion = job.APIVersion
	}
	if j.Kind == "" {
		j.Kind = job.Kind
	}
	now := time.Now().UTC()
	j.Metadata.UID = newUID()
	j.Metadata.CreationTimestamp = now
	j.Status = job.Status{Requested: new(job.TotalRequests(&j.Spec).Totals())}
	j.Status.CountWorkers(j.Spec.Replicas())
	j.Status.SetPhase(job.PhasePending, job.ReasonCreated, "created; waiting to start", now)
	dir := filepath.Join(e.jobsDir, j.Metadata.UID)
	if err := os.MkdirAll(filepath.Join(dir, "attempts"), 0o755); err != nil {
		t.unlock()
		return nil, fmt.Errorf("create job directory: %w", err)
	}
	rec := &record{dir: dir, j: j, changed: make(chan struct{}), gone: make(chan struct{})}
	e.jobs[k] = rec
	e.index(rec)
	e.byUID[j.Metadata.UID] = rec
	t.event(rec, "Normal", job.ReasonCreated, fmt.Sprintf("created: %d workers × %d slots (%d MPI ranks), %s", j.Spec.Replicas(), j.Spec.Slots(), j.Spec.Ranks(), j.Spec.MPIImplementation), "")
	t.add(rec)
	if j.Spec.RunPolicy.Suspend {
		t.event(rec, "Normal", job.ReasonSuspended, "created suspended; resume it to start", "")
		t.update(rec, true, func(j *job.MPIJob) {
			j.Status.SetPhase(job.PhaseSuspended, job.ReasonSuspended, "created suspended; resume it to start", time.Now())
		})
	} else {
		e.seq++
		rec.seq = e.seq
		e.enqueue(rec)
		t.schedule()
	}
	out := rec.j.DeepCopy()
	t.unlock()
	return out, nil
}

// Get returns one job.
func (e *Engine) Get(ctx context.Context, namespace, name string) (*job.MPIJob, error) {
	e.mu.Lock()
	rec, ok := e.jobs[key{namespace, name}]
	var j *job.MPIJob
	if ok {
		j = rec.j
	}
	e.mu.Unlock()
	if !ok {
		return nil, job.NotFound(namespace, name)
	}
	return j, nil // an immutable snapshot (see engine.Engine)
}

// compareKeys orders records by namespace, then name.
func compareKeys(a, b key) int {
	if c := strings.Compare(a.namespace, b.namespace); c != 0 {
		return c
	}
	return strings.Compare(a.name, b.name)
}

// index adds rec to the sorted order (e.mu held).
func (e *Engine) index(rec *record) {
	i, _ := slices.BinarySearchFunc(e.order, rec.key(), func(r *record, k key) int { return compareKeys(r.key(), k) })
	e.order = slices.Insert(e.order, i, rec)
}

// unindex removes rec from the sorted order (e.mu held).
func (e *Engine) unindex(rec *record) {
	if i, ok := slices.BinarySearchFunc(e.order, rec.key(), func(r *record, k key) int { return compareKeys(r.key(), k) }); ok && e.order[i] == rec {
		e.order = slices.Delete(e.order, i, i+1)
	}
}

// List returns the matching jobs sorted by namespace and name.
func (e *Engine) List(ctx context.Context, opts engine.ListOptions) ([]*job.MPIJob, error) {
	e.mu.Lock()
	recs := e.order
	if opts.Namespace != "" {
		// Only the namespace's range of the sorted order.
		lo, _ := slices.BinarySearchFunc(recs, opts.Namespace, func(r *record, ns string) int { return strings.Compare(r.j.Metadata.Namespace, ns) })
		hi := lo
		for hi < len(recs) && recs[hi].j.Metadata.Namespace == opts.Namespace {
			hi++
		}
		recs = recs[lo:hi]
	}
	snaps := make([]*job.MPIJob, 0, len(recs))
	for _, rec := range recs {
		if opts.Matches(rec.j) {
			snaps = append(snaps, rec.j)
		}
	}
	e.mu.Unlock()
	// Snapshots are immutable: every change replaces rec.j with a new copy,
	// so they can be handed out without copying (see engine.Engine).
	return snaps, nil
}

// Delete stops the job's processes and removes its record and logs. It
// returns the job in phase Deleting; with Wait it returns once no process
// of the job is left and the record is gone.
func (e *Engine) Delete(ctx context.Context, namespace, name string, opts engine.DeleteOptions) (*job.MPIJob, error) {
	t := e.lock()
	rec, ok := e.jobs[key{namespace, name}]
	if !ok {
		t.unlock()
		return nil, job.NotFound(namespace, name)
	}
	if !rec.deleting {
		e.startDelete(t, rec, "deleting: stopping the job's processes and removing its record and logs")
	}
	out, gone := rec.j.DeepCopy(), rec.gone
	t.unlock()
	if opts.Wait {
		select {
		case <-gone:
		case <-ctx.Done():
			return out, job.Errorf(job.KindTimeout, "MPIJob %q is still being deleted: %v", name, ctx.Err())
		}
	}
	return out, nil
}

func (e *Engine) startDelete(t *txn, rec *record, msg string) {
	rec.deleting = true
	e.dequeue(rec)
	if rec.ttl != nil {
		rec.ttl.Stop()
	}
	t.event(rec, "Normal", job.ReasonDeleting, msg, "")
	t.update(rec, true, func(j *job.MPIJob) {
		j.Status.QueuePosition = 0
		j.Status.SetPhase(job.PhaseDeleting, job.ReasonDeleting, msg, time.Now())
	})
	r := rec.run
	if r != nil && r.stop == stopNone {
		r.stop = stopDelete
		if r.pid != 0 {
			go e.killTree(r)
		}
	}
	e.wg.Add(1)
	go e.removeWhenStopped(rec, r)
	t.schedule()
}

// removeWhenStopped waits for the job's run to end, makes sure no process
// of the job is left, then removes the record and its files.
func (e *Engine) removeWhenStopped(rec *record, r *run) {
	defer e.wg.Done()
	if r != nil {
		<-r.done
	}
	e.killMarked(EnvJobUID, rec.j.Metadata.UID)
	// Files first: once a client sees the job gone, so are its logs.
	rec.pmu.Lock()
	rec.erased = true
	if err := os.RemoveAll(rec.dir); err != nil {
		e.log.Error("remove job directory", "dir", rec.dir, "error", err)
	}
	rec.pmu.Unlock()
	t := e.lock()
	delete(e.jobs, rec.key())
	e.unindex(rec)
	delete(e.byUID, rec.j.Metadata.UID)
	rec.removed = true
	if rec.ttl != nil {
		rec.ttl.Stop()
	}
	last := rec.j.DeepCopy()
	last.Metadata.ResourceVersion = strconv.FormatUint(e.nextRV(), 10)
	rec.j = last
	e.broadcast(job.Deleted, last, last)
	close(rec.changed)
	rec.changed = make(chan struct{})
	t.unlock()
	close(rec.gone)
}

// Suspend stops a running job (killing its processes) or takes a queued
// job out of the queue; the job keeps its record and logs in phase
// Suspended until Resume.
func (e *Engine) Suspend(ctx context.Context, namespace, name string) (*job.MPIJob, error) {
	t := e.lock()
	rec, ok := e.jobs[key{namespace, name}]
	if !ok {
		t.unlock()
		return nil, job.NotFound(namespace, name)
	}
	ph := rec.j.Status.Phase
	switch {
	case rec.deleting:
		t.unlock()
		return nil, job.Errorf(job.KindConflict, "MPIJob %q is being deleted and cannot be suspended", name)
	case ph.Terminal():
		t.unlock()
		return nil, &job.Error{Kind: job.KindConflict, Message: fmt.Sprintf("MPIJob %q has already finished (%s) and cannot be suspended", name, ph)}
	case ph == job.PhaseSuspended:
		out := rec.j.DeepCopy()
		t.unlock()
		return out, nil
	}
	r := rec.run
	t.update(rec, true, func(j *job.MPIJob) { j.Spec.RunPolicy.Suspend = true })
	if r == nil {
		e.dequeue(rec)
		msg := "suspended before it started; resume it to start"
		t.event(rec, "Normal", job.ReasonSuspended, msg, "")
		t.update(rec, true, func(j *job.MPIJob) {
			j.Status.QueuePosition = 0
			j.Status.SetPhase(job.PhaseSuspended, job.ReasonSuspended, msg, time.Now())
		})
		t.schedule()
		out := rec.j.DeepCopy()
		t.unlock()
		return out, nil
	}
	if r.stop == stopNone {
		r.stop = stopSuspend
		if r.pid != 0 {
			go e.killTree(r)
		}
	}
	t.unlock()
	select {
	case <-r.done:
	case <-ctx.Done():
		return nil, job.Errorf(job.KindTimeout, "MPIJob %q is still being suspended: %v", name, ctx.Err())
	}
	return e.Get(ctx, namespace, name)
}

// Resume queues a suspended job again; it starts from scratch as a new
// attempt.
func (e *Engine) Resume(ctx context.Context, namespace, name string) (*job.MPIJob, error) {
	t := e.lock()
	defer t.unlock()
	rec, ok := e.jobs[key{namespace, name}]
	if !ok {
		return nil, job.NotFound(namespace, name)
	}
	ph := rec.j.Status.Phase
	switch {
	case rec.deleting:
		return nil, job.Errorf(job.KindConflict, "MPIJob %q is being deleted and cannot be resumed", name)
	case ph.Terminal():
		return nil, job.Errorf(job.KindConflict, "MPIJob %q has already finished (%s) and cannot be resumed; create it again to rerun it", name, ph)
	case ph != job.PhaseSuspended:
		return rec.j.DeepCopy(), nil
	}
	if e.closed {
		return nil, job.Errorf(job.KindUnavailable, "the server is shutting down; try again when it is back")
	}
	t.event(rec, "Normal", job.ReasonResumed, "resumed; waiting to start", "")
	t.update(rec, true, func(j *job.MPIJob) {
		j.Spec.RunPolicy.Suspend = false
		j.Status.StartTime = time.Time{} // the active deadline counts from the new start
		j.Status.CompletionTime = time.Time{}
		j.Status.SetPhase(job.PhasePending, job.ReasonResumed, "resumed; waiting to start", time.Now())
	})
	e.seq++
	rec.seq = e.seq
	e.enqueue(rec)
	t.schedule()
	return rec.j.DeepCopy(), nil
}

// Events returns what happened to the job, oldest first.
func (e *Engine) Events(ctx context.Context, namespace, name string) ([]job.Event, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rec, ok := e.jobs[key{namespace, name}]
	if !ok {
		return nil, job.NotFound(namespace, name)
	}
	return slices.Clone(rec.events), nil
}

// Capacity reports the engine's slots; namespaces share them.
func (e *Engine) Capacity(ctx context.Context, namespace string) (*job.Capacity, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return &job.Capacity{
		Source: "local engine on this machine (odh-server --slots)",
		Resources: []job.ResourceCapacity{{
			Name: "slots", Hard: strconv.Itoa(e.slots), Used: strconv.Itoa(e.used), Available: strconv.Itoa(max(e.slots-e.used, 0)),
		}},
	}, nil
}
