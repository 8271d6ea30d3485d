// Package kubepolicy keeps what the pod policy needs from a cluster in
// informer caches — TrainingPolicies, Namespaces (labels for selectors,
// OpenShift's ID ranges) and the default PriorityClass — and answers the
// policy of a namespace without an API call per admission.
package kubepolicy

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/odh-training/odh-training/internal/podpolicy"
)

// GVR is the TrainingPolicy resource.
var GVR = schema.GroupVersionResource{Group: podpolicy.Group, Version: podpolicy.Version, Resource: podpolicy.Resource}

// Source answers the pod policy of a namespace from informer caches.
type Source struct {
	kc  kubernetes.Interface
	dyn dynamic.Interface
	log *slog.Logger
	// Recheck is how often the TrainingPolicy CRD is looked for while it is
	// not installed.
	recheck time.Duration

	core     informers.SharedInformerFactory
	ns       cache.SharedIndexInformer
	prio     cache.SharedIndexInformer
	mu       sync.RWMutex
	policies map[string]*podpolicy.Policy // by name; nil until the CRD is served
	synced   func() bool                  // the TrainingPolicy informer's; nil until the CRD is served
	watching bool
}

// New returns a Source; Start fills its caches.
func New(kc kubernetes.Interface, dyn dynamic.Interface, log *slog.Logger) *Source {
	core := informers.NewSharedInformerFactory(kc, 0)
	return &Source{
		kc: kc, dyn: dyn, log: log, recheck: time.Minute,
		core: core,
		ns:   core.Core().V1().Namespaces().Informer(),
		prio: core.Scheduling().V1().PriorityClasses().Informer(),
	}
}

// Start starts the informers and waits until they have synced (or ctx
// ends). Without the TrainingPolicy CRD every namespace gets
// podpolicy.Default — the strictest policy — and the CRD is looked for
// again every minute until it is installed.
func (s *Source) Start(ctx context.Context) error {
	s.core.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), s.ns.HasSynced, s.prio.HasSynced) {
		return fmt.Errorf("pod policy: namespaces and priority classes did not sync: %w", context.Cause(ctx))
	}
	if s.served() {
		return s.watch(ctx)
	}
	s.log.Warn("TrainingPolicy CRD not installed: every namespace gets the default pod policy until it is (kubectl apply --server-side -k deploy/policy)")
	go func() {
		t := time.NewTicker(s.recheck)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if s.served() {
					if err := s.watch(ctx); err != nil {
						s.log.Error("watch TrainingPolicies", "error", err)
					}
					return
				}
			}
		}
	}()
	return nil
}

func (s *Source) served() bool {
	rl, err := s.kc.Discovery().ServerResourcesForGroupVersion(GVR.GroupVersion().String())
	if err != nil {
		return false
	}
	for _, r := range rl.APIResources {
		if r.Name == GVR.Resource {
			return true
		}
	}
	return false
}

// watch starts the TrainingPolicy informer and waits for it.
func (s *Source) watch(ctx context.Context) error {
	f := dynamicinformer.NewDynamicSharedInformerFactory(s.dyn, 0)
	inf := f.ForResource(GVR).Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    s.upsert,
		UpdateFunc: func(_, o any) { s.upsert(o) },
		DeleteFunc: s.remove,
	}); err != nil {
		return err
	}
	s.mu.Lock()
	if s.policies == nil {
		s.policies = map[string]*podpolicy.Policy{}
	}
	s.synced = inf.HasSynced
	s.mu.Unlock()
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return fmt.Errorf("TrainingPolicies did not sync: %w", context.Cause(ctx))
	}
	s.mu.Lock()
	s.watching = true
	s.mu.Unlock()
	s.log.Info("watching TrainingPolicies")
	return nil
}

func (s *Source) upsert(o any) {
	u, ok := o.(*unstructured.Unstructured)
	if !ok {
		return
	}
	data, err := json.Marshal(u.Object)
	if err != nil {
		return
	}
	p, errs := podpolicy.Parse(data)
	if len(errs) > 0 {
		s.log.Error("TrainingPolicy has problems: jobs in the namespaces it selects are refused", "policy", u.GetName(), "problems", errs.ToAggregate().Error())
	}
	if p == nil {
		return
	}
	s.mu.Lock()
	s.policies[u.GetName()] = p
	s.mu.Unlock()
}

func (s *Source) remove(o any) {
	if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	u, ok := o.(*unstructured.Unstructured)
	if !ok {
		return
	}
	s.mu.Lock()
	delete(s.policies, u.GetName())
	s.mu.Unlock()
}

// For returns the policy of a namespace and what it needs to know about
// it. An error means jobs there must be refused (an ambiguous or broken
// policy, malformed OpenShift annotations, an unreadable namespace); it
// says why.
func (s *Source) For(ctx context.Context, namespace string) (*podpolicy.Policy, podpolicy.Env, error) {
	ns, err := s.namespace(ctx, namespace)
	if err != nil {
		return nil, podpolicy.Env{}, err
	}
	env, err := podpolicy.NewEnv(ns, s.defaultPriorityClass())
	if err != nil {
		return nil, env, err
	}
	s.mu.RLock()
	if s.synced != nil && !s.synced() {
		s.mu.RUnlock()
		// A partial list could pick a looser policy than the one not read yet.
		return nil, env, fmt.Errorf("the TrainingPolicies are still being read; try again in a moment")
	}
	all := make([]*podpolicy.Policy, 0, len(s.policies))
	for _, p := range s.policies {
		all = append(all, p)
	}
	s.mu.RUnlock()
	p, err := podpolicy.Select(all, namespace, ns.Labels)
	return p, env, err
}

// namespace reads a namespace from the cache, or from the API server when
// the cache has not seen it yet (it was created a moment ago).
func (s *Source) namespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	if o, ok, err := s.ns.GetStore().GetByKey(name); err == nil && ok {
		return o.(*corev1.Namespace), nil
	}
	ns, err := s.kc.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("namespace %q does not exist", name)
	}
	if err != nil {
		return nil, fmt.Errorf("read namespace %s for its pod policy: %w", name, err)
	}
	return ns, nil
}

func (s *Source) defaultPriorityClass() string {
	for _, o := range s.prio.GetStore().List() {
		if pc, ok := o.(*schedulingv1.PriorityClass); ok && pc.GlobalDefault {
			return pc.Name
		}
	}
	return ""
}

// Watching reports whether TrainingPolicies are being watched (false while
// the CRD is not installed).
func (s *Source) Watching() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.watching
}
