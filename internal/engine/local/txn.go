package local

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"time"

	"github.com/odh-training/odh-training/internal/job"
)

// txn is one critical section on the engine's state. Changes made through
// it are broadcast at once (under the lock, so watchers see them in
// resource-version order) and written to disk after the lock is released,
// so a slow disk never blocks Get, List or other jobs.
type txn struct {
	e     *Engine
	dirty map[*record]bool // record → fsync wanted
	after []func()
}

func (e *Engine) lock() *txn {
	e.mu.Lock()
	return &txn{e: e}
}

type pendingWrite struct {
	rec  *record
	data []byte
	seq  uint64
	sync bool
}

// unlock marshals the changed records, releases the lock, writes them and
// runs the deferred actions.
func (t *txn) unlock() {
	var writes []pendingWrite
	for rec, sync := range t.dirty {
		if rec.removed {
			continue
		}
		data, err := json.MarshalIndent(diskRecord{Version: recordVersion, Job: rec.j, Events: rec.events, Seq: rec.seq}, "", " ")
		if err != nil {
			t.e.log.Error("marshal job record", "job", rec.j.Metadata.Name, "error", err)
			continue
		}
		rec.wseq++
		writes = append(writes, pendingWrite{rec: rec, data: data, seq: rec.wseq, sync: sync})
	}
	t.e.mu.Unlock()
	for _, w := range writes {
		w.flush(t.e)
	}
	for _, f := range t.after {
		f()
	}
}

func (w pendingWrite) flush(e *Engine) {
	r := w.rec
	r.pmu.Lock()
	defer r.pmu.Unlock()
	if r.erased || w.seq <= r.synced {
		return // the record is gone, or a newer version is already written
	}
	if err := writeFileAtomic(filepath.Join(r.dir, recordFile), w.data, w.sync); err != nil {
		e.log.Error("write job record", "dir", r.dir, "error", err)
		return
	}
	r.synced = w.seq
}

func (t *txn) markDirty(rec *record, sync bool) {
	if t.dirty == nil {
		t.dirty = map[*record]bool{}
	}
	t.dirty[rec] = t.dirty[rec] || sync
}

// add announces a new record.
func (t *txn) add(rec *record) {
	rec.j.Metadata.ResourceVersion = strconv.FormatUint(t.e.nextRV(), 10)
	t.e.broadcast(job.Added, nil, rec.j)
	t.markDirty(rec, true)
}

// update applies f to a copy of the job, gives it a new resource version,
// broadcasts it and marks the record for writing (with fsync when sync).
func (t *txn) update(rec *record, sync bool, f func(j *job.MPIJob)) {
	if rec.removed {
		return
	}
	old := rec.j
	nj := old.DeepCopy()
	f(nj)
	nj.Metadata.ResourceVersion = strconv.FormatUint(t.e.nextRV(), 10)
	rec.j = nj
	close(rec.changed)
	rec.changed = make(chan struct{})
	t.e.broadcast(job.Modified, old, nj)
	t.markDirty(rec, sync || nj.Status.Phase.Terminal())
}

const maxEvents = 100

// event records a lifecycle event; identical consecutive events are
// counted instead of repeated.
func (t *txn) event(rec *record, typ, reason, msg, object string) {
	now := time.Now().UTC()
	if object == "" {
		object = "mpijob/" + rec.j.Metadata.Name
	}
	if n := len(rec.events); n > 0 {
		last := &rec.events[n-1]
		if last.Type == typ && last.Reason == reason && last.Message == msg && last.Object == object {
			last.Count++
			last.LastTime = now
			t.markDirty(rec, false)
			return
		}
	}
	rec.events = append(rec.events, job.Event{Type: typ, Reason: reason, Message: msg, Object: object, FirstTime: now, LastTime: now, Count: 1, Source: "local-engine"})
	if len(rec.events) > maxEvents {
		rec.events = append(rec.events[:0:0], rec.events[len(rec.events)-maxEvents:]...)
	}
	t.markDirty(rec, false)
}
