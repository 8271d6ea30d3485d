package local

import (
	"slices"
	"time"

	"fmt"

	"github.com/odh-training/odh-training/internal/job"
)

// schedule starts queued jobs in FIFO order while their ranks fit in the
// free slots (strict FIFO: a large job at the head is not overtaken), then
// refreshes the queue positions of the jobs still waiting. Called with
// e.mu held.
func (t *txn) schedule() {
	e := t.e
	if e.closed {
		return
	}
	for len(e.queue) > 0 {
		head := e.queue[0]
		if e.used+int(head.j.Spec.Ranks()) > e.slots {
			break
		}
		e.queue = e.queue[1:]
		t.start(head)
	}
	for i, rec := range e.queue {
		pos := int32(i + 1)
		st := rec.j.Status
		if st.Phase == job.PhaseQueued && st.QueuePosition == pos {
			continue
		}
		need := rec.j.Spec.Ranks()
		msg := fmt.Sprintf("waiting for %d free slots (MPI ranks): %d of %d slots are in use; position %d in the queue", need, e.used, e.slots, pos)
		if st.Phase != job.PhaseQueued {
			t.event(rec, "Normal", job.ReasonQueued, fmt.Sprintf("queued: waiting for %d free slots (MPI ranks)", need), "")
		}
		t.update(rec, false, func(j *job.MPIJob) {
			j.Status.QueuePosition = pos
			j.Status.SetPhase(job.PhaseQueued, job.ReasonQueued, msg, time.Now())
		})
	}
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
