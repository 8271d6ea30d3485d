package kube

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/odh-training/odh-training/internal/job"
)

// Backends (Options.Backend, odh-server --backend).
const (
	// BackendAuto picks what the cluster serves: MPIJobs when the MPI
	// operator's CRD is installed, else TrainJobs. With both served, a job
	// without spec.runtime stays an MPIJob (what it was before Trainer was
	// installed); spec.runtime or --backend=trainjob choose TrainJobs.
	BackendAuto     = "auto"
	BackendMPIJob   = "mpijob"
	BackendTrainJob = "trainjob"
)

// DefaultRuntime is the ClusterTrainingRuntime jobs without spec.runtime get
// on the TrainJob backend (deploy/runtimes/odh-openmpi4.yaml).
const DefaultRuntime = "odh-openmpi4"

// resolveBackend says what a new job becomes: a TrainJob on a runtime, or
// an MPIJob (runtime ""). A runtime the cluster lacks (or one without
// mlPolicy.mpi) is an error at spec.runtime that lists those it has.
func (e *Engine) resolveBackend(j *job.MPIJob) (string, *unstructured.Unstructured, error) {
	switch {
	case j.UpstreamTrainJob != nil:
		return BackendTrainJob, nil, nil
	case j.Upstream != nil, j.Spec.Runtime == job.RuntimeMPIJob:
		if e.trainOnly {
			return "", nil, crdMissing(nil)
		}
		return BackendMPIJob, nil, nil
	}
	name := j.Spec.Runtime
	if name == "" {
		switch e.opts.Backend {
		case BackendMPIJob:
			if e.trainOnly {
				return "", nil, crdMissing(nil)
			}
			return BackendMPIJob, nil, nil
		case BackendAuto:
			if !e.trainOnly || e.train == nil {
				return BackendMPIJob, nil, nil
			}
		}
		name = e.opts.DefaultRuntime
	}
	field := "spec.runtime"
	if j.Spec.Runtime == "" {
		field = "spec.runtime (the server's default, odh-server --default-runtime)"
	}
	if e.train == nil {
		return "", nil, job.Invalid(j.Metadata.Name, job.FieldErrors{{Field: field, Type: job.FieldNotSupported, Value: name,
			Message: fmt.Sprintf("runtime %q: this cluster does not serve Kubeflow Trainer v2 TrainJobs (trainer.kubeflow.org/v1alpha1); remove spec.runtime or set it to %q to run on the MPI operator", name, job.RuntimeMPIJob)}})
	}
	o, ok, _ := e.train.runtimes.GetIndexer().GetByKey(name)
	rt, _ := o.(*unstructured.Unstructured)
	if !ok || rt == nil || !isMPIRuntime(rt) {
		have := e.mpiRuntimeNames()
		list := "none; an administrator installs ours with: kubectl apply -f deploy/runtimes/"
		if len(have) > 0 {
			list = strings.Join(have, ", ")
		}
		why := "the cluster has no ClusterTrainingRuntime %q"
		if ok {
			why = "ClusterTrainingRuntime %q has no MPI policy (spec.mlPolicy.mpi)"
		}
		return "", nil, job.Invalid(j.Metadata.Name, job.FieldErrors{{Field: field, Type: job.FieldNotSupported, Value: name,
			Message: fmt.Sprintf(why+"; MPI runtimes it has: %s; or %q for the MPI operator", name, list, job.RuntimeMPIJob)}})
	}
	return BackendTrainJob, rt, nil
}

// mpiRuntimeNames lists the cluster's ClusterTrainingRuntimes with an MPI
// policy, sorted.
func (e *Engine) mpiRuntimeNames() []string {
	if e.train == nil {
		return nil
	}
	var out []string
	for _, o := range e.train.runtimes.GetStore().List() {
		if rt, ok := o.(*unstructured.Unstructured); ok && isMPIRuntime(rt) {
			out = append(out, rt.GetName())
		}
	}
	slices.Sort(out)
	return out
}

