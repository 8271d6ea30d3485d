package job

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// TrainJobAPIVersion is the API version of Kubeflow Trainer v2's TrainJob.
const TrainJobAPIVersion = "trainer.kubeflow.org/v1alpha1"

// Kinds a TrainJob's spec.runtimeRef may name.
const (
	ClusterTrainingRuntimeKind = "ClusterTrainingRuntime"
	TrainingRuntimeKind        = "TrainingRuntime"
)

// LabelKueueQueue is the label Kueue reads a job's LocalQueue from.
const LabelKueueQueue = "kueue.x-k8s.io/queue-name"

// TrainJobView is the part of a trainer.kubeflow.org/v1alpha1 TrainJob the
// model reads: enough to show it like any other job. Fields it does not
// describe (initializer, runtimePatches, ...) stay in the raw object.
type TrainJobView struct {
	Metadata struct {
		Name         string            `json:"name,omitempty"`
		GenerateName string            `json:"generateName,omitempty"`
		Namespace    string            `json:"namespace,omitempty"`
		Labels       map[string]string `json:"labels,omitempty"`
		Annotations  map[string]string `json:"annotations,omitempty"`
	} `json:"metadata"`
	Spec struct {
		RuntimeRef struct {
			Name     string  `json:"name,omitempty"`
			APIGroup *string `json:"apiGroup,omitempty"`
			Kind     *string `json:"kind,omitempty"`
		} `json:"runtimeRef"`
		Trainer *struct {
			Image            *string                      `json:"image,omitempty"`
			Command          []string                     `json:"command,omitempty"`
			Args             []string                     `json:"args,omitempty"`
			Env              []corev1.EnvVar              `json:"env,omitempty"`
			NumNodes         *int32                       `json:"numNodes,omitempty"`
			ResourcesPerNode *corev1.ResourceRequirements `json:"resourcesPerNode,omitempty"`
			NumProcPerNode   *int32                       `json:"numProcPerNode,omitempty"`
		} `json:"trainer,omitempty"`
		Suspend   *bool   `json:"suspend,omitempty"`
		ManagedBy *string `json:"managedBy,omitempty"`
	} `json:"spec"`
}

// RuntimeKind is the kind spec.runtimeRef names (ClusterTrainingRuntime
// when unset, as Trainer defaults it).
func (v *TrainJobView) RuntimeKind() string {
	if k := v.Spec.RuntimeRef.Kind; k != nil && *k != "" {
		return *k
	}
	return ClusterTrainingRuntimeKind
}

