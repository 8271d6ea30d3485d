package podpolicy

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// containerRequest is what one container reserves of a resource: its
// request, or its limit when it sets no request (as the API server
// defaults it).
func containerRequest(c *corev1.Container, name corev1.ResourceName) resource.Quantity {
	if q, ok := c.Resources.Requests[name]; ok {
		return q.DeepCopy()
	}
	if q, ok := c.Resources.Limits[name]; ok {
		return q.DeepCopy()
	}
	return resource.Quantity{}
}

func maxQ(a, b resource.Quantity) resource.Quantity {
	if b.Cmp(a) > 0 {
		return b
	}
	return a
}

// PodRequest is what one pod made from spec reserves of a resource, the
// way the scheduler and ResourceQuota count it: the regular containers and
// sidecars (init containers with restartPolicy Always) together, or the
// largest init container with the sidecars started before it, whichever
// is more; a pod-level request (spec.resources) when it is larger.
// fromInit reports whether init containers decided the amount.
func PodRequest(spec *corev1.PodSpec, name corev1.ResourceName) (q resource.Quantity, fromInit bool) {
	var regular, sidecars, initMax resource.Quantity
	for i := range spec.Containers {
		regular.Add(containerRequest(&spec.Containers[i], name))
	}
	for i := range spec.InitContainers {
		ic := &spec.InitContainers[i]
		r := containerRequest(ic, name)
		if ic.RestartPolicy != nil && *ic.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			regular.Add(r)
			sidecars.Add(r)
			initMax = maxQ(initMax, sidecars)
			continue
		}
		r.Add(sidecars)
		initMax = maxQ(initMax, r)
	}
	q = regular
	if initMax.Cmp(regular) > 0 {
		q, fromInit = initMax, true
	}
	if pr := spec.Resources; pr != nil {
		level := pr.Limits[name]
		if r, ok := pr.Requests[name]; ok {
			level = r
		}
		q = maxQ(q, level.DeepCopy())
	}
	return q, fromInit
}

// totals checks the policy's caps against the whole job.
func (c *checker) totals() {
	for _, name := range slices.Sorted(maps.Keys(c.p.Spec.MaxPerJob)) {
		limit := c.p.Spec.MaxPerJob[name]
		var total resource.Quantity
		var parts []string
		for _, ps := range c.job.PodSets {
			if ps.Template == nil || ps.Replicas == 0 {
				continue
			}
			per, fromInit := PodRequest(&ps.Template.Spec, name)
			if per.IsZero() {
				continue
			}
			all := per.DeepCopy()
			all.Mul(ps.Replicas)
			total.Add(all)
			part := fmt.Sprintf("%s: %d × %s", ps.Name, ps.Replicas, per.String())
			if fromInit {
				part += " (an init container's request)"
			}
			parts = append(parts, part)
		}
		if total.Cmp(limit) <= 0 {
			continue
		}
		c.errs = append(c.errs, field.Forbidden(c.job.Path, fmt.Sprintf(
			"the %s requests %s of %s in total (%s; every container counts, init containers and sidecars included), more than the %s per job %s allows; use fewer replicas or smaller requests, or %s",
			c.job.Kind, total.String(), name, strings.Join(parts, ", "), limit.String(), c.policyName(), c.ask("spec.maxPerJob"))))
	}
}
