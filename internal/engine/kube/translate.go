package kube

import (
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/odh-training/odh-training/internal/job"
)

// Labels and annotations the engine puts on the MPIJobs it creates. The
// annotations under training.opendatahub.io/ that a user may set on a job
// (SSH mode, Open MPI version, launcher creation policy) tune Translate.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "odh-training"

	annotationPrefix = "training.opendatahub.io/"
	// AnnotationSpec holds the high-level spec as JSON, so Get returns
	// exactly what was submitted (translation is not reversible).
	AnnotationSpec = annotationPrefix + "spec"
	// AnnotationFormat records which document format the job came from.
	AnnotationFormat = annotationPrefix + "format"
	// AnnotationCreator records who created the job through the service.
	AnnotationCreator = annotationPrefix + "creator"
	// AnnotationSSH = "root" opts a job out of the non-root SSH defaults:
	// sshd on port 22 as root, keys in /root/.ssh (upstream's defaults).
	AnnotationSSH = annotationPrefix + "ssh"
	// AnnotationOpenMPIVersion = "5" builds the launcher command for Open
	// MPI 5 (PRRTE) instead of Open MPI 4 (ORTE).
	AnnotationOpenMPIVersion = annotationPrefix + "openmpi-version"
	// AnnotationLauncherCreation = "AtStartup" starts the launcher without
	// waiting for the workers to be ready.
	AnnotationLauncherCreation = annotationPrefix + "launcher-creation"

	// LabelKueueQueue opts a job into Kueue.
	LabelKueueQueue = "kueue.x-k8s.io/queue-name"

	// SSHModeRoot is the AnnotationSSH value that restores upstream's root
	// SSH defaults.
	SSHModeRoot = "root"

	// Paths the MPI operator uses in the launcher.
	hostfilePath = "/etc/mpi/hostfile"

	launcherContainer = "launcher"
	workerContainer   = "worker"
)

// TranslateOptions tune how high-level jobs become upstream MPIJobs. The
// zero value gives the documented defaults (docs/dev/kube-engine.md).
type TranslateOptions struct {
	// Home is the home directory of the (non-root) user the images run
	// as; SSH keys are mounted at <Home>/.ssh. Default /home/mpiuser, as
	// in the MPI operator's base images.
	Home string
	// SSHPort is the port the workers' sshd listens on. Default 2222.
	SSHPort int32
	// WorkerCommand overrides the workers' command. Default:
	// /usr/sbin/sshd -De -p <port> -f <Home>/.sshd_config.
	WorkerCommand []string
	// RootSSH restores upstream's defaults for every job: sshd on port 22
	// as root and keys in /root/.ssh (the per-job annotation
	// training.opendatahub.io/ssh: root does the same for one job).
	RootSSH bool
	// OpenMPIVersion is 4 (ORTE, the default) or 5 (PRRTE).
	OpenMPIVersion int
	// LauncherCreationPolicy defaults to WaitForWorkersReady.
	LauncherCreationPolicy kubeflow.LauncherCreationPolicy
}

func (o TranslateOptions) withDefaults() TranslateOptions {
	if o.Home == "" {
		o.Home = "/home/mpiuser"
	}
	if o.SSHPort == 0 {
		o.SSHPort = 2222
	}
	if o.OpenMPIVersion == 0 {
		o.OpenMPIVersion = 4
	}
	if o.LauncherCreationPolicy == "" {
		o.LauncherCreationPolicy = kubeflow.LauncherCreationPolicyWaitForWorkersReady
	}
	return o
}

// forJob applies a job's opt-out annotations.
func (o TranslateOptions) forJob(j *job.MPIJob) (TranslateOptions, job.FieldErrors) {
	var errs job.FieldErrors
	a := j.Metadata.Annotations
	if v, ok := a[AnnotationSSH]; ok {
		switch v {
		case SSHModeRoot:
			o.RootSSH = true
		case "non-root":
			o.RootSSH = false
		default:
			errs = append(errs, annotationError(AnnotationSSH, v, `use "root" (sshd on port 22 as root, keys in /root/.ssh) or "non-root" (the default)`))
		}
	}
	if v, ok := a[AnnotationOpenMPIVersion]; ok {
		switch v {
		case "4":
			o.OpenMPIVersion = 4
		case "5":
			o.OpenMPIVersion = 5
		default:
			errs = append(errs, annotationError(AnnotationOpenMPIVersion, v, `use "4" or "5"`))
		}
	}
	if v, ok := a[AnnotationLauncherCreation]; ok {
		switch p := kubeflow.LauncherCreationPolicy(v); p {
		case kubeflow.LauncherCreationPolicyAtStartup, kubeflow.LauncherCreationPolicyWaitForWorkersReady:
			o.LauncherCreationPolicy = p
		default:
			errs = append(errs, annotationError(AnnotationLauncherCreation, v, `use "WaitForWorkersReady" (the default) or "AtStartup"`))
		}
	}
	return o, errs
}

