package job

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Limits that keep specs sane. They are part of the API contract: the Python
// SDK validates with the same numbers and messages.
const (
	MaxNameLength        = 63
	MaxReplicas          = 10000
	MaxSlotsPerWorker    = 1024
	MaxGPUsPerReplica    = 64
	MaxBackoffLimit      = 100
	generatedSuffixChars = 5
)

var (
	dns1035Label   = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)
	dns1123Label   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dns1123Sub     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	generatePrefix = regexp.MustCompile(`^[a-z]([-a-z0-9]*)?$`)
	envName        = regexp.MustCompile(`^[-._a-zA-Z][-._a-zA-Z0-9]*$`)
	labelName      = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	labelValue     = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)
)

// Messages shared by several rules.
const (
	msgDNS1035 = "must be a lowercase DNS-1035 label: start with a letter, use only lowercase letters, digits and '-', and end with a letter or digit (e.g. \"mnist-train\")"
	msgDNS1123 = "must be a lowercase DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. \"team-a\")"
	// labelKueuePriorityClass is Kueue's priority label, which the
	// engine derives from spec.scheduling.priorityClass.
	labelKueuePriorityClass = "kueue.x-k8s.io/priority-class"
	msgDNS1123Sub           = "must be a lowercase DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (e.g. \"high-priority\")"
	msgCPUQuantity          = "must be a CPU quantity such as \"500m\", \"2\" or \"1.5\""
	msgMemQuantity          = "must be a memory quantity such as \"512Mi\", \"16Gi\" or \"1G\""
	msgLabelKey             = "must be a label key: an optional DNS subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
	msgLabelValue           = "must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
	msgVolumeSource         = "exactly one of persistentVolumeClaim, configMap, secret, emptyDir or hostPath must be set"
)

// Validate checks a defaulted job and returns every problem at once, each with
// its field path. A nil result means the job is valid.
func Validate(j *MPIJob) FieldErrors {
	var v validator
	v.meta(&j.Metadata, j.Spec.Replicas())
	v.spec(&j.Spec)
	if pc, ok := j.Metadata.Labels[labelKueuePriorityClass]; ok && j.Upstream == nil && j.UpstreamTrainJob == nil {
		// A high-level job's priority is spec.scheduling.priorityClass;
		// an upstream manifest may set Kueue's label itself (the pod
		// policy checks it either way).
		v.invalid("metadata.labels["+strconv.Quote(labelKueuePriorityClass)+"]", pc, fmt.Sprintf("label %q is set from spec.scheduling.priorityClass: remove the label and set spec.scheduling.priorityClass (--priority-class) instead", labelKueuePriorityClass))
	}
	return v.errs
}

type validator struct{ errs FieldErrors }

func (v *validator) add(field, typ, value, msg string) {
	v.errs = append(v.errs, FieldError{Field: field, Type: typ, Value: value, Message: msg})
}

func (v *validator) required(field, msg string) { v.add(field, FieldRequired, "", msg) }

func (v *validator) invalid(field, value, msg string) { v.add(field, FieldInvalid, value, msg) }

func (v *validator) notSupported(field, value string, supported []string) {
	q := make([]string, len(supported))
	for i, s := range supported {
		q[i] = strconv.Quote(s)
	}
	v.add(field, FieldNotSupported, value, fmt.Sprintf("unsupported value %q: supported values are %s", value, strings.Join(q, ", ")))
}

// longestChildName is the longest object name the MPI operator derives from
// a job name: "<name>-worker-<replicas-1>" or "<name>-launcher".
func longestChildName(name string, replicas int32) string {
	if replicas < 1 {
		replicas = 1
	}
	w := name + "-worker-" + strconv.Itoa(int(replicas-1))
	if l := name + "-launcher"; len(l) > len(w) {
		return l
	}
	return w
}

// MaxNameLengthFor returns the longest job name usable with this many workers.
func MaxNameLengthFor(replicas int32) int {
	return MaxNameLength - (len(longestChildName("", replicas)))
}

