package server

import (
	"context"
	"path"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

// metrics are the server's Prometheus metrics, in their own registry so
// tests can run several servers in one process.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	inflight *prometheus.GaugeVec
}

func newMetrics(eng engine.Engine) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "odh", Subsystem: "api", Name: "requests_total",
			Help: "API requests by method and gRPC code (REST requests are counted under the method they map to).",
		}, []string{"method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "odh", Subsystem: "api", Name: "request_duration_seconds",
			Help:    "Latency of unary API requests, and lifetime of streams, by method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"method"}),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "odh", Subsystem: "api", Name: "streams_in_flight",
			Help: "Open watch and log streams by method.",
		}, []string{"method"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.inflight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&jobsCollector{eng: eng})
	return m
}

func (m *metrics) observe(method string, start time.Time, err error) {
	name := path.Base(method)
	m.requests.WithLabelValues(name, status.Code(err).String()).Inc()
	m.latency.WithLabelValues(name).Observe(time.Since(start).Seconds())
}

func (m *metrics) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := h(ctx, req)
	m.observe(info.FullMethod, start, err)
	return resp, err
}

func (m *metrics) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	start := time.Now()
	g := m.inflight.WithLabelValues(path.Base(info.FullMethod))
	g.Inc()
	defer g.Dec()
	err := h(srv, ss)
	m.observe(info.FullMethod, start, err)
	return err
}

// jobsCollector reports jobs by phase and namespace at scrape time, so the
// numbers are always those of the engine.
type jobsCollector struct{ eng engine.Engine }

var (
	jobsDesc = prometheus.NewDesc("odh_jobs", "MPIJobs by namespace and phase.", []string{"namespace", "phase"}, nil)
	gpuDesc  = prometheus.NewDesc("odh_jobs_requested_gpus", "GPUs requested by non-terminal MPIJobs, by namespace.", []string{"namespace"}, nil)
)

func (c *jobsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- jobsDesc
	ch <- gpuDesc
}

func (c *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	jobs, err := c.eng.List(ctx, engine.ListOptions{})
	if err != nil {
		return
	}
	type key struct{ ns, phase string }
	counts := map[key]int{}
	gpus := map[string]int64{}
	namespaces := map[string]bool{}
	for _, j := range jobs {
		ns := j.Metadata.Namespace
		namespaces[ns] = true
		counts[key{ns, string(j.Status.Phase)}]++
		if !j.Status.Phase.Terminal() {
			gpus[ns] += job.TotalRequests(&j.Spec).GPUs
		}
	}
	for ns := range namespaces {
		for _, p := range job.Phases {
			ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(counts[key{ns, string(p)}]), ns, string(p))
		}
		ch <- prometheus.MustNewConstMetric(gpuDesc, prometheus.GaugeValue, float64(gpus[ns]), ns)
	}
}
