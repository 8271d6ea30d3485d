package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/podpolicy"
)

// Priorities. spec.scheduling.priorityClass names a class that exists on
// the cluster as a Kubernetes PriorityClass, a Kueue WorkloadPriorityClass,
// or both (the usual setup: the same name for both):
//
//   - a PriorityClass goes to every pod (priorityClassName: the
//     kube-scheduler orders and preempts pods by it) and to
//     runPolicy.schedulingPolicy.priorityClass (the PodGroup of a gang);
//     Kueue takes a queued job's priority from it when there is no
//     WorkloadPriorityClass;
//   - a WorkloadPriorityClass goes to the label kueue.x-k8s.io/priority-class:
//     Kueue orders its queues and preempts by it, and it wins over the
//     PriorityClass for that; the pods keep the cluster's default priority
//     unless a PriorityClass of the same name exists too.
//
// A name that is neither is refused with the classes that exist. The
// namespace's TrainingPolicy (allowedPriorityClasses) limits both.

// LabelKueuePriorityClass names a job's Kueue WorkloadPriorityClass.
const LabelKueuePriorityClass = podpolicy.LabelKueuePriorityClass

var workloadPriorityClassGVR = schema.GroupVersionResource{Group: "kueue.x-k8s.io", Version: "v1beta2", Resource: "workloadpriorityclasses"}

// priorityKinds is what a priority class name is on the cluster.
type priorityKinds struct {
	pod, workload bool
}

// resolvePriority looks spec.scheduling.priorityClass up with the engine's
// own identity (data scientists may not read cluster-scoped classes). A
// lookup the engine cannot make (no Kueue, no permission) counts as "not
// that kind"; when neither lookup can be made the name is used as a
// PriorityClass, as before, and the API server's admission decides.
func (e *Engine) resolvePriority(ctx context.Context, j *job.MPIJob) (priorityKinds, error) {
	name := j.Spec.Scheduling.PriorityClass
	if j.Upstream != nil || name == "" {
		return priorityKinds{pod: true}, nil
	}
	var k priorityKinds
	_, perr := e.own.Kube.SchedulingV1().PriorityClasses().Get(ctx, name, metav1.GetOptions{})
	k.pod = perr == nil
	_, werr := e.dyn.Resource(workloadPriorityClassGVR).Get(ctx, name, metav1.GetOptions{})
	k.workload = werr == nil
	switch {
	case k.pod || k.workload:
		return k, nil
	case apierrors.IsNotFound(perr) && kueueAbsent(werr):
		return k, e.unknownPriority(ctx, j, name, false)
	case apierrors.IsNotFound(perr) && apierrors.IsNotFound(werr):
		return k, e.unknownPriority(ctx, j, name, true)
	}
	// A lookup failed otherwise (permission, connection): the API
	// server's admission decides, as for a PriorityClass.
	e.log.Debug("priority class lookup failed; leaving it to admission", "class", name, "priorityClass", fmt.Sprint(perr), "workloadPriorityClass", fmt.Sprint(werr))
	return priorityKinds{pod: true}, nil
}

// kueueAbsent reports whether err says the cluster serves no
// WorkloadPriorityClasses (Kueue not installed): a 404 that names no
// object.
func kueueAbsent(err error) bool {
	var s apierrors.APIStatus
	return apierrors.IsNotFound(err) && errors.As(err, &s) && (s.Status().Details == nil || s.Status().Details.Name == "")
}

// unknownPriority builds the error for a class that does not exist, naming
// those that do (system-* classes are for cluster components, not jobs).
func (e *Engine) unknownPriority(ctx context.Context, j *job.MPIJob, name string, kueue bool) error {
	var pcs, wpcs []string
	if l, err := e.own.Kube.SchedulingV1().PriorityClasses().List(ctx, metav1.ListOptions{}); err == nil {
		for _, pc := range l.Items {
			if !strings.HasPrefix(pc.Name, "system-") {
				pcs = append(pcs, pc.Name)
			}
		}
	}
	if kueue {
		if l, err := e.dyn.Resource(workloadPriorityClassGVR).List(ctx, metav1.ListOptions{}); err == nil {
			for _, w := range l.Items {
				wpcs = append(wpcs, w.GetName())
			}
		}
	}
	slices.Sort(pcs)
	slices.Sort(wpcs)
	msg := fmt.Sprintf("priority class %q does not exist: the cluster has PriorityClasses %s", name, listOrNone(pcs))
	if kueue {
		msg += fmt.Sprintf(" and Kueue WorkloadPriorityClasses %s", listOrNone(wpcs))
	}
	msg += "; use one of them (your namespace's TrainingPolicy may allow only some, see docs/user/job-spec.md#priorities), remove the field for the default priority, or ask a platform administrator to create the class"
	return job.Invalid(j.Metadata.Name, job.FieldErrors{{Field: "spec.scheduling.priorityClass", Type: job.FieldNotSupported, Value: name, Message: msg}})
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}

// applyPriority makes the MPIJob carry the class as what it is.
func applyPriority(u *kubeflow.MPIJob, name string, k priorityKinds) {
	if name == "" {
		return
	}
	if !k.pod {
		if sp := u.Spec.RunPolicy.SchedulingPolicy; sp != nil {
			sp.PriorityClass = ""
		}
		for _, r := range u.Spec.MPIReplicaSpecs {
			r.Template.Spec.PriorityClassName = ""
		}
	}
	if k.workload {
		u.Labels[LabelKueuePriorityClass] = name
	}
}

// priorityWarnings explains a class that cannot take effect.
func priorityWarnings(j *job.MPIJob, k priorityKinds) []string {
	if k.workload && !k.pod && j.Spec.Scheduling.Queue == "" {
		return []string{fmt.Sprintf("priority class %q is a Kueue WorkloadPriorityClass only: it takes effect for jobs in a Kueue queue; set spec.scheduling.queue (--queue), or the job runs with the cluster's default priority", j.Spec.Scheduling.PriorityClass)}
	}
	return nil
}
