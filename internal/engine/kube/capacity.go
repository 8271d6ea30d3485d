package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/odh-training/odh-training/internal/job"
)

// quotaResources maps the ResourceQuota names that limit what a job
// requests to the names we report.
var quotaResources = []struct {
	names []corev1.ResourceName
	as    string
}{
	{[]corev1.ResourceName{corev1.ResourceRequestsCPU, corev1.ResourceCPU}, "cpu"},
	{[]corev1.ResourceName{corev1.ResourceRequestsMemory, corev1.ResourceMemory}, "memory"},
	{[]corev1.ResourceName{"requests." + job.GPUResource}, string(job.GPUResource)},
	{[]corev1.ResourceName{corev1.ResourcePods}, "pods"},
}

// quotaLimit is the tightest limit on one resource across the namespace's
// ResourceQuotas.
type quotaLimit struct {
	name            string
	hard, used      resource.Quantity
	quota, resource string
}

func (q quotaLimit) available() resource.Quantity {
	a := q.hard.DeepCopy()
	a.Sub(q.used)
	if a.Sign() < 0 {
		return resource.Quantity{}
	}
	return a
}

func quotaLimits(quotas []corev1.ResourceQuota) []quotaLimit {
	var out []quotaLimit
	for _, qr := range quotaResources {
		var best *quotaLimit
		for _, q := range quotas {
			for _, n := range qr.names {
				hard, ok := q.Status.Hard[n]
				if !ok {
					hard, ok = q.Spec.Hard[n]
				}
				if !ok {
					continue
				}
				l := quotaLimit{name: qr.as, hard: hard, used: q.Status.Used[n], quota: q.Name, resource: string(n)}
				if best == nil {
					best = &l
					continue
				}
				a, b := l.available(), best.available()
				if a.Cmp(b) < 0 {
					best = &l
				}
			}
		}
		if best != nil {
			out = append(out, *best)
		}
	}
	return out
}

