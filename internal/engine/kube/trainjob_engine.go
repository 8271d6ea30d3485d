package kube

import (
	"context"
	"time"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/odh-training/odh-training/internal/job"
)

// trainBackend holds the TrainJob backend's caches. The engine has one
// when the cluster serves trainer.kubeflow.org/v1alpha1 TrainJobs at start.
type trainBackend struct {
	inf      dynamicinformer.DynamicSharedInformerFactory
	podInf   informers.SharedInformerFactory
	jobs     cache.SharedIndexInformer // TrainJobs
	runtimes cache.SharedIndexInformer // ClusterTrainingRuntimes
	pods     cache.SharedIndexInformer // JobSet pods, labels normalized
}

// servesTrainJobs reports whether the cluster serves TrainJobs and
// ClusterTrainingRuntimes.
func (e *Engine) servesTrainJobs() bool {
	rl, err := e.own.Kube.Discovery().ServerResourcesForGroupVersion(trainJobGVR.GroupVersion().String())
	if err != nil {
		return false
	}
	var jobs, runtimes bool
	for _, r := range rl.APIResources {
		jobs = jobs || r.Name == trainJobGVR.Resource
		runtimes = runtimes || r.Name == clusterRuntimeGVR.Resource
	}
	return jobs && runtimes
}

// setupTrainJobs creates and starts the TrainJob backend's informers when
// the cluster serves TrainJobs (nil otherwise).
func (e *Engine) setupTrainJobs() (*trainBackend, error) {
	if !e.servesTrainJobs() {
		return nil, nil
	}
	// The engine's identity may lack the rights (deploy/server/rbac.yaml
	// grants them): then it serves MPIJobs only and says why, rather than
	// waiting forever for caches it cannot fill.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := e.dyn.Resource(trainJobGVR).Namespace(e.opts.Namespace).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		e.log.Warn("TrainJobs are served but cannot be listed: the TrainJob backend is off", "error", err)
		return nil, nil
	}
	if _, err := e.dyn.Resource(clusterRuntimeGVR).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		e.log.Warn("ClusterTrainingRuntimes cannot be listed: the TrainJob backend is off", "error", err)
		return nil, nil
	}
	tb := &trainBackend{
		inf: dynamicinformer.NewFilteredDynamicSharedInformerFactory(e.dyn, 0, e.opts.Namespace, nil),
		podInf: informers.NewSharedInformerFactoryWithOptions(e.own.Kube, 0, informers.WithNamespace(e.opts.Namespace),
			informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = jobSetNameLabel })),
	}
	tb.jobs = tb.inf.ForResource(trainJobGVR).Informer()
	tb.runtimes = dynamicinformer.NewFilteredDynamicSharedInformerFactory(e.dyn, 0, "", nil).ForResource(clusterRuntimeGVR).Informer()
	tb.pods = tb.podInf.Core().V1().Pods().Informer()
	if err := tb.pods.SetTransform(normalizeJobSetPod); err != nil {
		return nil, err
	}
	if err := tb.pods.AddIndexers(cache.Indexers{podJobIndex: podJobKey}); err != nil {
		return nil, err
	}
	onJob := func(o any) {
		if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
			o = t.Obj
		}
		if u, ok := o.(*unstructured.Unstructured); ok {
			e.queue.Add(key{u.GetNamespace(), u.GetName()}.String())
		}
	}
	if _, err := tb.jobs.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: onJob, UpdateFunc: func(_, o any) { onJob(o) }, DeleteFunc: onJob}); err != nil {
		return nil, err
	}
	onPod := func(o any) {
		if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
			o = t.Obj
		}
		if ks, _ := podJobKey(o); len(ks) > 0 {
			e.queue.Add(ks[0])
		}
	}
	if _, err := tb.pods.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: onPod, UpdateFunc: func(_, o any) { onPod(o) }, DeleteFunc: onPod}); err != nil {
		return nil, err
	}
	go tb.runtimes.Run(e.stop)
	tb.inf.Start(e.stop)
	tb.podInf.Start(e.stop)
	return tb, nil
}

func (tb *trainBackend) hasSynced() []cache.InformerSynced {
	if tb == nil {
		return nil
	}
	return []cache.InformerSynced{tb.jobs.HasSynced, tb.runtimes.HasSynced, tb.pods.HasSynced}
}

func (tb *trainBackend) shutdown() {
	if tb != nil {
		tb.inf.Shutdown()
		tb.podInf.Shutdown()
	}
}

// getTrainJob returns a cached TrainJob.
func (e *Engine) getTrainJob(k key) (*unstructured.Unstructured, bool) {
	if e.train == nil {
		return nil, false
	}
	o, ok, _ := e.train.jobs.GetIndexer().GetByKey(k.String())
	if !ok {
		return nil, false
	}
	u, ok := o.(*unstructured.Unstructured)
	return u, ok
}

