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
	events   []job.Event
	seq      uint64
	run      *run
	ttl      *time.Timer
	changed  chan struct{} // closed and replaced on every change
	deleting bool
	removed  bool
	gone     chan struct{} // closed once the record and its files are removed
	progress *jobProgress  // nil until the job reports (or while finished)

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