func (v *validator) meta(m *ObjectMeta, replicas int32) {
	switch {
	case m.Name == "" && m.GenerateName == "":
		v.required("metadata.name", "a job name is required (or metadata.generateName for a generated one)")
	case m.Name != "":
		if !dns1035Label.MatchString(m.Name) {
			v.invalid("metadata.name", m.Name, fmt.Sprintf("invalid name %q: %s", m.Name, msgDNS1035))
		} else if child := longestChildName(m.Name, replicas); len(child) > MaxNameLength {
			v.invalid("metadata.name", m.Name, fmt.Sprintf("name %q is too long: the pod name %q would exceed %d characters; with %d workers use at most %d characters", m.Name, child, MaxNameLength, replicas, MaxNameLengthFor(replicas)))
		}
	default:
		if !generatePrefix.MatchString(m.GenerateName) {
			v.invalid("metadata.generateName", m.GenerateName, fmt.Sprintf("invalid generateName %q: must start with a lowercase letter and use only lowercase letters, digits and '-'", m.GenerateName))
		} else if max := MaxNameLengthFor(replicas) - generatedSuffixChars; len(m.GenerateName) > max {
			v.invalid("metadata.generateName", m.GenerateName, fmt.Sprintf("generateName %q is too long: with %d workers use at most %d characters", m.GenerateName, replicas, max))
		}
	}
	if m.Namespace != "" && (!dns1123Label.MatchString(m.Namespace) || len(m.Namespace) > MaxNameLength) {
		v.invalid("metadata.namespace", m.Namespace, fmt.Sprintf("invalid namespace %q: %s", m.Namespace, msgDNS1123))
	}
	for _, k := range sortedKeys(m.Labels) {
		p := "metadata.labels[" + strconv.Quote(k) + "]"
		if !validLabelKey(k) {
			v.invalid(p, k, fmt.Sprintf("invalid label key %q: %s", k, msgLabelKey))
		}
		if val := m.Labels[k]; len(val) > 63 || !labelValue.MatchString(val) {
			v.invalid(p, val, fmt.Sprintf("invalid label value %q: %s", val, msgLabelValue))
		}
	}
}

func validLabelKey(k string) bool {
	name := k
	if i := strings.LastIndex(k, "/"); i >= 0 {
		prefix := k[:i]
		name = k[i+1:]
		if prefix == "" || len(prefix) > 253 || !dns1123Sub.MatchString(prefix) {
			return false
		}
	}
	return len(name) <= 63 && labelName.MatchString(name)
}

