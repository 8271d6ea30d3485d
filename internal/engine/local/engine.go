// Package local is the embedded local engine: it runs MPI jobs on this
// machine with the machine's own MPI (Open MPI, MPICH or Intel MPI), keeps
// job records, events and per-rank logs in a state directory that survives
// restarts, queues jobs beyond a capacity counted in MPI ranks, and kills
// every process of a job when it is deleted, suspended or past its
// deadline. docs/dev/local-engine.md describes the design.
package local

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

var _ engine.Engine = (*Engine)(nil)

// Options configure the local engine.
type Options struct {
	// StateDir holds job records, events and logs. Required.
	StateDir string
	// Slots is the capacity in MPI ranks: jobs start while the ranks of
	// the running jobs fit, the others wait in a FIFO queue. 0 means twice
	// the number of CPUs (MPI jobs often wait on communication, so a
	// little oversubscription keeps the cores busy).
	Slots int
	// Logger receives the engine's own logs; nil means slog.Default().
	Logger *slog.Logger
	// WorkDir is the working directory of jobs that set no
	// spec.workingDir, so relative paths in a command resolve against it.
	// "" means the server's working directory when New is called.
	WorkDir string
	// KillGrace is how long processes get between SIGTERM and SIGKILL.
	// 0 means 3 seconds.
	KillGrace time.Duration
	// Launchers overrides the launcher binary per implementation (a path
	// or a name looked up in PATH).
	Launchers map[job.MPIImplementation]string
	// Executable is the binary run as the rank wrapper (it must call
	// MaybeRankExec first thing). "" means os.Executable().
	Executable string
	// MetricsInterval is how often the CPU and memory of running jobs are
	// sampled. 0 means 2 seconds; negative disables sampling.
	MetricsInterval time.Duration
}

// DefaultSlots is the capacity used when Options.Slots is 0.
func DefaultSlots() int { return 2 * runtime.NumCPU() }

type key struct{ namespace, name string }

// Engine is the local engine. Create it with New and stop it with Close.
type Engine struct {
	log        *slog.Logger
	stateDir   string
	jobsDir    string
	workDir    string
	slots      int
	grace      time.Duration
	self       string
	marker     string // EnvStateMarker value
	ncpu       int
	lockFile   *os.File
	mpi        *mpiDetector
	notify     *net.UnixConn
	notifyEnv  string
	token      string
	quit       chan struct{}
	sampler    *sampler
	spawnCh    chan spawnReq
	wg         sync.WaitGroup // executions and deletions
	notifyDone chan struct{}

	mu       sync.Mutex
	jobs     map[key]*record
	order    []*record // every record, sorted by namespace and name (for List)
	byUID    map[string]*record
	queue    []*record // Queued jobs in FIFO (seq) order
	used     int       // slots held by starting or running jobs
	rv       uint64
	rvHigh   uint64
	seq      uint64
	watchers *engine.Watchers
	closed   bool
}

// record is the engine's state for one job. Fields are guarded by e.mu
// except the persistence fields (pmu).
type record struct {
	dir      string
	j        *job.MPIJob // immutable snapshot, replaced on every change
	events   []engine.JobEvent
	seq      uint64
	run      *run
	ttl      *time.Timer
	changed  chan struct{} // closed and replaced on every change
	deleting bool
	removed  bool
	gone     chan struct{} // closed once the record and its files are removed

	pmu    sync.Mutex
	wseq   uint64 // last marshalled version
	synced uint64 // last version on disk
	erased bool   // directory removed: never write again
}

func (r *record) key() key { return key{r.j.Metadata.Namespace, r.j.Metadata.Name} }

