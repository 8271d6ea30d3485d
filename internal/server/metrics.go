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
	cpuDesc  = prometheus.NewDesc("odh_job_replica_cpu_cores", "CPU in use by each replica (launcher, worker-N) of running MPIJobs, when the engine measures it.", []string{"namespace", "job", "replica"}, nil)
	memDesc  = prometheus.NewDesc("odh_job_replica_memory_bytes", "Resident memory of each replica of running MPIJobs, when the engine measures it.", []string{"namespace", "job", "replica"}, nil)
	// Progress of running jobs, as their programs report it (ODH_PROGRESS).
	progressDesc = prometheus.NewDesc("odh_job_progress_ratio", "Share of the work done (0-1) of running MPIJobs that report progress.", []string{"namespace", "job"}, nil)
	stepDesc     = prometheus.NewDesc("odh_job_progress_step", "Latest training step reported by running MPIJobs.", []string{"namespace", "job"}, nil)
	etaDesc      = prometheus.NewDesc("odh_job_progress_remaining_seconds", "Estimated time left of running MPIJobs that report progress.", []string{"namespace", "job"}, nil)
	trainDesc    = prometheus.NewDesc("odh_job_training_metric", "Latest value of each training metric (loss, accuracy, ...) reported by running MPIJobs (at most 64 per job).", []string{"namespace", "job", "metric"}, nil)
	// Which pod runs which replica of which job, so that container metrics
	// (cAdvisor, kubelet, DCGM) can be attributed to jobs with a join on
	// namespace and pod.
	podInfoDesc = prometheus.NewDesc("odh_job_pod_info", "1 for every pod of a non-finished MPIJob: its job, replica (launcher, worker-N) and role.", []string{"namespace", "job", "pod", "replica", "role"}, nil)
)

func (c *jobsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- jobsDesc
	ch <- gpuDesc
	ch <- progressDesc
	ch <- stepDesc
	ch <- etaDesc
	ch <- trainDesc
	ch <- podInfoDesc
	if _, ok := c.eng.(engine.MetricsSource); ok {
		ch <- cpuDesc
		ch <- memDesc
	}
}

// collectUsage reports the latest sample of every replica of a running job.
func (c *jobsCollector) collectUsage(ctx context.Context, ch chan<- prometheus.Metric, j *job.MPIJob) {
	src, ok := c.eng.(engine.MetricsSource)
	if !ok || j.Status.Phase != job.PhaseRunning {
		return
	}
	m, err := src.JobMetrics(ctx, j.Metadata.Namespace, j.Metadata.Name)
	if err != nil {
		return
	}
	for _, r := range m.Replicas {
		if len(r.Samples) == 0 {
			continue
		}
		last := r.Samples[len(r.Samples)-1]
		ch <- prometheus.MustNewConstMetric(cpuDesc, prometheus.GaugeValue, last.CPUCores, j.Metadata.Namespace, j.Metadata.Name, r.Name)
		ch <- prometheus.MustNewConstMetric(memDesc, prometheus.GaugeValue, last.MemoryBytes, j.Metadata.Namespace, j.Metadata.Name, r.Name)
	}
}

// collectProgress reports the progress of a running job.
func collectProgress(ch chan<- prometheus.Metric, j *job.MPIJob) {
	p := j.Status.Progress
	if p == nil || j.Status.Phase != job.PhaseRunning {
		return
	}
	ns, name := j.Metadata.Namespace, j.Metadata.Name
	if f, ok := p.Fraction(); ok {
		ch <- prometheus.MustNewConstMetric(progressDesc, prometheus.GaugeValue, f, ns, name)
	}
	if p.Step != 0 || p.TotalSteps != 0 {
		ch <- prometheus.MustNewConstMetric(stepDesc, prometheus.GaugeValue, float64(p.Step), ns, name)
	}
	if r := p.EstimatedRemainingSeconds; r != nil {
		ch <- prometheus.MustNewConstMetric(etaDesc, prometheus.GaugeValue, float64(*r), ns, name)
	}
	for _, m := range p.Metrics {
		ch <- prometheus.MustNewConstMetric(trainDesc, prometheus.GaugeValue, m.Value, ns, name, m.Name)
	}
}

