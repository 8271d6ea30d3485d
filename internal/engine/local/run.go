package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/progress"
)

// stopReason says why the engine stopped a run.
type stopReason int

const (
	stopNone stopReason = iota
	stopDelete
	stopSuspend
	stopDeadline
	stopShutdown
	// stopFailFast: a rank failed and the launcher did not end the job by
	// itself (Hydra waits for the other ranks of non-MPI programs); the
	// outcome is judged as usual.
	stopFailFast
)

// failFastDelay is how long the launcher gets to end a job after a rank
// failed (and print its own report) before the engine stops the rest.
const failFastDelay = 500 * time.Millisecond

// run is one attempt of a job: one launcher process and its ranks.
type run struct {
	uid      string
	attempt  int32
	dir      string
	workers  int32
	slots    int32
	ranks    int32
	wrapped  bool
	launcher string

	// Guarded by e.mu.
	pid      int
	stop     stopReason
	live     []*rankStatus // from the wrappers' datagrams
	deadline *time.Timer

	exited chan struct{} // the launcher has been waited for
	done   chan struct{} // the attempt is over and its outcome recorded
	logs   notifier      // fired on every in-process log write
}

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

// spawnLoop starts launchers from one goroutine locked to its OS thread:
// Pdeathsig fires when the thread that forked the child exits, and this
// thread lives as long as the engine.
func (e *Engine) spawnLoop() {
	runtime.LockOSThread()
	for {
		select {
		case req := <-e.spawnCh:
			req.done <- req.cmd.Start()
		case <-e.quit:
			return
		}
	}
}

func (e *Engine) spawn(cmd *exec.Cmd) error {
	req := spawnReq{cmd: cmd, done: make(chan error, 1)}
	select {
	case e.spawnCh <- req:
		return <-req.done
	case <-e.quit:
		return errors.New("engine closed")
	}
}

// start begins a new attempt of a queued job; called with e.mu held and
// capacity available.
func (t *txn) start(rec *record) {
	e := t.e
	spec := &rec.j.Spec
	attempt := rec.j.Status.Attempts + 1
	r := &run{
		uid:     rec.j.Metadata.UID,
		attempt: attempt,
		dir:     filepath.Join(rec.dir, "attempts", strconv.Itoa(int(attempt))),
		workers: spec.Replicas(),
		slots:   spec.Slots(),
		ranks:   spec.Ranks(),
		live:    make([]*rankStatus, spec.Ranks()),
		exited:  make(chan struct{}),
		done:    make(chan struct{}),
	}
	rec.run = r
	e.used += int(r.ranks)
	now := time.Now().UTC()
	msg := fmt.Sprintf("starting attempt %d: %d MPI ranks on %d workers", attempt, r.ranks, r.workers)
	t.update(rec, false, func(j *job.MPIJob) {
		s := &j.Status
		s.Attempts = attempt
		if s.StartTime.IsZero() {
			s.StartTime = now
		}
		s.CompletionTime = time.Time{}
		s.QueuePosition = 0
		s.ExitCode, s.FirstFailedRank, s.FirstFailedWorker = nil, nil, nil
		s.Launcher = &job.ReplicaStatus{Name: job.LauncherName, Index: -1, State: job.StatePending, Restarts: attempt - 1}
		s.WorkerStatuses = make([]job.ReplicaStatus, r.workers)
		for w := range r.workers {
			s.WorkerStatuses[w] = job.ReplicaStatus{Name: job.WorkerName(w), Index: w, State: job.StatePending, Restarts: attempt - 1, Ranks: workerRanks(w, r.slots)}
		}
		s.CountWorkers(r.workers)
		s.SetPhase(job.PhaseStarting, job.ReasonStarted, msg, now)
	})
	e.wg.Add(1)
	t.after = append(t.after, func() { go e.execute(rec, r) })
}

func workerRanks(w, slots int32) []int32 {
	out := make([]int32, slots)
	for i := range slots {
		out[i] = w*slots + i
	}
	return out
}

