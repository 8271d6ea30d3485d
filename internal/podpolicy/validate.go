package podpolicy

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validate checks every pod set of job against policy p in env and returns
// every problem, each with the path of the offending field in the
// submitted object. A nil result means the job's pods may run.
func Validate(p *Policy, env Env, j *Job) field.ErrorList {
	if p == nil {
		p = Default()
	}
	c := &checker{p: p, env: env, job: j}
	if j.PriorityClass != "" {
		c.priorityClass(j.PriorityClassPath, j.PriorityClass)
	}
	if j.WorkloadPriorityClass != "" {
		c.priorityClass(j.WorkloadPriorityClassPath, j.WorkloadPriorityClass)
	}
	for i := range j.PodSets {
		ps := &j.PodSets[i]
		if ps.Template == nil {
			continue
		}
		c.podSet(ps)
	}
	c.totals()
	return c.errs
}

type checker struct {
	p    *Policy
	env  Env
	job  *Job
	errs field.ErrorList
}

func (c *checker) forbid(path *field.Path, detail string) {
	c.errs = append(c.errs, field.Forbidden(path, detail))
}

func (c *checker) require(path *field.Path, detail string) {
	c.errs = append(c.errs, field.Required(path, detail))
}

// policyName names the policy in messages.
func (c *checker) policyName() string { return c.p.describe(c.env.Namespace) }

// ask says whom to ask to allow something, and where it goes.
func (c *checker) ask(field string) string { return c.p.askAdmin(c.env.Namespace, field) }

// container is one container of a pod template with its path.
type container struct {
	path *field.Path
	c    *corev1.Container
	// kind is "container", "init container" or "ephemeral container".
	kind string
}

// containers lists init, regular and ephemeral containers in that order.
func containers(spec *corev1.PodSpec, path *field.Path) []container {
	var out []container
	for i := range spec.InitContainers {
		out = append(out, container{path.Child("initContainers").Index(i), &spec.InitContainers[i], "init container"})
	}
	for i := range spec.Containers {
		out = append(out, container{path.Child("containers").Index(i), &spec.Containers[i], "container"})
	}
	for i := range spec.EphemeralContainers {
		// EphemeralContainerCommon has exactly Container's fields.
		ec := corev1.Container(spec.EphemeralContainers[i].EphemeralContainerCommon)
		out = append(out, container{path.Child("ephemeralContainers").Index(i), &ec, "ephemeral container"})
	}
	return out
}

func (c *checker) podSet(ps *PodSet) {
	spec := &ps.Template.Spec
	path := ps.Path.Child("spec")
	cs := containers(spec, path)
	c.annotations(ps)
	c.hostNamespaces(spec, path, cs)
	c.podSecurity(spec, path, cs)
	c.openShift(spec, path, cs)
	c.volumes(spec, path)
	for _, ct := range cs {
		c.envSecrets(ct)
	}
	c.scheduling(spec, path, cs)
}
