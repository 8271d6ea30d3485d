package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/odh-training/odh-training/internal/engine"
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
func (e *Engine) Capacity(ctx context.Context, namespace string) (*engine.Capacity, error) {
	c, err := e.clients(ctx)
	if err != nil {
		return nil, err
	}
	ql, err := c.Kube.CoreV1().ResourceQuotas(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, apiError(err, "list resource quotas")
	}
	if limits := quotaLimits(ql.Items); len(limits) > 0 {
		out := &engine.Capacity{}
		var names []string
		for _, l := range limits {
			a := l.available()
			out.Resources = append(out.Resources, engine.ResourceCapacity{Name: l.name, Hard: l.hard.String(), Used: l.used.String(), Available: a.String()})
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
	out := &engine.Capacity{Source: fmt.Sprintf("allocatable capacity of %d schedulable nodes (namespace %s has no ResourceQuota)", len(usable), namespace)}
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
		out.Resources = append(out.Resources, engine.ResourceCapacity{Name: r.as, Hard: h.String(), Used: u.String(), Available: a.String()})
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

// checkQuota compares the job's total requests with the namespace's
// ResourceQuotas: more than a hard limit can never run (an error); more
// than what is left now waits until other jobs finish (a warning).
func (e *Engine) checkQuota(ctx context.Context, c *Clients, j *job.MPIJob) ([]string, error) {
	ql, err := c.Kube.CoreV1().ResourceQuotas(j.Metadata.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		// Users may not be allowed to read quotas; the pods' creation
		// reports quota problems in the job's status anyway.
		return nil, nil
	}
	limits := quotaLimits(ql.Items)
	if len(limits) == 0 {
		return nil, nil
	}
	r := job.TotalRequests(&j.Spec)
	pods := int64(j.Spec.Replicas()) + 1
	want := map[string]resource.Quantity{
		"cpu":                   r.CPU,
		"memory":                r.Memory,
		string(job.GPUResource): *resource.NewQuantity(r.GPUs, resource.DecimalSI),
		"pods":                  *resource.NewQuantity(pods, resource.DecimalSI),
	}
	var over []job.QuotaViolation
	var warnings []string
	for _, l := range limits {
		q := want[l.name]
		if (l.name == "cpu" || l.name == "memory") && q.IsZero() {
			warnings = append(warnings, fmt.Sprintf("namespace %s limits %s with ResourceQuota %s but the job requests none: unless a LimitRange sets defaults, its pods are rejected; set spec.workers.resources.%s and spec.launcher.resources.%s", j.Metadata.Namespace, l.resource, l.quota, l.name, l.name))
			continue
		}
		if q.Cmp(l.hard) > 0 {
			over = append(over, job.QuotaViolation{Resource: l.name, Requested: q.String(), Available: qs(l.available()), Limit: l.hard.String(), Source: "ResourceQuota " + l.quota})
			continue
		}
		if a := l.available(); q.Cmp(a) > 0 {
			warnings = append(warnings, fmt.Sprintf("the job requests %s %s but ResourceQuota %s has %s left: it waits until other jobs free enough", q.String(), l.name, l.quota, qs(a)))
		}
	}
	if len(over) > 0 {
		parts := make([]string, len(over))
		for i, v := range over {
			parts[i] = fmt.Sprintf("%s %s > limit %s", v.Resource, v.Requested, v.Limit)
		}
		return nil, &job.Error{
			Kind:    job.KindQuotaExceeded,
			Message: fmt.Sprintf("MPIJob %q requests more than namespace %s may ever use (%s), so it could never start", j.Metadata.Name, j.Metadata.Namespace, strings.Join(parts, ", ")),
			Quota:   over,
			Hint:    "Reduce spec.workers.replicas or the per-replica resources, or ask an administrator to raise the quota.",
		}
	}
	return warnings, nil
}

func qs(q resource.Quantity) string {
	if q.IsZero() {
		return "0"
	}
	return q.String()
}
