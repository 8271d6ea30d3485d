// Command kube benchmarks the kubernetes engine on the control-plane
// harness (test/cluster): create latency, status propagation from a pod
// phase change to a Watch event, one job with many workers, and many
// concurrent jobs. It prints a Markdown report; see docs/dev/kube-engine.md.
//
//	go run ./test/bench/kube                 # every scenario
//	go run ./test/bench/kube -scenario=big -workers=200
//
// The engine runs in this process, as in odh-server, with a counting HTTP
// transport, so the report gives the engine's own API requests and heap.
// Extra kwok nodes (label type=kwok-bench) are added for the pods and
// removed at the end.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/engine/kube"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/test/cluster"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	scenario   string
	creates    int
	propWorker int
	bigWorkers int
	jobs       int
	jobWorkers int
	nodes      int
	// runtime: "" runs the jobs as MPIJobs; a ClusterTrainingRuntime name
	// (deploy/runtimes) runs them as Kubeflow Trainer TrainJobs.
	runtime string
	// change: how propagation changes a worker — "exit" (the pod fails)
	// or "restart" (its container restarts; the pod stays). JobSet stops a
	// TrainJob's pods when one fails, so only restarts give many samples.
	change string
}

type bench struct {
	o     options
	h     *cluster.Cluster
	cs    *kubernetes.Clientset
	eng   *kube.Engine
	cnt   *counter
	ns    string
	out   io.Writer
	peak  atomic.Uint64
	start time.Time
}

