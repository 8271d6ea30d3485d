package job

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	"github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/validation"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"
)

// GPUResource is the extended resource name GPUs are requested with.
const GPUResource corev1.ResourceName = "nvidia.com/gpu"

const (
	launcherPath = "spec.mpiReplicaSpecs[Launcher]"
	workerPath   = "spec.mpiReplicaSpecs[Worker]"
)

func parseUpstream(data []byte, obj map[string]any, name string) (*MPIJob, error) {
	// Resource quantities are decoded by resource.Quantity, which aborts the
	// whole decode on the first bad one. Check them all first so every bad
	// quantity is reported, then neutralize them for the decode.
	errs := checkQuantities(obj, "")
	if len(errs) > 0 {
		var err error
		if data, err = json.Marshal(obj); err != nil {
			return nil, Invalid(name, FieldErrors{{Type: FieldInvalid, Message: err.Error()}})
		}
	}
	var u kubeflow.MPIJob
	strict, err := sigsjson.UnmarshalStrict(data, &u)
	for _, e := range strict {
		errs = append(errs, strictError(e))
	}
	if err != nil {
		fe := FieldError{Type: FieldInvalid, Message: err.Error()}
		if pe, ok := err.(sigsjson.FieldError); ok {
			fe.Field = upstreamReplicaPath(pe.FieldPath())
			fe.Message = strings.TrimPrefix(err.Error(), "json: ")
		}
		errs = append(errs, fe)
	}
	if err != nil {
		return nil, Invalid(name, sortErrors(dedupe(errs)))
	}
	j, convErrs := FromUpstream(&u)
	errs = append(errs, convErrs...)
	if len(errs) > 0 {
		// Report the semantic problems too, so one round trip shows them all.
		SetDefaults(j)
		errs = append(errs, upstreamPaths(Validate(j))...)
		errs = append(errs, validateUpstream(&u)...)
		return nil, Invalid(name, sortErrors(dedupe(errs)))
	}
	return j, nil
}

// upstreamReplicaPath rewrites the decoder's "mpiReplicaSpecs.Worker" into the
// "mpiReplicaSpecs[Worker]" form the operator's validation uses.
func upstreamReplicaPath(p string) string {
	for _, r := range []string{"Launcher", "Worker"} {
		p = strings.Replace(p, "mpiReplicaSpecs."+r, "mpiReplicaSpecs["+r+"]", 1)
	}
	return p
}

var resourceListKeys = map[string]bool{"requests": true, "limits": true}

// checkQuantities finds resources.requests/limits values that are not valid
// quantities, removes them from obj and reports them.
func checkQuantities(v any, path string) FieldErrors {
	var errs FieldErrors
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := join(path, k)
			if resourceListKeys[k] && strings.HasSuffix(path, "resources") {
				if list, ok := x[k].(map[string]any); ok {
					for _, rn := range sortedAnyKeys(list) {
						rp := p + "." + rn
						var q resource.Quantity
						raw, _ := json.Marshal(list[rn])
						if err := json.Unmarshal(raw, &q); err != nil {
							errs = append(errs, FieldError{Field: upstreamReplicaPath(rp), Type: FieldInvalid, Value: render(list[rn]), Message: fmt.Sprintf("invalid quantity %s: must be a quantity such as \"500m\", \"2\", \"512Mi\" or \"16Gi\"", raw)})
							delete(list, rn)
						}
					}
					continue
				}
			}
			errs = append(errs, checkQuantities(x[k], p)...)
		}
	case []any:
		for i, e := range x {
			errs = append(errs, checkQuantities(e, fmt.Sprintf("%s[%d]", path, i))...)
		}
	}
	return errs
}

func sortedAnyKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func strictError(e error) FieldError {
	msg := e.Error()
	fe := FieldError{Type: FieldInvalid, Message: msg}
	if p, ok := e.(sigsjson.FieldError); ok {
		fe.Field = p.FieldPath()
	} else if _, rest, ok := strings.Cut(msg, "\""); ok {
		fe.Field, _, _ = strings.Cut(rest, "\"")
	}
	fe.Field = upstreamReplicaPath(fe.Field)
	leaf := fe.Field
	if i := strings.LastIndex(leaf, "."); i >= 0 {
		leaf = leaf[i+1:]
	}
	switch {
	case strings.HasPrefix(msg, "unknown field"):
		fe.Type, fe.Value = FieldUnknown, leaf
		fe.Message = fmt.Sprintf("unknown field %q: the upstream kubeflow.org/v2beta1 MPIJob has no such field here (check spelling and indentation)", leaf)
	case strings.HasPrefix(msg, "duplicate field"):
		fe.Type, fe.Value = FieldDuplicate, leaf
		fe.Message = fmt.Sprintf("field %q is given more than once", leaf)
	}
	return fe
}