// New opens (or creates) the state directory, recovers the jobs recorded
// there and starts the engine. Jobs that were starting or running when the
// previous server stopped are marked Failed with reason ServerRestarted;
// queued jobs are queued again; processes the previous server left behind
// are killed.
func New(opts Options) (*Engine, error) {
	if opts.StateDir == "" {
		return nil, errors.New("local engine: a state directory is required")
	}
	stateDir, err := filepath.Abs(opts.StateDir)
	if err != nil {
		return nil, fmt.Errorf("local engine: state directory: %w", err)
	}
	e := &Engine{
		log:      opts.Logger,
		stateDir: stateDir,
		jobsDir:  filepath.Join(stateDir, "jobs"),
		workDir:  opts.WorkDir,
		slots:    opts.Slots,
		grace:    opts.KillGrace,
		self:     opts.Executable,
		ncpu:     runtime.NumCPU(),
		mpi:      &mpiDetector{overrides: opts.Launchers},
		quit:     make(chan struct{}),
		sampler:  newSampler(opts.MetricsInterval),
		spawnCh:  make(chan spawnReq),
		jobs:     map[key]*record{},
		byUID:    map[string]*record{},
		watchers: engine.NewWatchers(watchBuffer),
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	e.log = e.log.With("engine", "local")
	if e.slots <= 0 {
		e.slots = DefaultSlots()
	}
	if e.grace <= 0 {
		e.grace = 3 * time.Second
	}
	if e.workDir == "" {
		if e.workDir, err = os.Getwd(); err != nil {
			return nil, fmt.Errorf("local engine: working directory: %w", err)
		}
	}
	if e.self == "" {
		if e.self, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("local engine: find own executable for the rank wrapper: %w", err)
		}
	}
	sum := sha256.Sum256([]byte(stateDir))
	e.marker = hex.EncodeToString(sum[:8])
	if err := os.MkdirAll(e.jobsDir, 0o755); err != nil {
		return nil, fmt.Errorf("local engine: create state directory: %w", err)
	}
	if e.lockFile, err = lockStateDir(stateDir); err != nil {
		return nil, fmt.Errorf("local engine: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			e.lockFile.Close()
		}
	}()
	// Processes a previous instance left behind would compete for the
	// machine and write into logs of jobs that are over: kill them first.
	if n := e.killMarked(EnvStateMarker, e.marker); n > 0 {
		e.log.Warn("killed processes left by a previous server", "count", n)
	}
	if err := e.load(); err != nil {
		return nil, err
	}
	if err := e.listenNotify(); err != nil {
		return nil, fmt.Errorf("local engine: %w", err)
	}
	go e.spawnLoop()
	go e.sampleLoop()
	for _, impl := range job.MPIImplementations {
		if in, err := e.mpi.get(impl); err == nil {
			e.log.Info("MPI implementation found", "implementation", impl, "launcher", in.path, "version", in.version)
		}
	}
	t := e.lock()
	t.schedule()
	t.unlock()
	ok = true
	return e, nil
}

// load reads every record and recovers interrupted jobs.
func (e *Engine) load() error {
	var st engineState
	if b, err := os.ReadFile(filepath.Join(e.stateDir, "engine.json")); err == nil {
		if err := json.Unmarshal(b, &st); err != nil {
			e.log.Error("engine state unreadable; resource versions restart from the records", "error", err)
		}
	}
	e.rv = st.ResourceVersion
	ents, err := os.ReadDir(e.jobsDir)
	if err != nil {
		return fmt.Errorf("local engine: read %s: %w", e.jobsDir, err)
	}
	t := e.lock()
	defer t.unlock()
	for _, ent := range ents {
		if !ent.IsDir() {
			continue
		}
		dir := filepath.Join(e.jobsDir, ent.Name())
		dr, err := loadRecord(dir)
		if err == nil {
			if other, dup := e.jobs[key{dr.Job.Metadata.Namespace, dr.Job.Metadata.Name}]; dup {
				err = fmt.Errorf("job %s/%s is also recorded in %s", dr.Job.Metadata.Namespace, dr.Job.Metadata.Name, other.dir)
			}
		}
		if err != nil {
			dst, mvErr := setAside(e.stateDir, dir)
			e.log.Error("job record unreadable; kept aside", "dir", dir, "movedTo", dst, "error", err, "moveError", mvErr)
			continue
		}
		dr.Job.Upstream = nil
		rec := &record{dir: dir, j: dr.Job, events: dr.Events, seq: dr.Seq, changed: make(chan struct{}), gone: make(chan struct{})}
		if rv, _ := strconv.ParseUint(dr.Job.Metadata.ResourceVersion, 10, 64); rv > e.rv {
			e.rv = rv
		}
		e.seq = max(e.seq, rec.seq)
		e.jobs[rec.key()] = rec
		e.index(rec)
		e.byUID[dr.Job.Metadata.UID] = rec
	}
	e.rvHigh = e.rv // force a reservation before the first version is used
	for _, rec := range e.sortedRecords() {
		e.recover(t, rec)
	}
	return nil
}

// recover brings a loaded job to a consistent state.
func (e *Engine) recover(t *txn, rec *record) {
	now := time.Now().UTC()
	switch rec.j.Status.Phase {
	case job.PhaseDeleting:
		rec.deleting = true
		e.wg.Add(1)
		t.after = append(t.after, func() { go e.removeWhenStopped(rec, nil) })
	case job.PhasePending, job.PhaseStarting, job.PhaseRunning:
		was := rec.j.Status.Phase
		attempt := rec.j.Status.Attempts
		msg := fmt.Sprintf("the odh-server that ran this job stopped unexpectedly while the job was %s (attempt %d); its processes were killed. Logs up to that point are kept; create the job again to rerun it", was, attempt)
		ranks := e.readRankStatuses(rec, attempt)
		t.event(rec, "Warning", job.ReasonServerRestarted, msg, job.LauncherName)
		t.update(rec, true, func(j *job.MPIJob) {
			if attempt > 0 {
				applyRankStatuses(j, ranks, attempt, true)
				if j.Status.Launcher != nil && j.Status.Launcher.State != job.StateSucceeded && j.Status.Launcher.State != job.StateFailed {
					j.Status.Launcher.State = job.StateFailed
					j.Status.Launcher.Reason = job.ReasonServerRestarted
					j.Status.Launcher.FinishTime = now
				}
			}
			j.Status.QueuePosition = 0
			j.Status.CompletionTime = now
			j.Status.SetPhase(job.PhaseFailed, job.ReasonServerRestarted, msg, now)
		})
		e.armTTL(rec)
	case job.PhaseQueued:
		e.enqueue(rec)
	case job.PhaseSucceeded, job.PhaseFailed:
		e.armTTL(rec)
	}
}

