package local

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

// BenchmarkStatusPropagation measures how long it takes from the moment
// the last rank's program exits (the wrapper's finish time) to the watch
// event that reports the job Succeeded. It includes the launcher's own
// teardown, the process sweep, the status files and the broadcast.
func BenchmarkStatusPropagation(b *testing.B) {
	for _, impl := range []job.MPIImplementation{job.OpenMPI, job.MPICH} {
		b.Run(string(impl), func(b *testing.B) {
			e := newTestEngine(b, nil)
			ctx, cancel := context.WithCancel(b.Context())
			defer cancel()
			type seen struct {
				j  *job.MPIJob
				at time.Time
			}
			events := make(chan seen, 64)
			go func() {
				_ = e.Watch(ctx, engine.WatchOptions{}, func(ev job.WatchEvent) error {
					if ev.Job != nil && ev.Job.Status.Phase.Terminal() {
						events <- seen{ev.Job, time.Now()}
					}
					return nil
				})
			}()
			var lat []time.Duration
			b.ResetTimer()
			for i := range b.N {
				name := fmt.Sprintf("prop-%d", i)
				create(b, e, newJob(name, 2, 1, impl, "true"))
				s := <-events
				if s.j.Status.Phase != job.PhaseSucceeded {
					b.Fatalf("job failed: %s", describe(s.j))
				}
				var exit time.Time
				for _, w := range s.j.Status.WorkerStatuses {
					if w.FinishTime.After(exit) {
						exit = w.FinishTime
					}
				}
				lat = append(lat, s.at.Sub(exit))
			}
			b.StopTimer()
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[min(int(p*float64(len(lat))), len(lat)-1)].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.95), "p95-ms")
		})
	}
}
