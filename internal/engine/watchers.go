package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/odh-training/odh-training/internal/job"
)

// Watchers fans an engine's job changes out to its Watch calls, never
// waiting for a slow watcher.
//
// Every watcher receives the same event values: the job is the engine's
// immutable snapshot, shared (read-only) by every watcher, so a change costs
// one queue append per watcher, and whoever encodes events can encode each
// snapshot once for all of them. A watcher's queue grows only while its
// client is behind; a MODIFIED event for a job whose last queued event is
// a MODIFIED one with the same phase replaces it in place (the newer
// snapshot carries everything the older one said; every phase transition
// is still delivered, and one job's events keep their order), and a
// watcher whose queue still exceeds the limit is ended with an Unavailable
// error telling its client to watch again. So a lagging client of a
// 1,000-worker job holds one snapshot of it, not one per worker change.
//
// It has no lock of its own for the set of watchers. Engines call Add,
// Remove, Publish and Close while holding the lock that guards their jobs,
// which keeps a watch's initial snapshot consistent with the changes it
// receives after it.
type Watchers struct {
	subs  map[*Watcher]struct{}
	limit int
}

// NewWatchers returns a set of watchers; a watcher may fall at most limit
// events behind.
func NewWatchers(limit int) *Watchers {
	return &Watchers{subs: map[*Watcher]struct{}{}, limit: limit}
}

// Watcher is one Watch call.
type Watcher struct {
	opts  WatchOptions
	limit int
	wake  chan struct{} // one pending wake-up

	mu    sync.Mutex
	queue []job.WatchEvent
	dead  bool
	err   error
}

// Add registers a watcher (engine lock held).
func (w *Watchers) Add(opts WatchOptions) *Watcher {
	s := &Watcher{opts: opts, limit: w.limit, wake: make(chan struct{}, 1)}
	w.subs[s] = struct{}{}
	return s
}

// Remove unregisters a watcher (engine lock held).
func (w *Watchers) Remove(s *Watcher) { delete(w.subs, s) }

// Len is the number of watchers (engine lock held).
func (w *Watchers) Len() int { return len(w.subs) }

// Publish sends a change to every watcher whose filter matches the job
// before or after it, so a watcher of Running jobs sees a job leave that
// phase (engine lock held). nj must not change afterwards.
func (w *Watchers) Publish(typ job.WatchEventType, old, nj *job.MPIJob) {
	ev := job.WatchEvent{Type: typ, Job: nj}
	for s := range w.subs {
		if !s.opts.Matches(nj) && (old == nil || !s.opts.Matches(old)) {
			continue
		}
		if !s.push(ev) {
			delete(w.subs, s)
		}
	}
}

// Close ends every watcher with err (engine lock held).
func (w *Watchers) Close(err error) {
	for s := range w.subs {
		s.end(err)
		delete(w.subs, s)
	}
}

// push queues an event; false when the watcher is ended (now or before).
func (s *Watcher) push(ev job.WatchEvent) bool {
	s.mu.Lock()
	if s.dead {
		s.mu.Unlock()
		return false
	}
	if i := s.replaceable(ev); i >= 0 {
		s.queue[i] = ev
		s.mu.Unlock()
		return true
	}
	if len(s.queue) >= s.limit {
		s.mu.Unlock()
		s.end(job.Errorf(job.KindUnavailable, "watch ended: the client fell more than %d events behind; watch again", s.limit))
		return false
	}
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return true
}

// replaceable returns the index of a queued MODIFIED event the new one may
// replace: the same job, the same phase, and no later event of that job
// (s.mu held). Only a lagging watcher has anything queued, so the search
// costs nothing for one that keeps up.
func (s *Watcher) replaceable(ev job.WatchEvent) int {
	if ev.Type != job.Modified {
		return -1
	}
	for i := len(s.queue) - 1; i >= 0; i-- {
		q := s.queue[i]
		if q.Job.Metadata.Namespace != ev.Job.Metadata.Namespace || q.Job.Metadata.Name != ev.Job.Metadata.Name {
			continue
		}
		if q.Type == job.Modified && q.Job.Status.Phase == ev.Job.Status.Phase {
			return i
		}
		return -1
	}
	return -1
}

func (s *Watcher) end(err error) {
	s.mu.Lock()
	if s.dead {
		s.mu.Unlock()
		return
	}
	s.dead, s.err = true, err
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// take returns the queued events (and, once they are delivered, whether the
// watcher was ended and why).
func (s *Watcher) take(buf []job.WatchEvent) ([]job.WatchEvent, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	buf = append(buf[:0], s.queue...)
	clear(s.queue)
	s.queue = s.queue[:0]
	if cap(s.queue) > 64 {
		// Give back what a burst grew.
		s.queue = nil
	}
	return buf, s.dead && len(buf) == 0, s.err
}

// Serve emits the initial jobs (sorted by namespace and name) as Added, one
// Synced event, then every change, until ctx ends (it returns ctx.Err()),
// emit fails or the watcher is ended. Call it without the engine lock. The
// jobs it emits are shared snapshots: emit must not change them.
func (s *Watcher) Serve(ctx context.Context, initial []*job.MPIJob, emit func(job.WatchEvent) error) error {
	SortJobs(initial)
	for _, j := range initial {
		if err := emit(job.WatchEvent{Type: job.Added, Job: j}); err != nil {
			return err
		}
	}
	// The watch is established: no later change can be missed.
	if err := emit(job.WatchEvent{Type: job.Synced}); err != nil {
		return err
	}
	var batch []job.WatchEvent
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.wake:
		}
		var ended bool
		var err error
		batch, ended, err = s.take(batch)
		if ended {
			if err == nil {
				return fmt.Errorf("watch ended")
			}
			return err
		}
		for i, ev := range batch {
			if err := emit(ev); err != nil {
				return err
			}
			batch[i] = job.WatchEvent{}
		}
		// The watcher may have been ended while these were delivered:
		// look again.
		s.mu.Lock()
		again := s.dead || len(s.queue) > 0
		s.mu.Unlock()
		if again {
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
	}
}

// SortJobs orders jobs by namespace, then name.
func SortJobs(js []*job.MPIJob) {
	slices.SortFunc(js, func(a, b *job.MPIJob) int {
		if c := strings.Compare(a.Metadata.Namespace, b.Metadata.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.Metadata.Name, b.Metadata.Name)
	})
}
