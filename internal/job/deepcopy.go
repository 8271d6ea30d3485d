package job

import (
	"k8s.io/apimachinery/pkg/runtime"

	"maps"
	"slices"
)

// DeepCopy returns a copy of j that shares no memory with it. Engines keep
// immutable snapshots and copy before changing one; it is hand-written
// because that happens on every status change, and TestDeepCopySharesNothing
// fails when a new field is not copied.
func (j *MPIJob) DeepCopy() *MPIJob {
	if j == nil {
		return nil
	}
	c := *j
	c.Metadata.Labels = maps.Clone(j.Metadata.Labels)
	c.Metadata.Annotations = maps.Clone(j.Metadata.Annotations)
	s := &c.Spec
	s.Command = slices.Clone(j.Spec.Command)
	s.Env = slices.Clone(j.Spec.Env)
	s.Workers.Replicas = copyPtr(j.Spec.Workers.Replicas)
	s.Workers.SlotsPerWorker = copyPtr(j.Spec.Workers.SlotsPerWorker)
	s.RunPolicy.ActiveDeadlineSeconds = copyPtr(j.Spec.RunPolicy.ActiveDeadlineSeconds)
	s.RunPolicy.BackoffLimit = copyPtr(j.Spec.RunPolicy.BackoffLimit)
	s.RunPolicy.TTLSecondsAfterFinished = copyPtr(j.Spec.RunPolicy.TTLSecondsAfterFinished)
	s.Volumes = slices.Clone(j.Spec.Volumes)
	s.NodeSelector = maps.Clone(j.Spec.NodeSelector)
	s.Tolerations = slices.Clone(j.Spec.Tolerations)
	s.ImagePullSecrets = slices.Clone(j.Spec.ImagePullSecrets)
	st := &c.Status
	if j.Status.Launcher != nil {
		l := copyReplica(*j.Status.Launcher)
		st.Launcher = &l
	}
	if j.Status.WorkerStatuses != nil {
		st.WorkerStatuses = make([]ReplicaStatus, len(j.Status.WorkerStatuses))
		for i, w := range j.Status.WorkerStatuses {
			st.WorkerStatuses[i] = copyReplica(w)
		}
	}
	st.FirstFailedWorker = copyPtr(j.Status.FirstFailedWorker)
	st.FirstFailedRank = copyPtr(j.Status.FirstFailedRank)
	st.History = slices.Clone(j.Status.History)
	st.Conditions = slices.Clone(j.Status.Conditions)
	st.Requested = copyPtr(j.Status.Requested)
	st.ExitCode = copyPtr(j.Status.ExitCode)
	st.Progress = j.Status.Progress.DeepCopy()
	if j.Upstream != nil {
		c.Upstream = j.Upstream.DeepCopy()
	}
	if j.UpstreamTrainJob != nil {
		c.UpstreamTrainJob = runtime.DeepCopyJSON(j.UpstreamTrainJob)
	}
	return &c
}

func copyReplica(r ReplicaStatus) ReplicaStatus {
	r.ExitCode = copyPtr(r.ExitCode)
	r.Ranks = slices.Clone(r.Ranks)
	return r
}

func copyPtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
