//go:build integration

package kube_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/odh-training/odh-training/internal/job"
)

func envMap(c corev1.Container) map[string]string {
	out := map[string]string{}
	for _, e := range c.Env {
		out[e.Name] = e.Value // later entries win, as in the kubelet
	}
	return out
}

// The three MPI implementations: the launcher the operator creates runs
// the expected command with the operator's and our environment, and the
// workers run sshd as non-root on 2222 with a TCP readiness probe.
func TestMPIImplementations(t *testing.T) {
	t.Parallel()
	ssh := "-p 2222 -o ConnectionAttempts=10"
	cases := []struct {
		impl job.MPIImplementation
		cmd  []string
		env  map[string]string
	}{
		{job.OpenMPI, []string{"mpirun", "--hostfile", "/etc/mpi/hostfile", "--mca", "plm_rsh_args", ssh, "-np", "2", "python3", "train.py"},
			map[string]string{"OMPI_MCA_orte_default_hostfile": "/etc/mpi/hostfile", "OMPI_MCA_orte_keep_fqdn_hostnames": "true", "OMPI_MCA_orte_set_default_slots": "1", "K_MPI_JOB_ROLE": "launcher"}},
		{job.Intel, []string{"mpirun", "-f", "/etc/mpi/hostfile", "-bootstrap-exec-args", ssh, "-n", "2", "-ppn", "1", "python3", "train.py"},
			map[string]string{"I_MPI_HYDRA_HOST_FILE": "/etc/mpi/hostfile", "I_MPI_PERHOST": "1", "I_MPI_HYDRA_BOOTSTRAP_EXEC_EXTRA_ARGS": "-o ConnectionAttempts=10"}},
		{job.MPICH, []string{"mpirun", "-f", "/etc/mpi/hostfile", "-n", "2", "-ppn", "1", "python3", "train.py"},
			map[string]string{"HYDRA_HOST_FILE": "/etc/mpi/hostfile", "HYDRA_LAUNCHER_EXTRA_ARGS": ssh}},
	}
	for _, tc := range cases {
		t.Run(string(tc.impl), func(t *testing.T) {
			t.Parallel()
			name := uniqueName("impl")
			create(t, simpleJob(t, name, 2, tc.impl))
			awaitPhase(t, name, job.PhaseRunning)
			lj, err := admin.BatchV1().Jobs(ns).Get(t.Context(), name+"-launcher", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			c := lj.Spec.Template.Spec.Containers[0]
			if !slices.Equal(c.Command, tc.cmd) {
				t.Errorf("launcher command %q, want %q", c.Command, tc.cmd)
			}
			env := envMap(c)
			for k, v := range tc.env {
				if env[k] != v {
					t.Errorf("launcher env %s=%q, want %q", k, env[k], v)
				}
			}
			if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/home/mpiuser/.ssh" }) {
				t.Errorf("launcher mounts %+v lack the SSH keys in /home/mpiuser/.ssh", c.VolumeMounts)
			}
			for _, p := range podsOf(t, name, "worker") {
				w := p.Spec.Containers[0]
				if !slices.Equal(w.Command, []string{"/usr/sbin/sshd", "-De", "-p", "2222", "-f", "/home/mpiuser/.sshd_config"}) {
					t.Errorf("worker command %q", w.Command)
				}
				if w.ReadinessProbe == nil || w.ReadinessProbe.TCPSocket == nil || w.ReadinessProbe.TCPSocket.Port.IntValue() != 2222 {
					t.Errorf("worker readiness probe %+v", w.ReadinessProbe)
				}
				if sc := p.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
					t.Errorf("worker pod security context %+v", sc)
				}
			}
		})
	}
}

// The operator's own example manifests are accepted unchanged and run.
func TestUpstreamExamples(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-m", "-json", "github.com/kubeflow/mpi-operator").Output()
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Dir string }
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"pi.yaml", "pi-intel.yaml", "pi-mpich.yaml"} {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join(m.Dir, "examples", "v2beta1", "pi", file))
			if err != nil {
				t.Fatal(err)
			}
			j, format, err := job.Parse(data)
			if err != nil || format != job.FormatUpstream {
				t.Fatalf("parse %s: %v (%s)", file, err, format)
			}
			name := uniqueName("pi")
			j.Metadata.Name, j.Upstream.Name = name, name
			j.Metadata.Namespace, j.Upstream.Namespace = ns, ns
			if err := job.Prepare(j); err != nil {
				t.Fatal(err)
			}
			orig := j.Upstream.DeepCopy()
			got := create(t, j)
			if got.Spec.MPIImplementation == "" || got.Spec.Replicas() != 2 {
				t.Errorf("spec from the manifest: %+v", got.Spec)
			}
			awaitPhase(t, name, job.PhaseRunning)
			u, err := adminMPI.KubeflowV2beta1().MPIJobs(ns).Get(t.Context(), name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// Submitted unchanged: the launcher and worker templates are
			// the manifest's.
			for _, r := range []kubeflow.MPIReplicaType{kubeflow.MPIReplicaTypeLauncher, kubeflow.MPIReplicaTypeWorker} {
				if !slices.Equal(u.Spec.MPIReplicaSpecs[r].Template.Spec.Containers[0].Args, orig.Spec.MPIReplicaSpecs[r].Template.Spec.Containers[0].Args) {
					t.Errorf("%s args changed", r)
				}
			}
			if u.Spec.SSHAuthMountPath != orig.Spec.SSHAuthMountPath {
				t.Errorf("sshAuthMountPath %q", u.Spec.SSHAuthMountPath)
			}
		})
	}
}
