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
	"strings"
	"sync"
	"time"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	mpiclient "github.com/kubeflow/mpi-operator/pkg/client/clientset/versioned"
	mpiinformers "github.com/kubeflow/mpi-operator/pkg/client/informers/externalversions"
	mpilisters "github.com/kubeflow/mpi-operator/pkg/client/listers/kubeflow/v2beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	// MergedLogBytes bounds the memory of one merged log read (logs --all
	// without --follow); 0 means DefaultMergedLogBytes.
	MergedLogBytes int
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
	// (their own bearer token, kubeauth.PassThrough), or nil for the engine's own.
	ClientsFor func(ctx context.Context) (*Clients, error)
	// PodPolicies is the pod policy (TrainingPolicy) every job is checked
	// against before it is sent to the API server; nil: none here (then
	// only odh-webhook applies it).
	PodPolicies PodPolicies
	// JobNetworkPolicy creates a NetworkPolicy per job (its pods accept
	// traffic only from the same job), owned by the MPIJob. Without it,
	// only jobs in namespaces annotated AnnotationJobNetworkPolicy=true
	// get one.
	JobNetworkPolicy bool
	// Backend is what a new job without spec.runtime becomes: BackendAuto
	// (default), BackendMPIJob or BackendTrainJob. See resolveBackend.
	Backend string
	// DefaultRuntime is the ClusterTrainingRuntime a new job without
	// spec.runtime gets on the TrainJob backend. Default "odh-openmpi4".
	DefaultRuntime string
}

// Clients are the API clients one request writes with.
type Clients struct {
	Kube kubernetes.Interface
	MPI  mpiclient.Interface
	// Dynamic writes TrainJobs (trainer.kubeflow.org).
	Dynamic dynamic.Interface
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
	train     *trainBackend // nil when the cluster serves no TrainJobs
	trainOnly bool          // the cluster serves TrainJobs but no MPIJobs

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
	if opts.DefaultRuntime == "" {
		opts.DefaultRuntime = DefaultRuntime
	}
	switch opts.Backend {
	case "":
		opts.Backend = BackendAuto
	case BackendAuto, BackendMPIJob, BackendTrainJob:
	default:
		return nil, fmt.Errorf("kubernetes engine: unknown backend %q: use %s, %s or %s", opts.Backend, BackendAuto, BackendMPIJob, BackendTrainJob)
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
	if e.train, err = e.setupTrainJobs(); err != nil {
		e.Close(context.Background())
		return nil, fmt.Errorf("kubernetes engine: TrainJobs: %w", err)
	}

	if err := e.checkCRD(); err != nil {
		var je *job.Error
		if !errors.As(err, &je) {
			e.Close(context.Background())
			return nil, fmt.Errorf("kubernetes engine: %w", err)
		}
		if e.train != nil {
			// A Trainer-only cluster (OpenShift AI 3.x): serve TrainJobs.
			e.log.Info("MPIJob CRD missing: serving Kubeflow Trainer TrainJobs only (restart odh-server after installing the MPI operator)")
			e.trainOnly = true
			if err := e.startMPIJobs(ctx); err != nil {
				e.Close(context.Background())
				return nil, err
			}
			return e, nil
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

// startMPIJobs starts the MPIJob informer, waits for every cache, computes
// the status of every job and starts processing changes.
func (e *Engine) startMPIJobs(ctx context.Context) error {
	mpiSynced := func() bool { return true }
	if e.trainOnly {
		// No MPIJob API: an empty lister, so every lookup says not found.
		e.mpiLister = mpilisters.NewMPIJobLister(cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}))
	} else {
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
		mpiSynced = e.mpiJobs.HasSynced
	}
	syncCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-e.stop:
			cancel()
		case <-syncCtx.Done():
		}
	}()
	if !cache.WaitForCacheSync(syncCtx.Done(), append([]cache.InformerSynced{e.pods.HasSynced, e.events.HasSynced, mpiSynced}, e.train.hasSynced()...)...) {
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
	for _, ks := range e.trainJobKeys() {
		e.sync(ks)
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
	e.log.Info("kubernetes engine ready", "apiserver", e.cfg.Host, "version", e.version, "jobs", len(objs), "trainJobs", len(e.trainJobKeys()), "backend", e.opts.Backend)
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
		e.train.shutdown()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("kubernetes engine: close: %w", ctx.Err())
	}
}

// Info describes the engine.
func (e *Engine) Info(ctx context.Context) engine.Info {
	// Not the API server's address: every caller sees this.
	v := "Kubernetes " + e.version + ", kubeflow.org/v2beta1 MPIJob"
	if e.train != nil {
		v += ", trainer.kubeflow.org/v1alpha1 TrainJob"
	}
	return engine.Info{Name: "kubernetes", Version: v + " (backend " + e.opts.Backend + ")"}
}

// clients returns the clients a request writes with.
func (e *Engine) clients(ctx context.Context) (*Clients, error) {
	if e.opts.ClientsFor != nil {
		return e.opts.ClientsFor(ctx)
	}
	return e.own, nil
}

// ---- informer handlers --------------------------------------------------

// ---- status processing --------------------------------------------------

// ---- reads -----------------------------------------------------------------

// ---- writes ----------------------------------------------------------------

// ---- events and capacity ---------------------------------------------------