func (v *validator) spec(s *Spec) {
	if r := s.Runtime; r != "" && (len(r) > 253 || !dns1123Sub.MatchString(r)) {
		v.invalid("spec.runtime", r, fmt.Sprintf("invalid runtime %q: the name of a ClusterTrainingRuntime (list them with: odh training runtimes) or %q; it %s", r, RuntimeMPIJob, msgDNS1123Sub))
	}
	if len(s.Command) == 0 {
		v.required("spec.command", "a command is required: the program each rank runs, e.g. [\"python3\", \"train.py\"]")
	}
	for i, c := range s.Command {
		if strings.TrimSpace(c) == "" {
			v.invalid(fmt.Sprintf("spec.command[%d]", i), c, "command arguments must not be empty")
		}
	}
	if strings.ContainsAny(s.Image, " \t\n") {
		v.invalid("spec.image", s.Image, fmt.Sprintf("invalid image %q: an image reference has no whitespace", s.Image))
	}
	if p := s.ImagePullPolicy; p != "" && !slices.Contains([]string{"Always", "IfNotPresent", "Never"}, p) {
		v.notSupported("spec.imagePullPolicy", p, []string{"Always", "IfNotPresent", "Never"})
	}
	seenEnv := map[string]bool{}
	for i, e := range s.Env {
		p := fmt.Sprintf("spec.env[%d].name", i)
		switch {
		case e.Name == "":
			v.required(p, "an environment variable needs a name")
		case !envName.MatchString(e.Name):
			v.invalid(p, e.Name, fmt.Sprintf("invalid environment variable name %q: use letters, digits, '_', '-' or '.', not starting with a digit", e.Name))
		case seenEnv[e.Name]:
			v.add(p, FieldDuplicate, e.Name, fmt.Sprintf("environment variable %q is set more than once", e.Name))
		}
		seenEnv[e.Name] = true
	}
	if s.WorkingDir != "" && !path.IsAbs(s.WorkingDir) {
		v.invalid("spec.workingDir", s.WorkingDir, fmt.Sprintf("workingDir %q must be an absolute path", s.WorkingDir))
	}
	v.intRange("spec.workers.replicas", s.Workers.Replicas, 1, MaxReplicas)
	v.intRange("spec.workers.slotsPerWorker", s.Workers.SlotsPerWorker, 1, MaxSlotsPerWorker)
	v.resources("spec.workers.resources", &s.Workers.Resources)
	v.resources("spec.launcher.resources", &s.Launcher.Resources)
	if impl := string(s.MPIImplementation); !slices.Contains(MPIImplementations, s.MPIImplementation) {
		v.notSupported("spec.mpiImplementation", impl, stringsOf(MPIImplementations))
	}
	v.runPolicy(&s.RunPolicy)
	if q := s.Scheduling.Queue; q != "" && (!dns1123Sub.MatchString(q) || len(q) > 253) {
		v.invalid("spec.scheduling.queue", q, fmt.Sprintf("invalid queue %q: %s", q, msgDNS1123Sub))
	}
	if pc := s.Scheduling.PriorityClass; pc != "" && (!dns1123Sub.MatchString(pc) || len(pc) > 253) {
		v.invalid("spec.scheduling.priorityClass", pc, fmt.Sprintf("invalid priority class %q: %s", pc, msgDNS1123Sub))
	}
	v.volumes(s.Volumes)
	for i, t := range s.Tolerations {
		p := fmt.Sprintf("spec.tolerations[%d]", i)
		if t.Operator != "" && t.Operator != "Exists" && t.Operator != "Equal" {
			v.notSupported(p+".operator", t.Operator, []string{"Exists", "Equal"})
		}
		if t.Effect != "" && !slices.Contains([]string{"NoSchedule", "PreferNoSchedule", "NoExecute"}, t.Effect) {
			v.notSupported(p+".effect", t.Effect, []string{"NoSchedule", "PreferNoSchedule", "NoExecute"})
		}
	}
	for i, name := range s.ImagePullSecrets {
		if !dns1123Sub.MatchString(name) {
			v.invalid(fmt.Sprintf("spec.imagePullSecrets[%d]", i), name, fmt.Sprintf("invalid secret name %q: %s", name, msgDNS1123Sub))
		}
	}
}

func (v *validator) intRange(field string, p *int32, lo, hi int32) {
	if p == nil {
		return
	}
	n := *p
	switch {
	case n < lo:
		v.invalid(field, strconv.Itoa(int(n)), fmt.Sprintf("must be at least %d, got %d", lo, n))
	case n > hi:
		v.invalid(field, strconv.Itoa(int(n)), fmt.Sprintf("must be at most %d, got %d", hi, n))
	}
}

func (v *validator) resources(p string, r *Resources) {
	cpu := v.quantity(p+".cpu", r.CPU, msgCPUQuantity)
	mem := v.quantity(p+".memory", r.Memory, msgMemQuantity)
	cpuLim := v.quantity(p+".cpuLimit", r.CPULimit, msgCPUQuantity)
	memLim := v.quantity(p+".memoryLimit", r.MemoryLimit, msgMemQuantity)
	if cpu != nil && cpuLim != nil && cpuLim.Cmp(*cpu) < 0 {
		v.invalid(p+".cpuLimit", string(r.CPULimit), fmt.Sprintf("cpuLimit %q must not be less than cpu %q", r.CPULimit, r.CPU))
	}
	if mem != nil && memLim != nil && memLim.Cmp(*mem) < 0 {
		v.invalid(p+".memoryLimit", string(r.MemoryLimit), fmt.Sprintf("memoryLimit %q must not be less than memory %q", r.MemoryLimit, r.Memory))
	}
	switch g := r.GPUs; {
	case g < 0:
		v.invalid(p+".gpus", strconv.Itoa(int(g)), fmt.Sprintf("must not be negative, got %d", g))
	case g > MaxGPUsPerReplica:
		v.invalid(p+".gpus", strconv.Itoa(int(g)), fmt.Sprintf("must be at most %d, got %d", MaxGPUsPerReplica, g))
	}
}