func (e *Engine) sortedRecords() []*record {
	out := make([]*record, 0, len(e.jobs))
	for _, r := range e.jobs {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *record) int {
		if c := strings.Compare(a.j.Metadata.Namespace, b.j.Metadata.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.j.Metadata.Name, b.j.Metadata.Name)
	})
	return out
}

// Close stops the engine: running jobs are stopped (their processes
// killed) and marked Failed with reason ServerRestarted, queued jobs stay
// queued for the next start, records and logs stay on disk. Watches end.
func (e *Engine) Close(ctx context.Context) error {
	t := e.lock()
	if e.closed {
		t.unlock()
		return nil
	}
	e.closed = true
	var stop []*run
	for _, rec := range e.jobs {
		if rec.ttl != nil {
			rec.ttl.Stop()
		}
		if r := rec.run; r != nil && r.stop == stopNone {
			r.stop = stopShutdown
			if r.pid != 0 {
				stop = append(stop, r)
			}
		}
	}
	e.watchers.Close(job.Errorf(job.KindUnavailable, "the server is shutting down; watch again when it is back"))
	t.unlock()
	for _, r := range stop {
		go e.killTree(r)
	}
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("local engine: close: jobs still stopping: %w", ctx.Err())
	}
	close(e.quit)
	e.notify.Close()
	<-e.notifyDone
	e.lockFile.Close()
	return err
}

// Info describes the engine and the MPI implementations found.
func (e *Engine) Info(ctx context.Context) engine.Info {
	var vs []string
	for _, impl := range job.MPIImplementations {
		if in, err := e.mpi.get(impl); err == nil {
			vs = append(vs, in.version)
		}
	}
	v := strings.Join(vs, ", ")
	if v == "" {
		v = "no MPI implementation found"
	}
	return engine.Info{Name: "local", Version: v}
}

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
	e.broadcast(engine.Deleted, last, last)
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
func (e *Engine) Events(ctx context.Context, namespace, name string) ([]engine.JobEvent, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rec, ok := e.jobs[key{namespace, name}]
	if !ok {
		return nil, job.NotFound(namespace, name)
	}
	return slices.Clone(rec.events), nil
}

// Capacity reports the engine's slots; namespaces share them.
func (e *Engine) Capacity(ctx context.Context, namespace string) (*engine.Capacity, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return &engine.Capacity{
		Source: "local engine on this machine (odh-server --slots)",
		Resources: []engine.ResourceCapacity{{
			Name: "slots", Hard: strconv.Itoa(e.slots), Used: strconv.Itoa(e.used), Available: strconv.Itoa(max(e.slots-e.used, 0)),
		}},
	}, nil
}

// enqueue inserts a job into the FIFO queue by its sequence number.
func (e *Engine) enqueue(rec *record) {
	if slices.Contains(e.queue, rec) {
		return
	}
	i, _ := slices.BinarySearchFunc(e.queue, rec.seq, func(r *record, s uint64) int {
		switch {
		case r.seq < s:
			return -1
		case r.seq > s:
			return 1
		}
		return 0
	})
	e.queue = slices.Insert(e.queue, i, rec)
}

func (e *Engine) dequeue(rec *record) {
	if i := slices.Index(e.queue, rec); i >= 0 {
		e.queue = slices.Delete(e.queue, i, i+1)
	}
}

// nextRV returns the next resource version. Versions are reserved on disk
// in blocks so they keep increasing across restarts.
func (e *Engine) nextRV() uint64 {
	e.rv++
	if e.rv >= e.rvHigh {
		e.rvHigh = e.rv + rvReserveBlock
		b, _ := json.Marshal(engineState{ResourceVersion: e.rvHigh})
		if err := writeFileAtomic(filepath.Join(e.stateDir, "engine.json"), b, true); err != nil {
			e.log.Error("save engine state", "error", err)
		}
	}
	return e.rv
}

func newUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// killMarked kills every process whose environment has key=value: SIGTERM,
// then SIGKILL after the grace period, until none is left. It returns how
// many processes it found.
func (e *Engine) killMarked(k, value string) int {
	deadline := time.Now().Add(e.grace)
	seen := map[int]bool{}
	for {
		pids := markedProcs(listProcs(), k, value)
		if len(pids) == 0 {
			return len(seen)
		}
		for _, p := range pids {
			seen[p] = true
		}
		sig := syscall.SIGTERM
		if time.Now().After(deadline) {
			sig = syscall.SIGKILL
		}
		signalPIDs(pids, sig)
		time.Sleep(20 * time.Millisecond)
	}
}
