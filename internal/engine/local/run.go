package local

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/odh-training/odh-training/internal/job"
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

// notifier wakes log followers.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

func (n *notifier) fire() {
	n.mu.Lock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
	n.mu.Unlock()
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
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
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
				copyLines(s.r, lw, s.stream)
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

// killTree stops every process of the run: the launcher's process group
// and descendants while it lives, and every process carrying the job's
// marker. SIGTERM first, SIGKILL after the grace period; it returns when
// the launcher has exited and no marked process is left.
func (e *Engine) killTree(r *run) {
	deadline := time.Now().Add(e.grace)
	e.mu.Lock()
	pid := r.pid
	e.mu.Unlock()
	for {
		exited := false
		select {
		case <-r.exited:
			exited = true
		default:
		}
		procs := listProcs()
		pids := markedProcs(procs, EnvJobUID, r.uid)
		sig := syscall.SIGTERM
		if time.Now().After(deadline) {
			sig = syscall.SIGKILL
		}
		if !exited && pid > 0 {
			// Only while the launcher is unreaped are its pid and group
			// surely still ours.
			pids = append(pids, descendants(procs, pid)...)
			_ = syscall.Kill(-pid, sig)
			_ = syscall.Kill(pid, sig)
		}
		if exited && len(pids) == 0 {
			return
		}
		signalPIDs(pids, sig)
		select {
		case <-r.exited:
			if !exited {
				continue
			}
			time.Sleep(20 * time.Millisecond)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// outcome is how an attempt ended.
type outcome struct {
	launcherCode   int
	launcherSignal string
	notStarted     bool
	reason         string // set when the attempt failed before launching
	message        string
}

// finish records the end of an attempt; called with e.mu held.
func (e *Engine) finish(t *txn, rec *record, r *run, o outcome) {
	if r.deadline != nil {
		r.deadline.Stop()
	}
	e.used -= int(r.ranks)
	if rec.run == r {
		rec.run = nil
	}
	defer t.schedule()
	if r.stop == stopDelete || rec.deleting || rec.removed {
		return
	}
	now := time.Now().UTC()
	ranks := e.readRankStatuses(rec, r.attempt)
	for i, s := range r.live {
		if ranks[i] == nil && s != nil {
			ranks[i] = s
		}
	}
	var tail string
	if !r.wrapped && o.launcherCode != 0 && !o.notStarted {
		tail = readTail(filepath.Join(r.dir, "launcher.log"), 40)
		parseLauncherFailure(tail, ranks)
	}
	// The attempt's verdict, before run policy.
	reason, msg := o.reason, o.message
	var firstRank *rankStatus
	if reason == "" && !o.notStarted {
		firstRank = firstFailure(ranks)
		switch {
		case firstRank != nil && firstRank.Error == rankErrNotFound:
			reason = job.ReasonExecutableNotFound
			msg = fmt.Sprintf("%s (rank %d on %s)", firstRank.Message, firstRank.Rank, job.WorkerName(firstRank.Rank/r.slots))
		case firstRank != nil:
			reason = job.ReasonRankFailed
			msg = describeRankFailure(firstRank, r.slots)
		case o.launcherCode != 0:
			reason = job.ReasonLauncherFailed
			if tail == "" {
				tail = readTail(filepath.Join(r.dir, "launcher.log"), 40)
			}
			launcher := filepath.Base(r.launcher)
			msg = fmt.Sprintf("%s exited with code %d", launcher, o.launcherCode)
			if o.launcherSignal != "" {
				msg = fmt.Sprintf("%s was killed by %s", launcher, o.launcherSignal)
			}
			if s := summarize(tail); s != "" {
				msg += ": " + s
			}
		}
	}
	update := func(j *job.MPIJob) {
		applyRankStatuses(j, ranks, r.attempt, true)
		if l := j.Status.Launcher; l != nil {
			l.FinishTime = now
			if !o.notStarted && o.launcherCode >= 0 {
				l.ExitCode = new(int32(o.launcherCode))
			}
			switch {
			case o.launcherCode == 0 && !o.notStarted:
				l.State = job.StateSucceeded
			default:
				l.State = job.StateFailed
			}
		}
		if firstRank != nil {
			j.Status.FirstFailedRank = new(firstRank.Rank)
			j.Status.FirstFailedWorker = new(firstRank.Rank / r.slots)
			j.Status.ExitCode = new(firstRank.ExitCode)
		} else if reason != "" && o.launcherCode > 0 {
			j.Status.ExitCode = new(int32(o.launcherCode))
		}
	}
	terminal := func(j *job.MPIJob) {
		j.Status.CompletionTime = now
		j.Status.QueuePosition = 0
	}
	switch r.stop {
	case stopSuspend:
		m := fmt.Sprintf("suspended: attempt %d was stopped; resume the job to start it again from scratch", r.attempt)
		t.event(rec, "Normal", job.ReasonSuspended, m, "")
		t.update(rec, true, func(j *job.MPIJob) {
			update(j)
			j.Status.StartTime = time.Time{}
			j.Status.SetPhase(job.PhaseSuspended, job.ReasonSuspended, m, now)
		})
		return
	case stopDeadline:
		ads := *rec.j.Spec.RunPolicy.ActiveDeadlineSeconds
		m := fmt.Sprintf("the job ran longer than spec.runPolicy.activeDeadlineSeconds (%ds) and was stopped during attempt %d", ads, r.attempt)
		t.event(rec, "Warning", job.ReasonDeadlineExceeded, m, "")
		t.update(rec, true, func(j *job.MPIJob) {
			update(j)
			terminal(j)
			j.Status.SetPhase(job.PhaseFailed, job.ReasonDeadlineExceeded, m, now)
		})
		e.armTTL(rec)
		return
	case stopShutdown:
		m := fmt.Sprintf("the odh-server shut down while the job was running (attempt %d); its processes were stopped. Logs up to that point are kept; create the job again to rerun it", r.attempt)
		t.event(rec, "Warning", job.ReasonServerRestarted, m, "")
		t.update(rec, true, func(j *job.MPIJob) {
			update(j)
			terminal(j)
			j.Status.SetPhase(job.PhaseFailed, job.ReasonServerRestarted, m, now)
		})
		return
	}
	if reason == "" {
		m := fmt.Sprintf("all %d MPI ranks exited with code 0 (attempt %d)", r.ranks, r.attempt)
		t.event(rec, "Normal", job.ReasonSucceeded, m, "")
		t.update(rec, true, func(j *job.MPIJob) {
			update(j)
			terminal(j)
			j.Status.ExitCode = new(int32(0))
			j.Status.SetPhase(job.PhaseSucceeded, job.ReasonSucceeded, m, now)
		})
		e.armTTL(rec)
		return
	}
	limit := rec.j.Spec.BackoffLimit()
	if r.attempt <= limit && !e.closed {
		m := fmt.Sprintf("attempt %d failed: %s; retrying (attempt %d of at most %d)", r.attempt, msg, r.attempt+1, limit+1)
		t.event(rec, "Warning", job.ReasonRetrying, m, "")
		t.update(rec, false, func(j *job.MPIJob) {
			update(j)
			j.Status.SetPhase(job.PhasePending, job.ReasonRetrying, m, now)
		})
		e.enqueue(rec)
		return
	}
	final, m := reason, msg
	if limit > 0 {
		final = job.ReasonBackoffLimit
		m = fmt.Sprintf("failed %d attempts (spec.runPolicy.backoffLimit is %d); last failure: %s", r.attempt, limit, msg)
	}
	t.event(rec, "Warning", final, m, "")
	t.update(rec, true, func(j *job.MPIJob) {
		update(j)
		terminal(j)
		j.Status.SetPhase(job.PhaseFailed, final, m, now)
	})
	e.armTTL(rec)
}

// armTTL schedules removal of a finished job; called with e.mu held.
func (e *Engine) armTTL(rec *record) {
	ttl := rec.j.Spec.RunPolicy.TTLSecondsAfterFinished
	if ttl == nil || !rec.j.Status.Phase.Terminal() || e.closed {
		return
	}
	at := rec.j.Status.CompletionTime.Add(time.Duration(*ttl) * time.Second)
	if rec.ttl != nil {
		rec.ttl.Stop()
	}
	rec.ttl = time.AfterFunc(max(time.Until(at), 0), func() {
		t := e.lock()
		if !rec.deleting && !rec.removed && !e.closed {
			e.startDelete(t, rec, fmt.Sprintf("removing the finished job: spec.runPolicy.ttlSecondsAfterFinished (%ds) has passed", *ttl))
		}
		t.unlock()
	})
}

func describeRankFailure(s *rankStatus, slots int32) string {
	w := job.WorkerName(s.Rank / slots)
	switch {
	case s.Error != "":
		return fmt.Sprintf("rank %d on %s: %s", s.Rank, w, s.Message)
	case s.Signal != "":
		return fmt.Sprintf("rank %d on %s was killed by %s (exit code %d)", s.Rank, w, s.Signal, s.ExitCode)
	case !s.Exited:
		return fmt.Sprintf("rank %d on %s ended without reporting an exit status", s.Rank, w)
	}
	return fmt.Sprintf("rank %d on %s exited with code %d", s.Rank, w, s.ExitCode)
}

// firstFailure is the rank that failed first (by finish time, then rank).
func firstFailure(ranks []*rankStatus) *rankStatus {
	var first *rankStatus
	for _, s := range ranks {
		if s == nil || !s.Failed() {
			continue
		}
		if first == nil || s.Finished.Before(first.Finished) {
			first = s
		}
	}
	return first
}

// readRankStatuses reads the rank-<r>.json files of an attempt.
func (e *Engine) readRankStatuses(rec *record, attempt int32) []*rankStatus {
	n := rec.j.Spec.Ranks()
	out := make([]*rankStatus, n)
	if attempt <= 0 {
		return out
	}
	dir := filepath.Join(rec.dir, "attempts", strconv.Itoa(int(attempt)))
	for i := range n {
		b, err := os.ReadFile(filepath.Join(dir, "rank-"+strconv.Itoa(int(i))+".json"))
		if err != nil {
			continue
		}
		var s rankStatus
		if json.Unmarshal(b, &s) == nil && s.Rank == i {
			out[i] = &s
		}
	}
	return out
}

// applyRankStatuses derives the workers' status from their ranks. With
// over, ranks that never reported are over too.
func applyRankStatuses(j *job.MPIJob, ranks []*rankStatus, attempt int32, over bool) {
	slots := j.Spec.Slots()
	workers := j.Spec.Replicas()
	st := &j.Status
	if len(st.WorkerStatuses) != int(workers) {
		st.WorkerStatuses = make([]job.ReplicaStatus, workers)
		for w := range workers {
			st.WorkerStatuses[w] = job.ReplicaStatus{Name: job.WorkerName(w), Index: w, Restarts: max(attempt-1, 0), Ranks: workerRanks(w, slots)}
		}
	}
	anyKnown := false
	for _, s := range ranks {
		anyKnown = anyKnown || s != nil
	}
	for w := range workers {
		ws := &st.WorkerStatuses[w]
		if !anyKnown && ws.State != job.StatePending && ws.State != "" {
			// Unwrapped run: keep what the launcher told.
			if over && ws.State == job.StateRunning {
				ws.State = job.StateUnknown
			}
			continue
		}
		var started, exited, running int
		var fail *rankStatus
		ws.StartTime, ws.FinishTime = time.Time{}, time.Time{}
		for _, rk := range workerRanks(w, slots) {
			if int(rk) >= len(ranks) {
				continue
			}
			s := ranks[rk]
			if s == nil {
				continue
			}
			started++
			if ws.StartTime.IsZero() || s.Started.Before(ws.StartTime) {
				ws.StartTime = s.Started
			}
			if s.Exited {
				exited++
				if s.Finished.After(ws.FinishTime) {
					ws.FinishTime = s.Finished
				}
				if s.Failed() && (fail == nil || s.Finished.Before(fail.Finished)) {
					fail = s
				}
			} else {
				running++
			}
		}
		ws.Node = hostname()
		ws.Ready = running == int(slots)
		ws.Reason, ws.Message, ws.ExitCode = "", "", nil
		switch {
		case fail != nil:
			ws.State = job.StateFailed
			ws.ExitCode = new(fail.ExitCode)
			ws.Reason = job.ReasonRankFailed
			if fail.Error == rankErrNotFound {
				ws.Reason = job.ReasonExecutableNotFound
			}
			ws.Message = describeRankFailure(fail, slots)
		case exited == int(slots):
			ws.State = job.StateSucceeded
			ws.ExitCode = new(int32(0))
		case over && started > 0:
			ws.State = job.StateFailed
			ws.Reason = "Stopped"
			ws.Message = "the worker's ranks were stopped before they finished"
		case over:
			ws.State = job.StateFailed
			ws.Reason = "NotStarted"
			ws.Message = "no rank of this worker started"
		case started > 0:
			ws.State = job.StateRunning
		default:
			ws.State = job.StatePending
		}
		if !over && ws.State == job.StateRunning {
			ws.FinishTime = time.Time{}
		}
	}
	st.CountWorkers(workers)
}

// readTail returns the text of the last n lines of a log file.
func readTail(path string, n int) string {
	off, err := tailOffset(path, n)
	if err != nil {
		return ""
	}
	c := &logCursor{path: path, off: off}
	recs, _ := c.next(time.Time{}, 0)
	var b strings.Builder
	for _, r := range recs {
		b.WriteString(r.text)
		b.WriteByte('\n')
	}
	return b.String()
}

// summarize picks the informative lines of the launcher's output.
func summarize(tail string) string {
	var keep []string
	for _, l := range strings.Split(tail, "\n") {
		l = strings.TrimSpace(strings.Trim(l, "=-*"))
		if l == "" || strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]") {
			continue
		}
		keep = append(keep, l)
	}
	if len(keep) > 6 {
		keep = keep[:6]
	}
	return strings.Join(keep, " ")
}

var (
	reOpenMPIFail = regexp.MustCompile(`Process name: \[\[\d+,\d+\],(\d+)\]\s*\n\s*Exit code:\s*(\d+)`)
	reHydraFail   = regexp.MustCompile(`RANK (\d+) PID \d+ RUNNING AT \S+\s*\n[=\s]*(?:EXIT CODE|KILLED BY SIGNAL):\s*(\d+)`)
)

// parseLauncherFailure fills in the failing rank from the launcher's own
// report when ranks were not wrapped.
func parseLauncherFailure(tail string, ranks []*rankStatus) {
	for _, re := range []*regexp.Regexp{reOpenMPIFail, reHydraFail} {
		for _, m := range re.FindAllStringSubmatch(tail, -1) {
			rk, _ := strconv.Atoi(m[1])
			code, _ := strconv.Atoi(m[2])
			if rk < len(ranks) && ranks[rk] == nil {
				ranks[rk] = &rankStatus{Rank: int32(rk), Exited: true, ExitCode: int32(code), Finished: time.Now().UTC()}
			}
		}
	}
}

// listenNotify opens the datagram socket the rank wrappers report to.
func (e *Engine) listenNotify() error {
	var b [8]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		return err
	}
	addr := "@odh-local-" + fmt.Sprintf("%x", b)
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("listen for rank status: %w", err)
	}
	e.notify = c
	e.token = newUID()
	e.notifyEnv = addr + " " + e.token
	e.notifyDone = make(chan struct{})
	go e.readNotify()
	return nil
}