type commandFile struct {
	Argv    []string `json:"argv"`
	Dir     string   `json:"dir"`
	Wrapped bool     `json:"wrapped"`
}

// execute runs one attempt from launch to outcome.
func (e *Engine) execute(rec *record, r *run) {
	defer e.wg.Done()
	defer close(r.done)
	e.mu.Lock()
	j := rec.j
	stop := r.stop
	e.mu.Unlock()

	fail := func(reason, msg string) {
		t := e.lock()
		e.finish(t, rec, r, outcome{reason: reason, message: msg, launcherCode: -1})
		t.unlock()
	}
	if stop != stopNone {
		t := e.lock()
		e.finish(t, rec, r, outcome{launcherCode: -1, notStarted: true})
		t.unlock()
		return
	}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		fail(job.ReasonLauncherFailed, fmt.Sprintf("cannot create the attempt directory: %v", err))
		return
	}
	p, _, err := e.admit(j)
	if err != nil {
		reason := job.ReasonLauncherFailed
		var je *job.Error
		if errors.As(err, &je) && len(je.Fields) > 0 && je.Fields[0].Field == "spec.mpiImplementation" {
			reason = job.ReasonMPINotInstalled
		}
		fail(reason, strings.TrimSpace(strings.ReplaceAll(err.Error(), "\n  * ", " ")))
		return
	}
	r.wrapped = p.wrapped
	argv := p.argv(e.self, r.dir)
	r.launcher = argv[0]
	wd := j.Spec.WorkingDir
	if wd == "" {
		wd = e.workDir
	}
	if b, err := json.MarshalIndent(commandFile{Argv: argv, Dir: wd, Wrapped: p.wrapped}, "", " "); err == nil {
		_ = writeFileAtomic(filepath.Join(r.dir, "command.json"), b, false)
	}
	lw, err := openLogWriter(filepath.Join(r.dir, "launcher.log"))
	if err != nil {
		fail(job.ReasonLauncherFailed, fmt.Sprintf("cannot create the launcher log: %v", err))
		return
	}
	lw.notify = r.logs.fire
	outR, outW, err1 := os.Pipe()
	errR, errW, err2 := os.Pipe()
	if err := errors.Join(err1, err2); err != nil {
		lw.Close()
		fail(job.ReasonLauncherFailed, fmt.Sprintf("cannot create pipes: %v", err))
		return
	}
	cmd := &exec.Cmd{
		Path:        argv[0],
		Args:        argv,
		Dir:         wd,
		Env:         e.jobEnv(j, p),
		Stdout:      outW,
		Stderr:      errW,
		SysProcAttr: childSysProcAttr(true),
	}
	err = e.spawn(cmd)
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		lw.Close()
		reason, msg := job.ReasonLauncherFailed, fmt.Sprintf("cannot start %s: %v", argv[0], err)
		if errors.Is(err, fs.ErrNotExist) {
			reason = job.ReasonMPINotInstalled
			msg = fmt.Sprintf("the launcher %s is not installed: %v", argv[0], err)
		}
		if errors.Is(err, fs.ErrNotExist) && j.Spec.WorkingDir != "" {
			if _, serr := os.Stat(j.Spec.WorkingDir); serr != nil {
				reason, msg = job.ReasonLauncherFailed, fmt.Sprintf("spec.workingDir %s does not exist on this machine", j.Spec.WorkingDir)
			}
		}
		fail(reason, msg)
		return
	}
	// Capture the launcher's output; when ranks are not wrapped, split
	// their tagged lines into per-rank files.
	var copying sync.WaitGroup
	var demux *demuxer
	if !p.wrapped {
		demux = &demuxer{dir: r.dir, fl: p.flavour, writers: map[int]*logWriter{}, notify: r.logs.fire}
		// Unwrapped ranks: their reports are found here, in the server.
		demux.tap = newProgressTap(progressInterval, func(rep progress.Report) { e.onProgress(r.uid, r.attempt, rep) })
	}
	for _, s := range []struct {
		r      *os.File
		stream string
	}{{outR, "stdout"}, {errR, "stderr"}} {
		copying.Add(1)
		go func() {
			defer copying.Done()
			defer s.r.Close()
			if demux != nil {
				demux.copy(s.r, lw, s.stream)
			} else {
				copyLines(s.r, lw, s.stream, nil)
			}
		}()
	}

	t := e.lock()
	r.pid = cmd.Process.Pid
	stopNow := r.stop != stopNone
	if !stopNow {
		e.running(t, rec, r)
	}
	t.unlock()
	if stopNow {
		go e.killTree(r)
	}

	werr := cmd.Wait()
	close(r.exited)
	code := 0
	signal := ""
	if werr != nil {
		var ee *exec.ExitError
		if errors.As(werr, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				code = 128 + int(ws.Signal())
				signal = signalName(ws.Signal())
			} else {
				code = ee.ExitCode()
			}
		} else {
			code = -1
		}
	}
	// No process of the job may outlive its launcher.
	e.killTree(r)
	waitTimeout(&copying, 2*time.Second)
	lw.Close()
	if demux != nil {
		demux.close()
		demux.flushProgress()
	}
	t = e.lock()
	e.finish(t, rec, r, outcome{launcherCode: code, launcherSignal: signal})
	t.unlock()
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// running records that the launcher started and arms the deadline.
func (e *Engine) running(t *txn, rec *record, r *run) {
	now := time.Now().UTC()
	launcher := filepath.Base(r.launcher)
	t.event(rec, "Normal", job.ReasonStarted, fmt.Sprintf("attempt %d started: %d MPI ranks (launcher pid %d)", r.attempt, r.ranks, r.pid), job.LauncherName)
	t.update(rec, false, func(j *job.MPIJob) {
		j.Status.Launcher.State = job.StateRunning
		j.Status.Launcher.StartTime = now
		j.Status.Launcher.Node = hostname()
		if !r.wrapped {
			for i := range j.Status.WorkerStatuses {
				w := &j.Status.WorkerStatuses[i]
				w.State, w.StartTime, w.Node = job.StateRunning, now, hostname()
			}
			j.Status.CountWorkers(r.workers)
		}
		j.Status.SetPhase(job.PhaseRunning, job.ReasonRunning, fmt.Sprintf("attempt %d running: %d MPI ranks (%s)", r.attempt, r.ranks, launcher), now)
	})
	if ads := rec.j.Spec.RunPolicy.ActiveDeadlineSeconds; ads != nil {
		d := time.Until(rec.j.Status.StartTime.Add(time.Duration(*ads) * time.Second))
		r.deadline = time.AfterFunc(max(d, 0), func() { e.stopRun(rec, r, stopDeadline) })
	}
}

