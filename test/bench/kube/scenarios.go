package main

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

// createLatency creates suspended jobs one after another: the API path is
// the same as for any job, and the operator's queue is not flooded for the
// next scenarios.
func (b *bench) createLatency(ctx context.Context) error {
	var total []time.Duration
	var names []string
	b.cnt.mu.Lock()
	b.cnt.createDur = nil
	b.cnt.mu.Unlock()
	for i := range b.o.creates {
		name := fmt.Sprintf("lat-%d", i)
		j := b.newJob(name, 1)
		j.Spec.RunPolicy.Suspend = true
		start := time.Now()
		if _, err := b.eng.Create(ctx, j); err != nil {
			return err
		}
		total = append(total, time.Since(start))
		names = append(names, name)
	}
	b.cnt.mu.Lock()
	api := slices.Clone(b.cnt.createDur)
	b.cnt.mu.Unlock()
	fmt.Fprintf(b.out, "## Create latency (%d jobs, one after another)\n\n| measure | p50 | p95 | p99 | max |\n|---|---|---|---|---|\n", b.o.creates)
	fmt.Fprintf(b.out, "| %s POST to the API server |", map[bool]string{false: "MPIJob", true: "TrainJob"}[b.o.runtime != ""])
	fmt.Fprintf(b.out, " %s | %s | %s | %s |\n", ms(pct(api, .5)), ms(pct(api, .95)), ms(pct(api, .99)), ms(pct(api, 1)))
	fmt.Fprintf(b.out, "| engine Create (POST + cache caught up) | %s | %s | %s | %s |\n\n", ms(pct(total, .5)), ms(pct(total, .95)), ms(pct(total, .99)), ms(pct(total, 1)))
	fmt.Fprintf(b.out, "Deleting them: %s.\n\n", b.deleteAll(ctx, names).Round(time.Millisecond))
	return nil
}

// propagation fails the workers of one running job one by one and
// measures, for each, the time from the pod's phase change (as a watch on
// pods sees it) to the engine's Watch event showing the worker Failed.
func (b *bench) propagation(ctx context.Context) error {
	n := b.o.propWorker
	name := "prop"
	if _, err := b.eng.Create(ctx, b.newJob(name, n)); err != nil {
		return err
	}
	if _, err := b.awaitAll(ctx, []string{name}, 20*time.Minute, running); err != nil {
		return err
	}
	var mu sync.Mutex
	podAt := map[int]time.Time{}
	engAt := map[int]time.Time{}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sel, indexLabel := "training.kubeflow.org/job-name="+name+",training.kubeflow.org/job-role=worker", "training.kubeflow.org/replica-index"
	if b.o.runtime != "" {
		sel, indexLabel = "jobset.sigs.k8s.io/jobset-name="+name+",jobset.sigs.k8s.io/replicatedjob-name=node", "batch.kubernetes.io/job-completion-index"
	}
	podNames := map[int]string{}
	pl, err := b.cs.CoreV1().Pods(b.ns).List(wctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return err
	}
	for _, p := range pl.Items {
		i, _ := strconv.Atoi(p.Labels[indexLabel])
		podNames[i] = p.Name
	}
	w, err := b.cs.CoreV1().Pods(b.ns).Watch(wctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return err
	}
	go func() {
		for ev := range w.ResultChan() {
			if ev.Type != watch.Modified {
				continue
			}
			p := ev.Object.(*corev1.Pod)
			restarted := len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].RestartCount > 0
			if b.o.change == "restart" && !restarted || b.o.change != "restart" && p.Status.Phase != corev1.PodFailed {
				continue
			}
			i, _ := strconv.Atoi(p.Labels[indexLabel])
			mu.Lock()
			if _, ok := podAt[i]; !ok {
				podAt[i] = time.Now()
			}
			mu.Unlock()
		}
	}()
	go func() {
		_ = b.eng.Watch(wctx, engine.WatchOptions{ListOptions: engine.ListOptions{Namespace: b.ns}, Name: name}, func(ev job.WatchEvent) error {
			if ev.Job == nil {
				return nil
			}
			now := time.Now()
			mu.Lock()
			for _, ws := range ev.Job.Status.WorkerStatuses {
				if _, ok := engAt[int(ws.Index)]; !ok && (b.o.change == "restart" && ws.Restarts > 0 || b.o.change != "restart" && ws.State == job.StateFailed) {
					engAt[int(ws.Index)] = now
				}
			}
			mu.Unlock()
			return nil
		})
	}()
	time.Sleep(200 * time.Millisecond)
	for i := range n {
		change := func() error { return b.h.SetPodExitCode(ctx, b.ns, podNames[i], 1) }
		if b.o.change == "restart" {
			change = func() error { return b.h.SetPodRestarts(ctx, b.ns, podNames[i], 1, 1, "Error") }
		}
		if err := change(); err != nil {
			return err
		}
		time.Sleep(150 * time.Millisecond)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		mu.Lock()
		got := len(engAt)
		mu.Unlock()
		if got >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	var lat []time.Duration
	for i, t := range engAt {
		if p, ok := podAt[i]; ok {
			lat = append(lat, max(t.Sub(p), 0))
		}
	}
	mu.Unlock()
	fmt.Fprintf(b.out, "## Status propagation (pod change (%s) → Watch event), %d samples\n\n| p50 | p95 | p99 | max |\n|---|---|---|---|\n| %s | %s | %s | %s |\n\n",
		b.o.change, len(lat), ms(pct(lat, .5)), ms(pct(lat, .95)), ms(pct(lat, .99)), ms(pct(lat, 1)))
	cancel()
	b.deleteAll(ctx, []string{name})
	return nil
}

