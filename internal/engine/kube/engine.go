// Package kube is the kubernetes engine: it runs jobs as kubeflow.org/v2beta1
// MPIJobs reconciled by the upstream Kubeflow MPI operator (which runs as its
// own process; only its API types, validation and generated clients are
// imported). Jobs are translated by [Translate]; reads come from shared
// informer caches of MPIJobs, their pods and Warning events, from which the
// engine aggregates a status users can act on and pushes every change to
// watchers; pod logs are archived before the pods are removed.
// docs/dev/kube-engine.md describes the design.
package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	mpiclient "github.com/kubeflow/mpi-operator/pkg/client/clientset/versioned"
	mpiinformers "github.com/kubeflow/mpi-operator/pkg/client/informers/externalversions"
	mpilisters "github.com/kubeflow/mpi-operator/pkg/client/listers/kubeflow/v2beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

var _ engine.Engine = (*Engine)(nil)

// Options configure the kubernetes engine.
type Options struct {
	// RestConfig reaches the cluster with the engine's own identity.
	// Required.
	RestConfig *rest.Config
	// Logger receives the engine's logs; nil means slog.Default().
	Logger *slog.Logger
	// Namespace restricts the engine to one namespace; "" = all.
	Namespace string
	// ArchiveDir keeps the logs of finished and removed pods. "" turns
	// the archive off (and with it the log-archive finalizer on pods; the
	// engine still removes the finalizer from pods being deleted).
	ArchiveDir string
	// ArchiveMaxBytes caps one container's archived log (the end is
	// kept). 0 means 16 MiB.
	ArchiveMaxBytes int64
	// OperatorNamespace holds the MPI operator's leader-election Lease
	// "mpi-operator" (its --lock-namespace). Default "mpi-operator".
	OperatorNamespace string
	// OperatorTimeout is how long a job may wait for the operator's
	// Created condition before its status says the operator is not
	// running. Default 45s.
	OperatorTimeout time.Duration
	// Translate tunes the translation of high-level jobs.
	Translate TranslateOptions
	// ClientsFor returns the clients a request writes with: the caller's
	// (impersonation, internal/kubeauth), or nil for the engine's own.
	ClientsFor func(ctx context.Context) (*Clients, error)
	// JobNetworkPolicy creates a NetworkPolicy per job (its pods accept
	// traffic only from the same job), owned by the MPIJob. Without it,
	// only jobs in namespaces annotated AnnotationJobNetworkPolicy=true
	// get one.
	JobNetworkPolicy bool
}

// Clients are the API clients one request writes with.
type Clients struct {
	Kube kubernetes.Interface
	MPI  mpiclient.Interface
}

type key struct{ namespace, name string }

func (k key) String() string { return k.namespace + "/" + k.name }

func parseKey(s string) key {
	ns, name, _ := strings.Cut(s, "/")
	return key{ns, name}
}

// jobState is what the engine knows about one job beyond the caches.
type jobState struct {
	snap      *job.MPIJob // immutable, replaced on change
	uid       types.UID
	mpiRV     uint64 // resource version of the MPIJob snap was computed from
	rec       statusRecord
	persisted string // the record as last saved
	seen      map[int32]job.ReplicaStatus
	gone      chan struct{} // closed when the MPIJob is gone
}

// Engine is the kubernetes engine. Create it with New, stop it with Close.
type Engine struct {
	log  *slog.Logger
	opts Options
	own  *Clients
	dyn  dynamic.Interface // own identity, for Kueue's objects
	cfg  *rest.Config

	version   string
	stop      chan struct{}
	wg        sync.WaitGroup
	queue     workqueue.TypedDelayingInterface[string]
	persistQ  workqueue.TypedInterface[string]
	coreInf   informers.SharedInformerFactory
	eventInf  informers.SharedInformerFactory
	mpiInf    mpiinformers.SharedInformerFactory
	pods      cache.SharedIndexInformer
	events    cache.SharedIndexInformer
	mpiJobs   cache.SharedIndexInformer
	mpiLister mpilisters.MPIJobLister
	archive   *archiver
	kueue     *kueueTracker // nil without Kueue

	readyMu  sync.Mutex
	synced   chan struct{} // closed once every cache has synced
	crdErr   error         // set while the MPIJob CRD is missing
	lease    leaseCheck
	initDone bool

	mu       sync.Mutex
	jobs     map[key]*jobState
	watchers *engine.Watchers
	changed  chan struct{} // closed and replaced on every processed change
	closed   bool
}

const (
	podJobIndex   = "job"
	eventJobIndex = "job"
	fieldManager  = "odh-training"
)