func (e *Engine) readNotify() {
	defer close(e.notifyDone)
	buf := make([]byte, 64<<10)
	for {
		n, _, err := e.notify.ReadFromUnix(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-e.quit:
				return
			default:
				continue
			}
		}
		var s rankStatus
		if json.Unmarshal(buf[:n], &s) != nil || s.Token != e.token {
			continue
		}
		s.Token = ""
		e.onRankStatus(&s)
	}
}

// onRankStatus applies a rank's live report to its job.
func (e *Engine) onRankStatus(s *rankStatus) {
	t := e.lock()
	defer t.unlock()
	rec := e.byUID[s.UID]
	if rec == nil || rec.run == nil || rec.run.attempt != s.Attempt || s.Rank < 0 || s.Rank >= rec.run.ranks || rec.deleting {
		return
	}
	r := rec.run
	r.live[s.Rank] = s
	r.logs.fire()
	first := firstFailure(r.live)
	t.update(rec, false, func(j *job.MPIJob) {
		applyRankStatuses(j, r.live, r.attempt, false)
		if first != nil && j.Status.FirstFailedRank == nil {
			j.Status.FirstFailedRank = new(first.Rank)
			j.Status.FirstFailedWorker = new(first.Rank / r.slots)
			j.Status.ExitCode = new(first.ExitCode)
		}
	})
	if first == s {
		t.event(rec, "Warning", job.ReasonRankFailed, describeRankFailure(s, r.slots), job.WorkerName(s.Rank/r.slots))
		time.AfterFunc(failFastDelay, func() { e.stopRun(rec, r, stopFailFast) })
	}
}

// demuxer splits tagged launcher output into per-rank log files when the
// ranks are not wrapped.
type demuxer struct {
	dir     string
	fl      flavour
	mu      sync.Mutex
	writers map[int]*logWriter
	notify  func()
}

func (d *demuxer) copy(r io.Reader, launcher *logWriter, stream string) {
	lr := newLineReader(r)
	for {
		line, partial, err := lr.next()
		if len(line) > 0 || err == nil {
			if rank, s, text, ok := untag(d.fl, stream, string(line)); ok {
				d.writer(rank).write(s, partial, []byte(text))
			} else {
				launcher.write(stream, partial, line)
			}
		}
		if err != nil {
			return
		}
	}
}

func (d *demuxer) writer(rank int) *logWriter {
	d.mu.Lock()
	defer d.mu.Unlock()
	if w, ok := d.writers[rank]; ok {
		return w
	}
	w, err := openLogWriter(filepath.Join(d.dir, "rank-"+strconv.Itoa(rank)+".log"))
	if err != nil {
		w = &logWriter{f: os.NewFile(^uintptr(0), "discard")}
	}
	w.notify = d.notify
	d.writers[rank] = w
	return w
}

func (d *demuxer) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, w := range d.writers {
		w.Close()
	}
}
