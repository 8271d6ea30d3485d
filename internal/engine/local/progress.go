package local

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/progress"
)

var _ engine.ProgressSource = (*Engine)(nil)

// Progress: the rank wrappers (or, for unwrapped ranks, the demuxer) pass
// on the ODH_PROGRESS reports of a job's program; the engine keeps them in
// a progress.Tracker per job, publishes the latest in Status.Progress at
// most every progressPublish, and saves the history in progress.json next
// to the job's record (at most every progressSave, and when the attempt
// ends).
const (
	progressPublish = 100 * time.Millisecond
	progressSave    = 5 * time.Second
	progressFile    = "progress.json"
)

// jobProgress is a record's progress state (guarded by e.mu).
type jobProgress struct {
	tracker   *progress.Tracker
	published time.Time
	saved     time.Time
	timer     *time.Timer // a publication is scheduled
	dirty     bool        // reports not yet saved
	// final: the job is over; the tracker is let go once its history is
	// on disk (JobProgress then reads progress.json).
	final   bool
	seq     uint64 // snapshots taken (e.mu)
	written uint64 // last snapshot on disk (rec.pmu)
}

// onProgress applies a report of the current attempt of a job.
func (e *Engine) onProgress(uid string, attempt int32, r progress.Report) {
	t := e.lock()
	defer t.unlock()
	rec := e.byUID[uid]
	if rec == nil || rec.run == nil || rec.run.attempt != attempt || rec.deleting || rec.removed {
		return
	}
	jp := e.progressOf(rec)
	now := time.Now()
	jp.tracker.Apply(r, now)
	jp.dirty = true
	if jp.timer != nil {
		return
	}
	if wait := progressPublish - now.Sub(jp.published); wait > 0 {
		jp.timer = time.AfterFunc(wait, func() { e.publishProgress(rec) })
		return
	}
	e.publishLocked(t, rec, jp, now)
}

// progressOf returns a record's progress state, loading a saved history
// the first time (e.mu held).
func (e *Engine) progressOf(rec *record) *jobProgress {
	if rec.progress == nil {
		tr := progress.NewTracker()
		if h, err := readProgress(rec.dir); err == nil {
			tr = progress.Restore(*h)
		}
		rec.progress = &jobProgress{tracker: tr}
	}
	return rec.progress
}

func (e *Engine) publishProgress(rec *record) {
	t := e.lock()
	defer t.unlock()
	if jp := rec.progress; jp != nil {
		jp.timer = nil
		if !rec.removed && !rec.deleting {
			e.publishLocked(t, rec, jp, time.Now())
		}
	}
}

// publishLocked puts the latest progress into the job's status and saves
// the history when it is due.
func (e *Engine) publishLocked(t *txn, rec *record, jp *jobProgress, now time.Time) {
	jp.published = now
	latest := jp.tracker.Latest()
	t.update(rec, false, func(j *job.MPIJob) { j.Status.Progress = latest })
	if jp.dirty && now.Sub(jp.saved) >= progressSave {
		e.saveProgressLocked(t, rec, jp, now)
	}
}

// saveProgressLocked writes the history after the lock is released.
func (e *Engine) saveProgressLocked(t *txn, rec *record, jp *jobProgress, now time.Time) {
	jp.saved, jp.dirty = now, false
	data, err := json.Marshal(jp.tracker.History())
	if err != nil {
		return
	}
	dir := rec.dir
	jp.seq++
	seq := jp.seq
	t.after = append(t.after, func() {
		rec.pmu.Lock()
		if rec.erased || jp.written >= seq {
			rec.pmu.Unlock()
			return // gone, or a newer snapshot is on disk already
		}
		err := writeFileAtomic(filepath.Join(dir, progressFile), data, false)
		if err == nil {
			jp.written = seq
		}
		rec.pmu.Unlock()
		if err != nil {
			e.log.Warn("save job progress", "dir", dir, "error", err)
			return
		}
		e.mu.Lock()
		if rec.progress == jp && jp.final && !jp.dirty {
			rec.progress = nil
		}
		e.mu.Unlock()
	})
}

// endProgress is called when an attempt ends: a publication still pending
// happens now, the history is saved, and the next attempt measures its
// rate afresh (e.mu held).
func (e *Engine) endProgress(t *txn, rec *record) {
	jp := rec.progress
	if jp == nil {
		return
	}
	if jp.timer != nil {
		jp.timer.Stop()
		jp.timer = nil
		latest := jp.tracker.Latest()
		t.update(rec, false, func(j *job.MPIJob) { j.Status.Progress = latest })
	}
	jp.final = rec.j.Status.Phase.Terminal()
	if jp.dirty {
		e.saveProgressLocked(t, rec, jp, time.Now())
	} else if jp.final {
		rec.progress = nil // read again from progress.json when asked
	}
	jp.tracker.Restart()
}

func readProgress(dir string) (*job.ProgressHistory, error) {
	b, err := os.ReadFile(filepath.Join(dir, progressFile))
	if err != nil {
		return nil, err
	}
	var h job.ProgressHistory
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, err
	}
	return &h, nil
}

// JobProgress returns a job's progress history.
func (e *Engine) JobProgress(ctx context.Context, namespace, name string) (*job.ProgressHistory, error) {
	e.mu.Lock()
	rec, ok := e.jobs[key{namespace, name}]
	if !ok {
		e.mu.Unlock()
		return nil, job.NotFound(namespace, name)
	}
	if jp := rec.progress; jp != nil {
		h := jp.tracker.History()
		e.mu.Unlock()
		return &h, nil
	}
	dir, latest := rec.dir, rec.j.Status.Progress
	e.mu.Unlock()
	h, err := readProgress(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return &job.ProgressHistory{Latest: latest.DeepCopy()}, nil
	}
	if err != nil {
		return nil, err
	}
	return h, nil
}