// quantity validates a positive quantity and returns it parsed, or nil when
// it is empty or invalid.
func (v *validator) quantity(field string, q Quantity, msg string) *resource.Quantity {
	if q == "" {
		return nil
	}
	parsed, err := q.Parse()
	if err != nil || !strings.ContainsAny(string(q), "0123456789") {
		// ("Gi" and "m" alone parse as zero, but nobody means zero by them.)
		v.invalid(field, string(q), fmt.Sprintf("invalid quantity %q: %s", q, msg))
		return nil
	}
	if parsed.Sign() <= 0 {
		v.invalid(field, string(q), fmt.Sprintf("must be greater than zero, got %q", q))
		return nil
	}
	return &parsed
}

func (v *validator) runPolicy(r *RunPolicy) {
	if d := r.ActiveDeadlineSeconds; d != nil && *d < 1 {
		v.invalid("spec.runPolicy.activeDeadlineSeconds", strconv.Itoa(int(*d)), fmt.Sprintf("must be at least 1, got %d", *d))
	}
	v.intRange("spec.runPolicy.backoffLimit", r.BackoffLimit, 0, MaxBackoffLimit)
	if t := r.TTLSecondsAfterFinished; t != nil && *t < 0 {
		v.invalid("spec.runPolicy.ttlSecondsAfterFinished", strconv.Itoa(int(*t)), fmt.Sprintf("must not be negative, got %d", *t))
	}
	if c := r.CleanPodPolicy; !slices.Contains(CleanPodPolicies, c) {
		v.notSupported("spec.runPolicy.cleanPodPolicy", string(c), stringsOf(CleanPodPolicies))
	}
}

func (v *validator) volumes(vols []Volume) {
	names := map[string]bool{}
	mounts := map[string]bool{}
	for i, vol := range vols {
		p := fmt.Sprintf("spec.volumes[%d]", i)
		switch {
		case vol.Name == "":
			v.required(p+".name", "a volume needs a name")
		case !dns1123Label.MatchString(vol.Name):
			v.invalid(p+".name", vol.Name, fmt.Sprintf("invalid volume name %q: %s", vol.Name, msgDNS1123))
		case names[vol.Name]:
			v.add(p+".name", FieldDuplicate, vol.Name, fmt.Sprintf("volume name %q is used more than once", vol.Name))
		}
		names[vol.Name] = true
		switch {
		case vol.MountPath == "":
			v.required(p+".mountPath", "a volume needs an absolute mountPath")
		case !path.IsAbs(vol.MountPath):
			v.invalid(p+".mountPath", vol.MountPath, fmt.Sprintf("mountPath %q must be an absolute path", vol.MountPath))
		case mounts[path.Clean(vol.MountPath)]:
			v.add(p+".mountPath", FieldDuplicate, vol.MountPath, fmt.Sprintf("mountPath %q is used by another volume", vol.MountPath))
		}
		mounts[path.Clean(vol.MountPath)] = true
		sources := 0
		for _, set := range []bool{vol.PersistentVolumeClaim != "", vol.ConfigMap != "", vol.Secret != "", vol.EmptyDir, vol.HostPath != ""} {
			if set {
				sources++
			}
		}
		if sources != 1 {
			v.invalid(p, vol.Name, msgVolumeSource)
		}
		if vol.HostPath != "" && !path.IsAbs(vol.HostPath) {
			v.invalid(p+".hostPath", vol.HostPath, fmt.Sprintf("hostPath %q must be an absolute path", vol.HostPath))
		}
	}
}

func stringsOf[T ~string](vals []T) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// CheckNamespace refuses a namespace that is not a DNS-1123 label (a path
// such as "../../x" among them) before anything uses it: as a key, in a
// file path, or in a request to a cluster.
func CheckNamespace(ns string) error {
	if dns1123Label.MatchString(ns) && len(ns) <= MaxNameLength {
		return nil
	}
	return BadRequest("namespace", ns, fmt.Sprintf("invalid namespace %q: %s", ns, msgDNS1123))
}
