package local

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

func TestWatchDeliversEveryTransition(t *testing.T) {
	e := newTestEngine(t, nil)
	pre := newJob("pre", 1, 1, job.OpenMPI, "true")
	pre.Spec.RunPolicy.Suspend = true
	create(t, e, pre)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	events := make(chan job.WatchEvent, 100)
	errc := make(chan error, 1)
	go func() {
		errc <- e.Watch(ctx, engine.WatchOptions{SendInitial: true, ListOptions: engine.ListOptions{Namespace: "default"}}, func(ev job.WatchEvent) error {
			events <- ev
			return nil
		})
	}()
	next := func() job.WatchEvent {
		select {
		case ev := <-events:
			return ev
		case err := <-errc:
			t.Fatalf("watch ended: %v", err)
		case <-ctx.Done():
			t.Fatal("timed out waiting for a watch event")
		}
		return job.WatchEvent{}
	}
	if ev := next(); ev.Type != job.Added || ev.Job.Metadata.Name != "pre" {
		t.Fatalf("initial event: %v", ev.Type)
	}
	if ev := next(); ev.Type != job.Synced {
		t.Fatalf("want Synced, got %v", ev.Type)
	}
	create(t, e, newJob("watched", 2, 1, job.OpenMPI, "true"))
	var phases []job.Phase
	lastRV := 0
	for {
		ev := next()
		if ev.Job.Metadata.Name != "watched" {
			continue
		}
		if rv := rvOf(ev.Job); rv <= lastRV {
			t.Errorf("resource version went from %d to %d", lastRV, rv)
		} else {
			lastRV = rv
		}
		if len(phases) == 0 || phases[len(phases)-1] != ev.Job.Status.Phase {
			phases = append(phases, ev.Job.Status.Phase)
		}
		if ev.Job.Status.Phase.Terminal() {
			break
		}
	}
	want := []job.Phase{job.PhasePending, job.PhaseStarting, job.PhaseRunning, job.PhaseSucceeded}
	if diff := cmp.Diff(want, phases); diff != "" {
		t.Errorf("phases seen (-want +got):\n%s", diff)
	}
	if _, err := e.Delete(ctx, "default", "watched", engine.DeleteOptions{Wait: true}); err != nil {
		t.Fatal(err)
	}
	for {
		ev := next()
		if ev.Type == job.Deleted && ev.Job.Metadata.Name == "watched" {
			break
		}
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("watch returned %v", err)
	}
}

func TestSlowWatcherIsCutOff(t *testing.T) {
	e := newTestEngine(t, nil)
	j := newJob("noisy", 1, 1, job.OpenMPI, "true")
	j.Spec.RunPolicy.Suspend = true
	create(t, e, j)
	block := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- e.Watch(t.Context(), engine.WatchOptions{}, func(job.WatchEvent) error { <-block; return nil })
	}()
	time.Sleep(50 * time.Millisecond)
	// Far more changes than a watcher may fall behind; the engine must not
	// wait for the blocked watcher. Each changes the phase, so none can
	// stand in for another in the watcher's queue.
	start := time.Now()
	t1 := e.lock()
	rec := e.jobs[key{"default", "noisy"}]
	for i := range watchBuffer + 10 {
		t1.update(rec, false, func(j *job.MPIJob) {
			j.Status.Message = fmt.Sprint(i)
			j.Status.Phase = []job.Phase{job.PhaseSuspended, job.PhasePending}[i%2]
		})
	}
	t1.unlock()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("broadcasting to a blocked watcher took %v", d)
	}
	close(block)
	select {
	case err := <-errc:
		if !job.IsKind(err, job.KindUnavailable) || !strings.Contains(err.Error(), "behind") {
			t.Errorf("watch error: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("slow watcher was not cut off")
	}
}
