package apiclient

import (
	"fmt"
	"testing"
	"time"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/job"
)

func pj(name, rv, phase string) *trainingv1.MPIJob {
	return &trainingv1.MPIJob{
		Metadata: &trainingv1.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: rv},
		Status:   &trainingv1.JobStatus{Phase: phase},
	}
}

type ev struct {
	typ job.WatchEventType
	job *trainingv1.MPIJob
}

func reopen() ev { return ev{typ: "REOPEN"} }

func (e ev) String() string { return string(e.typ) }

// The events of one or more streams (REOPEN between them) become what the
// caller sees: nothing twice, nothing missed, SYNCED once.
func TestWatchTrackerResumesByResourceVersion(t *testing.T) {
	tests := []struct {
		name string
		opts WatchOptions
		in   []ev
		want []string
	}{{
		name: "one stream passes through",
		in:   []ev{{job.Added, pj("a", "1", "Running")}, {job.Synced, nil}, {job.Modified, pj("a", "2", "Succeeded")}},
		want: []string{"ADDED a 1", "SYNCED", "MODIFIED a 2"},
	}, {
		name: "reopened listing repeats nothing already seen",
		in: []ev{{job.Added, pj("a", "1", "Running")}, {job.Synced, nil}, reopen(),
			{job.Added, pj("a", "1", "Running")}, {job.Synced, nil}, {job.Modified, pj("a", "3", "Succeeded")}},
		want: []string{"ADDED a 1", "SYNCED", "MODIFIED a 3"},
	}, {
		name: "a change during the gap is MODIFIED, a creation ADDED, a deletion DELETED",
		in: []ev{{job.Added, pj("a", "1", "Running")}, {job.Added, pj("b", "2", "Running")}, {job.Synced, nil}, reopen(),
			{job.Added, pj("a", "5", "Succeeded")}, {job.Added, pj("c", "6", "Pending")}, {job.Synced, nil}},
		want: []string{"ADDED a 1", "ADDED b 2", "SYNCED", "MODIFIED a 5", "ADDED c 6", "DELETED b 2"},
	}, {
		name: "an older state from a lagging server is not delivered",
		in:   []ev{{job.Added, pj("a", "10", "Running")}, {job.Synced, nil}, reopen(), {job.Added, pj("a", "9", "Pending")}, {job.Synced, nil}},
		want: []string{"ADDED a 10", "SYNCED"},
	}, {
		name: "resource versions compare as numbers",
		in:   []ev{{job.Added, pj("a", "9", "Running")}, {job.Synced, nil}, reopen(), {job.Added, pj("a", "10", "Succeeded")}, {job.Synced, nil}},
		want: []string{"ADDED a 9", "SYNCED", "MODIFIED a 10"},
	}, {
		name: "without initial events the first listing is only a baseline",
		opts: WatchOptions{NoInitial: true},
		in: []ev{{job.Added, pj("a", "1", "Running")}, {job.Synced, nil}, {job.Modified, pj("a", "2", "Succeeded")}, reopen(),
			{job.Added, pj("a", "2", "Succeeded")}, {job.Synced, nil}},
		want: []string{"MODIFIED a 2"},
	}, {
		name: "known jobs: a change between the caller's read and the watch is delivered",
		opts: WatchOptions{NoInitial: true, Known: []*job.MPIJob{{Metadata: job.ObjectMeta{Namespace: "ns", Name: "a", ResourceVersion: "1"}}}},
		in:   []ev{{job.Added, pj("a", "2", "Running")}, {job.Synced, nil}},
		want: []string{"MODIFIED a 2"},
	}, {
		name: "a deletion seen live is not repeated by the next listing",
		in: []ev{{job.Added, pj("a", "1", "Running")}, {job.Synced, nil}, {job.Deleted, pj("a", "2", "Running")}, reopen(),
			{job.Synced, nil}},
		want: []string{"ADDED a 1", "SYNCED", "DELETED a 2"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newWatchTracker(tt.opts)
			var got []string
			for _, e := range tt.in {
				if e.typ == "REOPEN" {
					tr.reopened()
					continue
				}
				for _, d := range tr.feed(e.typ, e.job) {
					if d.Job == nil {
						got = append(got, string(d.Type))
						continue
					}
					got = append(got, fmt.Sprintf("%s %s %s", d.Type, d.Job.Metadata.Name, d.Job.Metadata.ResourceVersion))
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// A reopened follow repeats the lines after "since"; each is delivered
// once, and identical lines at the same instant keep their count.
func TestLogTrackerSkipsTheOverlapOnce(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	line := func(src string, ms int, text string) job.LogLine {
		return job.LogLine{Source: src, Rank: -1, Stream: "stdout", Time: t0.Add(time.Duration(ms) * time.Millisecond), Text: text}
	}
	tr := newLogTracker()
	first := []job.LogLine{line("launcher", 0, "a"), line("launcher", 500, "b"), line("launcher", 500, "b"), line("worker-0", 900, "w")}
	var got []string
	for _, l := range first {
		if tr.feed(l) {
			got = append(got, l.Text)
		}
	}
	since, ok := tr.since()
	if !ok || !since.Equal(t0.Add(500*time.Millisecond-logMargin)) {
		t.Fatalf("since = %v, %v; want the oldest source's last line minus the margin", since, ok)
	}
	tr.reopened()
	// The server repeats everything since then, then new lines, one of
	// them identical to an old one at a new time.
	second := []job.LogLine{line("launcher", 0, "a"), line("launcher", 500, "b"), line("launcher", 500, "b"), line("worker-0", 900, "w"),
		line("launcher", 1200, "b"), line("worker-0", 1300, "x")}
	for _, l := range second {
		if tr.feed(l) {
			got = append(got, l.Text)
		}
	}
	if want := "[a b b w b x]"; fmt.Sprint(got) != want {
		t.Errorf("delivered %v, want %s", got, want)
	}
}

func TestNewerRV(t *testing.T) {
	for _, tt := range []struct {
		rv, than string
		want     bool
	}{{"2", "1", true}, {"1", "2", false}, {"10", "9", true}, {"9", "10", false}, {"5", "5", false}, {"b", "a", true}, {"a", "a", false}} {
		if got := newerRV(tt.rv, tt.than); got != tt.want {
			t.Errorf("newerRV(%q, %q) = %v, want %v", tt.rv, tt.than, got, tt.want)
		}
	}
}
