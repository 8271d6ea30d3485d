package kube

import (
	"strings"
	"time"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	corev1 "k8s.io/api/core/v1"
)

// The Warning events that explain a job's status: the operator's rejections
// and warnings, quota refusals and Kueue's pending reasons.

// operatorRejection is the operator's ValidationError event, if any.
func operatorRejection(ws []*corev1.Event) *corev1.Event {
	for _, w := range ws {
		if w.InvolvedObject.Kind == kubeflow.Kind && w.Reason == "ValidationError" {
			return w
		}
	}
	return nil
}

// operatorWarning is the newest Warning the operator recorded on the
// MPIJob.
func operatorWarning(ws []*corev1.Event) *corev1.Event {
	var best *corev1.Event
	for _, w := range ws {
		if w.InvolvedObject.Kind == kubeflow.Kind && (best == nil || eventTime(best).Before(eventTime(w))) {
			best = w
		}
	}
	return best
}

// quotaWarning is the newest event saying a pod could not be created
// because of a ResourceQuota.
func quotaWarning(ws []*corev1.Event) *corev1.Event {
	var best *corev1.Event
	for _, w := range ws {
		if strings.Contains(w.Message, "exceeded quota") && (best == nil || eventTime(best).Before(eventTime(w))) {
			best = w
		}
	}
	return best
}

// kueuePending returns Kueue's latest explanation of why the job's Workload
// is not admitted (a Warning "Pending" event on the Workload).
func kueuePending(ws []*corev1.Event) *corev1.Event {
	var best *corev1.Event
	for _, w := range ws {
		if w.InvolvedObject.Kind == "Workload" && w.Reason == "Pending" && (best == nil || eventTime(best).Before(eventTime(w))) {
			best = w
		}
	}
	return best
}

func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}
