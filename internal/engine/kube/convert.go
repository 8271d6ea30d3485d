package kube

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"strings"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/odh-training/odh-training/internal/job"
)

// jobFromUpstream builds the model's metadata and spec from a live MPIJob:
// the recorded high-level spec when the service created it, otherwise what
// job.FromUpstream makes of the manifest. Status is filled by aggregate.
func jobFromUpstream(u *kubeflow.MPIJob) *job.MPIJob {
	j := &job.MPIJob{APIVersion: job.APIVersion, Kind: job.Kind}
	var spec *job.Spec
	if a := u.Annotations[AnnotationSpec]; a != "" {
		var s job.Spec
		if err := json.Unmarshal([]byte(a), &s); err == nil {
			spec = &s
		}
	}
	if spec == nil {
		conv, _ := job.FromUpstream(u)
		spec = &conv.Spec
	}
	j.Spec = *spec
	j.Spec.RunPolicy.Suspend = u.Spec.RunPolicy.Suspend != nil && *u.Spec.RunPolicy.Suspend
	job.SetDefaults(j)

	labels := maps.Clone(u.Labels)
	delete(labels, LabelManagedBy)
	if q := labels[LabelKueueQueue]; q != "" && q == j.Spec.Scheduling.Queue && u.Annotations[AnnotationSpec] != "" {
		delete(labels, LabelKueueQueue)
	}
	if pc := labels[LabelKueuePriorityClass]; pc != "" && pc == j.Spec.Scheduling.PriorityClass && u.Annotations[AnnotationSpec] != "" {
		delete(labels, LabelKueuePriorityClass) // set from spec.scheduling.priorityClass (priority.go)
	}
	annotations := maps.Clone(u.Annotations)
	for _, k := range []string{AnnotationSpec, AnnotationFormat, AnnotationCreator} {
		delete(annotations, k)
	}
	if len(labels) == 0 {
		labels = nil
	}
	if len(annotations) == 0 {
		annotations = nil
	}
	j.Metadata = job.ObjectMeta{
		Name:              u.Name,
		Namespace:         u.Namespace,
		Labels:            labels,
		Annotations:       annotations,
		UID:               string(u.UID),
		ResourceVersion:   u.ResourceVersion,
		CreationTimestamp: u.CreationTimestamp.UTC(),
		Creator:           u.Annotations[AnnotationCreator],
	}
	return j
}

// apiError translates an error of the Kubernetes API into a classified
// *job.Error, once, at the engine's boundary.
func apiError(err error, what string) error {
	if err == nil {
		return nil
	}
	var je *job.Error
	if errors.As(err, &je) {
		return err
	}
	var se apierrors.APIStatus
	if !errors.As(err, &se) {
		var ne net.Error
		if errors.As(err, &ne) || strings.Contains(err.Error(), "connection refused") {
			return &job.Error{Kind: job.KindUnavailable, Message: "the Kubernetes API server cannot be reached: " + err.Error(), Hint: "Check the cluster and odh-server's --kubeconfig.", Err: err}
		}
		return &job.Error{Kind: job.KindInternal, Message: what + ": " + err.Error(), Err: err}
	}
	st := se.Status()
	msg := st.Message
	switch {
	case apierrors.IsAlreadyExists(err):
		return &job.Error{Kind: job.KindAlreadyExists, Message: msg, Hint: "Choose another name, or delete the existing job first.", Err: err}
	case apierrors.IsNotFound(err):
		if d := st.Details; d != nil && d.Kind == "namespaces" {
			return &job.Error{Kind: job.KindNotFound, Message: fmt.Sprintf("namespace %q does not exist", d.Name), Hint: "Use a namespace you have access to (-n NAMESPACE).", Err: err}
		}
		if d := st.Details; d != nil && d.Kind == "" && d.Name == "" && strings.Contains(msg, "the server could not find the requested resource") {
			return crdMissing(err)
		}
		return &job.Error{Kind: job.KindNotFound, Message: msg, Err: err}
	case apierrors.IsForbidden(err):
		if strings.Contains(msg, "exceeded quota") {
			return &job.Error{Kind: job.KindQuotaExceeded, Message: msg, Hint: "See what the namespace may still use with: odh training capacity", Err: err}
		}
		// Admission's refusals (odh-webhook's policies) name their fields.
		return &job.Error{Kind: job.KindForbidden, Message: msg, Fields: causeFields(st.Details), Err: err}
	case apierrors.IsInvalid(err):
		fields := causeFields(st.Details)
		name := ""
		if st.Details != nil {
			name = st.Details.Name
		}
		e := job.Invalid(name, fields)
		e.Message = strings.TrimSuffix(e.Message, ":") + " (rejected by the Kubernetes API server):"
		if len(fields) == 0 {
			e.Message = msg
		}
		e.Err = err
		return e
	case apierrors.IsConflict(err):
		return &job.Error{Kind: job.KindConflict, Message: msg, Hint: "The job changed meanwhile; try again.", Err: err}
	case apierrors.IsUnauthorized(err):
		return &job.Error{Kind: job.KindUnauthenticated, Message: msg, Err: err}
	case apierrors.IsTimeout(err), apierrors.IsServerTimeout(err):
		return &job.Error{Kind: job.KindTimeout, Message: msg, Err: err}
	case apierrors.IsTooManyRequests(err), apierrors.IsServiceUnavailable(err), apierrors.IsInternalError(err):
		return &job.Error{Kind: job.KindUnavailable, Message: msg, Err: err}
	case apierrors.IsBadRequest(err):
		return &job.Error{Kind: job.KindBadRequest, Message: msg, Err: err}
	}
	return &job.Error{Kind: job.KindInternal, Message: what + ": " + msg, Err: err}
}

func causeFields(d *metav1.StatusDetails) job.FieldErrors {
	if d == nil {
		return nil
	}
	var fields job.FieldErrors
	for _, c := range d.Causes {
		fields = append(fields, job.FieldError{Field: c.Field, Type: causeType(c.Type), Message: c.Message})
	}
	return fields
}

func causeType(t metav1.CauseType) string {
	switch t {
	case metav1.CauseTypeFieldValueRequired:
		return job.FieldRequired
	case metav1.CauseTypeFieldValueNotSupported:
		return job.FieldNotSupported
	case metav1.CauseTypeFieldValueDuplicate:
		return job.FieldDuplicate
	case metav1.CauseTypeForbidden:
		return job.FieldForbidden
	case metav1.CauseTypeFieldValueNotFound, metav1.CauseTypeUnexpectedServerResponse:
		return job.FieldInvalid
	}
	return job.FieldInvalid
}

// crdMissing is the error for a cluster without the MPIJob CRD.
func crdMissing(cause error) *job.Error {
	return &job.Error{
		Kind:    job.KindUnavailable,
		Message: "the cluster has no MPIJob API: the CustomResourceDefinition mpijobs.kubeflow.org (kubeflow.org/v2beta1) is not installed",
		Hint:    "Install the MPI operator and its CRD: kubectl apply --server-side -k deploy/ (see docs/admin/cluster.md), or upstream's manifests of mpi-operator v0.8.2.",
		Err:     cause,
	}
}
