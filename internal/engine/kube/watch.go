package kube

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

// watchBuffer is how many events a watcher may fall behind before its
// watch ends with an error; the engine never waits for a slow watcher.
const watchBuffer = 4096

func labelsEverything() labels.Selector { return labels.Everything() }

type subscriber struct {
	opts engine.WatchOptions
	ch   chan engine.Event
	dead chan struct{}
	err  error
}

// end stops the subscriber with err; called with e.mu held.
func (s *subscriber) end(err error) {
	select {
	case <-s.dead:
		return
	default:
	}
	s.err = err
	close(s.dead)
}

// broadcast sends a change to every subscriber whose filter matches the
// job before or after it (so a watcher of Running jobs sees a job leave
// that phase). Called with e.mu held. Events share the immutable snapshot;
// each watcher copies it when emitting.
func (e *Engine) broadcast(typ engine.EventType, old, nj *job.MPIJob) {
	for s := range e.subs {
		if !s.opts.Matches(nj) && (old == nil || !s.opts.Matches(old)) {
			continue
		}
		select {
		case s.ch <- engine.Event{Type: typ, Job: nj}:
		default:
			s.end(job.Errorf(job.KindUnavailable, "watch ended: the client fell more than %d events behind; watch again", watchBuffer))
			delete(e.subs, s)
		}
	}
}

// Watch calls emit for every change of matching jobs, as the informers
// report changes to the MPIJobs, their pods and their Warning events, until
// ctx ends (it then returns ctx.Err()), emit fails, or the engine closes.
// With SendInitial it first emits every matching job as Added; then, in
// any case, one Synced event whose Job is nil.
func (e *Engine) Watch(ctx context.Context, opts engine.WatchOptions, emit func(engine.Event) error) error {
	if err := e.usable(ctx); err != nil {
		return err
	}
	s := &subscriber{opts: opts, ch: make(chan engine.Event, watchBuffer), dead: make(chan struct{})}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return job.Errorf(job.KindUnavailable, "the server is shutting down; watch again when it is back")
	}
	e.subs[s] = struct{}{}
	var initial []*job.MPIJob
	if opts.SendInitial {
		for _, st := range e.jobs {
			if st.snap != nil && opts.Matches(st.snap) {
				initial = append(initial, st.snap)
			}
		}
	}
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.subs, s)
		e.mu.Unlock()
	}()
	if opts.SendInitial {
		sortJobs(initial)
		for _, j := range initial {
			if err := emit(engine.Event{Type: engine.Added, Job: j.DeepCopy()}); err != nil {
				return err
			}
		}
	}
	// The watch is established: no later change can be missed.
	if err := emit(engine.Event{Type: engine.Synced}); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev := <-s.ch:
			if err := emit(engine.Event{Type: ev.Type, Job: ev.Job.DeepCopy()}); err != nil {
				return err
			}
		case <-s.dead:
			for {
				select {
				case ev := <-s.ch:
					if err := emit(engine.Event{Type: ev.Type, Job: ev.Job.DeepCopy()}); err != nil {
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