func annotationError(key, value, hint string) job.FieldError {
	return job.FieldError{
		Field: "metadata.annotations[" + strconv.Quote(key) + "]", Type: job.FieldNotSupported, Value: value,
		Message: fmt.Sprintf("unsupported value %q: %s", value, hint),
	}
}

// Translate turns a defaulted, validated job into the kubeflow.org/v2beta1
// MPIJob the kubernetes engine submits. It is pure: the same input always
// gives the same output (dry runs return it as YAML: see Manifest).
//
// A job parsed from a raw upstream manifest (j.Upstream != nil) is returned
// unchanged apart from our labels and annotations. A high-level job is
// translated by the rules in docs/dev/kube-engine.md. Problems only the
// kubernetes engine has (a missing image, unsupported annotations) are
// returned as a *job.Error of kind Invalid naming the fields.
func Translate(j *job.MPIJob, opts TranslateOptions) (*kubeflow.MPIJob, error) {
	opts = opts.withDefaults()
	if j.Upstream != nil {
		return translateUpstream(j), nil
	}
	opts, errs := opts.forJob(j)
	s := &j.Spec
	if strings.TrimSpace(s.Image) == "" {
		errs = append(errs, job.FieldError{Field: "spec.image", Type: job.FieldRequired, Message: "the kubernetes engine runs the launcher and workers as containers: set spec.image to an image with your program, MPI and an SSH server (e.g. an image built FROM mpioperator/openmpi)"})
	}
	if len(s.Command) == 0 {
		errs = append(errs, job.FieldError{Field: "spec.command", Type: job.FieldRequired, Message: "a command is required: the program each rank runs, e.g. [\"python3\", \"train.py\"]"})
	}
	res := map[string]*job.Resources{"spec.workers.resources": &s.Workers.Resources, "spec.launcher.resources": &s.Launcher.Resources}
	for _, p := range slices.Sorted(maps.Keys(res)) {
		if _, err := resourceRequirements(p, res[p]); err != nil {
			errs = append(errs, err...)
		}
	}
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b job.FieldError) int { return strings.Compare(a.Field, b.Field) })
		return nil, job.Invalid(j.Metadata.Name, errs)
	}
	workerRes, _ := resourceRequirements("", &s.Workers.Resources)
	launcherRes, _ := resourceRequirements("", &s.Launcher.Resources)

	u := &kubeflow.MPIJob{
		TypeMeta:   metav1.TypeMeta{APIVersion: kubeflow.SchemeGroupVersion.String(), Kind: kubeflow.Kind},
		ObjectMeta: objectMeta(j),
	}
	specJSON, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode spec: %w", err)
	}
	u.Annotations[AnnotationSpec] = string(specJSON)
	u.Annotations[AnnotationFormat] = string(job.FormatHighLevel)

	replicas := s.Replicas()
	slots := s.Slots()
	home := opts.Home
	port := opts.SSHPort
	sshPath := path.Join(home, ".ssh")
	if opts.RootSSH {
		sshPath, port = "/root/.ssh", 22
	}
	cleanPod := kubeflow.CleanPodPolicy(s.RunPolicy.CleanPodPolicy)
	rp := kubeflow.RunPolicy{
		CleanPodPolicy:          &cleanPod,
		TTLSecondsAfterFinished: copyPtr(s.RunPolicy.TTLSecondsAfterFinished),
		BackoffLimit:            copyPtr(s.RunPolicy.BackoffLimit),
	}
	if d := s.RunPolicy.ActiveDeadlineSeconds; d != nil {
		rp.ActiveDeadlineSeconds = new(int64(*d))
	}
	if s.RunPolicy.Suspend {
		rp.Suspend = new(true)
	}
	// Gang scheduling: with WaitForWorkersReady the launcher does not exist
	// until every worker is ready, so a gang that counts the launcher
	// (upstream's default minMember = workers + 1) can never be complete.
	minAvailable := replicas
	if opts.LauncherCreationPolicy == kubeflow.LauncherCreationPolicyAtStartup {
		minAvailable = replicas + 1
	}
	rp.SchedulingPolicy = &kubeflow.SchedulingPolicy{
		MinAvailable:  &minAvailable,
		Queue:         s.Scheduling.Queue,
		PriorityClass: s.Scheduling.PriorityClass,
	}
	u.Spec = kubeflow.MPIJobSpec{
		SlotsPerWorker:         new(slots),
		RunPolicy:              rp,
		SSHAuthMountPath:       sshPath,
		LauncherCreationPolicy: opts.LauncherCreationPolicy,
		MPIImplementation:      kubeflow.MPIImplementation(s.MPIImplementation),
		MPIReplicaSpecs:        map[kubeflow.MPIReplicaType]*kubeflow.ReplicaSpec{},
	}

	env := make([]corev1.EnvVar, 0, len(s.Env))
	for _, e := range s.Env {
		env = append(env, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}
	volumes, mounts := volumesOf(s.Volumes)
	podSpec := func() corev1.PodSpec {
		ps := corev1.PodSpec{
			Volumes:           cloneSlice(volumes),
			NodeSelector:      maps.Clone(s.NodeSelector),
			PriorityClassName: s.Scheduling.PriorityClass,
		}
		for _, t := range s.Tolerations {
			ps.Tolerations = append(ps.Tolerations, corev1.Toleration{Key: t.Key, Operator: corev1.TolerationOperator(t.Operator), Value: t.Value, Effect: corev1.TaintEffect(t.Effect)})
		}
		for _, name := range s.ImagePullSecrets {
			ps.ImagePullSecrets = append(ps.ImagePullSecrets, corev1.LocalObjectReference{Name: name})
		}
		if !opts.RootSSH {
			ps.SecurityContext = &corev1.PodSecurityContext{
				RunAsNonRoot:   new(true),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			}
		}
		return ps
	}
	container := func(name string, res corev1.ResourceRequirements) corev1.Container {
		c := corev1.Container{
			Name:            name,
			Image:           s.Image,
			ImagePullPolicy: corev1.PullPolicy(s.ImagePullPolicy),
			Env:             cloneSlice(env),
			WorkingDir:      s.WorkingDir,
			Resources:       res,
			VolumeMounts:    cloneSlice(mounts),
		}
		if !opts.RootSSH {
			c.SecurityContext = &corev1.SecurityContext{
				AllowPrivilegeEscalation: new(false),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			}
		}
		return c
	}
	podLabels := map[string]string{LabelManagedBy: ManagedBy}

	// Launcher.
	lc := container(launcherContainer, launcherRes)
	lc.Command, lc.Env = launcherCommand(s, opts, port, lc.Env)
	lps := podSpec()
	lps.Containers = []corev1.Container{lc}
	u.Spec.MPIReplicaSpecs[kubeflow.MPIReplicaTypeLauncher] = &kubeflow.ReplicaSpec{
		Replicas:      new(int32(1)),
		RestartPolicy: kubeflow.RestartPolicyNever,
		Template:      corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: maps.Clone(podLabels)}, Spec: lps},
	}

	// Workers: sshd, ready once it accepts connections.
	wc := container(workerContainer, workerRes)
	if !opts.RootSSH {
		wc.Command = slices.Clone(opts.WorkerCommand)
		if len(wc.Command) == 0 {
			wc.Command = []string{"/usr/sbin/sshd", "-De", "-p", strconv.Itoa(int(port)), "-f", path.Join(home, ".sshd_config")}
		}
	} else if len(opts.WorkerCommand) > 0 {
		wc.Command = slices.Clone(opts.WorkerCommand)
	}
	wc.Ports = []corev1.ContainerPort{{Name: "ssh", ContainerPort: port, Protocol: corev1.ProtocolTCP}}
	wc.ReadinessProbe = &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(port)}},
		PeriodSeconds:    2,
		FailureThreshold: 3,
	}
	wps := podSpec()
	wps.Containers = []corev1.Container{wc}
	// A worker only runs sshd: when the job may retry, restart a crashed
	// sshd in place so the next attempt finds every worker; otherwise let
	// the pod fail so its exit code is plain to see.
	workerRestart := kubeflow.RestartPolicyNever
	if s.BackoffLimit() > 0 {
		workerRestart = kubeflow.RestartPolicyOnFailure
	}
	u.Spec.MPIReplicaSpecs[kubeflow.MPIReplicaTypeWorker] = &kubeflow.ReplicaSpec{
		Replicas:      new(replicas),
		RestartPolicy: workerRestart,
		Template:      corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: maps.Clone(podLabels)}, Spec: wps},
	}
	return u, nil
}

