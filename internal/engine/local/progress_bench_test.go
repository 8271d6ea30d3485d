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

// BenchmarkProgressVisible measures how long a progress report takes from
// the moment a rank prints it to the watch event that carries it (the
// rank wrapper's tap, the datagram, the engine's publication and the
// broadcast). Each report carries its own wall-clock time as a metric; one
// job of b.N reports, 250 ms apart, on 2 ranks (rank 0 reports).
func BenchmarkProgressVisible(b *testing.B) {
	e := newTestEngine(b, nil)
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	type seen struct {
		step int32
		sent float64
		at   time.Time
	}
	events := make(chan seen, 1024)
	go func() {
		_ = e.Watch(ctx, engine.WatchOptions{Name: "progress-bench"}, func(ev job.WatchEvent) error {
			if ev.Job != nil && ev.Job.Status.Progress != nil {
				p := ev.Job.Status.Progress
				if s, ok := p.Metric("sent"); ok {
					events <- seen{p.Step, s, time.Now()}
				}
			}
			return nil
		})
	}()
	script := fmt.Sprintf(`[ "${OMPI_COMM_WORLD_RANK:-$PMI_RANK}" = 0 ] || exit 0
for i in $(seq 1 %d); do echo "ODH_PROGRESS step=$i total_steps=%d sent=$(date +%%s.%%N)"; sleep 0.25; done`, b.N, b.N)
	b.ResetTimer()
	create(b, e, newJob("progress-bench", 2, 1, job.OpenMPI, "bash", "-c", script))
	var lat []time.Duration
	last := int32(0)
	for last < int32(b.N) {
		select {
		case s := <-events:
			if s.step <= last {
				continue // the same report again (another status change)
			}
			last = s.step
			sec := int64(s.sent)
			sent := time.Unix(sec, int64((s.sent-float64(sec))*1e9))
			lat = append(lat, s.at.Sub(sent))
		case <-time.After(30 * time.Second):
			b.Fatalf("no progress after step %d", last)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}