// trainJobFor builds the TrainJob a job becomes on runtime rt, with the
// warnings about what Trainer v2.2 cannot carry over.
func trainJobFor(j *job.MPIJob, rt *unstructured.Unstructured, opts TranslateOptions) (*unstructured.Unstructured, []string, error) {
	if j.UpstreamTrainJob != nil {
		u := &unstructured.Unstructured{Object: runtime.DeepCopyJSON(j.UpstreamTrainJob)}
		u.SetAPIVersion(job.TrainJobAPIVersion)
		u.SetKind(trainJobKind)
		m := objectMeta(j)
		u.SetLabels(m.Labels)
		ann := m.Annotations
		ann[AnnotationFormat] = string(job.FormatTrainJob)
		u.SetAnnotations(ann)
		return u, nil, nil
	}
	s := &j.Spec
	var errs job.FieldErrors
	if s.MPIImplementation != "" && s.MPIImplementation != job.OpenMPI {
		errs = append(errs, job.FieldError{Field: "spec.mpiImplementation", Type: job.FieldNotSupported, Value: string(s.MPIImplementation),
			Message: fmt.Sprintf("%s jobs cannot run as TrainJobs: Kubeflow Trainer's mlPolicy.mpi.mpiImplementation accepts only OpenMPI (its CRD enum; its MPI plugin sets up Open MPI alone); set spec.runtime to %q to run it on the MPI operator", s.MPIImplementation, job.RuntimeMPIJob)})
	}
	if len(s.Command) == 0 {
		errs = append(errs, job.FieldError{Field: "spec.command", Type: job.FieldRequired, Message: "a command is required: the program each rank runs, e.g. [\"python3\", \"train.py\"]"})
	}
	if pc := s.Scheduling.PriorityClass; pc != "" {
		errs = append(errs, job.FieldError{Field: "spec.scheduling.priorityClass", Type: job.FieldNotSupported, Value: pc,
			Message: fmt.Sprintf("priority classes are not carried into TrainJobs yet; set spec.runtime to %q to run the job with priority %q on the MPI operator, or remove the field", job.RuntimeMPIJob, pc)})
	}
	launcherRes, rerrs := resourceRequirements("spec.launcher.resources", &s.Launcher.Resources)
	errs = append(errs, rerrs...)
	if _, werrs := resourceRequirements("spec.workers.resources", &s.Workers.Resources); len(werrs) > 0 {
		errs = append(errs, werrs...)
	}
	if len(errs) > 0 {
		return nil, nil, job.Invalid(j.Metadata.Name, errs)
	}
	o := opts.withDefaults()
	o.OpenMPIVersion = 4
	if v := rt.GetAnnotations()[AnnotationOpenMPIVersion]; v == "5" {
		o.OpenMPIVersion = 5
	}
	command, env := launcherCommand(s, o, o.SSHPort, nil)
	for _, ev := range s.Env {
		env = append(env, corev1.EnvVar{Name: ev.Name, Value: ev.Value})
	}
	trainer := map[string]any{
		"command":        toAny(command),
		"numNodes":       int64(s.Replicas()),
		"numProcPerNode": int64(s.Slots()),
	}
	if s.Image != "" {
		trainer["image"] = s.Image
	}
	if len(env) > 0 {
		trainer["env"] = toAny(env)
	}
	if len(launcherRes.Requests) > 0 || len(launcherRes.Limits) > 0 {
		trainer["resourcesPerNode"] = toAny(launcherRes)
	}
	m := objectMeta(j)
	b, _ := json.Marshal(s)
	m.Annotations[AnnotationSpec] = string(b)
	m.Annotations[AnnotationFormat] = string(job.FormatHighLevel)
	spec := map[string]any{
		"runtimeRef": map[string]any{"name": rt.GetName(), "kind": job.ClusterTrainingRuntimeKind, "apiGroup": "trainer.kubeflow.org"},
		"trainer":    trainer,
	}
	if s.RunPolicy.Suspend {
		spec["suspend"] = true
	}
	if p := podPatch(s); p != nil {
		spec["runtimePatches"] = []any{map[string]any{"manager": ManagedBy, "trainingRuntimeSpec": map[string]any{"template": map[string]any{"spec": map[string]any{"replicatedJobs": p}}}}}
	}
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion(job.TrainJobAPIVersion)
	u.SetKind(trainJobKind)
	u.SetName(m.Name)
	u.SetGenerateName(m.GenerateName)
	u.SetNamespace(m.Namespace)
	u.SetLabels(m.Labels)
	u.SetAnnotations(m.Annotations)
	return u, trainJobWarnings(s, rt), nil
}

