package podpolicy

import (
	"testing"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	corev1 "k8s.io/api/core/v1"
)

// A job whose sshd runs as a non-root user meets the restricted level once
// defaulted; one whose sshd runs as root does not (its namespace needs
// podSecurity: baseline), and keeps what it asked for.
func TestDefaulted(t *testing.T) {
	bare := func(mount string) *kubeflow.MPIJob {
		j := goodJob()
		j.Spec.SSHAuthMountPath = mount
		for _, r := range j.Spec.MPIReplicaSpecs {
			r.Template.Spec.SecurityContext = nil
			r.Template.Spec.Containers[0].SecurityContext = nil
			r.Template.Spec.InitContainers = []corev1.Container{{Name: "fetch"}}
		}
		return j
	}
	j := bare("/home/mpiuser/.ssh")
	if errs := Validate(nil, Env{Namespace: "team-a"}, FromMPIJob(j)); len(errs) == 0 {
		t.Fatal("a job without security settings passed before defaulting")
	}
	d, err := Defaulted(j)
	if err != nil {
		t.Fatal(err)
	}
	if errs := Validate(nil, Env{Namespace: "team-a"}, FromMPIJob(d)); len(errs) > 0 {
		t.Errorf("defaulted non-root job: %v", errs)
	}
	if j.Spec.MPIReplicaSpecs[kubeflow.MPIReplicaTypeWorker].Template.Spec.SecurityContext != nil {
		t.Error("Defaulted changed its argument")
	}
	root, err := Defaulted(bare("/root/.ssh"))
	if err != nil {
		t.Fatal(err)
	}
	got := summary(Validate(nil, Env{Namespace: "team-a"}, FromMPIJob(root)))
	if len(got) == 0 {
		t.Fatal("a root sshd job passed the restricted level")
	}
	if p := root.Spec.MPIReplicaSpecs[kubeflow.MPIReplicaTypeWorker].Template.Spec.SecurityContext; p == nil || p.SeccompProfile == nil || p.RunAsNonRoot != nil {
		t.Errorf("root job's pod securityContext %+v: want the seccomp default only", p)
	}
	if errs := Validate(&Policy{Name: "b", Spec: TrainingPolicySpec{PodSecurity: LevelBaseline}}, Env{Namespace: "team-a"}, FromMPIJob(root)); len(errs) > 0 {
		t.Errorf("root job under baseline: %v", errs)
	}
}