// New connects to the cluster, starts the informers and returns once
// their caches have synced, or at once when the MPIJob CRD is missing (the
// engine then reports that from Ready and every call, and starts serving
// when the CRD appears).
func New(ctx context.Context, opts Options) (*Engine, error) {
	if opts.RestConfig == nil {
		return nil, errors.New("kubernetes engine: a REST config is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.OperatorNamespace == "" {
		opts.OperatorNamespace = "mpi-operator"
	}
	if opts.OperatorTimeout == 0 {
		opts.OperatorTimeout = 45 * time.Second
	}
	if opts.ArchiveMaxBytes == 0 {
		opts.ArchiveMaxBytes = 16 << 20
	}
	cfg := rest.CopyConfig(opts.RestConfig)
	if cfg.UserAgent == "" {
		cfg.UserAgent = "odh-server/kubernetes-engine"
	}
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	own, err := NewClients(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes engine: %w", err)
	}
	kc := own.Kube
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes engine: %w", err)
	}
	e := &Engine{
		log:      opts.Logger.With("engine", "kubernetes"),
		opts:     opts,
		own:      own,
		dyn:      dyn,
		cfg:      cfg,
		stop:     make(chan struct{}),
		queue:    workqueue.NewTypedDelayingQueue[string](),
		persistQ: workqueue.NewTyped[string](),
		synced:   make(chan struct{}),
		jobs:     map[key]*jobState{},
		watchers: engine.NewWatchers(watchBuffer),
		changed:  make(chan struct{}),
	}
	e.lease = leaseCheck{client: kc, namespace: opts.OperatorNamespace}
	v, err := kc.Discovery().ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("kubernetes engine: reach the API server at %s: %w", cfg.Host, err)
	}
	e.version = v.GitVersion

	nsOpt := informers.WithNamespace(opts.Namespace)
	e.coreInf = informers.NewSharedInformerFactoryWithOptions(kc, 0, nsOpt, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = kubeflow.OperatorNameLabel + "=" + kubeflow.OperatorName
	}))
	e.eventInf = informers.NewSharedInformerFactoryWithOptions(kc, 0, nsOpt, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = "type=" + corev1.EventTypeWarning
	}))
	e.pods = e.coreInf.Core().V1().Pods().Informer()
	if err := e.pods.AddIndexers(cache.Indexers{podJobIndex: podJobKey}); err != nil {
		return nil, err
	}
	e.events = e.eventInf.Core().V1().Events().Informer()
	if err := e.events.AddIndexers(cache.Indexers{eventJobIndex: e.eventJobKey}); err != nil {
		return nil, err
	}
	if _, err := e.pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { e.onPod(nil, o) },
		UpdateFunc: func(old, o any) { e.onPod(old, o) },
		DeleteFunc: func(o any) { e.onPod(nil, o) },
	}); err != nil {
		return nil, err
	}
	if _, err := e.events.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    e.onEvent,
		UpdateFunc: func(_, o any) { e.onEvent(o) },
	}); err != nil {
		return nil, err
	}
	e.archive = newArchiver(e, opts.ArchiveDir, opts.ArchiveMaxBytes)
	e.coreInf.Start(e.stop)
	e.eventInf.Start(e.stop)
	e.kueue = e.startKueue(kc)

	if err := e.checkCRD(); err != nil {
		var je *job.Error
		if !errors.As(err, &je) {
			e.Close(context.Background())
			return nil, fmt.Errorf("kubernetes engine: %w", err)
		}
		e.setCRDErr(err)
		e.log.Error("MPIJob CRD missing; waiting for it", "error", err)
		e.wg.Add(1)
		go e.waitForCRD()
	} else if err := e.startMPIJobs(ctx); err != nil {
		e.Close(context.Background())
		return nil, err
	}
	return e, nil
}

// checkCRD reports whether the cluster serves kubeflow.org/v2beta1 mpijobs.
func (e *Engine) checkCRD() error {
	rl, err := e.own.Kube.Discovery().ServerResourcesForGroupVersion(kubeflow.SchemeGroupVersion.String())
	if err != nil {
		if apierrors.IsNotFound(err) {
			return crdMissing(err)
		}
		return err
	}
	for _, r := range rl.APIResources {
		if r.Name == "mpijobs" {
			return nil
		}
	}
	return crdMissing(nil)
}

func (e *Engine) setCRDErr(err error) {
	e.readyMu.Lock()
	e.crdErr = err
	e.readyMu.Unlock()
}

// waitForCRD checks for the CRD every few seconds until it appears.
func (e *Engine) waitForCRD() {
	defer e.wg.Done()
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
		if err := e.checkCRD(); err != nil {
			continue
		}
		e.log.Info("MPIJob CRD installed; starting")
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-e.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		err := e.startMPIJobs(ctx)
		cancel()
		if err != nil {
			e.log.Error("start after the CRD appeared", "error", err)
			return
		}
		e.setCRDErr(nil)
		return
	}
}

