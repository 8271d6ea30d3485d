package local

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/odh-training/odh-training/internal/job"
)

// The end of an attempt: its outcome (success, failure, deadline, suspend,
// delete) becomes the job's phase, retries are scheduled within the backoff
// limit, and finished jobs are removed after their TTL.

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
	defer e.endProgress(t, rec)
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
