// Package job is the domain model of odh-training: the high-level MPIJob
// spec users write, its defaulting and validation (every error at once, with
// field paths), parsing of our own format and of upstream kubeflow.org/v2beta1
// MPIJob manifests, resource totals and the normalized status. It does no I/O.
package job

import (
	"time"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
)

// APIVersion and Kind of our high-level job document.
const (
	APIVersion = "training.opendatahub.io/v1alpha1"
	Kind       = "MPIJob"
)

// MPIImplementation names the MPI flavour a job is built for.
type MPIImplementation string

// The supported MPI implementations; the values match kubeflow.org/v2beta1.
const (
	OpenMPI MPIImplementation = "OpenMPI"
	Intel   MPIImplementation = "Intel"
	MPICH   MPIImplementation = "MPICH"
)

// MPIImplementations lists the accepted values in display order.
var MPIImplementations = []MPIImplementation{OpenMPI, Intel, MPICH}

// CleanPodPolicy says which pods are deleted when a job finishes.
type CleanPodPolicy string

// Clean-pod policies, as in kubeflow.org/v2beta1.
const (
	CleanPodPolicyNone    CleanPodPolicy = "None"
	CleanPodPolicyRunning CleanPodPolicy = "Running"
	CleanPodPolicyAll     CleanPodPolicy = "All"
)

// CleanPodPolicies lists the accepted values.
var CleanPodPolicies = []CleanPodPolicy{CleanPodPolicyNone, CleanPodPolicyRunning, CleanPodPolicyAll}

// MPIJob is one job: metadata, what was asked for and what is happening.
// The JSON form is the high-level job file format and matches the API's
// protojson encoding field for field.
type MPIJob struct {
	APIVersion string     `json:"apiVersion,omitempty"`
	Kind       string     `json:"kind,omitempty"`
	Metadata   ObjectMeta `json:"metadata"`
	Spec       Spec       `json:"spec"`
	Status     Status     `json:"status,omitzero"`

	// Upstream is set when the job came from a raw kubeflow.org/v2beta1
	// manifest: the kubernetes engine submits it unchanged.
	Upstream *kubeflow.MPIJob `json:"-"`
	// UpstreamTrainJob is set when the job came from a raw
	// trainer.kubeflow.org/v1alpha1 TrainJob manifest: the kubernetes
	// engine submits it unchanged (every field, including ones the model
	// does not describe).
	UpstreamTrainJob map[string]any `json:"-"`
}