// startMPIJobs starts the MPIJob informer, waits for every cache, computes
// the status of every job and starts processing changes.
func (e *Engine) startMPIJobs(ctx context.Context) error {
	e.mpiInf = mpiinformers.NewSharedInformerFactoryWithOptions(e.own.MPI, 0, mpiinformers.WithNamespace(e.opts.Namespace))
	inf := e.mpiInf.Kubeflow().V2beta1().MPIJobs()
	e.mpiJobs = inf.Informer()
	e.mpiLister = inf.Lister()
	if _, err := e.mpiJobs.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    e.onMPIJob,
		UpdateFunc: func(_, o any) { e.onMPIJob(o) },
		DeleteFunc: e.onMPIJob,
	}); err != nil {
		return err
	}
	e.mpiInf.Start(e.stop)
	syncCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-e.stop:
			cancel()
		case <-syncCtx.Done():
		}
	}()
	if !cache.WaitForCacheSync(syncCtx.Done(), e.pods.HasSynced, e.events.HasSynced, e.mpiJobs.HasSynced) {
		return fmt.Errorf("kubernetes engine: informer caches did not sync: %w", context.Cause(syncCtx))
	}
	if e.kueue != nil {
		e.kueue.initial(syncCtx)
	}
	// Every job's status before anyone can watch or list.
	objs, _ := e.mpiLister.List(everything)
	for _, u := range objs {
		e.sync(key{u.Namespace, u.Name}.String())
	}
	e.mu.Lock()
	e.initDone = true
	e.mu.Unlock()
	e.wg.Add(2)
	go e.syncLoop()
	go e.persistLoop()
	e.archive.start()
	if opts := e.opts; opts.ArchiveDir != "" {
		e.archive.cleanup(objs)
	}
	close(e.synced)
	e.log.Info("kubernetes engine ready", "apiserver", e.cfg.Host, "version", e.version, "jobs", len(objs))
	return nil
}

// Close stops the informers and ends every watch.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.watchers.Close(job.Errorf(job.KindUnavailable, "the server is shutting down; watch again when it is back"))
	e.mu.Unlock()
	close(e.stop)
	e.queue.ShutDown()
	e.persistQ.ShutDown()
	if e.kueue != nil {
		e.kueue.queues.ShutDown()
	}
	e.archive.shutdown()
	done := make(chan struct{})
	go func() {
		e.wg.Wait()
		e.coreInf.Shutdown()
		e.eventInf.Shutdown()
		if e.mpiInf != nil {
			e.mpiInf.Shutdown()
		}
		if e.kueue != nil {
			e.kueue.inf.Shutdown()
		}
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("kubernetes engine: close: %w", ctx.Err())
	}
}

// usable returns nil once the engine serves, or the reason it cannot: the
// CRD is missing, or the caches are still syncing after a short wait.
func (e *Engine) usable(ctx context.Context) error {
	e.readyMu.Lock()
	crdErr := e.crdErr
	e.readyMu.Unlock()
	if crdErr != nil {
		return crdErr
	}
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-e.synced:
		return nil
	case <-ctx.Done():
		return job.Errorf(job.KindUnavailable, "the kubernetes engine is still loading the cluster's jobs: %v", ctx.Err())
	case <-t.C:
		return job.Errorf(job.KindUnavailable, "the kubernetes engine is still loading the cluster's jobs; try again in a moment")
	}
}

// Ready reports whether the engine can serve (for /readyz): the API server
// answers, the MPIJob CRD is installed, the caches have synced and the MPI
// operator is running (its leader Lease is fresh). See docs/admin/cluster.md.
func (e *Engine) Ready(ctx context.Context) error {
	if err := e.usableNow(); err != nil {
		return err
	}
	if _, err := e.own.Kube.Discovery().ServerVersion(); err != nil {
		return apiError(err, "reach the API server")
	}
	return e.lease.check(ctx)
}

func (e *Engine) usableNow() error {
	e.readyMu.Lock()
	crdErr := e.crdErr
	e.readyMu.Unlock()
	if crdErr != nil {
		return crdErr
	}
	select {
	case <-e.synced:
		return nil
	default:
		return job.Errorf(job.KindUnavailable, "the kubernetes engine is still loading the cluster's jobs")
	}
}

// Info describes the engine.
func (e *Engine) Info(ctx context.Context) engine.Info {
	// Not the API server's address: every caller sees this.
	return engine.Info{Name: "kubernetes", Version: "Kubernetes " + e.version + ", kubeflow.org/v2beta1 MPIJob"}
}

// clients returns the clients a request writes with.
func (e *Engine) clients(ctx context.Context) (*Clients, error) {
	if e.opts.ClientsFor != nil {
		return e.opts.ClientsFor(ctx)
	}
	return e.own, nil
}

