package server

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

// watchOnly is an engine that only replays watch events.
type watchOnly struct {
	engine.Engine
	events []job.WatchEvent
}

var errReplayed = errors.New("replayed")

func (w watchOnly) Watch(_ context.Context, _ engine.WatchOptions, emit func(job.WatchEvent) error) error {
	for _, ev := range w.events {
		if err := emit(ev); err != nil {
			return err
		}
	}
	return errReplayed
}

// odh_jobs_preempted_total counts each new preemption a job's status
// reports, per namespace; preemptions from before the server started (the
// initial events) are not counted again.
func TestPreemptedCounter(t *testing.T) {
	st := func(uid string, n int32) job.WatchEvent {
		return job.WatchEvent{Type: job.Modified, Job: &job.MPIJob{Metadata: job.ObjectMeta{Namespace: "team-a", Name: uid, UID: uid}, Status: job.Status{Phase: job.PhaseQueued, Preemptions: n}}}
	}
	eng := watchOnly{events: []job.WatchEvent{
		st("old", 3), // initial: not counted
		{Type: job.Synced},
		st("a", 0), st("a", 1), st("a", 1), st("a", 2),
		st("old", 4),
	}}
	reg := prometheus.NewRegistry()
	l := newLifecycle(reg)
	ctx, cancel := context.WithCancel(context.Background())
	l.run(ctx, eng, func(err error) {
		if !errors.Is(err, errReplayed) {
			t.Error(err)
		}
		cancel()
	})
	if got := testutil.ToFloat64(l.preempted.WithLabelValues("team-a")); got != 3 {
		t.Errorf("odh_jobs_preempted_total{namespace=team-a} = %v, want 3", got)
	}
}