// Capacity reports what new jobs in the namespace may still request: from
// its ResourceQuotas (hard − used), or, when it has none, the allocatable
// capacity of the schedulable Ready nodes minus what running pods request.
//
// It reads with the engine's own identity: the service has checked that
// the caller may read the namespace's quotas, and node capacity is not
// something users can list themselves.
func (e *Engine) Capacity(ctx context.Context, namespace string) (*job.Capacity, error) {
	c := e.own
	ql, err := c.Kube.CoreV1().ResourceQuotas(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, apiError(err, "list resource quotas")
	}
	if limits := quotaLimits(ql.Items); len(limits) > 0 {
		out := &job.Capacity{}
		var names []string
		for _, l := range limits {
			a := l.available()
			out.Resources = append(out.Resources, job.ResourceCapacity{Name: l.name, Hard: l.hard.String(), Used: l.used.String(), Available: a.String()})
			if !containsString(names, l.quota) {
				names = append(names, l.quota)
			}
		}
		sort.Strings(names)
		out.Source = fmt.Sprintf("ResourceQuota %s in namespace %s", strings.Join(names, ", "), namespace)
		return out, nil
	}
	nodes, err := c.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, apiError(err, "list nodes")
	}
	alloc := map[corev1.ResourceName]*resource.Quantity{}
	usable := map[string]bool{}
	for _, n := range nodes.Items {
		if n.Spec.Unschedulable || !nodeReady(&n) {
			continue
		}
		usable[n.Name] = true
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, job.GPUResource, corev1.ResourcePods} {
			q, ok := n.Status.Allocatable[r]
			if !ok {
				continue
			}
			if alloc[r] == nil {
				alloc[r] = &resource.Quantity{Format: q.Format}
			}
			alloc[r].Add(q)
		}
	}
	pods, err := c.Kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "status.phase!=Succeeded,status.phase!=Failed"})
	if err != nil {
		return nil, apiError(err, "list pods")
	}
	used := map[corev1.ResourceName]*resource.Quantity{}
	add := func(r corev1.ResourceName, q resource.Quantity) {
		if used[r] == nil {
			used[r] = &resource.Quantity{Format: q.Format}
		}
		used[r].Add(q)
	}
	for _, p := range pods.Items {
		if !usable[p.Spec.NodeName] {
			continue
		}
		add(corev1.ResourcePods, *resource.NewQuantity(1, resource.DecimalSI))
		for _, ct := range p.Spec.Containers {
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, job.GPUResource} {
				if q, ok := ct.Resources.Requests[r]; ok {
					add(r, q)
				}
			}
		}
	}
	out := &job.Capacity{Source: fmt.Sprintf("allocatable capacity of %d schedulable nodes (namespace %s has no ResourceQuota)", len(usable), namespace)}
	for _, r := range []struct {
		n  corev1.ResourceName
		as string
	}{{corev1.ResourceCPU, "cpu"}, {corev1.ResourceMemory, "memory"}, {job.GPUResource, string(job.GPUResource)}, {corev1.ResourcePods, "pods"}} {
		h := alloc[r.n]
		if h == nil {
			continue
		}
		u := resource.Quantity{Format: h.Format}
		if used[r.n] != nil {
			u = *used[r.n]
		}
		a := h.DeepCopy()
		a.Sub(u)
		if a.Sign() < 0 {
			a = resource.Quantity{}
		}
		out.Resources = append(out.Resources, job.ResourceCapacity{Name: r.as, Hard: h.String(), Used: u.String(), Available: a.String()})
	}
	return out, nil
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func containsString(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// checkQuota is the quota pre-check of Admit and Create: the job's total
// request (workers + launcher) against what the namespace's ResourceQuotas
// have left (hard − used) and, for a job in a Kueue LocalQueue, what its
// ClusterQueue may ever admit. A job that does not fit is rejected with
// every resource it asks too much of, and nothing is created. Quotas are
// read with the engine's own identity: the numbers are not secret, and a
// caller who may not read them must not skip the check.
func (e *Engine) checkQuota(ctx context.Context, j *job.MPIJob) ([]string, error) {
	want := jobRequests(j)
	var over []job.QuotaViolation
	var warnings []string
	ql, err := e.own.Kube.CoreV1().ResourceQuotas(j.Metadata.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		e.log.Warn("quota pre-check: cannot list resource quotas", "namespace", j.Metadata.Namespace, "error", err)
	} else {
		o, w := quotaViolations(j, want, quotaLimits(ql.Items))
		over, warnings = append(over, o...), append(warnings, w...)
	}
	if q := j.Spec.Scheduling.Queue; q != "" {
		o, w, err := e.kueueCheck(ctx, j.Metadata.Namespace, q, want)
		if err != nil {
			e.log.Warn("quota pre-check: cannot read the Kueue queue", "namespace", j.Metadata.Namespace, "queue", q, "error", err)
		}
		over, warnings = append(over, o...), append(warnings, w...)
	}
	if len(over) == 0 {
		return warnings, nil
	}
	parts := make([]string, len(over))
	for i, v := range over {
		parts[i] = fmt.Sprintf("%s: requested %s, available %s (%s)", v.Resource, v.Requested, v.Available, v.Source)
	}
	return nil, &job.Error{
		Kind:    job.KindQuotaExceeded,
		Message: fmt.Sprintf("MPIJob %q requests more than namespace %s has available, so nothing was created: %s", j.Metadata.Name, j.Metadata.Namespace, strings.Join(parts, "; ")),
		Quota:   over,
		Hint:    "Reduce spec.workers.replicas or the per-replica resources, wait for other jobs to finish (odh training list mpijob), or ask an administrator to raise the quota.",
	}
}

// jobRequests are the job's totals by quota resource name.
func jobRequests(j *job.MPIJob) map[string]resource.Quantity {
	r := job.TotalRequests(&j.Spec)
	return map[string]resource.Quantity{
		"cpu":                   r.CPU,
		"memory":                r.Memory,
		string(job.GPUResource): *resource.NewQuantity(r.GPUs, resource.DecimalSI),
		"pods":                  *resource.NewQuantity(int64(j.Spec.Replicas())+1, resource.DecimalSI),
	}
}

// quotaViolations compares the job's requests with the namespace's quota
// limits. A job created suspended uses nothing until it is resumed: it is
// held only to the hard limits.
func quotaViolations(j *job.MPIJob, want map[string]resource.Quantity, limits []quotaLimit) ([]job.QuotaViolation, []string) {
	var over []job.QuotaViolation
	var warnings []string
	for _, l := range limits {
		q := want[l.name]
		if (l.name == "cpu" || l.name == "memory") && q.IsZero() {
			warnings = append(warnings, fmt.Sprintf("namespace %s limits %s with ResourceQuota %s but the job requests none: unless a LimitRange sets defaults, its pods are rejected; set spec.workers.resources.%s and spec.launcher.resources.%s", j.Metadata.Namespace, l.resource, l.quota, l.name, l.name))
			continue
		}
		limit := l.available()
		if j.Spec.RunPolicy.Suspend {
			limit = l.hard
		}
		if q.Cmp(limit) > 0 {
			over = append(over, job.QuotaViolation{Resource: l.name, Requested: qs(q), Available: qs(l.available()), Limit: l.hard.String(), Source: "ResourceQuota " + l.quota})
		}
	}
	return over, warnings
}

var (
	localQueueGVRs   = []schema.GroupVersionResource{{Group: "kueue.x-k8s.io", Version: "v1beta2", Resource: "localqueues"}, {Group: "kueue.x-k8s.io", Version: "v1beta1", Resource: "localqueues"}}
	clusterQueueGVRs = []schema.GroupVersionResource{{Group: "kueue.x-k8s.io", Version: "v1beta2", Resource: "clusterqueues"}, {Group: "kueue.x-k8s.io", Version: "v1beta1", Resource: "clusterqueues"}}
)

// kueueCheck compares the job with the ClusterQueue behind its LocalQueue:
// more than the queue's nominal quota can never be admitted (rejected);
// more than it has free now waits in the queue (a warning). Without Kueue
// installed there is nothing to check.
func (e *Engine) kueueCheck(ctx context.Context, ns, queue string, want map[string]resource.Quantity) ([]job.QuotaViolation, []string, error) {
	get := func(gvrs []schema.GroupVersionResource, ns, name string) (*unstructured.Unstructured, error) {
		var last error
		for _, gvr := range gvrs {
			var ri dynamic.ResourceInterface = e.dyn.Resource(gvr)
			if ns != "" {
				ri = e.dyn.Resource(gvr).Namespace(ns)
			}
			u, err := ri.Get(ctx, name, metav1.GetOptions{})
			if err == nil {
				return u, nil
			}
			last = err
		}
		return nil, last
	}
	lq, err := get(localQueueGVRs, ns, queue)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, []string{fmt.Sprintf("LocalQueue %q does not exist in namespace %s (or Kueue is not installed): the job waits suspended until it does", queue, ns)}, nil
		}
		return nil, nil, err
	}
	cqName, _, _ := unstructured.NestedString(lq.Object, "spec", "clusterQueue")
	cq, err := get(clusterQueueGVRs, "", cqName)
	if err != nil {
		return nil, nil, err
	}
	over, warnings := kueueViolations(cq, want)
	return over, warnings, nil
}