// ---- informer handlers --------------------------------------------------

func podJobKey(o any) ([]string, error) {
	p, ok := o.(*corev1.Pod)
	if !ok {
		return nil, nil
	}
	name := p.Labels[kubeflow.JobNameLabel]
	if name == "" {
		return nil, nil
	}
	return []string{key{p.Namespace, name}.String()}, nil
}

var (
	workerPodName   = regexp.MustCompile(`^(.+)-worker-\d+$`)
	launcherPodName = regexp.MustCompile(`^(.+)-launcher-[a-z0-9]{5}$`)
	// Kueue names an MPIJob's Workload "mpijob-<job>-<5 hex digits of a hash>".
	kueueWorkloadName = regexp.MustCompile(`^mpijob-(.+)-[0-9a-f]{5}$`)
)

// eventJobKey maps an event to the job it is about, by the names the
// operator gives the children (and Kueue gives the job's Workload).
func (e *Engine) eventJobKey(o any) ([]string, error) {
	ev, ok := o.(*corev1.Event)
	if !ok {
		return nil, nil
	}
	io := ev.InvolvedObject
	name := ""
	switch io.Kind {
	case kubeflow.Kind, "PodGroup":
		name = io.Name
	case "Job":
		name = strings.TrimSuffix(io.Name, "-launcher")
		if name == io.Name {
			return nil, nil
		}
	case "Workload":
		if m := kueueWorkloadName.FindStringSubmatch(io.Name); m != nil && strings.HasPrefix(io.APIVersion, "kueue.x-k8s.io/") {
			name = m[1]
		}
	case "Pod":
		if m := workerPodName.FindStringSubmatch(io.Name); m != nil {
			name = m[1]
		} else if m := launcherPodName.FindStringSubmatch(io.Name); m != nil {
			name = m[1]
		}
	}
	if name == "" {
		return nil, nil
	}
	return []string{key{io.Namespace, name}.String()}, nil
}

func (e *Engine) onMPIJob(o any) {
	if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = t.Obj
	}
	if u, ok := o.(*kubeflow.MPIJob); ok {
		e.queue.Add(key{u.Namespace, u.Name}.String())
	}
}

func (e *Engine) onPod(old, o any) {
	if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = t.Obj
	}
	p, ok := o.(*corev1.Pod)
	if !ok {
		return
	}
	if ks, _ := podJobKey(p); len(ks) > 0 {
		e.queue.Add(ks[0])
	}
	e.archive.onPod(p)
}

func (e *Engine) onEvent(o any) {
	if ks, _ := e.eventJobKey(o); len(ks) > 0 {
		e.queue.Add(ks[0])
	}
}

// ---- status processing --------------------------------------------------

func (e *Engine) syncLoop() {
	defer e.wg.Done()
	for {
		k, quit := e.queue.Get()
		if quit {
			return
		}
		e.sync(k)
		e.queue.Done(k)
	}
}

// sync recomputes one job's status from the caches and tells watchers
// when it changed.
func (e *Engine) sync(ks string) {
	k := parseKey(ks)
	u, err := e.mpiLister.MPIJobs(k.namespace).Get(k.name)
	if err != nil {
		if apierrors.IsNotFound(err) {
			e.removed(k)
		}
		return
	}
	e.mu.Lock()
	st := e.jobs[k]
	if st != nil && st.uid != u.UID {
		// Deleted and created again under the same name.
		e.removedLocked(k, st)
		st = nil
	}
	if st == nil {
		st = &jobState{uid: u.UID, gone: make(chan struct{})}
		st.rec, st.persisted = e.loadRecord(u, !e.initDone)
		e.jobs[k] = st
	}
	rec, seen := st.rec, st.seen
	e.mu.Unlock()

	j, newRec, newSeen := e.compute(u, rec, seen)

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.jobs[k] != st {
		return
	}
	st.rec, st.seen = newRec, newSeen
	st.mpiRV, _ = strconv.ParseUint(u.ResourceVersion, 10, 64)
	old := st.snap
	if old == nil || !sameJob(old, j) {
		st.snap = j
		typ := engine.Modified
		if old == nil {
			typ = engine.Added
		}
		e.broadcast(typ, old, j)
	}
	if enc := newRec.encode(); enc != st.persisted && u.DeletionTimestamp == nil && e.opts.ArchiveDir != "" {
		e.persistQ.Add(ks)
	}
	e.notifyLocked()
	// Without the operator's Created condition, look again once the
	// operator timeout has passed, so the status says so.
	if j.Status.Reason == ReasonWaitingForOperator || j.Status.Reason == ReasonOperatorBusy || j.Status.Reason == ReasonOperatorNotRunning {
		if d := e.opts.OperatorTimeout - time.Since(u.CreationTimestamp.Time); d > 0 {
			e.queue.AddAfter(ks, d+100*time.Millisecond)
		} else {
			// Keep the age in the message and the lease verdict current.
			e.queue.AddAfter(ks, 15*time.Second)
		}
	}
}

