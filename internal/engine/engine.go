// Package engine defines what the Training Service needs from a backend that
// runs MPI jobs: the local engine (real mpirun on this machine) and the
// kubernetes engine (kubeflow.org/v2beta1 MPIJobs on the upstream operator)
// implement it, so the API, CLI, SDK and UI behave the same on both.
package engine

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/odh-training/odh-training/internal/job"
)

// Engine runs jobs. Every method returns *job.Error values for conditions a
// user can act on (not found, already exists, invalid, quota exceeded, ...).
//
// Jobs returned by Get, List and Watch may be shared snapshots: callers must
// treat them as read-only (copy before changing anything).
type Engine interface {
	// Info describes the engine for version output and diagnostics.
	Info(ctx context.Context) Info
	// Admit runs engine-specific checks on a defaulted, validated job
	// without creating anything (this is all a dry run does) and returns
	// warnings the user should see.
	Admit(ctx context.Context, j *job.MPIJob) (warnings []string, err error)
	// Create starts (or queues, or holds suspended) an admitted job. The
	// name is final; UID, timestamps and status are set by the engine.
	Create(ctx context.Context, j *job.MPIJob) (*job.MPIJob, error)
	Get(ctx context.Context, namespace, name string) (*job.MPIJob, error)
	List(ctx context.Context, opts ListOptions) ([]*job.MPIJob, error)
	// Delete stops the job and removes it. With Wait it returns only when
	// every process or pod of the job is gone.
	Delete(ctx context.Context, namespace, name string, opts DeleteOptions) (*job.MPIJob, error)
	Suspend(ctx context.Context, namespace, name string) (*job.MPIJob, error)
	Resume(ctx context.Context, namespace, name string) (*job.MPIJob, error)
	// Watch calls emit for every change to matching jobs until ctx ends or
	// emit returns an error. With SendInitial it first emits every matching
	// job as Added. It always emits one Synced event (with a nil Job) once
	// the watch is established, so clients know no later change is missed.
	Watch(ctx context.Context, opts WatchOptions, emit func(job.WatchEvent) error) error
	// Logs calls emit for each log line. With Follow it returns when the job
	// has finished and its output is drained, or when ctx ends.
	Logs(ctx context.Context, namespace, name string, opts LogOptions, emit func(job.LogLine) error) error
	Events(ctx context.Context, namespace, name string) ([]job.Event, error)
	// Capacity reports what new jobs in the namespace may still use.
	Capacity(ctx context.Context, namespace string) (*job.Capacity, error)
}

// Info describes an engine.
type Info struct {
	Name    string // "local" or "kubernetes"
	Version string // e.g. "Open MPI 4.1.4, MPICH 4.0.2" or "Kubernetes v1.35.4"
}

// ListOptions filters List and Watch.
type ListOptions struct {
	Namespace string // "" = all namespaces
	Selector  labels.Selector
	Phases    []job.Phase
}

// Matches reports whether a job passes the filters.
func (o ListOptions) Matches(j *job.MPIJob) bool {
	if o.Namespace != "" && j.Metadata.Namespace != o.Namespace {
		return false
	}
	if o.Selector != nil && !o.Selector.Empty() && !o.Selector.Matches(labels.Set(j.Metadata.Labels)) {
		return false
	}
	if len(o.Phases) > 0 {
		for _, p := range o.Phases {
			if j.Status.Phase == p {
				return true
			}
		}
		return false
	}
	return true
}

// DeleteOptions tunes Delete.
type DeleteOptions struct {
	Wait bool
}

// WatchOptions filters a watch.
type WatchOptions struct {
	ListOptions
	Name        string
	SendInitial bool
}

// Matches reports whether a job passes the watch filters.
func (o WatchOptions) Matches(j *job.MPIJob) bool {
	if o.Name != "" && j.Metadata.Name != o.Name {
		return false
	}
	return o.ListOptions.Matches(j)
}

// LogOptions selects log lines.
type LogOptions struct {
	// Worker selects one worker; nil means the launcher unless All is set.
	Worker *int32
	// All merges the launcher and every worker in time order.
	All       bool
	Follow    bool
	TailLines *int32
	Since     time.Time
	Previous  bool
}

// MetricsSource is implemented by engines that can measure the resources a
// job's replicas use.
type MetricsSource interface {
	JobMetrics(ctx context.Context, namespace, name string) (*job.Metrics, error)
}

// ProgressSource is implemented by engines that keep the history of the
// progress jobs report (ODH_PROGRESS lines).
type ProgressSource interface {
	JobProgress(ctx context.Context, namespace, name string) (*job.ProgressHistory, error)
}
