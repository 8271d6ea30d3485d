package progress_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/progress"
)

func TestParse(t *testing.T) {
	p := job.Ptr[int32]
	f := job.Ptr[float64]
	cases := []struct {
		name string
		line string
		want progress.Report
		ok   bool
	}{
		{"plain line", "epoch 3 loss 0.5", progress.Report{}, false},
		{"marker only", "ODH_PROGRESS", progress.Report{}, false},
		{"marker glued to a word", "ODH_PROGRESSION step=1", progress.Report{}, false},
		{"key=value", "ODH_PROGRESS step=120 total_steps=1000 loss=0.53 accuracy=0.91",
			progress.Report{Step: p(120), TotalSteps: p(1000), Metrics: []job.MetricValue{{Name: "accuracy", Value: 0.91}, {Name: "loss", Value: 0.53}}}, true},
		{"commas and a prefix", "[1,0]<stdout>: 2026-01-01 INFO ODH_PROGRESS epoch=1.5,total_epochs=3,val/loss=2e-1",
			progress.Report{Epoch: f(1.5), TotalEpochs: p(3), Metrics: []job.MetricValue{{Name: "val/loss", Value: 0.2}}}, true},
		{"json", `ODH_PROGRESS {"step": 7, "totalSteps": 70, "loss": 1.25, "lr": "0.001", "note": "x", "nested": {"a": 1}}`,
			progress.Report{Step: p(7), TotalSteps: p(70), Metrics: []job.MetricValue{{Name: "loss", Value: 1.25}, {Name: "lr", Value: 0.001}}}, true},
		{"colon separator and percent", "ODH_PROGRESS: percent=150 eta_seconds=30", progress.Report{Percent: f(100), Remaining: p(30)}, true},
		{"bad json", `ODH_PROGRESS {"step": `, progress.Report{}, false},
		{"nothing usable", "ODH_PROGRESS loss=abc 9x=1 step=-1 total_steps=0", progress.Report{}, false},
		{"non-finite values are dropped", "ODH_PROGRESS loss=NaN acc=+Inf step=2", progress.Report{Step: p(2)}, true},
		{"huge numbers clamp", "ODH_PROGRESS step=1e12", progress.Report{Step: p(2147483647)}, true},
		{"duplicate metric keeps the last", "ODH_PROGRESS loss=1 loss=2", progress.Report{Metrics: []job.MetricValue{{Name: "loss", Value: 2}}}, true},
		{"line too long", "ODH_PROGRESS step=1 " + strings.Repeat("x", progress.MaxLine), progress.Report{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := progress.Parse([]byte(c.line))
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v", ok, c.ok)
			}
			if diff := cmp.Diff(c.want, got); ok && diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString("ODH_PROGRESS")
	for i := range 100 {
		b.WriteString(" m" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "=1")
	}
	r, ok := progress.Parse([]byte(b.String()))
	if !ok || len(r.Metrics) > progress.MaxMetricsPerReport {
		t.Fatalf("metrics = %d, want at most %d", len(r.Metrics), progress.MaxMetricsPerReport)
	}
	for _, name := range []string{"", "1loss", "a b", "loss\n", strings.Repeat("a", progress.MaxMetricName+1), "ü"} {
		if progress.ValidMetricName(name) {
			t.Errorf("ValidMetricName(%q) = true", name)
		}
	}
	for _, name := range []string{"loss", "_x", "val/loss", "eval:acc-1.top5", strings.Repeat("a", progress.MaxMetricName)} {
		if !progress.ValidMetricName(name) {
			t.Errorf("ValidMetricName(%q) = false", name)
		}
	}
}

func report(line string) progress.Report {
	r, ok := progress.Parse([]byte(line))
	if !ok {
		panic("not a report: " + line)
	}
	return r
}

func TestTrackerPercentAndETA(t *testing.T) {
	tr := progress.NewTracker()
	if tr.Latest() != nil {
		t.Fatal("Latest before any report is not nil")
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr.Apply(report("ODH_PROGRESS step=0 total_steps=100 loss=2"), t0)
	l := tr.Latest()
	if *l.Percent != 0 || l.EstimatedRemainingSeconds != nil {
		t.Fatalf("first report: percent %v, eta %v; want 0 and unknown", *l.Percent, l.EstimatedRemainingSeconds)
	}
	tr.Apply(report("ODH_PROGRESS step=25 loss=1.5 acc=0.5"), t0.Add(10*time.Second))
	l = tr.Latest()
	// 25 % in 10 s: 75 % left takes 30 s.
	want := &job.Progress{Step: 25, TotalSteps: 100, Percent: job.Ptr(25.0), EstimatedRemainingSeconds: job.Ptr[int32](30),
		Metrics: []job.MetricValue{{Name: "acc", Value: 0.5}, {Name: "loss", Value: 1.5}}, UpdateTime: t0.Add(10 * time.Second)}
	if diff := cmp.Diff(want, l); diff != "" {
		t.Fatalf("latest (-want +got):\n%s", diff)
	}
	// The program starts over (a retry): the rate is measured afresh.
	tr.Apply(report("ODH_PROGRESS step=5"), t0.Add(20*time.Second))
	if l := tr.Latest(); l.EstimatedRemainingSeconds != nil || *l.Percent != 5 {
		t.Fatalf("after a restart: percent %v eta %v, want 5 and unknown", *l.Percent, l.EstimatedRemainingSeconds)
	}
	tr.Apply(report("ODH_PROGRESS step=100"), t0.Add(30*time.Second))
	if l := tr.Latest(); *l.EstimatedRemainingSeconds != 0 || *l.Percent != 100 {
		t.Fatalf("done: percent %v eta %v, want 100 and 0", *l.Percent, *l.EstimatedRemainingSeconds)
	}
	// A reported percentage and time left win over computed ones.
	tr.Apply(report("ODH_PROGRESS percent=40 eta_seconds=99"), t0.Add(31*time.Second))
	if l := tr.Latest(); *l.EstimatedRemainingSeconds != 99 || *l.Percent != 40 {
		t.Fatalf("reported: percent %v eta %v, want 40 and 99", *l.Percent, *l.EstimatedRemainingSeconds)
	}
	h := tr.History()
	if len(h.Points) != 5 {
		t.Fatalf("history has %d points, want 5", len(h.Points))
	}
	if diff := cmp.Diff(job.ProgressPoint{Time: t0.Add(10 * time.Second), Step: 25, Metrics: []job.MetricValue{{Name: "acc", Value: 0.5}, {Name: "loss", Value: 1.5}}}, h.Points[1]); diff != "" {
		t.Errorf("point 1 (-want +got):\n%s", diff)
	}
}

func TestTrackerEpochs(t *testing.T) {
	tr := progress.NewTracker()
	t0 := time.Now()
	tr.Apply(report("ODH_PROGRESS epoch=1 total_epochs=4"), t0)
	if l := tr.Latest(); *l.Percent != 25 {
		t.Fatalf("percent = %v, want 25", *l.Percent)
	}
}

func TestTrackerBounds(t *testing.T) {
	tr := progress.NewTracker()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5000 {
		tr.Apply(progress.Report{Step: job.Ptr(int32(i)), Metrics: []job.MetricValue{{Name: "m" + string(rune('a'+i%100/26)) + string(rune('a'+i%26)), Value: float64(i)}}}, t0.Add(time.Duration(i)*time.Second))
	}
	h := tr.History()
	if len(h.Points) > progress.MaxPoints || len(h.Points) < progress.MaxPoints/2 {
		t.Fatalf("history has %d points, want between %d and %d", len(h.Points), progress.MaxPoints/2, progress.MaxPoints)
	}
	if !h.Points[0].Time.Equal(t0) || h.Points[len(h.Points)-1].Step != 4999 {
		t.Errorf("history lost its ends: first %v, last step %d", h.Points[0].Time, h.Points[len(h.Points)-1].Step)
	}
	for i := 1; i < len(h.Points); i++ {
		if !h.Points[i].Time.After(h.Points[i-1].Time) {
			t.Fatalf("points out of order at %d", i)
		}
	}
	if n := len(h.Latest.Metrics); n > progress.MaxMetricNames {
		t.Errorf("latest has %d metrics, want at most %d", n, progress.MaxMetricNames)
	}
}

func TestRestore(t *testing.T) {
	tr := progress.NewTracker()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr.Apply(report("ODH_PROGRESS step=10 total_steps=100 loss=2"), t0)
	tr.Apply(report("ODH_PROGRESS step=20 acc=0.1"), t0.Add(time.Second))
	h := tr.History()
	back := progress.Restore(h)
	if diff := cmp.Diff(h, back.History()); diff != "" {
		t.Fatalf("restored history differs (-saved +restored):\n%s", diff)
	}
}

func TestTrainerStatusRoundTrip(t *testing.T) {
	p := &job.Progress{Step: 30, TotalSteps: 120, Epoch: 1.5, TotalEpochs: 3, Percent: job.Ptr(25.0), EstimatedRemainingSeconds: job.Ptr[int32](90),
		Metrics: []job.MetricValue{{Name: "accuracy", Value: 0.875}, {Name: "loss", Value: 0.25}}, UpdateTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	ts := p.TrainerStatus()
	want := &job.TrainerStatus{ProgressPercentage: job.Ptr[int32](25), EstimatedRemainingSeconds: job.Ptr[int32](90), LastUpdatedTime: p.UpdateTime,
		Metrics: []job.TrainerMetric{{Name: "step", Value: "30"}, {Name: "total_steps", Value: "120"}, {Name: "epoch", Value: "1.5"}, {Name: "total_epochs", Value: "3"}, {Name: "accuracy", Value: "0.875"}, {Name: "loss", Value: "0.25"}}}
	if diff := cmp.Diff(want, ts); diff != "" {
		t.Fatalf("trainerStatus (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(p, job.ProgressFromTrainerStatus(ts)); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
	// What Trainer's own status server may hold: strings that are not numbers.
	odd := &job.TrainerStatus{ProgressPercentage: job.Ptr[int32](120), Metrics: []job.TrainerMetric{{Name: "loss", Value: "n/a"}, {Name: "acc", Value: "0.5"}, {Name: "", Value: "1"}}}
	got := job.ProgressFromTrainerStatus(odd)
	if *got.Percent != 100 || len(got.Metrics) != 1 || got.Metrics[0].Name != "acc" {
		t.Errorf("odd trainerStatus converted to %+v", got)
	}
	if (*job.Progress)(nil).TrainerStatus() != nil || job.ProgressFromTrainerStatus(nil) != nil {
		t.Error("nil does not convert to nil")
	}
}
