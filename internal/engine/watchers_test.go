package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/odh-training/odh-training/internal/job"
)

func snap(name string, phase job.Phase, msg string) *job.MPIJob {
	j := &job.MPIJob{}
	j.Metadata.Namespace, j.Metadata.Name = "ns", name
	j.Status.Phase, j.Status.Message = phase, msg
	return j
}

// collect serves a watcher into a channel.
func collect(ctx context.Context, s *Watcher, initial []*job.MPIJob, gate <-chan struct{}) (<-chan job.WatchEvent, <-chan error) {
	out := make(chan job.WatchEvent, 1000)
	errc := make(chan error, 1)
	go func() {
		errc <- s.Serve(ctx, initial, func(ev job.WatchEvent) error {
			if gate != nil && ev.Type != job.Synced {
				<-gate
			}
			out <- ev
			return nil
		})
	}()
	return out, errc
}

func describe(ev job.WatchEvent) string {
	if ev.Job == nil {
		return string(ev.Type)
	}
	return fmt.Sprintf("%s %s %s %s", ev.Type, ev.Job.Metadata.Name, ev.Job.Status.Phase, ev.Job.Status.Message)
}

func TestWatchersShareSnapshotsAndKeepOrder(t *testing.T) {
	w := NewWatchers(100)
	a, b := w.Add(WatchOptions{}), w.Add(WatchOptions{Name: "x"})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	evA, _ := collect(ctx, a, nil, nil)
	evB, _ := collect(ctx, b, nil, nil)
	if got := <-evA; got.Type != job.Synced {
		t.Fatalf("first event %v", got.Type)
	}
	<-evB
	j1, j2 := snap("x", job.PhasePending, "1"), snap("y", job.PhasePending, "1")
	w.Publish(job.Added, nil, j1)
	w.Publish(job.Added, nil, j2)
	got := []job.WatchEvent{<-evA, <-evA, <-evB}
	if got[0].Job != j1 || got[1].Job != j2 || got[2].Job != j1 {
		t.Errorf("watchers must receive the published snapshots themselves, in order: %v", []string{describe(got[0]), describe(got[1]), describe(got[2])})
	}
	select {
	case ev := <-evB:
		t.Errorf("watcher of x got %s", describe(ev))
	case <-time.After(50 * time.Millisecond):
	}
}

func TestLaggingWatcherGetsNewestSnapshotButEveryPhase(t *testing.T) {
	w := NewWatchers(100)
	s := w.Add(WatchOptions{})
	gate := make(chan struct{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	evs, _ := collect(ctx, s, nil, gate)
	<-evs // Synced
	// The client is stuck while these happen.
	w.Publish(job.Added, nil, snap("a", job.PhasePending, "0"))
	time.Sleep(20 * time.Millisecond) // the watcher now holds the first event
	for i := 1; i <= 3; i++ {
		w.Publish(job.Modified, nil, snap("a", job.PhaseStarting, fmt.Sprint(i)))
	}
	w.Publish(job.Modified, nil, snap("b", job.PhaseRunning, "1"))
	for i := 4; i <= 6; i++ {
		w.Publish(job.Modified, nil, snap("a", job.PhaseStarting, fmt.Sprint(i)))
	}
	w.Publish(job.Modified, nil, snap("a", job.PhaseRunning, "7"))
	w.Publish(job.Modified, nil, snap("a", job.PhaseRunning, "8"))
	w.Publish(job.Deleted, nil, snap("b", job.PhaseRunning, "2"))
	close(gate)
	var got []string
	for range 5 {
		select {
		case ev := <-evs:
			got = append(got, describe(ev))
		case <-time.After(5 * time.Second):
			t.Fatalf("got only %v", got)
		}
	}
	want := []string{
		"ADDED a Pending 0",
		// Starting 1..6 collapse into the newest, in the place of the
		// first (events of one job keep their order; b's are another
		// job's); Running 7 is a new phase.
		"MODIFIED a Starting 6",
		"MODIFIED b Running 1",
		"MODIFIED a Running 8",
		"DELETED b Running 2",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestWatcherTooFarBehindIsEndedAfterWhatItHas(t *testing.T) {
	w := NewWatchers(3)
	s := w.Add(WatchOptions{})
	gate := make(chan struct{})
	evs, errc := collect(t.Context(), s, nil, gate)
	<-evs
	start := time.Now()
	w.Publish(job.Added, nil, snap("j0", job.PhasePending, ""))
	// Wait until the client holds it.
	for {
		s.mu.Lock()
		n := len(s.queue)
		s.mu.Unlock()
		if n == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	for i := 1; i < 5; i++ {
		w.Publish(job.Added, nil, snap(fmt.Sprint("j", i), job.PhasePending, ""))
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("publishing to a stuck watcher took %v", d)
	}
	if n := w.Len(); n != 0 {
		t.Errorf("%d watchers left; the lagging one must be removed", n)
	}
	close(gate)
	n := 0
	var err error
loop:
	for {
		select {
		case <-evs:
			n++
		case err = <-errc:
			break loop
		case <-time.After(5 * time.Second):
			t.Fatal("watch did not end")
		}
	}
	for len(evs) > 0 {
		<-evs
		n++
	}
	// One event was in the client's hands, three were queued.
	if n != 4 {
		t.Errorf("delivered %d events before the end, want 4", n)
	}
	if !job.IsKind(err, job.KindUnavailable) || !strings.Contains(err.Error(), "watch again") {
		t.Errorf("end of watch: %v", err)
	}
}

func TestIdleWatcherHoldsNoBuffer(t *testing.T) {
	w := NewWatchers(4096)
	s := w.Add(WatchOptions{})
	if cap(s.queue) != 0 {
		t.Errorf("a new watcher allocated a queue of %d", cap(s.queue))
	}
	ctx, cancel := context.WithCancel(t.Context())
	evs, errc := collect(ctx, s, []*job.MPIJob{snap("b", "", ""), snap("a", "", "")}, nil)
	var got []string
	for range 3 {
		got = append(got, describe(<-evs))
	}
	if diff := cmp.Diff([]string{"ADDED a  ", "ADDED b  ", "SYNCED"}, got); diff != "" {
		t.Errorf("initial events (-want +got):\n%s", diff)
	}
	cancel()
	if err := <-errc; err != context.Canceled {
		t.Errorf("Serve returned %v", err)
	}
}