// objectMeta is the MPIJob's metadata: the user's labels and annotations
// plus ours.
func objectMeta(j *job.MPIJob) metav1.ObjectMeta {
	m := metav1.ObjectMeta{
		Name:         j.Metadata.Name,
		GenerateName: j.Metadata.GenerateName,
		Namespace:    j.Metadata.Namespace,
		Labels:       maps.Clone(j.Metadata.Labels),
		Annotations:  maps.Clone(j.Metadata.Annotations),
	}
	if m.Labels == nil {
		m.Labels = map[string]string{}
	}
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	// The engine owns these; a submitted value is never trusted.
	delete(m.Annotations, AnnotationSpec)
	delete(m.Annotations, AnnotationCreator)
	m.Labels[LabelManagedBy] = ManagedBy
	if q := j.Spec.Scheduling.Queue; q != "" {
		m.Labels[LabelKueueQueue] = q
	}
	if c := j.Metadata.Creator; c != "" {
		m.Annotations[AnnotationCreator] = c
	}
	return m
}

func translateUpstream(j *job.MPIJob) *kubeflow.MPIJob {
	u := j.Upstream.DeepCopy()
	u.APIVersion, u.Kind = kubeflow.SchemeGroupVersion.String(), kubeflow.Kind
	meta := objectMeta(j)
	u.Name, u.GenerateName, u.Namespace = meta.Name, meta.GenerateName, meta.Namespace
	if u.Labels == nil {
		u.Labels = map[string]string{}
	}
	u.Labels[LabelManagedBy] = ManagedBy
	if u.Annotations == nil {
		u.Annotations = map[string]string{}
	}
	delete(u.Annotations, AnnotationSpec)
	delete(u.Annotations, AnnotationCreator)
	if c := j.Metadata.Creator; c != "" {
		u.Annotations[AnnotationCreator] = c
	}
	u.Annotations[AnnotationFormat] = string(job.FormatUpstream)
	u.ResourceVersion, u.UID = "", ""
	u.Status = kubeflow.JobStatus{}
	return u
}

