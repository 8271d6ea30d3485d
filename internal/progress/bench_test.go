package progress_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/odh-training/odh-training/internal/progress"
)

// The cost of looking for progress reports in a chatty log
// (docs/benchmarks.md): ordinary lines, which only pay for the marker
// search, and the reports themselves.

var sink bool

func BenchmarkParse(b *testing.B) {
	lines := map[string]string{
		"plain":    "2026-01-01 12:00:00,123 INFO epoch 3 batch 1200/5000 loss 0.5312 lr 0.0001 samples/s 4312.5",
		"kv":       "ODH_PROGRESS step=1200 total_steps=5000 epoch=3 loss=0.5312 accuracy=0.91 lr=0.0001",
		"json":     `ODH_PROGRESS {"step": 1200, "total_steps": 5000, "epoch": 3, "loss": 0.5312, "accuracy": 0.91, "lr": 0.0001}`,
		"prefixed": "[1,0]<stdout>: 2026-01-01 12:00:00 INFO ODH_PROGRESS step=1200 total_steps=5000 loss=0.5312",
	}
	for _, name := range []string{"plain", "kv", "json", "prefixed"} {
		line := []byte(lines[name])
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			for b.Loop() {
				_, ok := progress.Parse(line)
				sink = ok
			}
		})
	}
}

func BenchmarkTrackerApply(b *testing.B) {
	tr := progress.NewTracker()
	rs := make([]progress.Report, 100)
	for i := range rs {
		rs[i], _ = progress.Parse(fmt.Appendf(nil, "ODH_PROGRESS step=%d total_steps=100000 loss=%f accuracy=%f", i, 1/float64(i+1), float64(i)/100))
	}
	t0 := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tr.Apply(rs[i%len(rs)], t0.Add(time.Duration(i)*time.Millisecond))
		i++
	}
}
