package podpolicy

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// defaultTolerations are the tolerations the API server gives every pod
// (DefaultTolerationSeconds); writing them into a template changes nothing
// for anybody else, so they are always allowed.
var defaultTolerations = []corev1.Toleration{
	{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
	{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
}

func (c *checker) scheduling(spec *corev1.PodSpec, path *field.Path, cs []container) {
	c.serviceAccount(path.Child("serviceAccountName"), spec.ServiceAccountName)
	if spec.DeprecatedServiceAccount != spec.ServiceAccountName {
		c.serviceAccount(path.Child("serviceAccount"), spec.DeprecatedServiceAccount)
	}
	if spec.NodeName != "" {
		c.forbid(path.Child("nodeName"), fmt.Sprintf("nodeName %q places the pods without the scheduler, past taints, queues and quotas; remove it and use nodeSelector or affinity", spec.NodeName))
	}
	if spec.PriorityClassName != "" {
		c.priorityClass(path.Child("priorityClassName"), spec.PriorityClassName)
	}
	if spec.Priority != nil {
		c.forbid(path.Child("priority"), "priority is set by the API server from priorityClassName; remove it")
	}
	if p := spec.PreemptionPolicy; p != nil && *p != corev1.PreemptNever {
		c.forbid(path.Child("preemptionPolicy"), fmt.Sprintf("preemptionPolicy %q may not be set by a job: it comes from the priority class; remove it (Never is allowed)", *p))
	}
	for i, t := range spec.Tolerations {
		c.toleration(path.Child("tolerations").Index(i), t)
	}
	// Devices from dynamic resource claims are not counted against the
	// namespace's caps.
	for i := range spec.ResourceClaims {
		c.forbid(path.Child("resourceClaims").Index(i), "dynamic resource claims are not allowed for training jobs: their devices escape the namespace's caps; request devices in resources.limits (e.g. nvidia.com/gpu: 1)")
	}
	for _, ct := range cs {
		for i := range ct.c.Resources.Claims {
			c.forbid(ct.path.Child("resources", "claims").Index(i), "dynamic resource claims are not allowed for training jobs; request devices in resources.limits (e.g. nvidia.com/gpu: 1)")
		}
	}
}

func (c *checker) serviceAccount(path *field.Path, name string) {
	if name == "" || name == "default" || slices.Contains(c.p.Spec.AllowedServiceAccounts, name) {
		return
	}
	c.forbid(path, fmt.Sprintf("service account %q is not one %s lets pods run as (allowed: \"default\"%s); remove it to run as \"default\", or %s",
		name, c.policyName(), moreQuoted(c.p.Spec.AllowedServiceAccounts), c.ask("spec.allowedServiceAccounts")))
}

func (c *checker) priorityClass(path *field.Path, name string) {
	if name == c.env.DefaultPriorityClass || slices.Contains(c.p.Spec.AllowedPriorityClasses, name) {
		return
	}
	c.forbid(path, fmt.Sprintf("priority class %q is not one %s allows (allowed: %s); remove it to get the cluster's default priority, or %s",
		name, c.policyName(), quoteList(c.p.Spec.AllowedPriorityClasses), c.ask("spec.allowedPriorityClasses")))
}

func (c *checker) toleration(path *field.Path, t corev1.Toleration) {
	for _, a := range defaultTolerations {
		if tolerates(a, t) {
			return
		}
	}
	for _, a := range c.p.Spec.AllowedTolerations {
		if tolerates(a.core(), t) {
			return
		}
	}
	allowed := make([]string, len(c.p.Spec.AllowedTolerations))
	for i, a := range c.p.Spec.AllowedTolerations {
		allowed[i] = tolerationString(a.core())
	}
	c.forbid(path, fmt.Sprintf("toleration %s would let the pods onto nodes reserved by a taint, which %s does not allow (allowed: %s); remove it, or %s",
		tolerationString(t), c.policyName(), quoteList(allowed), c.ask("spec.allowedTolerations")))
}

// tolerates reports whether allowed toleration a tolerates every taint
// that t tolerates.
func tolerates(a, t corev1.Toleration) bool {
	if a.Effect != "" && a.Effect != t.Effect {
		return false
	}
	if a.Key == "" && a.Operator == corev1.TolerationOpExists {
		return true
	}
	if a.Key != t.Key {
		return false
	}
	if a.Operator == corev1.TolerationOpExists {
		return true
	}
	return t.Operator != corev1.TolerationOpExists && t.Value == a.Value
}

// tolerationString renders a toleration as key=value:Effect (kubectl taint
// syntax), with "*" for any key, value or effect.
func tolerationString(t corev1.Toleration) string {
	key, value, effect := t.Key, t.Value, string(t.Effect)
	if key == "" {
		key = "*"
	}
	if t.Operator == corev1.TolerationOpExists {
		value = "*"
	}
	if effect == "" {
		effect = "*"
	}
	return key + "=" + value + ":" + effect
}

// moreQuoted renders items as ", \"a\", \"b\"" (or nothing).
func moreQuoted(items []string) string {
	if len(items) == 0 {
		return ""
	}
	return ", " + quoteList(items)
}
