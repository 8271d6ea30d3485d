package kube

import (
	"context"
	"fmt"
	"regexp"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/podpolicy"
)

// PodPolicies returns the pod policy of a namespace (kubepolicy.Source).
type PodPolicies interface {
	For(ctx context.Context, namespace string) (*podpolicy.Policy, podpolicy.Env, error)
}

// checkPods applies the namespace's pod policy to the MPIJob a job
// becomes, before anything is sent to the API server: callers of the API,
// CLI, SDK and dashboard get the refusal odh-webhook would give, with
// field paths — of the high-level spec for high-level jobs. Raw manifests
// are checked as odh-webhook's mutation leaves them.
func (e *Engine) checkPods(ctx context.Context, j *job.MPIJob, u *kubeflow.MPIJob) error {
	if e.opts.PodPolicies == nil {
		return nil
	}
	p, env, err := e.opts.PodPolicies.For(ctx, u.Namespace)
	if err != nil {
		return &job.Error{Kind: job.KindForbidden, Message: fmt.Sprintf("MPIJob %q cannot be admitted in namespace %s, so nothing was created: %v", u.Name, u.Namespace, err),
			Hint: "Ask a platform administrator to fix the namespace's TrainingPolicy (docs/admin/pod-policy.md).", Err: err}
	}
	checked := u
	if j.Upstream != nil {
		if checked, err = podpolicy.Defaulted(u); err != nil {
			return err
		}
	}
	errs := podpolicy.Validate(p, env, podpolicy.FromMPIJob(checked))
	if len(errs) == 0 {
		return nil
	}
	var fields job.FieldErrors
	seen := map[string]bool{}
	for _, fe := range errs {
		f := fieldError(fe)
		if j.Upstream == nil {
			f.Field = highLevelPath(f.Field)
		}
		if k := f.Field + "\x00" + f.Message; !seen[k] {
			seen[k] = true
			fields = append(fields, f)
		}
	}
	which := "the default pod policy"
	if p.Name != "" {
		which = fmt.Sprintf("TrainingPolicy %q", p.Name)
	}
	name := u.Name
	if name == "" {
		name = u.GenerateName + "…"
	}
	return &job.Error{Kind: job.KindForbidden,
		Message: fmt.Sprintf("MPIJob %q violates the policy of namespace %s (%s), so nothing was created:", name, u.Namespace, which),
		Fields:  fields,
		Hint:    "Change the job, or ask a platform administrator to change the policy (docs/admin/pod-policy.md).",
	}
}

func fieldError(e *field.Error) job.FieldError {
	typ := job.FieldInvalid
	switch e.Type {
	case field.ErrorTypeRequired:
		typ = job.FieldRequired
	case field.ErrorTypeNotSupported:
		typ = job.FieldNotSupported
	case field.ErrorTypeForbidden:
		typ = job.FieldForbidden
	case field.ErrorTypeDuplicate:
		typ = job.FieldDuplicate
	}
	return job.FieldError{Field: e.Field, Type: typ, Message: e.Detail}
}

// Where the translation puts what a high-level spec says (translate.go),
// read backwards; security settings the engine itself sets stay at their
// upstream paths.
var highLevelPaths = []struct {
	re *regexp.Regexp
	to string
}{
	{regexp.MustCompile(`^spec\.mpiReplicaSpecs\[\w+\]\.template\.spec\.volumes\[(\d+)\]\.secret\.secretName$`), "spec.volumes[$1].secret"},
	{regexp.MustCompile(`^spec\.mpiReplicaSpecs\[\w+\]\.template\.spec\.volumes\[(\d+)\]\.(\w+)$`), "spec.volumes[$1].$2"},
	{regexp.MustCompile(`^spec\.mpiReplicaSpecs\[\w+\]\.template\.spec\.tolerations\[(\d+)\]$`), "spec.tolerations[$1]"},
	{regexp.MustCompile(`^spec\.mpiReplicaSpecs\[\w+\]\.template\.spec\.priorityClassName$`), "spec.scheduling.priorityClass"},
	{regexp.MustCompile(`^spec\.runPolicy\.schedulingPolicy\.priorityClass$`), "spec.scheduling.priorityClass"},
	{regexp.MustCompile(`^spec\.mpiReplicaSpecs$`), "spec.workers.resources"},
}

func highLevelPath(p string) string {
	for _, m := range highLevelPaths {
		if m.re.MatchString(p) {
			return m.re.ReplaceAllString(p, m.to)
		}
	}
	return p
}
