package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Queue positions from Kueue. Kueue keeps no position in its objects; its
// visibility API (an aggregated API) lists a LocalQueue's pending workloads
// with their positions. The engine watches Workloads and, when one of a
// LocalQueue changes (created, admitted, finished, deleted), asks the
// visibility API once for that queue and updates the positions of the jobs
// pending in it: event-driven, no polling. Without Kueue or its visibility
// API there are no positions, and nothing else changes.

var workloadGVR = schema.GroupVersionResource{Group: "kueue.x-k8s.io", Version: "v1beta2", Resource: "workloads"}

// queuePos is a pending job's place in Kueue's queues (1 = next).
type queuePos struct {
	local, cluster int32
}

type kueueTracker struct {
	e        *Engine
	kc       kubernetes.Interface
	inf      dynamicinformer.DynamicSharedInformerFactory
	informer cache.SharedIndexInformer
	queues   workqueue.TypedDelayingInterface[string] // "namespace/localqueue"
	mu       sync.Mutex
	pos      map[key]queuePos
	byQueue  map[string][]key
	reported bool // the visibility API's absence has been logged
	// Preemptions (preemption.go): by job, and the job of each Kueue
	// job UID.
	preempted map[key]preemption
	jobByUID  map[string]key
}

// startKueue starts tracking positions when the cluster serves Kueue's
// Workloads. It returns nil when it does not.
func (e *Engine) startKueue(kc kubernetes.Interface) *kueueTracker {
	if _, err := kc.Discovery().ServerResourcesForGroupVersion(workloadGVR.GroupVersion().String()); err != nil {
		e.log.Debug("Kueue not installed: no queue positions", "error", err)
		return nil
	}
	t := &kueueTracker{
		e: e, kc: kc,
		inf:     dynamicinformer.NewFilteredDynamicSharedInformerFactory(e.dyn, 0, e.opts.Namespace, nil),
		queues:  workqueue.NewTypedDelayingQueue[string](),
		pos:     map[key]queuePos{},
		byQueue: map[string][]key{},

		preempted: map[key]preemption{},
		jobByUID:  map[string]key{},
	}
	inf := t.inf.ForResource(workloadGVR).Informer()
	t.informer = inf
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { t.onWorkload(o); t.onPreemption(o, false) },
		UpdateFunc: func(_, o any) { t.onWorkload(o); t.onPreemption(o, false) },
		DeleteFunc: func(o any) { t.onWorkload(o); t.onPreemption(o, true) },
	}); err != nil {
		e.log.Warn("Kueue workloads: cannot watch; no queue positions", "error", err)
		return nil
	}
	t.inf.Start(e.stop)
	e.wg.Add(1)
	go t.loop()
	return t
}

// initial reads the positions of every LocalQueue with workloads, so the
// first statuses the engine computes have them (one-shot CLI commands in
// direct mode see them too). Best effort: it gives up with ctx.
func (t *kueueTracker) initial(ctx context.Context) {
	if !cache.WaitForCacheSync(ctx.Done(), t.informer.HasSynced) {
		return
	}
	seen := map[string]bool{}
	for _, o := range t.informer.GetStore().List() {
		if q := queueOf(o); q != "" && !seen[q] {
			seen[q] = true
			t.refresh(q)
		}
	}
}

// queueOf returns "namespace/localqueue" of a Workload.
func queueOf(o any) string {
	if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	u, ok := o.(*unstructured.Unstructured)
	if !ok {
		return ""
	}
	q, _, _ := unstructured.NestedString(u.Object, "spec", "queueName")
	if q == "" {
		return ""
	}
	return u.GetNamespace() + "/" + q
}

func (t *kueueTracker) onWorkload(o any) {
	if q := queueOf(o); q != "" {
		// A burst of changes (one admission updates several objects)
		// costs one request.
		t.queues.AddAfter(q, 100*time.Millisecond)
	}
}

func (t *kueueTracker) loop() {
	defer t.e.wg.Done()
	for {
		q, quit := t.queues.Get()
		if quit {
			return
		}
		t.refresh(q)
		t.queues.Done(q)
	}
}

// pendingWorkloads is the visibility API's answer (v1beta2).
type pendingWorkloads struct {
	Items []struct {
		Metadata struct {
			Name            string `json:"name"`
			OwnerReferences []struct {
				Kind string `json:"kind"`
				Name string `json:"name"`
			} `json:"ownerReferences"`
		} `json:"metadata"`
		PositionInClusterQueue int32 `json:"positionInClusterQueue"`
		PositionInLocalQueue   int32 `json:"positionInLocalQueue"`
	} `json:"items"`
}

// refresh asks the visibility API for one LocalQueue's pending workloads
// and resyncs the jobs whose position changed.
func (t *kueueTracker) refresh(q string) {
	k := parseKey(q)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	raw, err := t.kc.Discovery().RESTClient().Get().
		AbsPath("/apis/visibility.kueue.x-k8s.io/v1beta2/namespaces", k.namespace, "localqueues", k.name, "pendingworkloads").
		Do(ctx).Raw()
	var pw pendingWorkloads
	if err == nil {
		err = json.Unmarshal(raw, &pw)
	}
	if err != nil {
		t.mu.Lock()
		first := !t.reported
		t.reported = true
		t.mu.Unlock()
		if first || !(apierrors.IsNotFound(err) || apierrors.IsServiceUnavailable(err)) {
			t.e.log.Info("Kueue visibility API: no queue positions", "localqueue", q, "error", fmt.Sprint(err))
		}
		return
	}
	next := map[key]queuePos{}
	for _, it := range pw.Items {
		name := ""
		for _, r := range it.Metadata.OwnerReferences {
			if r.Kind == kubeflow.Kind || r.Kind == trainJobKind {
				name = r.Name
			}
		}
		if name == "" {
			if m := kueueWorkloadName.FindStringSubmatch(it.Metadata.Name); m != nil {
				name = m[1]
			}
		}
		if name != "" {
			// The API counts from 0; 1 is next, as for the local engine.
			next[key{k.namespace, name}] = queuePos{local: it.PositionInLocalQueue + 1, cluster: it.PositionInClusterQueue + 1}
		}
	}
	var changed []key
	t.mu.Lock()
	for _, jk := range t.byQueue[q] {
		if _, still := next[jk]; !still {
			delete(t.pos, jk)
			changed = append(changed, jk)
		}
	}
	keys := make([]key, 0, len(next))
	for jk, p := range next {
		keys = append(keys, jk)
		if t.pos[jk] != p {
			t.pos[jk] = p
			changed = append(changed, jk)
		}
	}
	t.byQueue[q] = keys
	t.mu.Unlock()
	for _, jk := range changed {
		t.e.queue.Add(jk.String())
	}
}

// position returns a job's place in its Kueue queues, if pending.
func (t *kueueTracker) position(k key) *queuePos {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.pos[k]; ok {
		return &p
	}
	return nil
}
