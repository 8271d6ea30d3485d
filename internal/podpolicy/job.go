package podpolicy

import (
	"strings"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// LabelKueuePriorityClass is the label by which a job names its Kueue
// WorkloadPriorityClass.
const LabelKueuePriorityClass = "kueue.x-k8s.io/priority-class"

// Job is what the policy sees of a training job: the pod templates its
// controller will turn into pods, with where each came from.
type Job struct {
	// Kind and Name name the job in messages ("MPIJob", "train-42").
	Kind, Name string
	// Path is where the pod sets live in the submitted object
	// (spec.mpiReplicaSpecs); job-wide totals are reported there.
	Path *field.Path
	// OwnSecrets are secrets the job's controller makes for this job and
	// mounts itself (its SSH key): the job's pods may use them.
	OwnSecrets []string
	// PriorityClass is a job-level priority class (an MPIJob's
	// runPolicy.schedulingPolicy.priorityClass, given to its PodGroup),
	// with its path; empty when unset.
	PriorityClass     string
	PriorityClassPath *field.Path
	// WorkloadPriorityClass is the Kueue WorkloadPriorityClass the job
	// asks for (label kueue.x-k8s.io/priority-class), checked against
	// the same allowedPriorityClasses.
	WorkloadPriorityClass     string
	WorkloadPriorityClassPath *field.Path
	// PodSets are the job's pod templates.
	PodSets []PodSet
}

// PodSet is one pod template of a job and how many pods it makes.
type PodSet struct {
	// Name names the set in messages ("Launcher", "Worker").
	Name string
	// Path is the path of the pod template (…template), so errors point
	// at …template.spec.containers[0].securityContext and the like.
	Path *field.Path
	// Replicas is the number of pods made from Template.
	Replicas int64
	Template *corev1.PodTemplateSpec
}

// SSH key secrets the job controllers make: the MPI operator's
// <job>-ssh and Kubeflow Trainer's <job>-mpi-ssh-auth.
const (
	SSHSecretSuffixMPIOperator = "-ssh"
	SSHSecretSuffixTrainer     = "-mpi-ssh-auth"
)

// sshSecretOf reports whether name is spelled like a job's SSH key secret,
// and which job's and controller's.
func sshSecretOf(name string) (job, maker string, ok bool) {
	for _, s := range []struct{ suffix, maker string }{
		{SSHSecretSuffixTrainer, "Kubeflow Trainer's <job>" + SSHSecretSuffixTrainer},
		{SSHSecretSuffixMPIOperator, "the MPI operator's <job>" + SSHSecretSuffixMPIOperator},
	} {
		if j, found := strings.CutSuffix(name, s.suffix); found && j != "" {
			return j, s.maker, true
		}
	}
	return "", "", false
}

// FromMPIJob describes a kubeflow.org/v2beta1 MPIJob as the policy sees it:
// the launcher (one pod) and the workers (replicas pods; none when unset,
// as the operator defaults it), and the job's own SSH key.
func FromMPIJob(j *kubeflow.MPIJob) *Job {
	specs := field.NewPath("spec", "mpiReplicaSpecs")
	out := &Job{
		Kind:       "MPIJob",
		Name:       j.Name,
		Path:       specs,
		OwnSecrets: []string{j.Name + SSHSecretSuffixMPIOperator},
	}
	if sp := j.Spec.RunPolicy.SchedulingPolicy; sp != nil && sp.PriorityClass != "" {
		out.PriorityClass = sp.PriorityClass
		out.PriorityClassPath = field.NewPath("spec", "runPolicy", "schedulingPolicy", "priorityClass")
	}
	if wpc := j.Labels[LabelKueuePriorityClass]; wpc != "" {
		out.WorkloadPriorityClass = wpc
		out.WorkloadPriorityClassPath = field.NewPath("metadata", "labels").Key(LabelKueuePriorityClass)
	}
	for _, rt := range []kubeflow.MPIReplicaType{kubeflow.MPIReplicaTypeLauncher, kubeflow.MPIReplicaTypeWorker} {
		r := j.Spec.MPIReplicaSpecs[rt]
		if r == nil {
			continue
		}
		n := int64(0)
		if rt == kubeflow.MPIReplicaTypeLauncher {
			n = 1
		}
		if r.Replicas != nil {
			n = int64(*r.Replicas)
		}
		out.PodSets = append(out.PodSets, PodSet{
			Name:     string(rt),
			Path:     specs.Key(string(rt)).Child("template"),
			Replicas: n,
			Template: &r.Template,
		})
	}
	return out
}
