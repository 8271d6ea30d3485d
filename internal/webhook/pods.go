package webhook

import (
	"context"
	"fmt"
	"slices"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/podpolicy"
)

// PodPolicies returns the pod policy of a namespace (kubepolicy.Source on
// a cluster). An error refuses the job: the policy could not be decided.
type PodPolicies interface {
	For(ctx context.Context, namespace string) (*podpolicy.Policy, podpolicy.Env, error)
}

// podProblems checks the job's pods against the namespace's pod policy.
// On an update (old != nil) only violations the old object did not have
// count: a controller suspending or resuming a job that predates a
// stricter policy (Kueue preempting it) is not blocked, but nobody can add
// a violation. It returns the problems as "field: message" lines and
// causes, the policy's description for the message, or an error when the
// policy cannot be decided.
func (h *Handler) podProblems(ctx context.Context, u, old *kubeflow.MPIJob) (problems []string, causes []metav1.StatusCause, policy string, err error) {
	if h.Pods == nil {
		return nil, nil, "", nil
	}
	p, env, err := h.Pods.For(ctx, u.Namespace)
	if err != nil {
		return nil, nil, "", err
	}
	errs := podpolicy.Validate(p, env, podpolicy.FromMPIJob(u))
	if old != nil && len(errs) > 0 {
		had := map[string]bool{}
		for _, e := range podpolicy.Validate(p, env, podpolicy.FromMPIJob(old)) {
			had[e.Error()] = true
		}
		errs = slices.DeleteFunc(errs, func(e *field.Error) bool { return had[e.Error()] })
	}
	for _, e := range errs {
		problems = append(problems, e.Error())
		causes = append(causes, metav1.StatusCause{Type: causeOf(e.Type), Field: e.Field, Message: e.Detail})
	}
	name := "the default pod policy"
	if p.Name != "" {
		name = fmt.Sprintf("TrainingPolicy %q", p.Name)
	}
	return problems, causes, name, nil
}

func causeOf(t field.ErrorType) metav1.CauseType {
	switch t {
	case field.ErrorTypeRequired:
		return metav1.CauseTypeFieldValueRequired
	case field.ErrorTypeNotSupported:
		return metav1.CauseTypeFieldValueNotSupported
	case field.ErrorTypeForbidden:
		return metav1.CauseTypeForbidden
	case field.ErrorTypeDuplicate:
		return metav1.CauseTypeFieldValueDuplicate
	}
	return metav1.CauseTypeFieldValueInvalid
}

// jobGPUs is what the job requests of nvidia.com/gpu in total, counted
// over every container of every pod (init containers included) as the
// scheduler counts them.
func jobGPUs(u *kubeflow.MPIJob) int64 {
	var n int64
	for _, ps := range podpolicy.FromMPIJob(u).PodSets {
		q, _ := podpolicy.PodRequest(&ps.Template.Spec, job.GPUResource)
		n += q.Value() * ps.Replicas
	}
	return n
}
