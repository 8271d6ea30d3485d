package notify

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/odh-training/odh-training/internal/job"
)

// step is one snapshot of a job: its phase history so far.
type step struct {
	typ  job.WatchEventType
	hist []job.Transition
}

func snap(uid string, hist []job.Transition) *job.MPIJob {
	j := &job.MPIJob{}
	j.Metadata.Name, j.Metadata.Namespace, j.Metadata.UID = "train", "team-a", uid
	j.Metadata.Labels = map[string]string{"team": "nlp"}
	j.Status.History = hist
	if n := len(hist); n > 0 {
		j.Status.Phase, j.Status.Reason, j.Status.Message = hist[n-1].Phase, hist[n-1].Reason, hist[n-1].Message
		if j.Status.Phase == job.PhaseFailed {
			r, w := int32(3), int32(1)
			j.Status.FirstFailedRank, j.Status.FirstFailedWorker = &r, &w
		}
	}
	return j
}

func tr(p job.Phase, reason string) job.Transition {
	return job.Transition{Phase: p, Reason: reason, Time: time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)}
}

func TestDetectorTransitions(t *testing.T) {
	pending := tr(job.PhasePending, job.ReasonCreated)
	queued := tr(job.PhaseQueued, job.ReasonQueued)
	starting := tr(job.PhaseStarting, job.ReasonStarted)
	running := tr(job.PhaseRunning, job.ReasonRunning)
	tests := []struct {
		name  string
		steps [][]job.Transition
		want  []Type
	}{
		{"full success", [][]job.Transition{{pending}, {pending, starting}, {pending, starting, running}, {pending, starting, running, tr(job.PhaseSucceeded, job.ReasonSucceeded)}},
			[]Type{TypeCreated, TypeRunning, TypeSucceeded}},
		{"transitions collapsed into one snapshot still all notify", [][]job.Transition{{pending}, {pending, queued, starting, running, tr(job.PhaseFailed, job.ReasonRankFailed)}},
			[]Type{TypeCreated, TypeQueued, TypeRunning, TypeFailed}},
		{"deadline", [][]job.Transition{{pending}, {pending, running}, {pending, running, tr(job.PhaseFailed, job.ReasonDeadlineExceeded)}},
			[]Type{TypeCreated, TypeRunning, TypeDeadlineExceeded}},
		{"suspend and resume", [][]job.Transition{{pending}, {pending, running}, {pending, running, tr(job.PhaseSuspended, job.ReasonSuspended)},
			{pending, running, tr(job.PhaseSuspended, job.ReasonSuspended), tr(job.PhaseStarting, job.ReasonResumed)}},
			[]Type{TypeCreated, TypeRunning, TypeSuspended, TypeResumed}},
		{"preempted by eviction", [][]job.Transition{{pending}, {pending, running}, {pending, running, tr(job.PhasePending, job.ReasonEvicted)}},
			[]Type{TypeCreated, TypeRunning, TypePreempted}},
		{"preempted by a queue", [][]job.Transition{{pending}, {pending, running}, {pending, running, tr(job.PhaseSuspended, "Preempted")}},
			[]Type{TypeCreated, TypeRunning, TypePreempted}},
		{"a new reason within a phase is no event", [][]job.Transition{{pending}, {pending, running}, {pending, running, tr(job.PhaseRunning, job.ReasonWorkerFailed)},
			{pending, running, tr(job.PhaseRunning, job.ReasonWorkerFailed), tr(job.PhaseFailed, job.ReasonWorkerFailed)}},
			[]Type{TypeCreated, TypeRunning, TypeFailed}},
		{"preempted by Kueue and requeued", [][]job.Transition{{pending}, {pending, running}, {pending, running, tr(job.PhaseQueued, job.ReasonPreempted)}, {pending, running, tr(job.PhaseQueued, job.ReasonPreempted), running}},
			[]Type{TypeCreated, TypeRunning, TypePreempted, TypeRunning}},
		{"same snapshot twice notifies once", [][]job.Transition{{pending}, {pending, running}, {pending, running}},
			[]Type{TypeCreated, TypeRunning}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDetector(0)
			d.Observe(job.WatchEvent{Type: job.Synced})
			var got []Type
			for i, h := range tt.steps {
				typ := job.Modified
				if i == 0 {
					typ = job.Added
				}
				for _, e := range d.Observe(job.WatchEvent{Type: typ, Job: snap("u1", h)}) {
					got = append(got, e.Type)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDetectorFailureCarriesRankAndStableIDs(t *testing.T) {
	h := []job.Transition{tr(job.PhasePending, job.ReasonCreated), tr(job.PhaseRunning, job.ReasonRunning), tr(job.PhaseFailed, job.ReasonRankFailed)}
	run := func() []Event {
		d := NewDetector(0)
		d.Observe(job.WatchEvent{Type: job.Synced})
		d.Observe(job.WatchEvent{Type: job.Added, Job: snap("u1", h[:2])})
		return d.Observe(job.WatchEvent{Type: job.Modified, Job: snap("u1", h)})
	}
	a, b := run(), run()
	if len(a) != 1 || a[0].Type != TypeFailed || a[0].FirstFailedRank == nil || *a[0].FirstFailedRank != 3 {
		t.Fatalf("want one failed event with first failing rank 3, got %+v", a)
	}
	if a[0].ID != b[0].ID || a[0].ID == "" {
		t.Errorf("the same transition must keep its id (the idempotency key): %q vs %q", a[0].ID, b[0].ID)
	}
	// The same transition of another job (another UID) is another event.
	d := NewDetector(0)
	d.Observe(job.WatchEvent{Type: job.Synced})
	d.Observe(job.WatchEvent{Type: job.Added, Job: snap("u2", h[:2])})
	if c := d.Observe(job.WatchEvent{Type: job.Modified, Job: snap("u2", h)}); c[0].ID == a[0].ID {
		t.Errorf("two jobs' events share id %q", a[0].ID)
	}
}

func TestDetectorInitialListingIsSilentAndGapsAreCaughtUp(t *testing.T) {
	pending, running := tr(job.PhasePending, job.ReasonCreated), tr(job.PhaseRunning, job.ReasonRunning)
	d := NewDetector(0)
	if evs := d.Observe(job.WatchEvent{Type: job.Added, Job: snap("u1", []job.Transition{pending})}); len(evs) != 0 {
		t.Fatalf("initial listing notified: %+v", evs)
	}
	d.Observe(job.WatchEvent{Type: job.Synced})
	// The watch broke and came back: its initial listing shows the job
	// ran meanwhile.
	evs := d.Observe(job.WatchEvent{Type: job.Added, Job: snap("u1", []job.Transition{pending, running})})
	if len(evs) != 1 || evs[0].Type != TypeRunning {
		t.Fatalf("want the missed running event, got %+v", evs)
	}
	// A job deleted and created again under the same name is a new job.
	evs = d.Observe(job.WatchEvent{Type: job.Added, Job: snap("u9", []job.Transition{pending})})
	if len(evs) != 1 || evs[0].Type != TypeCreated {
		t.Fatalf("want created for the new job, got %+v", evs)
	}
}

func TestDetectorLongPending(t *testing.T) {
	d := NewDetector(time.Minute)
	d.Observe(job.WatchEvent{Type: job.Synced})
	start := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	d.Observe(job.WatchEvent{Type: job.Added, Job: snap("u1", []job.Transition{{Phase: job.PhaseQueued, Reason: job.ReasonQueued, Time: start}})})
	if evs := d.Tick(start.Add(59 * time.Second)); len(evs) != 0 {
		t.Fatalf("too early: %+v", evs)
	}
	evs := d.Tick(start.Add(61 * time.Second))
	if len(evs) != 1 || evs[0].Type != TypeLongPending || evs[0].Job != "train" {
		t.Fatalf("want one long_pending, got %+v", evs)
	}
	if evs := d.Tick(start.Add(10 * time.Minute)); len(evs) != 0 {
		t.Fatalf("long_pending repeated: %+v", evs)
	}
	if NewDetector(0).Tick(start.Add(time.Hour)) != nil {
		t.Error("LongPending 0 must disable the event")
	}
}

func TestDetectorRestoreComparesAndForgets(t *testing.T) {
	pending, running := tr(job.PhasePending, job.ReasonCreated), tr(job.PhaseRunning, job.ReasonRunning)
	d := NewDetector(0)
	d.Observe(job.WatchEvent{Type: job.Synced})
	d.Observe(job.WatchEvent{Type: job.Added, Job: snap("u1", []job.Transition{pending})})
	gone := snap("u2", []job.Transition{pending})
	gone.Metadata.Name = "gone"
	d.Observe(job.WatchEvent{Type: job.Added, Job: gone})
	saved, changed := d.Snapshot()
	if !changed || len(saved) != 2 {
		t.Fatalf("snapshot %v %v", saved, changed)
	}
	r := NewDetector(0)
	r.Restore(saved)
	// The next run's initial listing: train ran meanwhile, "gone" was
	// deleted, "new" was created.
	got := r.Observe(job.WatchEvent{Type: job.Added, Job: snap("u1", []job.Transition{pending, running})})
	fresh := snap("u3", []job.Transition{pending})
	fresh.Metadata.Name = "new"
	got = append(got, r.Observe(job.WatchEvent{Type: job.Added, Job: fresh})...)
	r.Observe(job.WatchEvent{Type: job.Synced})
	var types []string
	for _, e := range got {
		types = append(types, e.Job+":"+string(e.Type))
	}
	if diff := cmp.Diff([]string{"train:running", "new:created"}, types); diff != "" {
		t.Errorf("events after restore (-want +got):\n%s", diff)
	}
	if after, _ := r.Snapshot(); len(after) != 2 || after["team-a/gone"].UID != "" {
		t.Errorf("a deleted job is still remembered: %v", after)
	}
}
