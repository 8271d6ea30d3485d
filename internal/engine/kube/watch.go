package kube

import (
	"context"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

// watchBuffer is how many events a watcher may fall behind before its
// watch ends with an error; the engine never waits for a slow watcher.
const watchBuffer = 4096

// broadcast publishes a change to the watchers (e.mu held).
func (e *Engine) broadcast(typ job.WatchEventType, old, nj *job.MPIJob) {
	e.watchers.Publish(typ, old, nj)
}

// Watch calls emit for every change of matching jobs, as the informers
// report changes to the MPIJobs, their pods and their Warning events, until
// ctx ends (it then returns ctx.Err()), emit fails, or the engine closes.
// With SendInitial it first emits every matching job as Added; then, in
// any case, one Synced event whose Job is nil.
func (e *Engine) Watch(ctx context.Context, opts engine.WatchOptions, emit func(job.WatchEvent) error) error {
	if err := e.usable(ctx); err != nil {
		return err
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return job.Errorf(job.KindUnavailable, "the server is shutting down; watch again when it is back")
	}
	w := e.watchers.Add(opts)
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
		e.watchers.Remove(w)
		e.mu.Unlock()
	}()
	return w.Serve(ctx, initial, emit)
}