// FromUpstream converts an upstream MPIJob into the model. The upstream object
// is kept on the result so the kubernetes engine can submit it unchanged.
func FromUpstream(u *kubeflow.MPIJob) (*MPIJob, FieldErrors) {
	var errs FieldErrors
	j := &MPIJob{
		APIVersion: APIVersion,
		Kind:       Kind,
		Metadata: ObjectMeta{
			Name:         u.Name,
			GenerateName: u.GenerateName,
			Namespace:    u.Namespace,
			Labels:       u.Labels,
			Annotations:  u.Annotations,
		},
		Upstream: u.DeepCopy(),
	}
	s := &j.Spec
	s.Workers.SlotsPerWorker = u.Spec.SlotsPerWorker
	s.MPIImplementation = MPIImplementation(u.Spec.MPIImplementation)
	rp := u.Spec.RunPolicy
	if rp.CleanPodPolicy != nil {
		s.RunPolicy.CleanPodPolicy = CleanPodPolicy(*rp.CleanPodPolicy)
	} else {
		s.RunPolicy.CleanPodPolicy = CleanPodPolicyNone
	}
	s.RunPolicy.TTLSecondsAfterFinished = rp.TTLSecondsAfterFinished
	if d := rp.ActiveDeadlineSeconds; d != nil {
		if *d > math.MaxInt32 {
			errs = append(errs, FieldError{Field: "spec.runPolicy.activeDeadlineSeconds", Type: FieldInvalid, Value: fmt.Sprint(*d), Message: fmt.Sprintf("must be at most %d, got %d", math.MaxInt32, *d)})
		} else {
			s.RunPolicy.ActiveDeadlineSeconds = Ptr(int32(*d))
		}
	}
	s.RunPolicy.BackoffLimit = rp.BackoffLimit
	s.RunPolicy.Suspend = rp.Suspend != nil && *rp.Suspend
	if sp := rp.SchedulingPolicy; sp != nil {
		s.Scheduling.Queue = sp.Queue
		s.Scheduling.PriorityClass = sp.PriorityClass
	}
	if q := u.Labels["kueue.x-k8s.io/queue-name"]; q != "" && s.Scheduling.Queue == "" {
		s.Scheduling.Queue = q
	}

	launcher := u.Spec.MPIReplicaSpecs[kubeflow.MPIReplicaTypeLauncher]
	worker := u.Spec.MPIReplicaSpecs[kubeflow.MPIReplicaTypeWorker]
	if launcher == nil {
		errs = append(errs, FieldError{Field: launcherPath, Type: FieldRequired, Message: "an MPIJob needs a Launcher replica spec with the mpirun command"})
	} else if c := firstContainer(launcher); c == nil {
		errs = append(errs, FieldError{Field: launcherPath + ".template.spec.containers", Type: FieldRequired, Message: "the launcher needs at least one container"})
	} else {
		s.Image = c.Image
		s.ImagePullPolicy = string(c.ImagePullPolicy)
		s.Command = append(append([]string{}, c.Command...), c.Args...)
		s.WorkingDir = c.WorkingDir
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				s.Env = append(s.Env, EnvVar{Name: e.Name, Value: e.Value})
			}
		}
		s.Launcher.Resources = resourcesOf(c.Resources)
		for _, v := range c.VolumeMounts {
			if vol := volumeNamed(launcher, v.Name); vol != nil {
				s.Volumes = append(s.Volumes, volumeOf(*vol, v))
			}
		}
		ps := launcher.Template.Spec
		s.NodeSelector = ps.NodeSelector
		for _, t := range ps.Tolerations {
			s.Tolerations = append(s.Tolerations, Toleration{Key: t.Key, Operator: string(t.Operator), Value: t.Value, Effect: string(t.Effect)})
		}
		for _, ref := range ps.ImagePullSecrets {
			s.ImagePullSecrets = append(s.ImagePullSecrets, ref.Name)
		}
	}
	if worker == nil {
		errs = append(errs, FieldError{Field: workerPath, Type: FieldRequired, Message: "an MPIJob needs a Worker replica spec with at least 1 replica"})
	} else {
		s.Workers.Replicas = worker.Replicas
		if s.Workers.Replicas == nil {
			s.Workers.Replicas = Ptr(int32(1))
		}
		if c := firstContainer(worker); c != nil {
			s.Workers.Resources = resourcesOf(c.Resources)
			if s.Image == "" {
				s.Image = c.Image
			}
		}
	}
	return j, errs
}

func firstContainer(r *kubeflow.ReplicaSpec) *corev1.Container {
	if len(r.Template.Spec.Containers) == 0 {
		return nil
	}
	return &r.Template.Spec.Containers[0]
}

func volumeNamed(r *kubeflow.ReplicaSpec, name string) *corev1.Volume {
	for i := range r.Template.Spec.Volumes {
		if r.Template.Spec.Volumes[i].Name == name {
			return &r.Template.Spec.Volumes[i]
		}
	}
	return nil
}

func volumeOf(v corev1.Volume, m corev1.VolumeMount) Volume {
	out := Volume{Name: v.Name, MountPath: m.MountPath, ReadOnly: m.ReadOnly}
	switch {
	case v.PersistentVolumeClaim != nil:
		out.PersistentVolumeClaim = v.PersistentVolumeClaim.ClaimName
	case v.ConfigMap != nil:
		out.ConfigMap = v.ConfigMap.Name
	case v.Secret != nil:
		out.Secret = v.Secret.SecretName
	case v.EmptyDir != nil:
		out.EmptyDir = true
	case v.HostPath != nil:
		out.HostPath = v.HostPath.Path
	default:
		// Other sources (CSI, projected, ...) pass through in the upstream
		// object; the model records the mount as an emptyDir placeholder.
		out.EmptyDir = true
	}
	return out
}