// launcherCommand builds the launcher's command and environment. A command
// that does not start with an MPI launcher is wrapped in the right one; a
// command that does gets the arguments it needs to reach the workers
// (hostfile, SSH port) inserted after the launcher unless it has them.
func launcherCommand(s *job.Spec, o TranslateOptions, port int32, env []corev1.EnvVar) ([]string, []corev1.EnvVar) {
	ranks := strconv.Itoa(int(s.Ranks()))
	slots := strconv.Itoa(int(s.Slots()))
	sshArgs := "-o ConnectionAttempts=10"
	if !o.RootSSH {
		sshArgs = "-p " + strconv.Itoa(int(port)) + " " + sshArgs
	}
	user := s.Command
	wrapped := !isMPILauncher(user[0])
	has := func(names ...string) bool {
		for _, a := range user {
			for _, n := range names {
				if a == n || strings.HasPrefix(a, n+"=") {
					return true
				}
			}
		}
		return false
	}
	hasMCA := func(name string) bool {
		for i, a := range user {
			if (a == "--mca" || a == "-mca" || a == "--prtemca") && i+1 < len(user) && user[i+1] == name {
				return true
			}
		}
		return false
	}
	var extra []string
	switch s.MPIImplementation {
	case job.Intel:
		if wrapped || !has("-f", "-hostfile", "--hostfile", "-machinefile", "-hosts", "-host") {
			extra = append(extra, "-f", hostfilePath)
		}
		if !o.RootSSH && (wrapped || !has("-bootstrap-exec-args")) {
			extra = append(extra, "-bootstrap-exec-args", sshArgs)
		}
		if wrapped {
			extra = append(extra, "-n", ranks, "-ppn", slots)
		}
	case job.MPICH:
		// Hydra reads HYDRA_LAUNCHER_EXTRA_ARGS; the operator sets
		// HYDRA_LAUNCH_EXTRA_ARGS, which MPICH 4 ignores.
		env = append(env, corev1.EnvVar{Name: "HYDRA_LAUNCHER_EXTRA_ARGS", Value: sshArgs})
		if wrapped || !has("-f", "-hostfile", "--hostfile", "-machinefile", "-hosts", "-host") {
			extra = append(extra, "-f", hostfilePath)
		}
		if wrapped {
			extra = append(extra, "-n", ranks, "-ppn", slots)
		}
	default: // Open MPI
		// Open MPI 5 (PRRTE) ignores the operator's OMPI_MCA_orte_*
		// variables: pass the hostfile explicitly, for 4 and 5 alike.
		if wrapped || !has("--hostfile", "-hostfile", "--machinefile", "-machinefile", "--host", "-host", "-H", "--default-hostfile") {
			extra = append(extra, "--hostfile", hostfilePath)
		}
		if o.OpenMPIVersion >= 5 {
			env = append(env,
				corev1.EnvVar{Name: "PRTE_MCA_prte_keep_fqdn_hostnames", Value: "1"},
				corev1.EnvVar{Name: "PRTE_MCA_plm_ssh_args", Value: sshArgs},
			)
		} else if !o.RootSSH && !hasMCA("plm_rsh_args") {
			// The operator sets OMPI_MCA_plm_rsh_args after our env, so
			// only the command line can add the port.
			extra = append(extra, "--mca", "plm_rsh_args", sshArgs)
		}
		if o.RootSSH {
			env = append(env,
				corev1.EnvVar{Name: "OMPI_ALLOW_RUN_AS_ROOT", Value: "1"},
				corev1.EnvVar{Name: "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", Value: "1"},
			)
		}
		if wrapped {
			extra = append(extra, "-np", ranks)
		}
	}
	if wrapped {
		return append(append([]string{"mpirun"}, extra...), user...), env
	}
	return append(append([]string{user[0]}, extra...), user[1:]...), env
}

