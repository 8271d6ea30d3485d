// Package apiconv converts between the domain model (internal/job) and the
// API's protobuf messages. Both sides share field
// names, so the JSON of a job and the protojson of its message are the same
// document; a round-trip test keeps them in step.
package apiconv

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/job"
)

// ToProto converts a job to its API message.
func ToProto(j *job.MPIJob) *trainingv1.MPIJob {
	if j == nil {
		return nil
	}
	return &trainingv1.MPIJob{
		ApiVersion: j.APIVersion,
		Kind:       j.Kind,
		Metadata:   metaToProto(&j.Metadata),
		Spec:       specToProto(&j.Spec),
		Status:     statusToProto(&j.Status),
	}
}

// FromProto converts an API message to a job. A nil message gives an empty job.
func FromProto(p *trainingv1.MPIJob) *job.MPIJob {
	j := &job.MPIJob{}
	if p == nil {
		return j
	}
	j.APIVersion, j.Kind = p.GetApiVersion(), p.GetKind()
	j.Metadata = metaFromProto(p.GetMetadata())
	j.Spec = specFromProto(p.GetSpec())
	j.Status = statusFromProto(p.GetStatus())
	return j
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func fromTS(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}

func metaToProto(m *job.ObjectMeta) *trainingv1.ObjectMeta {
	return &trainingv1.ObjectMeta{
		Name:              m.Name,
		GenerateName:      m.GenerateName,
		Namespace:         m.Namespace,
		Labels:            m.Labels,
		Annotations:       m.Annotations,
		Uid:               m.UID,
		ResourceVersion:   m.ResourceVersion,
		CreationTimestamp: ts(m.CreationTimestamp),
		Creator:           m.Creator,
	}
}

func metaFromProto(m *trainingv1.ObjectMeta) job.ObjectMeta {
	if m == nil {
		return job.ObjectMeta{}
	}
	return job.ObjectMeta{
		Name:              m.GetName(),
		GenerateName:      m.GetGenerateName(),
		Namespace:         m.GetNamespace(),
		Labels:            m.GetLabels(),
		Annotations:       m.GetAnnotations(),
		UID:               m.GetUid(),
		ResourceVersion:   m.GetResourceVersion(),
		CreationTimestamp: fromTS(m.GetCreationTimestamp()),
		Creator:           m.GetCreator(),
	}
}

func resourcesToProto(r *job.Resources) *trainingv1.Resources {
	if *r == (job.Resources{}) {
		return nil
	}
	return &trainingv1.Resources{
		Cpu: string(r.CPU), Memory: string(r.Memory), Gpus: r.GPUs,
		CpuLimit: string(r.CPULimit), MemoryLimit: string(r.MemoryLimit),
	}
}

func resourcesFromProto(r *trainingv1.Resources) job.Resources {
	if r == nil {
		return job.Resources{}
	}
	return job.Resources{
		CPU: job.Quantity(r.GetCpu()), Memory: job.Quantity(r.GetMemory()), GPUs: r.GetGpus(),
		CPULimit: job.Quantity(r.GetCpuLimit()), MemoryLimit: job.Quantity(r.GetMemoryLimit()),
	}
}

func specToProto(s *job.Spec) *trainingv1.MPIJobSpec {
	p := &trainingv1.MPIJobSpec{
		Image:             s.Image,
		ImagePullPolicy:   s.ImagePullPolicy,
		Command:           s.Command,
		WorkingDir:        s.WorkingDir,
		MpiImplementation: string(s.MPIImplementation),
		NodeSelector:      s.NodeSelector,
		ImagePullSecrets:  s.ImagePullSecrets,
		Runtime:           s.Runtime,
	}
	for _, e := range s.Env {
		p.Env = append(p.Env, &trainingv1.EnvVar{Name: e.Name, Value: e.Value})
	}
	if s.Workers.Replicas != nil || s.Workers.SlotsPerWorker != nil || s.Workers.Resources != (job.Resources{}) {
		p.Workers = &trainingv1.WorkerSpec{
			Replicas:       s.Workers.Replicas,
			SlotsPerWorker: s.Workers.SlotsPerWorker,
			Resources:      resourcesToProto(&s.Workers.Resources),
		}
	}
	if s.Launcher.Resources != (job.Resources{}) {
		p.Launcher = &trainingv1.LauncherSpec{Resources: resourcesToProto(&s.Launcher.Resources)}
	}
	if r := s.RunPolicy; r != (job.RunPolicy{}) {
		p.RunPolicy = &trainingv1.RunPolicy{
			ActiveDeadlineSeconds:   r.ActiveDeadlineSeconds,
			BackoffLimit:            r.BackoffLimit,
			TtlSecondsAfterFinished: r.TTLSecondsAfterFinished,
			CleanPodPolicy:          string(r.CleanPodPolicy),
			Suspend:                 r.Suspend,
		}
	}
	if s.Scheduling != (job.Scheduling{}) {
		p.Scheduling = &trainingv1.Scheduling{Queue: s.Scheduling.Queue, PriorityClass: s.Scheduling.PriorityClass}
	}
	for _, v := range s.Volumes {
		p.Volumes = append(p.Volumes, &trainingv1.Volume{
			Name: v.Name, MountPath: v.MountPath, ReadOnly: v.ReadOnly,
			PersistentVolumeClaim: v.PersistentVolumeClaim, ConfigMap: v.ConfigMap,
			Secret: v.Secret, EmptyDir: v.EmptyDir, HostPath: v.HostPath,
		})
	}
	for _, t := range s.Tolerations {
		p.Tolerations = append(p.Tolerations, &trainingv1.Toleration{Key: t.Key, Operator: t.Operator, Value: t.Value, Effect: t.Effect})
	}
	return p
}

func specFromProto(p *trainingv1.MPIJobSpec) job.Spec {
	if p == nil {
		return job.Spec{}
	}
	s := job.Spec{
		Image:             p.GetImage(),
		ImagePullPolicy:   p.GetImagePullPolicy(),
		Command:           p.GetCommand(),
		WorkingDir:        p.GetWorkingDir(),
		MPIImplementation: job.MPIImplementation(p.GetMpiImplementation()),
		NodeSelector:      p.GetNodeSelector(),
		ImagePullSecrets:  p.GetImagePullSecrets(),
		Runtime:           p.GetRuntime(),
	}
	for _, e := range p.GetEnv() {
		s.Env = append(s.Env, job.EnvVar{Name: e.GetName(), Value: e.GetValue()})
	}
	if w := p.GetWorkers(); w != nil {
		s.Workers = job.WorkerSpec{Replicas: w.Replicas, SlotsPerWorker: w.SlotsPerWorker, Resources: resourcesFromProto(w.GetResources())}
	}
	s.Launcher.Resources = resourcesFromProto(p.GetLauncher().GetResources())
	if r := p.GetRunPolicy(); r != nil {
		s.RunPolicy = job.RunPolicy{
			ActiveDeadlineSeconds:   r.ActiveDeadlineSeconds,
			BackoffLimit:            r.BackoffLimit,
			TTLSecondsAfterFinished: r.TtlSecondsAfterFinished,
			CleanPodPolicy:          job.CleanPodPolicy(r.GetCleanPodPolicy()),
			Suspend:                 r.GetSuspend(),
		}
	}
	if sc := p.GetScheduling(); sc != nil {
		s.Scheduling = job.Scheduling{Queue: sc.GetQueue(), PriorityClass: sc.GetPriorityClass()}
	}
	for _, v := range p.GetVolumes() {
		s.Volumes = append(s.Volumes, job.Volume{
			Name: v.GetName(), MountPath: v.GetMountPath(), ReadOnly: v.GetReadOnly(),
			PersistentVolumeClaim: v.GetPersistentVolumeClaim(), ConfigMap: v.GetConfigMap(),
			Secret: v.GetSecret(), EmptyDir: v.GetEmptyDir(), HostPath: v.GetHostPath(),
		})
	}
	for _, t := range p.GetTolerations() {
		s.Tolerations = append(s.Tolerations, job.Toleration{Key: t.GetKey(), Operator: t.GetOperator(), Value: t.GetValue(), Effect: t.GetEffect()})
	}
	return s
}

func replicaToProto(r *job.ReplicaStatus) *trainingv1.ReplicaStatus {
	return &trainingv1.ReplicaStatus{
		Name: r.Name, Index: r.Index, State: r.State, Ready: r.Ready, Node: r.Node,
		Restarts: r.Restarts, ExitCode: r.ExitCode, Reason: r.Reason, Message: r.Message,
		StartTime: ts(r.StartTime), FinishTime: ts(r.FinishTime), Ranks: r.Ranks, Pod: r.Pod,
	}
}

func replicaFromProto(r *trainingv1.ReplicaStatus) job.ReplicaStatus {
	return job.ReplicaStatus{
		Name: r.GetName(), Index: r.GetIndex(), State: r.GetState(), Ready: r.GetReady(), Node: r.GetNode(),
		Restarts: r.GetRestarts(), ExitCode: r.ExitCode, Reason: r.GetReason(), Message: r.GetMessage(),
		StartTime: fromTS(r.GetStartTime()), FinishTime: fromTS(r.GetFinishTime()), Ranks: r.GetRanks(), Pod: r.GetPod(),
	}
}

func statusToProto(s *job.Status) *trainingv1.JobStatus {
	p := &trainingv1.JobStatus{
		Phase:             string(s.Phase),
		Reason:            s.Reason,
		Message:           s.Message,
		StartTime:         ts(s.StartTime),
		CompletionTime:    ts(s.CompletionTime),
		FirstFailedWorker: s.FirstFailedWorker,
		FirstFailedRank:   s.FirstFailedRank,
		Attempts:          s.Attempts,
		QueuePosition:     s.QueuePosition,
		Preemptions:       s.Preemptions,
		PreemptedBy:       s.PreemptedBy,
		ExitCode:          s.ExitCode,
		Backend:           s.Backend,
		ReadOnly:          s.ReadOnly,
		Progress:          ProgressToProto(s.Progress),
	}
	if w := s.Workers; w != (job.WorkerCounts{}) {
		p.Workers = &trainingv1.WorkerCounts{Total: w.Total, Pending: w.Pending, Running: w.Running, Ready: w.Ready, Succeeded: w.Succeeded, Failed: w.Failed}
	}
	if s.Launcher != nil {
		p.Launcher = replicaToProto(s.Launcher)
	}
	for i := range s.WorkerStatuses {
		p.WorkerStatuses = append(p.WorkerStatuses, replicaToProto(&s.WorkerStatuses[i]))
	}
	for _, t := range s.History {
		p.History = append(p.History, &trainingv1.Transition{Phase: string(t.Phase), Reason: t.Reason, Message: t.Message, Time: ts(t.Time)})
	}
	for _, c := range s.Conditions {
		p.Conditions = append(p.Conditions, &trainingv1.Condition{Type: c.Type, Status: c.Status, Reason: c.Reason, Message: c.Message, LastTransitionTime: ts(c.LastTransitionTime)})
	}
	if r := s.Requested; r != nil {
		p.Requested = &trainingv1.ResourceTotals{Cpu: r.CPU, Memory: r.Memory, Gpus: r.GPUs, Slots: r.Slots}
	}
	return p
}

func statusFromProto(p *trainingv1.JobStatus) job.Status {
	if p == nil {
		return job.Status{}
	}
	s := job.Status{
		Phase:             job.Phase(p.GetPhase()),
		Reason:            p.GetReason(),
		Message:           p.GetMessage(),
		StartTime:         fromTS(p.GetStartTime()),
		CompletionTime:    fromTS(p.GetCompletionTime()),
		FirstFailedWorker: p.FirstFailedWorker,
		FirstFailedRank:   p.FirstFailedRank,
		Attempts:          p.GetAttempts(),
		QueuePosition:     p.GetQueuePosition(),
		Preemptions:       p.GetPreemptions(),
		PreemptedBy:       p.GetPreemptedBy(),
		ExitCode:          p.ExitCode,
		Backend:           p.GetBackend(),
		ReadOnly:          p.GetReadOnly(),
		Progress:          ProgressFromProto(p.GetProgress()),
	}
	if w := p.GetWorkers(); w != nil {
		s.Workers = job.WorkerCounts{Total: w.GetTotal(), Pending: w.GetPending(), Running: w.GetRunning(), Ready: w.GetReady(), Succeeded: w.GetSucceeded(), Failed: w.GetFailed()}
	}
	if l := p.GetLauncher(); l != nil {
		r := replicaFromProto(l)
		s.Launcher = &r
	}
	for _, w := range p.GetWorkerStatuses() {
		s.WorkerStatuses = append(s.WorkerStatuses, replicaFromProto(w))
	}
	for _, t := range p.GetHistory() {
		s.History = append(s.History, job.Transition{Phase: job.Phase(t.GetPhase()), Reason: t.GetReason(), Message: t.GetMessage(), Time: fromTS(t.GetTime())})
	}
	for _, c := range p.GetConditions() {
		s.Conditions = append(s.Conditions, job.Condition{Type: c.GetType(), Status: c.GetStatus(), Reason: c.GetReason(), Message: c.GetMessage(), LastTransitionTime: fromTS(c.GetLastTransitionTime())})
	}
	if r := p.GetRequested(); r != nil {
		s.Requested = &job.Totals{CPU: r.GetCpu(), Memory: r.GetMemory(), GPUs: r.GetGpus(), Slots: r.GetSlots()}
	}
	return s
}

// LogLineToProto converts a log line.
func LogLineToProto(l *job.LogLine) *trainingv1.LogLine {
	return &trainingv1.LogLine{Source: l.Source, Worker: l.Worker, Rank: l.Rank, Stream: l.Stream, Time: ts(l.Time), Text: l.Text}
}

// LogLineFromProto converts a log line.
func LogLineFromProto(p *trainingv1.LogLine) job.LogLine {
	return job.LogLine{Source: p.GetSource(), Worker: p.GetWorker(), Rank: p.GetRank(), Stream: p.GetStream(), Time: fromTS(p.GetTime()), Text: p.GetText()}
}

// EventToProto converts a job event.
func EventToProto(e *job.Event) *trainingv1.Event {
	return &trainingv1.Event{Type: e.Type, Reason: e.Reason, Message: e.Message, Object: e.Object, FirstTime: ts(e.FirstTime), LastTime: ts(e.LastTime), Count: e.Count, Source: e.Source}
}

// EventFromProto converts a job event.
func EventFromProto(p *trainingv1.Event) job.Event {
	return job.Event{Type: p.GetType(), Reason: p.GetReason(), Message: p.GetMessage(), Object: p.GetObject(), FirstTime: fromTS(p.GetFirstTime()), LastTime: fromTS(p.GetLastTime()), Count: p.GetCount(), Source: p.GetSource()}
}

// CapacityToProto converts a capacity report.
func CapacityToProto(c *job.Capacity) *trainingv1.Capacity {
	p := &trainingv1.Capacity{Source: c.Source}
	for _, r := range c.Resources {
		p.Resources = append(p.Resources, &trainingv1.ResourceCapacity{Name: r.Name, Hard: r.Hard, Used: r.Used, Available: r.Available})
	}
	return p
}

// CapacityFromProto converts a capacity report.
func CapacityFromProto(p *trainingv1.Capacity) *job.Capacity {
	c := &job.Capacity{Source: p.GetSource()}
	for _, r := range p.GetResources() {
		c.Resources = append(c.Resources, job.ResourceCapacity{Name: r.GetName(), Hard: r.GetHard(), Used: r.GetUsed(), Available: r.GetAvailable()})
	}
	return c
}

// MetricsToProto converts a job's resource samples.
func MetricsToProto(m *job.Metrics) *trainingv1.JobMetrics {
	p := &trainingv1.JobMetrics{Available: true, Source: m.Source, IntervalSeconds: m.Interval.Seconds()}
	for _, r := range m.Replicas {
		rp := &trainingv1.ReplicaMetrics{Name: r.Name, Index: r.Index}
		for _, s := range r.Samples {
			rp.Samples = append(rp.Samples, &trainingv1.MetricSample{Time: ts(s.Time), CpuCores: s.CPUCores, MemoryBytes: s.MemoryBytes})
		}
		p.Replicas = append(p.Replicas, rp)
	}
	return p
}
