package kube

import (
	"maps"
	"slices"

	"github.com/odh-training/odh-training/internal/job"
)

// cloneJob deep-copies a job. The engine keeps one immutable snapshot per
// job and hands out copies, so callers may modify what they get. It is
// hand-written because Get and List must be cheap; TestCloneJobSharesNothing
// fails when a new field is not copied.
func cloneJob(j *job.MPIJob) *job.MPIJob {
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
		l := cloneReplica(*j.Status.Launcher)
		st.Launcher = &l
	}
	if j.Status.WorkerStatuses != nil {
		st.WorkerStatuses = make([]job.ReplicaStatus, len(j.Status.WorkerStatuses))
		for i, w := range j.Status.WorkerStatuses {
			st.WorkerStatuses[i] = cloneReplica(w)
		}
	}
	st.FirstFailedWorker = copyPtr(j.Status.FirstFailedWorker)
	st.FirstFailedRank = copyPtr(j.Status.FirstFailedRank)
	st.History = slices.Clone(j.Status.History)
	st.Conditions = slices.Clone(j.Status.Conditions)
	st.Requested = copyPtr(j.Status.Requested)
	st.ExitCode = copyPtr(j.Status.ExitCode)
	if j.Upstream != nil {
		c.Upstream = j.Upstream.DeepCopy()
	}
	return &c
}

func cloneReplica(r job.ReplicaStatus) job.ReplicaStatus {
	r.ExitCode = copyPtr(r.ExitCode)
	r.Ranks = slices.Clone(r.Ranks)
	return r
}