// podPatch carries node selection, tolerations, pull secrets and the
// job's environment to the launcher and the nodes (Trainer applies
// spec.trainer's image, command and resources to the launcher only).
func podPatch(s *job.Spec) []any {
	pod := map[string]any{}
	if len(s.NodeSelector) > 0 {
		pod["nodeSelector"] = toAny(s.NodeSelector)
	}
	if len(s.Tolerations) > 0 {
		var ts []corev1.Toleration
		for _, t := range s.Tolerations {
			ts = append(ts, corev1.Toleration{Key: t.Key, Operator: corev1.TolerationOperator(t.Operator), Value: t.Value, Effect: corev1.TaintEffect(t.Effect)})
		}
		pod["tolerations"] = toAny(ts)
	}
	if len(s.ImagePullSecrets) > 0 {
		var ps []corev1.LocalObjectReference
		for _, n := range s.ImagePullSecrets {
			ps = append(ps, corev1.LocalObjectReference{Name: n})
		}
		pod["imagePullSecrets"] = toAny(ps)
	}
	var env []corev1.EnvVar
	for _, ev := range s.Env {
		env = append(env, corev1.EnvVar{Name: ev.Name, Value: ev.Value})
	}
	if len(env) > 0 {
		pod["containers"] = []any{map[string]any{"name": rjNode, "env": toAny(env)}}
	}
	if len(pod) == 0 {
		return nil
	}
	var out []any
	for _, rj := range []string{rjLauncher, rjNode} {
		p := pod
		if rj == rjLauncher {
			// The launcher's env comes from spec.trainer.env.
			p = map[string]any{}
			for k, v := range pod {
				if k != "containers" {
					p[k] = v
				}
			}
		}
		out = append(out, map[string]any{"name": rj, "template": map[string]any{"spec": map[string]any{"template": map[string]any{"spec": p}}}})
	}
	return out
}

// trainJobWarnings says what a TrainJob cannot carry that an MPIJob would.
func trainJobWarnings(s *job.Spec, rt *unstructured.Unstructured) []string {
	var w []string
	if s.Image != "" {
		if img := runtimeNodeImage(rt); img != "" && img != s.Image {
			w = append(w, fmt.Sprintf("spec.image %q runs the launcher only: Kubeflow Trainer v2.2 applies spec.trainer.image to the launcher, so the workers run runtime %s's image %q; your program and its MPI must be there too", s.Image, rt.GetName(), img))
		}
	}
	if s.Workers.Resources != (job.Resources{}) {
		w = append(w, fmt.Sprintf("spec.workers.resources are not applied: Kubeflow Trainer v2.2 sizes the workers from runtime %s's template (spec.trainer.resourcesPerNode reaches the launcher only); use spec.runtime %q for per-job worker sizes", rt.GetName(), job.RuntimeMPIJob))
	}
	if len(s.Volumes) > 0 {
		w = append(w, "spec.volumes are not mounted on the TrainJob backend yet; use spec.runtime \""+job.RuntimeMPIJob+"\" for jobs with volumes")
	}
	return w
}

// runtimeNodeImage is the image of the runtime's "node" container.
func runtimeNodeImage(rt *unstructured.Unstructured) string {
	rjs, _, _ := unstructured.NestedSlice(rt.Object, "spec", "template", "spec", "replicatedJobs")
	for _, r := range rjs {
		m, _ := r.(map[string]any)
		if m["name"] != rjNode {
			continue
		}
		cs, _, _ := unstructured.NestedSlice(m, "template", "spec", "template", "spec", "containers")
		for _, c := range cs {
			cm, _ := c.(map[string]any)
			if cm["name"] == rjNode {
				img, _ := cm["image"].(string)
				return img
			}
		}
	}
	return ""
}

// toAny converts a typed value to its JSON form for unstructured objects.
func toAny(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return normalizeNumbers(out)
}

// normalizeNumbers turns float64 into int64 where integral, as
// unstructured objects expect.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
	case float64:
		if x == float64(int64(x)) {
			return int64(x)
		}
	}
	return v
}

// TrainJobManifest renders the TrainJob a job becomes on runtime rt, as
// YAML (dry runs print it).
func (e *Engine) trainJobManifest(j *job.MPIJob, rt *unstructured.Unstructured) ([]byte, error) {
	u, _, err := trainJobFor(j, rt, e.opts.Translate)
	if err != nil {
		return nil, err
	}
	return yaml.Marshal(u.Object)
}
