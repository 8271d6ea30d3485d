package local

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

// withJobs returns an engine holding n suspended jobs.
func withJobs(b *testing.B, n int) *Engine {
	e := newTestEngine(b, func(o *Options) { o.Slots = 4 })
	for i := range n {
		j := newJob(fmt.Sprintf("job-%04d", i), 2, 1, job.OpenMPI, "python3", "train.py", "--epochs", "10")
		j.Metadata.Labels = map[string]string{"team": fmt.Sprint("t", i%10)}
		j.Spec.Env = []job.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}
		j.Spec.RunPolicy.Suspend = true
		create(b, e, j)
	}
	return e
}

// BenchmarkCreate measures Create of suspended jobs (record written with
// fsync).
func BenchmarkCreate(b *testing.B) {
	e := newTestEngine(b, nil)
	b.ResetTimer()
	for i := range b.N {
		j := newJob(fmt.Sprintf("job-%d", i), 2, 1, job.OpenMPI, "true")
		j.Spec.RunPolicy.Suspend = true
		create(b, e, j)
	}
}

func BenchmarkGetWith1000Jobs(b *testing.B) {
	e := withJobs(b, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := e.Get(b.Context(), "default", fmt.Sprintf("job-%04d", i%1000)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkListWith1000Jobs(b *testing.B) {
	e := withJobs(b, 1000)
	for _, bc := range []struct {
		name string
		opts engine.ListOptions
	}{{"all", engine.ListOptions{}}, {"other-namespace", engine.ListOptions{Namespace: "none"}}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := e.List(b.Context(), bc.opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMemoryPerJob reports the heap held per stored job.
func BenchmarkMemoryPerJob(b *testing.B) {
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		e := withJobs(b, 1000)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1000, "heap-bytes/job")
		runtime.KeepAlive(e)
	}
}
