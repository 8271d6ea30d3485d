package kube

import (
	"encoding/json"
	"maps"
	"regexp"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/odh-training/odh-training/internal/job"
)

// The TrainJob backend: Kubeflow Trainer v2 TrainJobs
// (trainer.kubeflow.org/v1alpha1) run on JobSet. The engine reads them with
// a dynamic informer and computes the same status as for MPIJobs: a TrainJob
// and its JobSet's pods are presented to aggregate as the MPIJob the MPI
// operator would have made (mpiView), so phases, per-worker state, first
// failure, pending reasons and history mean the same on both backends.
// docs/dev/trainer.md describes the mapping.

var (
	trainJobGVR       = schema.GroupVersionResource{Group: "trainer.kubeflow.org", Version: "v1alpha1", Resource: "trainjobs"}
	clusterRuntimeGVR = schema.GroupVersionResource{Group: "trainer.kubeflow.org", Version: "v1alpha1", Resource: "clustertrainingruntimes"}
)

// Labels JobSet puts on the pods of a TrainJob (the JobSet has the
// TrainJob's name).
const (
	jobSetNameLabel       = "jobset.sigs.k8s.io/jobset-name"
	replicatedJobLabel    = "jobset.sigs.k8s.io/replicatedjob-name"
	jobCompletionIndexKey = "batch.kubernetes.io/job-completion-index"
	trainJobKind          = "TrainJob"
	// trainerManagedBy is the TrainJob's spec.managedBy when Trainer
	// itself runs it.
	trainerManagedBy = "trainer.kubeflow.org/trainjob-controller"
)

// Replicated jobs of an MPI training runtime.
const (
	rjLauncher = "launcher"
	rjNode     = "node"
)

// normalizeJobSetPod gives a JobSet pod the labels the MPI operator gives
// its pods (job name, role, replica index), so status, logs and Delete
// --wait find TrainJob pods the way they find MPIJob pods. It is the pod
// informer's transform: the labels exist only in the engine's cache.
func normalizeJobSetPod(o any) (any, error) {
	p, ok := o.(*corev1.Pod)
	if !ok {
		return o, nil
	}
	name := p.Labels[jobSetNameLabel]
	if name == "" {
		return o, nil
	}
	l := maps.Clone(p.Labels)
	l[kubeflow.JobNameLabel] = name
	idx := p.Labels[jobCompletionIndexKey]
	if idx == "" {
		idx = p.Annotations[jobCompletionIndexKey]
	}
	switch p.Labels[replicatedJobLabel] {
	case rjLauncher:
		l[kubeflow.JobRoleLabel] = "launcher"
	default:
		l[kubeflow.JobRoleLabel] = "worker"
		l[kubeflow.ReplicaIndexLabel] = idx
	}
	p.Labels = l
	return p, nil
}

// trainJobPodOwned reports whether a JobSet pod belongs to this incarnation
// of the TrainJob (the JobSet, not the TrainJob, owns its Jobs, so the
// creation time tells a pod of an older TrainJob of the same name apart).
func trainJobPodOwned(p *corev1.Pod, name string, created metav1.Time) bool {
	return p.Labels[jobSetNameLabel] == name && !p.CreationTimestamp.Before(&created)
}

var (
	// JobSet names a replicated job's Jobs "<jobset>-<rjob>-<i>" and their
	// pods "<job>-<completion index>-<5 chars>".
	jobSetJobName = regexp.MustCompile(`^(.+)-(launcher|node)-\d+$`)
	jobSetPodName = regexp.MustCompile(`^(.+)-(launcher|node)-\d+-\d+-[a-z0-9]{5}$`)
	// Kueue names a TrainJob's Workload "trainjob-<job>-<5 hex digits>".
	kueueTrainWorkloadName = regexp.MustCompile(`^trainjob-(.+)-[0-9a-f]{5}$`)
)

// trainJobEventName maps an event's object to the TrainJob it is about.
func trainJobEventName(io corev1.ObjectReference) string {
	switch io.Kind {
	case trainJobKind, "JobSet":
		return io.Name
	case "Job":
		if m := jobSetJobName.FindStringSubmatch(io.Name); m != nil {
			return m[1]
		}
	case "Pod":
		if m := jobSetPodName.FindStringSubmatch(io.Name); m != nil {
			return m[1]
		}
	case "Workload":
		if m := kueueTrainWorkloadName.FindStringSubmatch(io.Name); m != nil {
			return m[1]
		}
	}
	return ""
}