// ObjectMeta identifies a job.
type ObjectMeta struct {
	Name              string            `json:"name,omitempty"`
	GenerateName      string            `json:"generateName,omitempty"`
	Namespace         string            `json:"namespace,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
	UID               string            `json:"uid,omitempty"`
	ResourceVersion   string            `json:"resourceVersion,omitempty"`
	CreationTimestamp time.Time         `json:"creationTimestamp,omitzero"`
	Creator           string            `json:"creator,omitempty"`
}

// Spec is the high-level description of an MPI job.
type Spec struct {
	Image             string            `json:"image,omitempty"`
	ImagePullPolicy   string            `json:"imagePullPolicy,omitempty"`
	Command           []string          `json:"command,omitempty"`
	Env               []EnvVar          `json:"env,omitempty"`
	WorkingDir        string            `json:"workingDir,omitempty"`
	Workers           WorkerSpec        `json:"workers,omitzero"`
	Launcher          LauncherSpec      `json:"launcher,omitzero"`
	MPIImplementation MPIImplementation `json:"mpiImplementation,omitempty"`
	RunPolicy         RunPolicy         `json:"runPolicy,omitzero"`
	Scheduling        Scheduling        `json:"scheduling,omitzero"`
	Volumes           []Volume          `json:"volumes,omitempty"`
	NodeSelector      map[string]string `json:"nodeSelector,omitempty"`
	Tolerations       []Toleration      `json:"tolerations,omitempty"`
	ImagePullSecrets  []string          `json:"imagePullSecrets,omitempty"`
	// Runtime picks the kubernetes engine's backend: a Kubeflow Trainer v2
	// ClusterTrainingRuntime with an MPI policy (a TrainJob), RuntimeMPIJob
	// (a kubeflow.org/v2beta1 MPIJob), or "" for the server's default.
	Runtime string `json:"runtime,omitempty"`
}

// RuntimeMPIJob is the Spec.Runtime value that asks for a kubeflow.org/v2beta1
// MPIJob on the MPI operator instead of a Trainer v2 TrainJob.
const RuntimeMPIJob = "mpijob"

// EnvVar is one environment variable for the launcher and every worker.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

// WorkerSpec sizes the worker replicas.
type WorkerSpec struct {
	Replicas       *int32    `json:"replicas,omitempty"`
	SlotsPerWorker *int32    `json:"slotsPerWorker,omitempty"`
	Resources      Resources `json:"resources,omitzero"`
}

// LauncherSpec sizes the launcher.
type LauncherSpec struct {
	Resources Resources `json:"resources,omitzero"`
}

// Resources are per replica. CPU and memory are Kubernetes quantities.
type Resources struct {
	CPU         Quantity `json:"cpu,omitempty"`
	Memory      Quantity `json:"memory,omitempty"`
	GPUs        int32    `json:"gpus,omitempty"`
	CPULimit    Quantity `json:"cpuLimit,omitempty"`
	MemoryLimit Quantity `json:"memoryLimit,omitempty"`
}

// RunPolicy controls deadlines, retries, cleanup and suspension.
type RunPolicy struct {
	ActiveDeadlineSeconds   *int32         `json:"activeDeadlineSeconds,omitempty"`
	BackoffLimit            *int32         `json:"backoffLimit,omitempty"`
	TTLSecondsAfterFinished *int32         `json:"ttlSecondsAfterFinished,omitempty"`
	CleanPodPolicy          CleanPodPolicy `json:"cleanPodPolicy,omitempty"`
	Suspend                 bool           `json:"suspend,omitempty"`
}

// Scheduling selects a queue and a priority.
type Scheduling struct {
	Queue         string `json:"queue,omitempty"`
	PriorityClass string `json:"priorityClass,omitempty"`
}

// Volume is mounted into the launcher and every worker; exactly one source
// is set.
type Volume struct {
	Name                  string `json:"name"`
	MountPath             string `json:"mountPath"`
	ReadOnly              bool   `json:"readOnly,omitempty"`
	PersistentVolumeClaim string `json:"persistentVolumeClaim,omitempty"`
	ConfigMap             string `json:"configMap,omitempty"`
	Secret                string `json:"secret,omitempty"`
	EmptyDir              bool   `json:"emptyDir,omitempty"`
	HostPath              string `json:"hostPath,omitempty"`
}

// Toleration mirrors a Kubernetes pod toleration.
type Toleration struct {
	Key      string `json:"key,omitempty"`
	Operator string `json:"operator,omitempty"`
	Value    string `json:"value,omitempty"`
	Effect   string `json:"effect,omitempty"`
}

// Replicas returns the worker count (after defaulting it is never nil).
func (s *Spec) Replicas() int32 { return deref(s.Workers.Replicas, 1) }

// Slots returns the MPI ranks per worker.
func (s *Spec) Slots() int32 { return deref(s.Workers.SlotsPerWorker, 1) }

// Ranks returns the total number of MPI ranks: workers × slots per worker.
func (s *Spec) Ranks() int32 { return s.Replicas() * s.Slots() }

// BackoffLimit returns how many times a failed job is retried.
func (s *Spec) BackoffLimit() int32 { return deref(s.RunPolicy.BackoffLimit, 0) }

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// Ptr returns a pointer to v; handy for optional fields.
func Ptr[T any](v T) *T { return &v }
