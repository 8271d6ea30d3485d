package local

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

// A real MPI job reports progress on its output: the job's status and a
// watch show it while the job runs, its history survives the end of the
// job and a restart of the engine, and reports of other lines, of another
// rank's noise or of a wrong format change nothing.
func TestProgressFromRankOutput(t *testing.T) {
	for _, impl := range []job.MPIImplementation{job.OpenMPI, job.MPICH} {
		t.Run(string(impl), func(t *testing.T) {
			dir := t.TempDir()
			e := newTestEngine(t, func(o *Options) { o.StateDir = dir })
			// Rank 0 reports steps 1..5 of 10 with a loss, then waits for
			// the test; rank 1 prints noise that looks almost like a report.
			script := `if [ "${OMPI_COMM_WORLD_RANK:-$PMI_RANK}" = 0 ]; then
  for i in 1 2 3 4 5; do echo "epoch done ODH_PROGRESS step=$i total_steps=10 loss=0.$((10 - i))"; sleep 0.05; done
  echo 'ODH_PROGRESS {"step": 6, "accuracy": 0.75}'
  sleep 1.5
else
  echo "ODH_PROGRESSION step=99"; echo "ODH_PROGRESS step=oops"; sleep 1.5
fi`
			name := "progress-" + string(impl)
			j := newJob(name, 2, 1, impl, "sh", "-c", script)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			seen := make(chan *job.Progress, 100)
			go func() {
				_ = e.Watch(ctx, engine.WatchOptions{Name: name}, func(ev job.WatchEvent) error {
					if ev.Job != nil && ev.Job.Status.Progress != nil {
						seen <- ev.Job.Status.Progress
					}
					return nil
				})
			}()
			create(t, e, j)
			var last *job.Progress
			for last == nil || last.Step != 6 {
				select {
				case last = <-seen:
				case <-ctx.Done():
					t.Fatalf("no progress at step 6 seen by the watch; last %+v", last)
				}
			}
			if last.TotalSteps != 10 || last.Percent == nil || *last.Percent != 60 {
				t.Errorf("progress = %+v (percent %v), want step 6 of 10, 60 %%", last, last.Percent)
			}
			loss, ok := last.Metric("loss")
			acc, ok2 := last.Metric("accuracy")
			if !ok || !ok2 || loss != 0.5 || acc != 0.75 {
				t.Errorf("metrics = %+v, want loss 0.5 and accuracy 0.75", last.Metrics)
			}
			done := waitPhase(t, e, name, 20*time.Second, job.PhaseSucceeded, job.PhaseFailed)
			if done.Status.Phase != job.PhaseSucceeded || done.Status.Progress == nil || done.Status.Progress.Step != 6 {
				t.Fatalf("finished job: %s, progress %+v", describe(done), done.Status.Progress)
			}
			h, err := e.JobProgress(ctx, job.DefaultNamespace, name)
			if err != nil {
				t.Fatal(err)
			}
			if len(h.Points) < 2 || h.Points[len(h.Points)-1].Step != 6 || h.Latest.Step != 6 {
				t.Fatalf("history: %d points, latest %+v", len(h.Points), h.Latest)
			}
			for i, p := range h.Points[:len(h.Points)-1] {
				if _, ok := metric(p.Metrics, "loss"); !ok {
					t.Errorf("point %d (step %d) has no loss: %+v", i, p.Step, p)
				}
			}
		})
	}
}

func metric(ms []job.MetricValue, name string) (float64, bool) {
	for _, m := range ms {
		if m.Name == name {
			return m.Value, true
		}
	}
	return 0, false
}

// The history is kept on disk: a new engine on the same state directory
// serves it.
func TestProgressSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	e, err := New(Options{StateDir: dir, Slots: 4, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	script := `for i in $(seq 1 20); do echo "ODH_PROGRESS step=$i total_steps=20 loss=$i"; done`
	create(t, e, newJob("restart", 1, 1, job.OpenMPI, "sh", "-c", script))
	waitPhase(t, e, "restart", 20*time.Second, job.PhaseSucceeded, job.PhaseFailed)
	before, err := e.JobProgress(t.Context(), job.DefaultNamespace, "restart")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	e2 := newTestEngine(t, func(o *Options) { o.StateDir = dir })
	after, err := e2.JobProgress(t.Context(), job.DefaultNamespace, "restart")
	if err != nil {
		t.Fatal(err)
	}
	if after.Latest == nil || after.Latest.Step != 20 || len(after.Points) != len(before.Points) {
		t.Fatalf("after a restart: latest %+v, %d points (before: %d)", after.Latest, len(after.Points), len(before.Points))
	}
	j, _ := e2.Get(t.Context(), job.DefaultNamespace, "restart")
	if j.Status.Progress == nil || j.Status.Progress.Step != 20 {
		t.Errorf("status after restart: %s", fmt.Sprint(j.Status.Progress))
	}
}