var mpiLaunchers = map[string]bool{
	"mpirun": true, "mpiexec": true, "mpirun.openmpi": true, "mpiexec.openmpi": true, "orterun": true, "prterun": true,
	"mpirun.mpich": true, "mpiexec.mpich": true, "mpiexec.hydra": true, "mpirun.hydra": true,
}

func isMPILauncher(arg string) bool { return mpiLaunchers[path.Base(arg)] }

// resourceRequirements converts per-replica resources. GPUs are both
// requested and limited (extended resources must be equal).
func resourceRequirements(p string, r *job.Resources) (corev1.ResourceRequirements, job.FieldErrors) {
	var out corev1.ResourceRequirements
	var errs job.FieldErrors
	set := func(list *corev1.ResourceList, name corev1.ResourceName, field string, q job.Quantity) {
		if q == "" {
			return
		}
		v, err := q.Parse()
		if err != nil || v.Sign() < 0 {
			errs = append(errs, job.FieldError{Field: p + "." + field, Type: job.FieldInvalid, Value: string(q), Message: fmt.Sprintf("invalid quantity %q: must be a positive quantity such as \"500m\", \"2\" or \"16Gi\"", q)})
			return
		}
		if *list == nil {
			*list = corev1.ResourceList{}
		}
		(*list)[name] = v
	}
	set(&out.Requests, corev1.ResourceCPU, "cpu", r.CPU)
	set(&out.Requests, corev1.ResourceMemory, "memory", r.Memory)
	set(&out.Limits, corev1.ResourceCPU, "cpuLimit", r.CPULimit)
	set(&out.Limits, corev1.ResourceMemory, "memoryLimit", r.MemoryLimit)
	switch {
	case r.GPUs < 0:
		errs = append(errs, job.FieldError{Field: p + ".gpus", Type: job.FieldInvalid, Value: strconv.Itoa(int(r.GPUs)), Message: fmt.Sprintf("must not be negative, got %d", r.GPUs)})
	case r.GPUs > 0:
		g := *resource.NewQuantity(int64(r.GPUs), resource.DecimalSI)
		if out.Requests == nil {
			out.Requests = corev1.ResourceList{}
		}
		if out.Limits == nil {
			out.Limits = corev1.ResourceList{}
		}
		out.Requests[job.GPUResource] = g
		out.Limits[job.GPUResource] = g.DeepCopy()
	}
	return out, errs
}

func volumesOf(vols []job.Volume) ([]corev1.Volume, []corev1.VolumeMount) {
	var vs []corev1.Volume
	var ms []corev1.VolumeMount
	for _, v := range vols {
		var src corev1.VolumeSource
		switch {
		case v.PersistentVolumeClaim != "":
			src.PersistentVolumeClaim = &corev1.PersistentVolumeClaimVolumeSource{ClaimName: v.PersistentVolumeClaim, ReadOnly: v.ReadOnly}
		case v.ConfigMap != "":
			src.ConfigMap = &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: v.ConfigMap}}
		case v.Secret != "":
			src.Secret = &corev1.SecretVolumeSource{SecretName: v.Secret}
		case v.EmptyDir:
			src.EmptyDir = &corev1.EmptyDirVolumeSource{}
		case v.HostPath != "":
			src.HostPath = &corev1.HostPathVolumeSource{Path: v.HostPath}
		}
		vs = append(vs, corev1.Volume{Name: v.Name, VolumeSource: src})
		ms = append(ms, corev1.VolumeMount{Name: v.Name, MountPath: v.MountPath, ReadOnly: v.ReadOnly})
	}
	return vs, ms
}

func copyPtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func cloneSlice[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}