// trainStatus is the part of a TrainJob's status the engine reads.
type trainStatus struct {
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	JobsStatus []struct {
		Name      string `json:"name"`
		Ready     *int32 `json:"ready,omitempty"`
		Succeeded *int32 `json:"succeeded,omitempty"`
		Failed    *int32 `json:"failed,omitempty"`
		Active    *int32 `json:"active,omitempty"`
		Suspended *int32 `json:"suspended,omitempty"`
	} `json:"jobsStatus,omitempty"`
	TrainerStatus *struct {
		ProgressPercentage        *int32 `json:"progressPercentage,omitempty"`
		EstimatedRemainingSeconds *int32 `json:"estimatedRemainingSeconds,omitempty"`
		Metrics                   []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"metrics,omitempty"`
		LastUpdatedTime *metav1.Time `json:"lastUpdatedTime,omitempty"`
	} `json:"trainerStatus,omitempty"`
}

func trainStatusOf(t *unstructured.Unstructured) trainStatus {
	var s trainStatus
	if m, ok := t.Object["status"].(map[string]any); ok {
		_ = runtime.DefaultUnstructuredConverter.FromUnstructured(m, &s)
	}
	return s
}

// TrainJob conditions (Trainer v2.2).
const (
	trainCondComplete  = "Complete"
	trainCondFailed    = "Failed"
	trainCondSuspended = "Suspended"
)

// jobFromTrainJob builds the model's metadata and spec from a live
// TrainJob: the recorded high-level spec when the service created it,
// otherwise what the model makes of the TrainJob.
func jobFromTrainJob(t *unstructured.Unstructured) (*job.MPIJob, *job.TrainJobView) {
	v, err := job.ViewTrainJob(t.Object)
	if err != nil {
		v = &job.TrainJobView{}
	}
	j := &job.MPIJob{APIVersion: job.APIVersion, Kind: job.Kind}
	var spec *job.Spec
	if a := t.GetAnnotations()[AnnotationSpec]; a != "" {
		var s job.Spec
		if err := json.Unmarshal([]byte(a), &s); err == nil {
			spec = &s
		}
	}
	if spec == nil {
		s := job.SpecFromTrainJob(v)
		spec = &s
	}
	j.Spec = *spec
	j.Spec.RunPolicy.Suspend = v.Spec.Suspend != nil && *v.Spec.Suspend
	job.SetDefaults(j)

	labels := maps.Clone(t.GetLabels())
	delete(labels, LabelManagedBy)
	if q := labels[LabelKueueQueue]; q != "" && q == j.Spec.Scheduling.Queue && t.GetAnnotations()[AnnotationSpec] != "" {
		delete(labels, LabelKueueQueue)
	}
	annotations := maps.Clone(t.GetAnnotations())
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
		Name: t.GetName(), Namespace: t.GetNamespace(), Labels: labels, Annotations: annotations,
		UID: string(t.GetUID()), ResourceVersion: t.GetResourceVersion(),
		CreationTimestamp: t.GetCreationTimestamp().UTC(),
		Creator:           t.GetAnnotations()[AnnotationCreator],
	}
	return j, v
}

// mpiView presents a TrainJob and its pods as the MPIJob the MPI operator
// would show for the same job, for aggregate: Created once Trainer has made
// the JobSet (or any pod exists), Running while the launcher pod runs (a
// TrainJob has no Running condition), Succeeded/Failed/Suspended from
// Trainer's Complete/Failed/Suspended conditions.
func mpiView(t *unstructured.Unstructured, v *job.TrainJobView, ts trainStatus, pods []*corev1.Pod, nodes int32) *kubeflow.MPIJob {
	u := &kubeflow.MPIJob{ObjectMeta: metav1.ObjectMeta{
		Name: t.GetName(), Namespace: t.GetNamespace(), UID: t.GetUID(), ResourceVersion: t.GetResourceVersion(),
		CreationTimestamp: t.GetCreationTimestamp(), DeletionTimestamp: t.GetDeletionTimestamp(),
		Labels: t.GetLabels(), Annotations: t.GetAnnotations(),
	}}
	suspend := v.Spec.Suspend != nil && *v.Spec.Suspend
	u.Spec.RunPolicy.Suspend = &suspend
	if m := v.Spec.ManagedBy; m != nil && *m != "" && *m != trainerManagedBy {
		u.Spec.RunPolicy.ManagedBy = m
	}
	add := func(typ kubeflow.JobConditionType, reason, msg string, at metav1.Time) {
		u.Status.Conditions = append(u.Status.Conditions, kubeflow.JobCondition{Type: typ, Status: corev1.ConditionTrue, Reason: reason, Message: msg, LastTransitionTime: at, LastUpdateTime: at})
	}
	if len(ts.JobsStatus) > 0 || len(pods) > 0 {
		add(kubeflow.JobCreated, "JobSetCreated", "Kubeflow Trainer created the JobSet", t.GetCreationTimestamp())
	}
	var launcher *corev1.Pod
	var ready int32
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		switch p.Labels[replicatedJobLabel] {
		case rjLauncher:
			if launcher == nil || launcher.CreationTimestamp.Before(&p.CreationTimestamp) {
				launcher = p
			}
		case rjNode:
			if podReady(p) {
				ready++
			}
		}
	}
	terminal := false
	for _, c := range ts.Conditions {
		if c.Status != metav1.ConditionTrue {
			continue
		}
		switch c.Type {
		case trainCondComplete:
			add(kubeflow.JobSucceeded, c.Reason, c.Message, c.LastTransitionTime)
			u.Status.CompletionTime = &c.LastTransitionTime
			terminal = true
		case trainCondFailed:
			add(kubeflow.JobFailed, c.Reason, c.Message, c.LastTransitionTime)
			u.Status.CompletionTime = &c.LastTransitionTime
			terminal = true
		case trainCondSuspended:
			add(kubeflow.JobSuspended, c.Reason, c.Message, c.LastTransitionTime)
		}
	}
	// Running as the MPI operator means it: the launcher runs and every
	// worker is ready (Trainer v2.2 starts the launcher at once), or the
	// launcher has ended and Trainer has not recorded the outcome yet.
	launcherDone := launcher != nil && (launcher.Status.Phase == corev1.PodSucceeded || launcher.Status.Phase == corev1.PodFailed)
	if launcher != nil && (launcher.Status.Phase == corev1.PodRunning && ready >= nodes || launcherDone) && !terminal && !suspend {
		at := launcher.CreationTimestamp
		if launcher.Status.StartTime != nil {
			at = *launcher.Status.StartTime
		}
		add(kubeflow.JobRunning, "LauncherRunning", "the launcher pod is running", at)
		u.Status.StartTime = &at
	}
	if launcher != nil && launcher.Status.StartTime != nil && u.Status.StartTime == nil {
		u.Status.StartTime = launcher.Status.StartTime
	}
	return u
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// trainerProgress turns Trainer's progress report (status.trainerStatus,
// alpha behind Trainer's TrainJobStatus feature gate) into the job's
// progress: percent, time left, and the metrics (step, total_steps, epoch
// and total_epochs fill the fields of those names; job.ProgressFromTrainerStatus).
func trainerProgress(st *job.Status, ts trainStatus) {
	p := ts.TrainerStatus
	if p == nil {
		return
	}
	tr := &job.TrainerStatus{ProgressPercentage: p.ProgressPercentage, EstimatedRemainingSeconds: p.EstimatedRemainingSeconds}
	if p.LastUpdatedTime != nil {
		tr.LastUpdatedTime = p.LastUpdatedTime.UTC()
	}
	for _, m := range p.Metrics {
		tr.Metrics = append(tr.Metrics, job.TrainerMetric{Name: m.Name, Value: m.Value})
	}
	st.Progress = job.ProgressFromTrainerStatus(tr)
}

// isMPIRuntime reports whether a ClusterTrainingRuntime runs MPI
// (spec.mlPolicy.mpi is set).
func isMPIRuntime(rt *unstructured.Unstructured) bool {
	_, found, _ := unstructured.NestedMap(rt.Object, "spec", "mlPolicy", "mpi")
	return found
}
