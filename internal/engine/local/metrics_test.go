package local

import (
	"context"
	"testing"
	"time"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

// A job whose two workers each burn a core for a while shows CPU and
// memory on both workers' series, and the launcher's own series.
func TestJobMetrics(t *testing.T) {
	e := newTestEngine(t, func(o *Options) { o.MetricsInterval = 200 * time.Millisecond })
	j := newJob("burn", 2, 1, job.OpenMPI, "bash", "-c", "while [ $SECONDS -lt 2 ]; do :; done")
	create(t, e, j)
	waitPhase(t, e, "burn", 60*time.Second, job.PhaseSucceeded, job.PhaseFailed)

	m, err := e.JobMetrics(context.Background(), job.DefaultNamespace, "burn")
	if err != nil {
		t.Fatal(err)
	}
	if m.Interval != 200*time.Millisecond || m.Source == "" {
		t.Errorf("interval %v source %q", m.Interval, m.Source)
	}
	byName := map[string]float64{}
	for i, r := range m.Replicas {
		if i > 0 && m.Replicas[i-1].Index >= r.Index {
			t.Errorf("replicas not sorted by index: %v then %v", m.Replicas[i-1].Name, r.Name)
		}
		peak := 0.0
		for _, s := range r.Samples {
			if s.MemoryBytes <= 0 {
				t.Errorf("%s: sample at %v has memory %v", r.Name, s.Time, s.MemoryBytes)
			}
			peak = max(peak, s.CPUCores)
		}
		byName[r.Name] = peak
		t.Logf("%s (index %d): %d samples, peak CPU %.2f cores", r.Name, r.Index, len(r.Samples), peak)
	}
	for _, w := range []string{"worker-0", "worker-1"} {
		peak, ok := byName[w]
		if !ok {
			t.Fatalf("no series for %s in %v", w, byName)
		}
		// Each worker spins on a core for two seconds; on two busy
		// cores it still gets a good share of one.
		if peak < 0.2 {
			t.Errorf("%s: peak CPU %.2f cores, want a busy core", w, peak)
		}
	}
	if _, ok := byName[job.LauncherName]; !ok {
		t.Errorf("no launcher series in %v", byName)
	}

	if _, err := e.JobMetrics(context.Background(), job.DefaultNamespace, "nope"); job.KindOf(err) != job.KindNotFound {
		t.Errorf("metrics of a missing job: %v, want not found", err)
	}
	// The series goes with the job.
	if _, err := e.Delete(context.Background(), job.DefaultNamespace, "burn", engine.DeleteOptions{Wait: true}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	e.sampler.mu.Lock()
	left := len(e.sampler.series)
	e.sampler.mu.Unlock()
	if left != 0 {
		t.Errorf("%d job series left after delete", left)
	}
}

// BenchmarkSample measures one sampling pass over /proc while a 4-rank job
// runs (the cost paid every interval).
func BenchmarkSample(b *testing.B) {
	e := newTestEngine(b, func(o *Options) { o.MetricsInterval = -1 })
	create(b, e, newJob("sleepy", 2, 2, job.OpenMPI, "sleep", "60"))
	waitPhase(b, e, "sleepy", 60*time.Second, job.PhaseRunning)
	time.Sleep(500 * time.Millisecond) // every rank started
	procs := len(listProcs())
	b.ResetTimer()
	for b.Loop() {
		e.sampleOnce(time.Now())
	}
	b.StopTimer()
	b.ReportMetric(float64(procs), "procs")
	m, err := e.JobMetrics(context.Background(), job.DefaultNamespace, "sleepy")
	if err != nil || len(m.Replicas) != 3 {
		b.Fatalf("replicas %+v, %v", m, err)
	}
}
