package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/odh-training/odh-training/internal/job"
)

// Watchers fans an engine's job changes out to its Watch calls, never
// waiting for a slow watcher: one that falls more than the buffer behind is
// ended with an Unavailable error (it can watch again).
//
// It has no lock of its own. Engines call Add, Remove, Publish and Close
// while holding the lock that guards their jobs, which keeps a watch's
// initial snapshot consistent with the changes it receives after it.
type Watchers struct {
	subs   map[*Watcher]struct{}
	buffer int
}

// NewWatchers returns a set of watchers with the given per-watcher buffer.
func NewWatchers(buffer int) *Watchers {
	return &Watchers{subs: map[*Watcher]struct{}{}, buffer: buffer}
}

// Watcher is one Watch call.
type Watcher struct {
	opts WatchOptions
	ch   chan job.WatchEvent
	dead chan struct{}
	err  error
}

// Add registers a watcher (engine lock held).
func (w *Watchers) Add(opts WatchOptions) *Watcher {
	s := &Watcher{opts: opts, ch: make(chan job.WatchEvent, w.buffer), dead: make(chan struct{})}
	w.subs[s] = struct{}{}
	return s
}

// Remove unregisters a watcher (engine lock held).
func (w *Watchers) Remove(s *Watcher) { delete(w.subs, s) }

// Publish sends a change to every watcher whose filter matches the job
// before or after it, so a watcher of Running jobs sees a job leave that
// phase (engine lock held). Events share the engine's immutable snapshot;
// each watcher copies it when it emits.
func (w *Watchers) Publish(typ job.WatchEventType, old, nj *job.MPIJob) {
	for s := range w.subs {
		if !s.opts.Matches(nj) && (old == nil || !s.opts.Matches(old)) {
			continue
		}
		select {
		case s.ch <- job.WatchEvent{Type: typ, Job: nj}:
		default:
			s.end(job.Errorf(job.KindUnavailable, "watch ended: the client fell more than %d events behind; watch again", w.buffer))
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

func (s *Watcher) end(err error) {
	select {
	case <-s.dead:
		return
	default:
	}
	s.err = err
	close(s.dead)
}

// Serve emits the initial jobs (sorted by namespace and name) as Added, one
// Synced event, then every change, until ctx ends (it returns ctx.Err()),
// emit fails or the watcher is ended. Call it without the engine lock.
func (s *Watcher) Serve(ctx context.Context, initial []*job.MPIJob, emit func(job.WatchEvent) error) error {
	SortJobs(initial)
	for _, j := range initial {
		if err := emit(job.WatchEvent{Type: job.Added, Job: j.DeepCopy()}); err != nil {
			return err
		}
	}
	// The watch is established: no later change can be missed.
	if err := emit(job.WatchEvent{Type: job.Synced}); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev := <-s.ch:
			if err := emit(job.WatchEvent{Type: ev.Type, Job: ev.Job.DeepCopy()}); err != nil {
				return err
			}
		case <-s.dead:
			// Deliver what was queued before the end, then report it.
			for {
				select {
				case ev := <-s.ch:
					if err := emit(job.WatchEvent{Type: ev.Type, Job: ev.Job.DeepCopy()}); err != nil {
						return err
					}
				default:
					if s.err == nil {
						return fmt.Errorf("watch ended")
					}
					return s.err
				}
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