// ViewTrainJob decodes the model's view of a TrainJob object.
func ViewTrainJob(obj map[string]any) (*TrainJobView, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var v TrainJobView
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// SpecFromTrainJob describes a TrainJob in the model's terms: the runtime,
// image, command, nodes, processes per node, per-node resources, env,
// suspension and Kueue queue.
func SpecFromTrainJob(v *TrainJobView) Spec {
	s := Spec{Runtime: v.Spec.RuntimeRef.Name, MPIImplementation: OpenMPI}
	if t := v.Spec.Trainer; t != nil {
		if t.Image != nil {
			s.Image = *t.Image
		}
		s.Command = append(append([]string(nil), t.Command...), t.Args...)
		for _, e := range t.Env {
			if e.ValueFrom == nil {
				s.Env = append(s.Env, EnvVar{Name: e.Name, Value: e.Value})
			}
		}
		s.Workers.Replicas = t.NumNodes
		s.Workers.SlotsPerWorker = t.NumProcPerNode
		if r := t.ResourcesPerNode; r != nil {
			s.Workers.Resources = resourcesFrom(r)
		}
	}
	if v.Spec.Suspend != nil {
		s.RunPolicy.Suspend = *v.Spec.Suspend
	}
	s.Scheduling.Queue = v.Metadata.Labels[LabelKueueQueue]
	return s
}

func resourcesFrom(r *corev1.ResourceRequirements) Resources {
	var out Resources
	q := func(l corev1.ResourceList, n corev1.ResourceName) Quantity {
		if v, ok := l[n]; ok {
			return Quantity(v.String())
		}
		return ""
	}
	out.CPU, out.Memory = q(r.Requests, corev1.ResourceCPU), q(r.Requests, corev1.ResourceMemory)
	out.CPULimit, out.MemoryLimit = q(r.Limits, corev1.ResourceCPU), q(r.Limits, corev1.ResourceMemory)
	for _, l := range []corev1.ResourceList{r.Limits, r.Requests} {
		if g, ok := l[GPUResource]; ok && out.GPUs == 0 {
			out.GPUs = int32(g.Value())
		}
	}
	return out
}

// parseTrainJob reads an upstream TrainJob manifest. The object is kept as
// it was written (the engine submits it unchanged); the model's view of it
// is validated with paths into the TrainJob.
func parseTrainJob(data []byte, obj map[string]any, name string) (*MPIJob, error) {
	var errs FieldErrors
	var v TrainJobView
	if err := json.Unmarshal(data, &v); err != nil {
		fe := FieldError{Type: FieldInvalid, Message: strings.TrimPrefix(err.Error(), "json: ")}
		if te, ok := err.(*json.UnmarshalTypeError); ok {
			fe.Field = te.Field
		}
		return nil, Invalid(name, FieldErrors{fe})
	}
	if v.Spec.RuntimeRef.Name == "" {
		errs = append(errs, FieldError{Field: "spec.runtimeRef.name", Type: FieldRequired, Message: "a TrainJob names its training runtime (e.g. runtimeRef: {name: odh-openmpi4}); list the cluster's with: odh training runtimes"})
	}
	if k := v.RuntimeKind(); k != ClusterTrainingRuntimeKind && k != TrainingRuntimeKind {
		errs = append(errs, FieldError{Field: "spec.runtimeRef.kind", Type: FieldNotSupported, Value: k, Message: fmt.Sprintf("unsupported value %q: supported values are %q, %q", k, ClusterTrainingRuntimeKind, TrainingRuntimeKind)})
	}
	if g := v.Spec.RuntimeRef.APIGroup; g != nil && *g != "" && *g != "trainer.kubeflow.org" {
		errs = append(errs, FieldError{Field: "spec.runtimeRef.apiGroup", Type: FieldNotSupported, Value: *g, Message: fmt.Sprintf("unsupported value %q: supported values are \"trainer.kubeflow.org\"", *g)})
	}
	if len(errs) > 0 {
		return nil, Invalid(name, errs)
	}
	j := &MPIJob{
		APIVersion: APIVersion, Kind: Kind,
		Metadata: ObjectMeta{
			Name: v.Metadata.Name, GenerateName: v.Metadata.GenerateName, Namespace: v.Metadata.Namespace,
			Labels: v.Metadata.Labels, Annotations: v.Metadata.Annotations,
		},
		Spec:             SpecFromTrainJob(&v),
		UpstreamTrainJob: obj,
	}
	return j, nil
}

// trainJobFieldFor maps the model's field paths to the TrainJob's.
var trainJobFieldFor = []struct{ from, to string }{
	{"spec.workers.replicas", "spec.trainer.numNodes"},
	{"spec.workers.slotsPerWorker", "spec.trainer.numProcPerNode"},
	{"spec.workers.resources", "spec.trainer.resourcesPerNode"},
	{"spec.image", "spec.trainer.image"},
	{"spec.command", "spec.trainer.command"},
	{"spec.env", "spec.trainer.env"},
	{"spec.runtime", "spec.runtimeRef.name"},
}

// trainJobPaths rewrites the model's validation errors for a TrainJob
// manifest into the TrainJob's field paths. A missing command is no error
// there: the runtime's template may hold it.
func trainJobPaths(errs FieldErrors) FieldErrors {
	out := make(FieldErrors, 0, len(errs))
	for _, e := range errs {
		if e.Field == "spec.command" && e.Type == FieldRequired {
			continue
		}
		for _, m := range trainJobFieldFor {
			if e.Field == m.from || strings.HasPrefix(e.Field, m.from+".") || strings.HasPrefix(e.Field, m.from+"[") {
				e.Field = m.to + strings.TrimPrefix(e.Field, m.from)
				break
			}
		}
		out = append(out, e)
	}
	return out
}

// SyncUpstreamMeta keeps a raw manifest's name and namespace in step with
// the job's (the server fills in namespaces and generated names).
func (j *MPIJob) SyncUpstreamMeta() {
	if j.Upstream != nil {
		j.Upstream.Namespace, j.Upstream.Name = j.Metadata.Namespace, j.Metadata.Name
	}
	if j.UpstreamTrainJob != nil {
		meta, _ := j.UpstreamTrainJob["metadata"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
			j.UpstreamTrainJob["metadata"] = meta
		}
		if j.Metadata.Namespace != "" {
			meta["namespace"] = j.Metadata.Namespace
		}
		if j.Metadata.Name != "" {
			meta["name"] = j.Metadata.Name
		}
	}
}