// trainJobKeys lists every cached TrainJob.
func (e *Engine) trainJobKeys() []string {
	if e.train == nil {
		return nil
	}
	return e.train.jobs.GetIndexer().ListKeys()
}

// podsOf returns a job's cached pods from both backends' pod caches.
func (e *Engine) podsOf(ks string) []*corev1.Pod {
	var out []*corev1.Pod
	for _, inf := range []cache.SharedIndexInformer{e.pods, e.trainPods()} {
		if inf == nil {
			continue
		}
		objs, _ := inf.GetIndexer().ByIndex(podJobIndex, ks)
		for _, o := range objs {
			if p, ok := o.(*corev1.Pod); ok {
				out = append(out, p)
			}
		}
	}
	return out
}

// cachedPod returns a pod by namespace/name from either pod cache.
func (e *Engine) cachedPod(k string) (*corev1.Pod, bool) {
	for _, inf := range []cache.SharedIndexInformer{e.pods, e.trainPods()} {
		if inf == nil {
			continue
		}
		if o, ok, _ := inf.GetIndexer().GetByKey(k); ok {
			p, ok := o.(*corev1.Pod)
			return p, ok
		}
	}
	return nil, false
}

func (e *Engine) trainPods() cache.SharedIndexInformer {
	if e.train == nil {
		return nil
	}
	return e.train.pods
}

// syncTrainJob is sync for a TrainJob: it returns the TrainJob's MPIJob
// view (for the job state's UID and record) or nil when it is gone.
func (e *Engine) lookupTrainJob(k key) (*unstructured.Unstructured, *kubeflow.MPIJob) {
	t, ok := e.getTrainJob(k)
	if !ok {
		return nil, nil
	}
	j, v := jobFromTrainJob(t)
	return t, mpiView(t, v, trainStatusOf(t), nil, j.Spec.Replicas())
}

// computeTrain builds the job from the cached TrainJob, its JobSet's pods
// and events, with the MPIJob backend's status model.
func (e *Engine) computeTrain(t *unstructured.Unstructured, rec statusRecord, seen map[int32]job.ReplicaStatus) (*job.MPIJob, statusRecord, map[int32]job.ReplicaStatus) {
	j, v := jobFromTrainJob(t)
	ts := trainStatusOf(t)
	k := key{t.GetNamespace(), t.GetName()}
	var pods []*corev1.Pod
	for _, p := range e.podsOf(k.String()) {
		if trainJobPodOwned(p, t.GetName(), t.GetCreationTimestamp()) {
			pods = append(pods, p)
		}
	}
	u := mpiView(t, v, ts, pods, j.Spec.Replicas())
	var warnings []*corev1.Event
	objs, _ := e.events.GetIndexer().ByIndex(eventJobIndex, k.String())
	for _, o := range objs {
		if ev, ok := o.(*corev1.Event); ok && !eventTime(ev).Before(u.CreationTimestamp.Time) {
			warnings = append(warnings, ev)
		}
	}
	status, newRec, newSeen := aggregate(observed{
		mpiJob: u, spec: &j.Spec, pods: pods, warnings: warnings, record: rec, lastSeen: seen, queuePos: e.kueue.position(k),
		now: time.Now().UTC(), operatorTimeout: e.opts.OperatorTimeout, controller: controllerTrainer,
	})
	status.Backend = job.BackendTrainJob
	status.ReadOnly = !e.isMPIRuntimeName(v.Spec.RuntimeRef.Name, v.RuntimeKind())
	trainerProgress(&status, ts)
	// Trainer's own conditions, as the cluster shows them.
	status.Conditions = nil
	for _, c := range ts.Conditions {
		status.Conditions = append(status.Conditions, job.Condition{Type: c.Type, Status: string(c.Status), Reason: c.Reason, Message: c.Message, LastTransitionTime: c.LastTransitionTime.UTC()})
	}
	j.Status = status
	j.Metadata.ResourceVersion = maxResourceVersion(t.GetResourceVersion(), pods, warnings)
	return j, newRec, newSeen
}

// isMPIRuntimeName reports whether the named runtime uses mlPolicy.mpi.
// Namespaced TrainingRuntimes are not cached: a TrainJob naming one is
// shown read-only.
func (e *Engine) isMPIRuntimeName(name, kind string) bool {
	if e.train == nil || kind != job.ClusterTrainingRuntimeKind {
		return false
	}
	o, ok, _ := e.train.runtimes.GetIndexer().GetByKey(name)
	if !ok {
		return false
	}
	rt, ok := o.(*unstructured.Unstructured)
	return ok && isMPIRuntime(rt)
}