// compute builds the job from the cached MPIJob, its pods and events.
func (e *Engine) compute(u *kubeflow.MPIJob, rec statusRecord, seen map[int32]job.ReplicaStatus) (*job.MPIJob, statusRecord, map[int32]job.ReplicaStatus) {
	j := jobFromUpstream(u)
	ks := key{u.Namespace, u.Name}.String()
	var pods []*corev1.Pod
	if e.pods != nil {
		objs, _ := e.pods.GetIndexer().ByIndex(podJobIndex, ks)
		for _, o := range objs {
			if p, ok := o.(*corev1.Pod); ok && ownedByJob(p, u) {
				pods = append(pods, p)
			}
		}
	}
	var warnings []*corev1.Event
	objs, _ := e.events.GetIndexer().ByIndex(eventJobIndex, ks)
	for _, o := range objs {
		if ev, ok := o.(*corev1.Event); ok && !eventTime(ev).Before(u.CreationTimestamp.Time) {
			warnings = append(warnings, ev)
		}
	}
	status, newRec, newSeen := aggregate(observed{
		mpiJob: u, spec: &j.Spec, pods: pods, warnings: warnings, record: rec, lastSeen: seen, queuePos: e.kueue.position(key{u.Namespace, u.Name}),
		now: time.Now().UTC(), operatorTimeout: e.opts.OperatorTimeout, operatorRunning: e.lease.peek(),
	})
	j.Status = status
	j.Metadata.ResourceVersion = maxResourceVersion(u.ResourceVersion, pods, warnings)
	return j, newRec, newSeen
}

// ownedByJob reports whether a pod belongs to this incarnation of the job
// (worker pods are owned by the MPIJob, launcher pods by its Job).
func ownedByJob(p *corev1.Pod, u *kubeflow.MPIJob) bool {
	for _, r := range p.OwnerReferences {
		if r.UID == u.UID {
			return true
		}
		if r.Kind == "Job" && r.Name == u.Name+"-launcher" {
			return !p.CreationTimestamp.Before(&u.CreationTimestamp)
		}
	}
	return false
}

// maxResourceVersion is the highest resource version among the objects a
// job's status comes from. Kubernetes resource versions are etcd revisions,
// so it grows with every change to any of them, which lets clients order
// watch events of one job.
func maxResourceVersion(rv string, pods []*corev1.Pod, evs []*corev1.Event) string {
	best, err := strconv.ParseUint(rv, 10, 64)
	if err != nil {
		return rv
	}
	bump := func(s string) {
		if n, err := strconv.ParseUint(s, 10, 64); err == nil && n > best {
			best = n
		}
	}
	for _, p := range pods {
		bump(p.ResourceVersion)
	}
	for _, ev := range evs {
		bump(ev.ResourceVersion)
	}
	return strconv.FormatUint(best, 10)
}

// sameJob compares two snapshots, ignoring the resource version.
func sameJob(a, b *job.MPIJob) bool {
	if a.Metadata.ResourceVersion == b.Metadata.ResourceVersion {
		return reflect.DeepEqual(a, b)
	}
	ac, bc := *a, *b
	ac.Metadata.ResourceVersion, bc.Metadata.ResourceVersion = "", ""
	return reflect.DeepEqual(&ac, &bc)
}

func (e *Engine) removed(k key) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if st := e.jobs[k]; st != nil {
		e.removedLocked(k, st)
	}
	e.notifyLocked()
}

func (e *Engine) removedLocked(k key, st *jobState) {
	delete(e.jobs, k)
	close(st.gone)
	if st.snap != nil {
		last := st.snap.DeepCopy()
		if last.Status.Phase != job.PhaseDeleting && !last.Status.Phase.Terminal() {
			last.Status.SetPhase(job.PhaseDeleting, job.ReasonDeleting, "deleted", time.Now())
		}
		e.broadcast(engine.Deleted, st.snap, last)
	}
	e.archive.forget(k, st.uid)
}