func run() error {
	var o options
	flag.StringVar(&o.scenario, "scenario", "all", "create, propagation, big, concurrent or all")
	flag.IntVar(&o.creates, "creates", 100, "jobs created one after another for the create latency")
	flag.IntVar(&o.propWorker, "propagation-workers", 50, "workers failed one by one for the propagation latency")
	flag.IntVar(&o.bigWorkers, "workers", 200, "workers of the big job")
	flag.IntVar(&o.jobs, "jobs", 100, "concurrent jobs")
	flag.IntVar(&o.jobWorkers, "job-workers", 4, "workers per concurrent job")
	flag.StringVar(&o.runtime, "runtime", "", "run the jobs as TrainJobs on this ClusterTrainingRuntime (e.g. odh-openmpi4, installed from deploy/runtimes when missing); empty: MPIJobs")
	flag.StringVar(&o.change, "propagation-change", "exit", "how propagation changes each worker: exit (the pod fails) or restart (its container restarts)")
	flag.IntVar(&o.nodes, "nodes", 6, "extra kwok nodes (110 pods each) added for the benchmark")
	flag.Parse()

	// Ctrl-C still deletes the namespace (and so releases the pods).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	h, err := cluster.Ensure(ctx)
	if err != nil {
		return err
	}
	cfg, err := h.RESTConfig(cluster.Admin)
	if err != nil {
		return err
	}
	b := &bench{o: o, h: h, cs: kubernetes.NewForConfigOrDie(cfg), cnt: &counter{byVerb: map[string]int{}}, out: os.Stdout, start: time.Now()}
	b.ns = "kbench-" + strconv.FormatInt(time.Now().Unix()%100000, 36)
	if _, err := b.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: b.ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	defer b.cleanup() // deletes the namespace, then closes the engine
	if err := b.addNodes(ctx); err != nil {
		return err
	}
	archive, err := os.MkdirTemp("", "kbench-archive-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(archive)
	ecfg := rest.CopyConfig(cfg)
	ecfg.Wrap(b.cnt.wrap)
	ecfg.QPS, ecfg.Burst = 50, 100 // what odh-server uses
	runtime.GC()
	base := heapInUse()
	b.eng, err = kube.New(ctx, kube.Options{RestConfig: ecfg, ArchiveDir: archive, Namespace: b.ns, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	go b.sampleHeap(ctx)
	backend := "MPIJob (MPI operator)"
	if o.runtime != "" {
		if err := b.ensureRuntime(ctx, cfg); err != nil {
			return err
		}
		backend = "TrainJob on runtime " + o.runtime + " (Kubeflow Trainer, JobSet)"
	}
	fmt.Fprintf(b.out, "# kubernetes engine benchmark: %s\n\nHarness: %s, %d CPUs, Go %s; namespace %s; %d extra kwok nodes. Engine heap before start: %s.\n\n",
		backend, h.APIServerURL(), runtime.NumCPU(), runtime.Version(), b.ns, o.nodes, mib(base))
	for _, sc := range []struct {
		name string
		f    func(context.Context) error
	}{
		{"create", b.createLatency},
		{"propagation", b.propagation},
		{"big", b.bigJob},
		{"concurrent", b.concurrent},
	} {
		if o.scenario != "all" && o.scenario != sc.name {
			continue
		}
		if err := b.operatorIdle(ctx); err != nil {
			return err
		}
		if err := sc.f(ctx); err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
	}
	return nil
}

// operatorIdle waits until the MPI operator reacts to a new job within 3
// seconds. Its work queue admits 10 events per second by default
// (--controller-queue-rate-limit) and every pod event of every job is one,
// so after a burst new jobs wait for the backlog; a scenario must not
// measure the previous one's.
func (b *bench) operatorIdle(ctx context.Context) error {
	start := time.Now()
	for i := 0; ; i++ {
		name := fmt.Sprintf("probe-%d", i)
		j := b.newJob(name, 1)
		j.Spec.RunPolicy.Suspend = true
		t0 := time.Now()
		if _, err := b.eng.Create(ctx, j); err != nil {
			return err
		}
		_, err := b.awaitAll(ctx, []string{name}, 10*time.Minute, func(j *job.MPIJob) bool {
			return j.Status.Phase == job.PhaseSuspended && j.Status.Reason == job.ReasonSuspended
		})
		took := time.Since(t0)
		_, _ = b.eng.Delete(ctx, b.ns, name, engine.DeleteOptions{Wait: true})
		if err != nil {
			return err
		}
		if took < 3*time.Second {
			if w := time.Since(start); w > 5*time.Second {
				fmt.Fprintf(b.out, "_(waited %s for the MPI operator's work queue to drain)_\n\n", w.Round(time.Second))
			}
			return nil
		}
	}
}

// addNodes creates extra kwok nodes so the pods fit next to whatever else
// runs on the harness.
func (b *bench) addNodes(ctx context.Context) error {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods: resource.MustParse("110"), cluster.GPUResource: resource.MustParse("8"),
	}
	for i := range b.o.nodes {
		name := fmt.Sprintf("bench-node-%d", i)
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name,
				Labels:      map[string]string{"type": "kwok-bench", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
				Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"}},
			Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity,
				Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: name}},
				DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(b.h.State.Ports.Kwok)}}},
		}
		if _, err := b.cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	deadline := time.Now().Add(time.Minute)
	for {
		l, err := b.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "type=kwok-bench"})
		if err != nil {
			return err
		}
		ready := 0
		for _, n := range l.Items {
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		if ready >= b.o.nodes {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d bench nodes Ready", ready, b.o.nodes)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cleanup deletes the namespace while the engine still runs (it releases
// the log-archive finalizers of the pods), then stops the engine.
func (b *bench) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if b.eng != nil {
		defer b.eng.Close(context.Background())
	}
	_ = b.cs.CoreV1().Namespaces().Delete(ctx, b.ns, metav1.DeleteOptions{})
	for ctx.Err() == nil {
		if _, err := b.cs.CoreV1().Namespaces().Get(ctx, b.ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	for i := range b.o.nodes {
		_ = b.cs.CoreV1().Nodes().Delete(ctx, fmt.Sprintf("bench-node-%d", i), metav1.DeleteOptions{})
	}
}

func (b *bench) newJob(name string, workers int) *job.MPIJob {
	j := &job.MPIJob{Metadata: job.ObjectMeta{Name: name, Namespace: b.ns}, Spec: job.Spec{
		Image: "mpioperator/mpi-pi:openmpi", Command: []string{"python3", "train.py"},
		Workers: job.WorkerSpec{Replicas: job.Ptr(int32(workers)), Resources: job.Resources{CPU: "10m", Memory: "16Mi"}},
		Runtime: b.o.runtime,
	}}
	if err := job.Prepare(j); err != nil {
		panic(err)
	}
	return j
}

// awaitAll watches until every named job satisfies cond; it returns when
// each did.
func (b *bench) awaitAll(ctx context.Context, names []string, timeout time.Duration, cond func(*job.MPIJob) bool) (map[string]time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	at := map[string]time.Time{}
	last := map[string]string{}
	done := errors.New("done")
	err := b.eng.Watch(ctx, engine.WatchOptions{ListOptions: engine.ListOptions{Namespace: b.ns}, SendInitial: true}, func(ev job.WatchEvent) error {
		if ev.Job == nil || !want[ev.Job.Metadata.Name] {
			return nil
		}
		last[ev.Job.Metadata.Name] = string(ev.Job.Status.Phase) + "/" + ev.Job.Status.Reason + ": " + ev.Job.Status.Message
		if _, ok := at[ev.Job.Metadata.Name]; !ok && cond(ev.Job) {
			at[ev.Job.Metadata.Name] = time.Now()
			if len(at) == len(want) {
				return done
			}
		}
		return nil
	})
	if errors.Is(err, done) {
		return at, nil
	}
	var missing []string
	for n := range want {
		if _, ok := at[n]; !ok {
			missing = append(missing, n+" ("+last[n]+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 5 {
		missing = missing[:5]
	}
	return at, fmt.Errorf("%d of %d jobs reached the state (%w); e.g. %s", len(at), len(want), err, strings.Join(missing, "; "))
}

func running(j *job.MPIJob) bool { return j.Status.Phase == job.PhaseRunning }

// milestones are when the last job's workers, and the last job's launcher,
// were all running as the engine saw them (before the operator's Running
// condition, which waits for its rate-limited work queue).
type milestones struct {
	workers, launchers time.Time
	heap               uint64 // heap in use after GC with every job running
	rss                string
}

func (b *bench) trackMilestones(ctx context.Context, names []string) func() milestones {
	ctx, cancel := context.WithCancel(ctx)
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var mu sync.Mutex
	w, l := map[string]time.Time{}, map[string]time.Time{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.eng.Watch(ctx, engine.WatchOptions{ListOptions: engine.ListOptions{Namespace: b.ns}}, func(ev job.WatchEvent) error {
			if ev.Job == nil || !want[ev.Job.Metadata.Name] {
				return nil
			}
			now := time.Now()
			mu.Lock()
			defer mu.Unlock()
			n := ev.Job.Metadata.Name
			if _, ok := w[n]; !ok && ev.Job.Status.Workers.Running == ev.Job.Spec.Replicas() {
				w[n] = now
			}
			if _, ok := l[n]; !ok && ev.Job.Status.Launcher != nil && ev.Job.Status.Launcher.State == job.StateRunning {
				l[n] = now
			}
			return nil
		})
	}()
	return func() milestones {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		var m milestones
		for _, t := range w {
			if t.After(m.workers) {
				m.workers = t
			}
		}
		for _, t := range l {
			if t.After(m.launchers) {
				m.launchers = t
			}
		}
		return m
	}
}

func (b *bench) deleteAll(ctx context.Context, names []string) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 20)
	for _, n := range names {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if _, err := b.eng.Delete(ctx, b.ns, n, engine.DeleteOptions{Wait: true}); err != nil {
				fmt.Fprintf(os.Stderr, "delete %s: %v\n", n, err)
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// ensureRuntime installs the named runtime from deploy/runtimes when the
// cluster lacks it, and waits until the engine can use it.
func (b *bench) ensureRuntime(ctx context.Context, cfg *rest.Config) error {
	gvr := schema.GroupVersionResource{Group: "trainer.kubeflow.org", Version: "v1alpha1", Resource: "clustertrainingruntimes"}
	dyn := dynamic.NewForConfigOrDie(cfg)
	if _, err := dyn.Resource(gvr).Get(ctx, b.o.runtime, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		data, err := os.ReadFile(filepath.Join(b.h.Layout.Root, "deploy", "runtimes", b.o.runtime+".yaml"))
		if err != nil {
			return fmt.Errorf("runtime %s: %w", b.o.runtime, err)
		}
		var obj map[string]any
		if err := yaml.Unmarshal(data, &obj); err != nil {
			return err
		}
		if _, err := dyn.Resource(gvr).Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := b.eng.Admit(ctx, b.newJob("probe-runtime", 1))
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}