func resourcesOf(r corev1.ResourceRequirements) Resources {
	pick := func(name corev1.ResourceName) (req, lim Quantity) {
		if q, ok := r.Requests[name]; ok {
			req = Quantity(q.String())
		}
		if q, ok := r.Limits[name]; ok {
			lim = Quantity(q.String())
		}
		if req == "" {
			req = lim // Kubernetes defaults requests to limits
		}
		return req, lim
	}
	var out Resources
	out.CPU, out.CPULimit = pick(corev1.ResourceCPU)
	out.Memory, out.MemoryLimit = pick(corev1.ResourceMemory)
	if out.CPULimit == out.CPU {
		out.CPULimit = ""
	}
	if out.MemoryLimit == out.Memory {
		out.MemoryLimit = ""
	}
	gpu, gpuLim := pick(GPUResource)
	if gpu == "" {
		gpu = gpuLim
	}
	if gpu != "" {
		q := resource.MustParse(string(gpu))
		out.GPUs = int32(q.Value())
	}
	return out
}

// validateUpstream runs the MPI operator's own validation on a defaulted copy,
// so a manifest we accept is one the operator accepts.
func validateUpstream(u *kubeflow.MPIJob) FieldErrors {
	c := u.DeepCopy()
	kubeflow.SetDefaults_MPIJob(c)
	var out FieldErrors
	for _, e := range validation.ValidateMPIJob(c) {
		out = append(out, fromFieldError(e))
	}
	return out
}

func fromFieldError(e *field.Error) FieldError {
	typ := FieldInvalid
	switch e.Type {
	case field.ErrorTypeRequired:
		typ = FieldRequired
	case field.ErrorTypeNotSupported:
		typ = FieldNotSupported
	case field.ErrorTypeDuplicate:
		typ = FieldDuplicate
	case field.ErrorTypeForbidden:
		typ = FieldForbidden
	}
	val := ""
	if e.BadValue != nil && e.Type != field.ErrorTypeRequired {
		val = fmt.Sprint(e.BadValue)
	}
	return FieldError{Field: e.Field, Type: typ, Value: val, Message: e.ErrorBody()}
}

// upstreamPathFor maps a high-level field path to where the value lives in an
// upstream manifest, so errors point at what the user wrote.
var upstreamPathFor = []struct{ from, to string }{
	{"spec.command", launcherPath + ".template.spec.containers[0].command"},
	{"spec.env", launcherPath + ".template.spec.containers[0].env"},
	{"spec.image", launcherPath + ".template.spec.containers[0].image"},
	{"spec.imagePullPolicy", launcherPath + ".template.spec.containers[0].imagePullPolicy"},
	{"spec.workingDir", launcherPath + ".template.spec.containers[0].workingDir"},
	{"spec.workers.replicas", workerPath + ".replicas"},
	{"spec.workers.slotsPerWorker", "spec.slotsPerWorker"},
	{"spec.workers.resources.gpus", workerPath + ".template.spec.containers[0].resources.limits[nvidia.com/gpu]"},
	{"spec.workers.resources.cpuLimit", workerPath + ".template.spec.containers[0].resources.limits.cpu"},
	{"spec.workers.resources.memoryLimit", workerPath + ".template.spec.containers[0].resources.limits.memory"},
	{"spec.workers.resources", workerPath + ".template.spec.containers[0].resources.requests"},
	{"spec.launcher.resources.gpus", launcherPath + ".template.spec.containers[0].resources.limits[nvidia.com/gpu]"},
	{"spec.launcher.resources.cpuLimit", launcherPath + ".template.spec.containers[0].resources.limits.cpu"},
	{"spec.launcher.resources.memoryLimit", launcherPath + ".template.spec.containers[0].resources.limits.memory"},
	{"spec.launcher.resources", launcherPath + ".template.spec.containers[0].resources.requests"},
	{"spec.scheduling", "spec.runPolicy.schedulingPolicy"},
	{"spec.volumes", launcherPath + ".template.spec.volumes"},
	{"spec.nodeSelector", launcherPath + ".template.spec.nodeSelector"},
	{"spec.tolerations", launcherPath + ".template.spec.tolerations"},
	{"spec.imagePullSecrets", launcherPath + ".template.spec.imagePullSecrets"},
}

func upstreamPaths(errs FieldErrors) FieldErrors {
	out := make(FieldErrors, len(errs))
	for i, e := range errs {
		for _, m := range upstreamPathFor {
			if e.Field == m.from || strings.HasPrefix(e.Field, m.from+".") || strings.HasPrefix(e.Field, m.from+"[") {
				e.Field = m.to + strings.TrimPrefix(e.Field, m.from)
				break
			}
		}
		out[i] = e
	}
	return out
}