// notifyLocked wakes everyone waiting for a change (Delete, Suspend,
// log followers). Called with e.mu held.
func (e *Engine) notifyLocked() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// waitFor calls cond after every processed change until it returns true
// or ctx ends.
func (e *Engine) waitFor(ctx context.Context, cond func() bool) error {
	for {
		e.mu.Lock()
		ch := e.changed
		e.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// persistLoop saves changed status records next to the job's archived
// logs. They are not written to the MPIJob: every write to it would make
// the operator's next status update conflict and back off.
func (e *Engine) persistLoop() {
	defer e.wg.Done()
	for {
		ks, quit := e.persistQ.Get()
		if quit {
			return
		}
		e.persist(ks)
		e.persistQ.Done(ks)
	}
}

const recordFile = "status.json"

func (e *Engine) persist(ks string) {
	k := parseKey(ks)
	e.mu.Lock()
	st := e.jobs[k]
	if st == nil {
		e.mu.Unlock()
		return
	}
	enc, uid := st.rec.encode(), st.uid
	if enc == st.persisted {
		e.mu.Unlock()
		return
	}
	e.mu.Unlock()
	dir := jobDir(e.opts.ArchiveDir, k, uid)
	err := ensureDir(dir)
	if err == nil {
		err = writeFileAtomic(filepath.Join(dir, recordFile), []byte(enc))
	}
	if err != nil {
		e.log.Warn("save job status history", "job", ks, "error", err)
		return
	}
	e.mu.Lock()
	if st := e.jobs[k]; st != nil && st.uid == uid {
		st.persisted = enc
	} else {
		// Deleted meanwhile: do not leave the record behind.
		_ = os.RemoveAll(dir)
	}
	e.mu.Unlock()
}

// loadRecord reads a job's saved record, or rebuilds what it can from the
// MPIJob's conditions.
// A job first seen while the engine runs starts with an empty history: it
// is new, and the engine sees every transition.
func (e *Engine) loadRecord(u *kubeflow.MPIJob, rebuild bool) (statusRecord, string) {
	if e.opts.ArchiveDir != "" {
		if b, err := os.ReadFile(filepath.Join(jobDir(e.opts.ArchiveDir, key{u.Namespace, u.Name}, u.UID), recordFile)); err == nil {
			return parseRecord(string(b)), string(b)
		}
	}
	if !rebuild {
		return statusRecord{}, ""
	}
	return recordFromConditions(u), ""
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ---- reads -----------------------------------------------------------------

// Get returns one job from the caches. A job created a moment ago that the
// cache has not seen yet is read from the API server.
func (e *Engine) Get(ctx context.Context, namespace, name string) (*job.MPIJob, error) {
	if err := e.usable(ctx); err != nil {
		return nil, err
	}
	e.mu.Lock()
	st := e.jobs[key{namespace, name}]
	var snap *job.MPIJob
	if st != nil {
		snap = st.snap
	}
	e.mu.Unlock()
	if snap != nil {
		return snap.DeepCopy(), nil
	}
	c, err := e.clients(ctx)
	if err != nil {
		return nil, err
	}
	u, err := c.MPI.KubeflowV2beta1().MPIJobs(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, job.NotFound(namespace, name)
	}
	if err != nil {
		return nil, apiError(err, "get MPIJob")
	}
	rec, _ := e.loadRecord(u, true)
	j, _, _ := e.compute(u, rec, nil)
	return j, nil
}

// List returns the matching jobs from the caches, sorted by namespace and
// name.
func (e *Engine) List(ctx context.Context, opts engine.ListOptions) ([]*job.MPIJob, error) {
	if err := e.usable(ctx); err != nil {
		return nil, err
	}
	e.mu.Lock()
	snaps := make([]*job.MPIJob, 0, len(e.jobs))
	for _, st := range e.jobs {
		if st.snap != nil && opts.Matches(st.snap) {
			snaps = append(snaps, st.snap)
		}
	}
	e.mu.Unlock()
	engine.SortJobs(snaps)
	out := make([]*job.MPIJob, len(snaps))
	for i, j := range snaps {
		out[i] = j.DeepCopy()
	}
	return out, nil
}

// snapshot returns a job's current snapshot and the UID it belongs to.
func (e *Engine) snapshot(k key) (*job.MPIJob, types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.jobs[k]
	if st == nil {
		return nil, ""
	}
	return st.snap, st.uid
}

// ---- writes ----------------------------------------------------------------

// Admit translates the job and has the API server check it without
// creating anything (server-side dry run), so admission, validation and
// RBAC answer as they would for a real create. It warns when the MPI
// operator is not running and when the job needs more than the
// namespace's quota has left; a job bigger than the quota's hard limit is
// rejected.
func (e *Engine) Admit(ctx context.Context, j *job.MPIJob) ([]string, error) {
	if err := e.usable(ctx); err != nil {
		return nil, err
	}
	u, err := Translate(j, e.opts.Translate)
	if err != nil {
		return nil, err
	}
	c, err := e.clients(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := c.MPI.KubeflowV2beta1().MPIJobs(u.Namespace).Create(ctx, u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: fieldManager}); err != nil {
		return nil, apiError(err, "check MPIJob")
	}
	var warnings []string
	if err := e.lease.check(ctx); err != nil {
		warnings = append(warnings, err.Error()+"; the job will wait until the operator runs")
	}
	qw, err := e.checkQuota(ctx, j)
	if err != nil {
		return nil, err
	}
	warnings = append(warnings, qw...)
	if j.Upstream == nil {
		o, _ := e.opts.Translate.withDefaults().forJob(j)
		if o.RootSSH {
			warnings = append(warnings, "SSH runs as root on port 22 (annotation "+AnnotationSSH+"=root): OpenShift's restricted-v2 SCC rejects such pods")
		}
	}
	if ttl := j.Spec.RunPolicy.TTLSecondsAfterFinished; ttl != nil && *ttl < minSafeTTL {
		warnings = append(warnings, fmt.Sprintf("spec.runPolicy.ttlSecondsAfterFinished is %ds: the TTL controller deletes the launcher Job that long after it finishes, and an MPI operator that has not recorded the end by then (it is rate-limited) starts the launcher again; use %d or more", *ttl, minSafeTTL))
	}
	return warnings, nil
}

// minSafeTTL is the shortest ttlSecondsAfterFinished Admit does not warn
// about: v0.8.2 creates a new launcher Job when the finished one is gone
// before it recorded the job's end.
const minSafeTTL = 60

// Create submits the job and returns it as soon as the cache has it.
func (e *Engine) Create(ctx context.Context, j *job.MPIJob) (*job.MPIJob, error) {
	if err := e.usable(ctx); err != nil {
		return nil, err
	}
	if j.Metadata.Name == "" || j.Metadata.Namespace == "" {
		return nil, job.Errorf(job.KindInvalid, "the job needs a name and a namespace")
	}
	u, err := Translate(j, e.opts.Translate)
	if err != nil {
		return nil, err
	}
	if _, err := e.checkQuota(ctx, j); err != nil {
		return nil, err
	}
	c, err := e.clients(ctx)
	if err != nil {
		return nil, err
	}
	created, err := c.MPI.KubeflowV2beta1().MPIJobs(u.Namespace).Create(ctx, u, metav1.CreateOptions{FieldManager: fieldManager})
	if err != nil {
		return nil, apiError(err, "create MPIJob")
	}
	e.ensureJobNetworkPolicy(ctx, created)
	return e.afterWrite(ctx, created), nil
}

// afterWrite returns the job once the cache has caught up with a write (so
// a Get right after sees it), or computed from the written object when the
// cache is slow.
func (e *Engine) afterWrite(ctx context.Context, u *kubeflow.MPIJob) *job.MPIJob {
	k := key{u.Namespace, u.Name}
	want, _ := strconv.ParseUint(u.ResourceVersion, 10, 64)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var out *job.MPIJob
	_ = e.waitFor(wctx, func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		st := e.jobs[k]
		if st == nil || st.snap == nil || st.uid != u.UID || st.mpiRV < want {
			return false
		}
		out = st.snap
		return true
	})
	if out != nil {
		return out.DeepCopy()
	}
	rec, _ := e.loadRecord(u, true)
	j, _, _ := e.compute(u, rec, nil)
	return j
}

// Delete deletes the MPIJob with foreground propagation: the API server
// removes the launcher Job, the worker pods, the Service, ConfigMap, Secret
// (and PodGroup) before the MPIJob. With Wait it returns once the MPIJob
// and every pod of the job are gone.
func (e *Engine) Delete(ctx context.Context, namespace, name string, opts engine.DeleteOptions) (*job.MPIJob, error) {
	if err := e.usable(ctx); err != nil {
		return nil, err
	}
	cur, err := e.Get(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	c, err := e.clients(ctx)
	if err != nil {
		return nil, err
	}
	fg := metav1.DeletePropagationForeground
	uid := types.UID(cur.Metadata.UID)
	err = c.MPI.KubeflowV2beta1().MPIJobs(namespace).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &fg, Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) {
		return nil, job.NotFound(namespace, name)
	}
	if err != nil {
		return nil, apiError(err, "delete MPIJob")
	}
	out := cur.DeepCopy()
	if out.Status.Phase != job.PhaseDeleting {
		out.Status.SetPhase(job.PhaseDeleting, job.ReasonDeleting, "deleting: waiting for the launcher Job, the worker pods, the Service, ConfigMap and Secret to be removed", time.Now())
	}
	if !opts.Wait {
		return out, nil
	}
	k := key{namespace, name}
	err = e.waitFor(ctx, func() bool {
		if _, id := e.snapshot(k); id == uid {
			return false
		}
		objs, _ := e.pods.GetIndexer().ByIndex(podJobIndex, k.String())
		for _, o := range objs {
			p := o.(*corev1.Pod)
			for _, r := range p.OwnerReferences {
				if r.UID == uid || (r.Kind == "Job" && r.Name == name+"-launcher") {
					return false
				}
			}
		}
		return true
	})
	if err != nil {
		return out, job.Errorf(job.KindTimeout, "MPIJob %q is still being deleted: %v", name, err)
	}
	return out, nil
}

// Suspend sets runPolicy.suspend: the operator removes the worker pods and
// suspends the launcher Job.
func (e *Engine) Suspend(ctx context.Context, namespace, name string) (*job.MPIJob, error) {
	return e.setSuspend(ctx, namespace, name, true)
}

// Resume clears runPolicy.suspend: the operator recreates the pods.
func (e *Engine) Resume(ctx context.Context, namespace, name string) (*job.MPIJob, error) {
	return e.setSuspend(ctx, namespace, name, false)
}

func (e *Engine) setSuspend(ctx context.Context, namespace, name string, suspend bool) (*job.MPIJob, error) {
	cur, err := e.Get(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	verb := map[bool]string{true: "suspended", false: "resumed"}[suspend]
	switch ph := cur.Status.Phase; {
	case ph == job.PhaseDeleting:
		return nil, job.Errorf(job.KindConflict, "MPIJob %q is being deleted and cannot be %s", name, verb)
	case ph.Terminal():
		msg := fmt.Sprintf("MPIJob %q has already finished (%s) and cannot be %s", name, ph, verb)
		if !suspend {
			msg += "; create it again to rerun it"
		}
		return nil, job.Errorf(job.KindConflict, "%s", msg)
	case cur.Spec.RunPolicy.Suspend == suspend:
		return cur, nil
	case !suspend && ph == job.PhaseQueued:
		return nil, &job.Error{Kind: job.KindConflict, Message: fmt.Sprintf("MPIJob %q is queued by Kueue in LocalQueue %q; Kueue resumes it when it admits it", name, cur.Spec.Scheduling.Queue), Hint: "See the queue with: kubectl get workloads -n " + namespace}
	}
	c, err := e.clients(ctx)
	if err != nil {
		return nil, err
	}
	patch := fmt.Sprintf(`{"metadata":{"uid":%q},"spec":{"runPolicy":{"suspend":%t}}}`, cur.Metadata.UID, suspend)
	u, err := c.MPI.KubeflowV2beta1().MPIJobs(namespace).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: fieldManager})
	if apierrors.IsNotFound(err) {
		return nil, job.NotFound(namespace, name)
	}
	if err != nil {
		return nil, apiError(err, "update MPIJob")
	}
	return e.afterWrite(ctx, u), nil
}

// ---- events and capacity ---------------------------------------------------

// Events returns the Kubernetes Events of the MPIJob and of its children
// (launcher Job and pods, worker pods, PodGroup), oldest first.
func (e *Engine) Events(ctx context.Context, namespace, name string) ([]engine.JobEvent, error) {
	j, err := e.Get(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	c, err := e.clients(ctx)
	if err != nil {
		return nil, err
	}
	list, err := c.Kube.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, apiError(err, "list events")
	}
	created := j.Metadata.CreationTimestamp
	var out []engine.JobEvent
	for i := range list.Items {
		ev := &list.Items[i]
		ks, _ := e.eventJobKey(ev)
		if len(ks) == 0 || ks[0] != (key{namespace, name}).String() {
			continue
		}
		io := ev.InvolvedObject
		if io.Kind == kubeflow.Kind && string(io.UID) != j.Metadata.UID {
			continue
		}
		if eventTime(ev).Before(created.Add(-time.Second)) {
			continue
		}
		first := ev.FirstTimestamp.Time
		if first.IsZero() {
			first = eventTime(ev)
		}
		src := ev.Source.Component
		if src == "" {
			src = ev.ReportingController
		}
		count := ev.Count
		if count == 0 {
			count = 1
		}
		out = append(out, engine.JobEvent{
			Type: ev.Type, Reason: ev.Reason, Message: ev.Message,
			Object:    objectName(io.Kind, io.Name),
			FirstTime: first.UTC(), LastTime: eventTime(ev).UTC(), Count: count, Source: src,
		})
	}
	slices.SortStableFunc(out, func(a, b engine.JobEvent) int { return a.LastTime.Compare(b.LastTime) })
	return out, nil
}

func objectName(kind, name string) string {
	return strings.ToLower(kind) + "/" + name
}

var everything = labels.Everything()

// ensureDir creates a directory for the archive.
func ensureDir(dir string) error { return os.MkdirAll(dir, 0o700) }

func jobDir(base string, k key, uid types.UID) string {
	return filepath.Join(base, k.namespace, k.name, string(uid))
}