// kueueQuota sums a ClusterQueue's nominal quota and its usage per
// resource over every resource group and flavor.
func kueueQuota(cq *unstructured.Unstructured) (nominal, used map[string]resource.Quantity) {
	nominal, used = map[string]resource.Quantity{}, map[string]resource.Quantity{}
	add := func(m map[string]resource.Quantity, name string, v any) {
		s := fmt.Sprint(v)
		q, err := resource.ParseQuantity(s)
		if err != nil {
			return
		}
		cur := m[name]
		cur.Add(q)
		m[name] = cur
	}
	groups, _, _ := unstructured.NestedSlice(cq.Object, "spec", "resourceGroups")
	for _, g := range groups {
		gm, _ := g.(map[string]any)
		flavors, _ := gm["flavors"].([]any)
		for _, f := range flavors {
			fm, _ := f.(map[string]any)
			res, _ := fm["resources"].([]any)
			for _, r := range res {
				rm, _ := r.(map[string]any)
				name, _ := rm["name"].(string)
				if v, ok := rm["nominalQuota"]; ok && name != "" {
					add(nominal, name, v)
				}
			}
		}
	}
	usage, _, _ := unstructured.NestedSlice(cq.Object, "status", "flavorsUsage")
	for _, f := range usage {
		fm, _ := f.(map[string]any)
		res, _ := fm["resources"].([]any)
		for _, r := range res {
			rm, _ := r.(map[string]any)
			name, _ := rm["name"].(string)
			if v, ok := rm["total"]; ok && name != "" {
				add(used, name, v)
			}
		}
	}
	return nominal, used
}

func kueueViolations(cq *unstructured.Unstructured, want map[string]resource.Quantity) ([]job.QuotaViolation, []string) {
	nominal, used := kueueQuota(cq)
	names := make([]string, 0, len(nominal))
	for n := range nominal {
		names = append(names, n)
	}
	sort.Strings(names)
	var over []job.QuotaViolation
	var warnings []string
	for _, n := range names {
		q, ok := want[n]
		if !ok || q.IsZero() {
			continue
		}
		nom := nominal[n]
		free := nom.DeepCopy()
		free.Sub(used[n])
		if free.Sign() < 0 {
			free = resource.Quantity{}
		}
		switch {
		case q.Cmp(nom) > 0:
			over = append(over, job.QuotaViolation{Resource: n, Requested: qs(q), Available: qs(free), Limit: nom.String(), Source: "ClusterQueue " + cq.GetName()})
		case q.Cmp(free) > 0:
			warnings = append(warnings, fmt.Sprintf("the job requests %s %s but ClusterQueue %s has %s free: Kueue keeps it queued until enough is free", qs(q), n, cq.GetName(), qs(free)))
		}
	}
	return over, warnings
}

func qs(q resource.Quantity) string {
	if q.IsZero() {
		return "0"
	}
	return q.String()
}