func (e *Engine) stopRun(rec *record, r *run, why stopReason) {
	e.mu.Lock()
	if rec.run != r || r.stop != stopNone {
		e.mu.Unlock()
		return
	}
	r.stop = why
	pid := r.pid
	e.mu.Unlock()
	if pid != 0 {
		e.killTree(r)
	}
}

var hostname = sync.OnceValue(func() string {
	h, _ := os.Hostname()
	return h
})

// jobEnv is the launcher's environment: the server's, then the job's
// variables, then the markers.
func (e *Engine) jobEnv(j *job.MPIJob, p *plan) []string {
	set := map[string]string{}
	var order []string
	put := func(k, v string) {
		if _, ok := set[k]; !ok {
			order = append(order, k)
		}
		set[k] = v
	}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		put(k, v)
	}
	for _, ev := range j.Spec.Env {
		put(ev.Name, ev.Value)
	}
	if p.flavour == flavourOpenMPI && os.Geteuid() == 0 {
		put("OMPI_ALLOW_RUN_AS_ROOT", "1")
		put("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
	}
	put(EnvJobUID, j.Metadata.UID)
	put(EnvStateMarker, e.marker)
	if p.wrapped {
		put(envNotify, e.notifyEnv) // the wrapper removes it before the program runs
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+set[k])
	}
	return out
}