func (b *bench) phaseReport(title string, names []string, workers int, start time.Time, at map[string]time.Time, ms milestones, reqs int64, verbs map[string]int, reqBefore int64, verbsBefore map[string]int, deleted time.Duration) {
	var last time.Time
	var lat []time.Duration
	for _, t := range at {
		lat = append(lat, t.Sub(start))
		if t.After(last) {
			last = t
		}
	}
	var vs []string
	for v, c := range verbs {
		if d := c - verbsBefore[v]; d > 0 {
			vs = append(vs, fmt.Sprintf("%s %d", v, d))
		}
	}
	sort.Strings(vs)
	fmt.Fprintf(b.out, "## %s\n\n| measure | value |\n|---|---|\n", title)
	fmt.Fprintf(b.out, "| jobs × workers | %d × %d (%d pods) |\n", len(names), workers, len(names)*(workers+1))
	fmt.Fprintf(b.out, "| time to all Running | %s |\n", last.Sub(start).Round(time.Millisecond))
	fmt.Fprintf(b.out, "| … every worker pod running (engine saw) | %s |\n", ms.workers.Sub(start).Round(time.Millisecond))
	fmt.Fprintf(b.out, "| … every launcher pod running (engine saw) | %s |\n", ms.launchers.Sub(start).Round(time.Millisecond))
	if len(names) > 1 {
		fmt.Fprintf(b.out, "| per job to Running p50 / p95 | %s / %s |\n", pct(lat, .5).Round(time.Millisecond), pct(lat, .95).Round(time.Millisecond))
	}
	fmt.Fprintf(b.out, "| engine API requests (create → all Running) | %d (%s) |\n", reqs-reqBefore, strings.Join(vs, ", "))
	fmt.Fprintf(b.out, "| engine heap in use (after GC, all Running) / peak sampled | %s / %s |\n", mib(ms.heap), mib(b.peak.Load()))
	fmt.Fprintf(b.out, "| process RSS (all Running) | %s |\n", ms.rss)
	fmt.Fprintf(b.out, "| delete all (foreground, wait) | %s |\n\n", deleted.Round(time.Millisecond))
}

func (b *bench) bigJob(ctx context.Context) error {
	name := "big"
	reqs, verbs := b.cnt.snapshot()
	b.peak.Store(0)
	stop := b.trackMilestones(ctx, []string{name})
	start := time.Now()
	if _, err := b.eng.Create(ctx, b.newJob(name, b.o.bigWorkers)); err != nil {
		return err
	}
	at, err := b.awaitAll(ctx, []string{name}, 20*time.Minute, running)
	if err != nil {
		return err
	}
	ms := stop()
	runtime.GC()
	ms.heap, ms.rss = heapInUse(), rss()
	reqsNow, verbsNow := b.cnt.snapshot()
	// Status of every worker is there.
	j, _ := b.eng.Get(ctx, b.ns, name)
	if j.Status.Workers.Running != int32(b.o.bigWorkers) {
		return fmt.Errorf("running workers %+v", j.Status.Workers)
	}
	d := b.deleteAll(ctx, []string{name})
	b.phaseReport(fmt.Sprintf("One job with %d workers", b.o.bigWorkers), []string{name}, b.o.bigWorkers, start, at, ms, reqsNow, verbsNow, reqs, verbs, d)
	return nil
}

func (b *bench) concurrent(ctx context.Context) error {
	var names []string
	for i := range b.o.jobs {
		names = append(names, fmt.Sprintf("conc-%d", i))
	}
	reqs, verbs := b.cnt.snapshot()
	b.peak.Store(0)
	stop := b.trackMilestones(ctx, names)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, len(names))
	for _, n := range names {
		wg.Go(func() {
			if _, err := b.eng.Create(ctx, b.newJob(n, b.o.jobWorkers)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	created := time.Since(start)
	at, err := b.awaitAll(ctx, names, 30*time.Minute, running)
	if err != nil {
		return err
	}
	ms := stop()
	runtime.GC()
	ms.heap, ms.rss = heapInUse(), rss()
	reqsNow, verbsNow := b.cnt.snapshot()
	d := b.deleteAll(ctx, names)
	b.phaseReport(fmt.Sprintf("%d concurrent jobs of %d workers (all created within %s)", b.o.jobs, b.o.jobWorkers, created.Round(time.Millisecond)), names, b.o.jobWorkers, start, at, ms, reqsNow, verbsNow, reqs, verbs, d)
	return nil
}
