package local

import (
	"bytes"
	"cmp"
	"context"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

// Resource metrics: while jobs run, the engine samples the CPU time and
// resident memory of every process carrying a job's marker (from /proc on
// Linux, from the kernel and ps on macOS) and
// adds them up per replica — a rank's wrapper, program and children count
// for the worker hosting the rank; mpirun and its helpers for the launcher.
const (
	defaultMetricsInterval = 2 * time.Second
	metricsKeep            = 150 // samples per replica: five minutes at the default interval
)

var _ engine.MetricsSource = (*Engine)(nil)

type sampler struct {
	interval time.Duration // <= 0: sampling off

	mu     sync.Mutex
	series map[string]map[int32]*job.ReplicaMetrics // job UID → replica index → series
	cpu    map[int]time.Duration                    // CPU time by pid at the last sample
	last   time.Time
}

func newSampler(interval time.Duration) *sampler {
	if interval == 0 {
		interval = defaultMetricsInterval
	}
	return &sampler{
		interval: interval,
		series:   map[string]map[int32]*job.ReplicaMetrics{},
		cpu:      map[int]time.Duration{},
	}
}

// sampleLoop runs until the engine closes.
func (e *Engine) sampleLoop() {
	if e.sampler.interval <= 0 {
		return
	}
	t := time.NewTicker(e.sampler.interval)
	defer t.Stop()
	for {
		select {
		case <-e.quit:
			return
		case now := <-t.C:
			e.sampleOnce(now)
		}
	}
}

// runningJobs returns the slots per worker of every running job and the
// set of all known jobs, by UID.
func (e *Engine) runningJobs() (map[string]int32, map[string]bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	running := map[string]int32{}
	all := make(map[string]bool, len(e.byUID))
	for uid, rec := range e.byUID {
		all[uid] = true
		if rec.j.Status.Phase == job.PhaseRunning || rec.j.Status.Phase == job.PhaseStarting {
			running[uid] = rec.j.Spec.Slots()
		}
	}
	return running, all
}

type usage struct {
	cpu time.Duration
	rss float64
}

// sampleOnce adds one sample per replica of every running job. CPU is the
// time a replica's processes used since the previous pass over the
// elapsed time; a process seen for the first time started after that pass
// (job processes are marked from exec on, and jobs are sampled from the
// moment they start), so all its ticks count.
func (e *Engine) sampleOnce(now time.Time) {
	running, all := e.runningJobs()
	s := e.sampler
	s.mu.Lock()
	defer s.mu.Unlock()
	for uid := range s.series {
		if !all[uid] {
			delete(s.series, uid)
		}
	}
	elapsed := now.Sub(s.last).Seconds()
	s.last = now
	if len(running) == 0 {
		clear(s.cpu)
		return
	}
	cur := map[string]map[int32]*usage{}
	seen := map[int]time.Duration{}
	self := os.Getpid()
	for _, p := range sampleProcs() {
		if p.state == 'Z' || p.pid == self {
			continue
		}
		env, err := procEnviron(p.pid)
		if err != nil {
			continue
		}
		uid := envValue(env, EnvJobUID)
		slots, ok := running[uid]
		if !ok {
			continue
		}
		index := int32(-1) // the launcher
		if r := rankOf(env); r >= 0 && slots > 0 {
			index = r / slots
		}
		if cur[uid] == nil {
			cur[uid] = map[int32]*usage{}
		}
		u := cur[uid][index]
		if u == nil {
			u = &usage{}
			cur[uid][index] = u
		}
		if prev, ok := s.cpu[p.pid]; !ok {
			// New since the last pass: all its CPU time was spent since.
			u.cpu += p.cpu
		} else if p.cpu >= prev {
			u.cpu += p.cpu - prev
		}
		seen[p.pid] = p.cpu
		u.rss += float64(p.rss)
	}
	s.cpu = seen
	for uid, reps := range cur {
		js := s.series[uid]
		if js == nil {
			js = map[int32]*job.ReplicaMetrics{}
			s.series[uid] = js
		}
		for index, u := range reps {
			rm := js[index]
			if rm == nil {
				name := job.LauncherName
				if index >= 0 {
					name = job.WorkerName(index)
				}
				rm = &job.ReplicaMetrics{Name: name, Index: index}
				js[index] = rm
			}
			cpu := 0.0
			if elapsed > 0 {
				cpu = u.cpu.Seconds() / elapsed
			}
			rm.Samples = append(rm.Samples, job.MetricSample{Time: now.UTC(), CPUCores: cpu, MemoryBytes: u.rss})
			if n := len(rm.Samples); n > metricsKeep {
				rm.Samples = append(rm.Samples[:0], rm.Samples[n-metricsKeep:]...)
			}
		}
	}
}

// envValue returns key's value in a NUL-separated environment.
func envValue(env []byte, key string) string {
	prefix := []byte(key + "=")
	for kv := range bytes.SplitSeq(env, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, prefix); ok {
			return string(v)
		}
	}
	return ""
}

// rankOf finds the MPI rank in a process's environment, -1 if none.
func rankOf(env []byte) int32 {
	for _, k := range []string{"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"} {
		if v := envValue(env, k); v != "" {
			if r, err := strconv.Atoi(v); err == nil {
				return int32(r)
			}
		}
	}
	return -1
}

// JobMetrics returns the samples of a job's replicas: while it runs and for
// as long as its record exists.
func (e *Engine) JobMetrics(ctx context.Context, namespace, name string) (*job.Metrics, error) {
	e.mu.Lock()
	rec, ok := e.jobs[key{namespace, name}]
	var uid string
	if ok {
		uid = rec.j.Metadata.UID
	}
	e.mu.Unlock()
	if !ok {
		return nil, job.NotFound(namespace, name)
	}
	s := e.sampler
	out := &job.Metrics{Source: procSource, Interval: s.interval}
	s.mu.Lock()
	defer s.mu.Unlock()
	if js := s.series[uid]; js != nil {
		for _, rm := range js {
			c := *rm
			c.Samples = append([]job.MetricSample(nil), rm.Samples...)
			out.Replicas = append(out.Replicas, c)
		}
	}
	slices.SortFunc(out.Replicas, func(a, b job.ReplicaMetrics) int { return cmp.Compare(a.Index, b.Index) })
	return out, nil
}