// collectPods reports which pod runs which replica of a job.
func collectPods(ch chan<- prometheus.Metric, j *job.MPIJob) {
	ns, name := j.Metadata.Namespace, j.Metadata.Name
	if l := j.Status.Launcher; l != nil && l.Pod != "" {
		ch <- prometheus.MustNewConstMetric(podInfoDesc, prometheus.GaugeValue, 1, ns, name, l.Pod, l.Name, "launcher")
	}
	for _, w := range j.Status.WorkerStatuses {
		if w.Pod != "" {
			ch <- prometheus.MustNewConstMetric(podInfoDesc, prometheus.GaugeValue, 1, ns, name, w.Pod, w.Name, "worker")
		}
	}
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
			collectPods(ch, j)
		}
		c.collectUsage(ctx, ch, j)
		collectProgress(ch, j)
	}
	for ns := range namespaces {
		for _, p := range job.Phases {
			ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(counts[key{ns, string(p)}]), ns, string(p))
		}
		ch <- prometheus.MustNewConstMetric(gpuDesc, prometheus.GaugeValue, float64(gpus[ns]), ns)
	}
}

// lifecycle counts jobs as they finish, from the engine's own watch, so the
// numbers are the same whatever client created the jobs.
type lifecycle struct {
	finished *prometheus.CounterVec
	duration *prometheus.HistogramVec
	wait     prometheus.Histogram
	started  prometheus.Counter
	// preempted counts preemptions (Kueue evicting a job for
	// higher-priority work) as the jobs' statuses report them.
	preempted *prometheus.CounterVec
}

func newLifecycle(reg *prometheus.Registry) *lifecycle {
	l := &lifecycle{
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "odh", Name: "jobs_finished_total",
			Help: "MPIJobs that finished since the server started, by namespace, phase (Succeeded or Failed) and reason.",
		}, []string{"namespace", "phase", "reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "odh", Name: "job_duration_seconds",
			Help:    "Run time (start to completion) of finished MPIJobs.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 18), // 1 s … 36 h
		}, []string{"phase"}),
		wait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "odh", Name: "job_start_wait_seconds",
			Help:    "Time from creation to start of MPIJobs (queueing, scheduling, image pulls).",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 18), // 50 ms … 1.8 h
		}),
		started: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "odh", Name: "jobs_started_total",
			Help: "MPIJobs that started running since the server started.",
		}),
		preempted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "odh", Name: "jobs_preempted_total",
			Help: "Preemptions of jobs by Kueue (evicted and requeued for higher-priority work) since the server started, by namespace.",
		}, []string{"namespace"}),
	}
	reg.MustRegister(l.finished, l.duration, l.wait, l.started, l.preempted)
	return l
}

// run follows the engine until ctx ends. Jobs already finished or started
// when the server starts are not counted again.
func (l *lifecycle) run(ctx context.Context, eng engine.Engine, log func(error)) {
	type seen struct {
		started, finished bool
		preemptions       int32
	}
	jobs := map[string]seen{}
	for ctx.Err() == nil {
		synced := false
		err := eng.Watch(ctx, engine.WatchOptions{SendInitial: true}, func(ev job.WatchEvent) error {
			if ev.Type == job.Synced {
				synced = true
				return nil
			}
			j := ev.Job
			uid := j.Metadata.UID
			if ev.Type == job.Deleted {
				delete(jobs, uid)
				return nil
			}
			prev, known := jobs[uid]
			now := seen{started: !j.Status.StartTime.IsZero(), finished: j.Status.Phase.Terminal(), preemptions: j.Status.Preemptions}
			jobs[uid] = now
			if !synced || (known && prev == now) {
				return nil
			}
			if now.started && !prev.started {
				l.started.Inc()
				if !j.Metadata.CreationTimestamp.IsZero() {
					l.wait.Observe(j.Status.StartTime.Sub(j.Metadata.CreationTimestamp).Seconds())
				}
			}
			if d := now.preemptions - prev.preemptions; d > 0 && known {
				l.preempted.WithLabelValues(j.Metadata.Namespace).Add(float64(d))
			}
			if now.finished && !prev.finished {
				l.finished.WithLabelValues(j.Metadata.Namespace, string(j.Status.Phase), j.Status.Reason).Inc()
				if !j.Status.StartTime.IsZero() && !j.Status.CompletionTime.IsZero() {
					l.duration.WithLabelValues(string(j.Status.Phase)).Observe(j.Status.CompletionTime.Sub(j.Status.StartTime).Seconds())
				}
			}
			return nil
		})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			log(err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
