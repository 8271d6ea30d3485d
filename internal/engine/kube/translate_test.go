package kube

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	"github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/validation"
	"sigs.k8s.io/yaml"

	"github.com/odh-training/odh-training/internal/job"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/translate")

// parseJob parses and prepares a job document as the service does.
func parseJob(t *testing.T, doc string) *job.MPIJob {
	t.Helper()
	j, _, err := job.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if err := job.Prepare(j); err != nil {
		t.Fatalf("prepare: %v", err)
	}
	return j
}

// TestTranslateGolden translates every testdata/translate/*.in.yaml and
// compares the result with the .out.yaml next to it (go test -update
// rewrites them). Every output must also pass the operator's validation.
func TestTranslateGolden(t *testing.T) {
	ins, err := filepath.Glob("testdata/translate/*.in.yaml")
	if err != nil || len(ins) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), ".in.yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var opts TranslateOptions
			if strings.HasPrefix(name, "opts-root-") {
				opts.RootSSH = true
			}
			u, err := Translate(parseJob(t, string(data)), opts)
			if err != nil {
				t.Fatalf("Translate: %v", err)
			}
			got, err := yaml.Marshal(u)
			if err != nil {
				t.Fatal(err)
			}
			out := strings.TrimSuffix(in, ".in.yaml") + ".out.yaml"
			if *update {
				if err := os.WriteFile(out, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if d := cmp.Diff(string(want), string(got)); d != "" {
				t.Errorf("Translate(%s) differs from %s (-want +got; go test -update rewrites it):\n%s", in, out, d)
			}
			c := u.DeepCopy()
			kubeflow.SetDefaults_MPIJob(c)
			if errs := validation.ValidateMPIJob(c); len(errs) > 0 {
				t.Errorf("the operator would reject the translation: %v", errs.ToAggregate())
			}
		})
	}
}

func launcherOf(u *kubeflow.MPIJob) []string {
	return u.Spec.MPIReplicaSpecs[kubeflow.MPIReplicaTypeLauncher].Template.Spec.Containers[0].Command
}

func envOf(u *kubeflow.MPIJob, role kubeflow.MPIReplicaType) map[string]string {
	out := map[string]string{}
	for _, e := range u.Spec.MPIReplicaSpecs[role].Template.Spec.Containers[0].Env {
		out[e.Name] = e.Value
	}
	return out
}

func TestLauncherCommand(t *testing.T) {
	base := `
apiVersion: training.opendatahub.io/v1alpha1
kind: MPIJob
metadata: {name: t, namespace: team-a%s}
spec:
  image: example.com/train:1
  mpiImplementation: %s
  command: %s
  workers: {replicas: 3, slotsPerWorker: 2}
`
	ssh := "-p 2222 -o ConnectionAttempts=10"
	cases := []struct {
		name, impl, cmd, meta string
		root                  bool
		want                  []string
		env                   map[string]string
	}{
		{name: "openmpi 4 wraps", impl: "OpenMPI", cmd: `[python3, train.py]`,
			want: []string{"mpirun", "--hostfile", "/etc/mpi/hostfile", "--mca", "plm_rsh_args", ssh, "-np", "6", "python3", "train.py"}},
		{name: "openmpi 5 wraps", impl: "OpenMPI", cmd: `[python3, train.py]`, meta: `, annotations: {training.opendatahub.io/openmpi-version: "5"}`,
			want: []string{"mpirun", "--hostfile", "/etc/mpi/hostfile", "-np", "6", "python3", "train.py"},
			env:  map[string]string{"PRTE_MCA_plm_ssh_args": ssh, "PRTE_MCA_prte_keep_fqdn_hostnames": "1"}},
		{name: "openmpi user mpirun keeps its args", impl: "OpenMPI", cmd: `[mpirun, -np, "2", --bind-to, none, python3, x.py]`,
			want: []string{"mpirun", "--hostfile", "/etc/mpi/hostfile", "--mca", "plm_rsh_args", ssh, "-np", "2", "--bind-to", "none", "python3", "x.py"}},
		{name: "openmpi user hostfile and rsh args kept", impl: "OpenMPI", cmd: `[mpirun, --hostfile, /h, --mca, plm_rsh_args, "-p 22", a.out]`,
			want: []string{"mpirun", "--hostfile", "/h", "--mca", "plm_rsh_args", "-p 22", "a.out"}},
		{name: "openmpi root", impl: "OpenMPI", cmd: `[a.out]`, root: true,
			want: []string{"mpirun", "--hostfile", "/etc/mpi/hostfile", "-np", "6", "a.out"},
			env:  map[string]string{"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}},
		{name: "intel wraps", impl: "Intel", cmd: `[python3, train.py]`,
			want: []string{"mpirun", "-f", "/etc/mpi/hostfile", "-bootstrap-exec-args", ssh, "-n", "6", "-ppn", "2", "python3", "train.py"}},
		{name: "intel user mpiexec", impl: "Intel", cmd: `[mpiexec, -n, "6", a.out]`,
			want: []string{"mpiexec", "-f", "/etc/mpi/hostfile", "-bootstrap-exec-args", ssh, "-n", "6", "a.out"}},
		{name: "mpich wraps", impl: "MPICH", cmd: `[python3, train.py]`,
			want: []string{"mpirun", "-f", "/etc/mpi/hostfile", "-n", "6", "-ppn", "2", "python3", "train.py"},
			env:  map[string]string{"HYDRA_LAUNCHER_EXTRA_ARGS": ssh}},
		{name: "mpich user mpiexec.hydra", impl: "MPICH", cmd: `[/usr/bin/mpiexec.hydra, -n, "2", a.out]`,
			want: []string{"/usr/bin/mpiexec.hydra", "-f", "/etc/mpi/hostfile", "-n", "2", "a.out"},
			env:  map[string]string{"HYDRA_LAUNCHER_EXTRA_ARGS": ssh}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, err := Translate(parseJob(t, sprintf(base, tc.meta, tc.impl, tc.cmd)), TranslateOptions{RootSSH: tc.root})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, launcherOf(u)); d != "" {
				t.Errorf("launcher command (-want +got):\n%s", d)
			}
			env := envOf(u, kubeflow.MPIReplicaTypeLauncher)
			for k, v := range tc.env {
				if env[k] != v {
					t.Errorf("launcher env %s = %q, want %q", k, env[k], v)
				}
			}
		})
	}
}

func sprintf(format string, args ...any) string {
	for _, a := range args {
		format = strings.Replace(format, "%s", a.(string), 1)
	}
	return format
}

func TestTranslateDefaults(t *testing.T) {
	u, err := Translate(parseJob(t, `
metadata: {name: gang, namespace: team-a, labels: {team: nlp}}
spec:
  image: example.com/train:1
  command: [python3, train.py]
  workers: {replicas: 4, resources: {cpu: "2", memory: 8Gi, gpus: 2}}
  scheduling: {queue: team-a-queue, priorityClass: high}
`), TranslateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Spec.LauncherCreationPolicy; got != kubeflow.LauncherCreationPolicyWaitForWorkersReady {
		t.Errorf("launcherCreationPolicy = %s", got)
	}
	// With WaitForWorkersReady the gang must not count the launcher.
	if sp := u.Spec.RunPolicy.SchedulingPolicy; sp == nil || sp.MinAvailable == nil || *sp.MinAvailable != 4 {
		t.Errorf("schedulingPolicy = %+v, want minAvailable 4", sp)
	}
	if u.Spec.SSHAuthMountPath != "/home/mpiuser/.ssh" {
		t.Errorf("sshAuthMountPath = %s", u.Spec.SSHAuthMountPath)
	}
	if u.Labels[LabelKueueQueue] != "team-a-queue" || u.Labels["team"] != "nlp" || u.Labels[LabelManagedBy] != ManagedBy {
		t.Errorf("labels = %v", u.Labels)
	}
	w := u.Spec.MPIReplicaSpecs[kubeflow.MPIReplicaTypeWorker].Template.Spec
	c := w.Containers[0]
	if c.ReadinessProbe == nil || c.ReadinessProbe.TCPSocket == nil || c.ReadinessProbe.TCPSocket.Port.IntValue() != 2222 {
		t.Errorf("worker readiness probe = %+v", c.ReadinessProbe)
	}
	if g := c.Resources.Limits[job.GPUResource]; g.Value() != 2 {
		t.Errorf("worker GPU limit = %v", g.String())
	}
	if w.SecurityContext == nil || w.SecurityContext.RunAsNonRoot == nil || !*w.SecurityContext.RunAsNonRoot {
		t.Errorf("worker pod security context = %+v", w.SecurityContext)
	}
	if w.PriorityClassName != "high" {
		t.Errorf("priorityClassName = %q", w.PriorityClassName)
	}
	// Opt out per job: AtStartup counts the launcher in the gang.
	u, err = Translate(parseJob(t, `
metadata: {name: gang, annotations: {training.opendatahub.io/launcher-creation: AtStartup}}
spec: {image: x, command: [a], workers: {replicas: 4}}
`), TranslateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := *u.Spec.RunPolicy.SchedulingPolicy.MinAvailable; got != 5 || u.Spec.LauncherCreationPolicy != kubeflow.LauncherCreationPolicyAtStartup {
		t.Errorf("AtStartup: minAvailable %d, policy %s", got, u.Spec.LauncherCreationPolicy)
	}
}

func TestTranslateErrors(t *testing.T) {
	cases := []struct {
		name, doc string
		fields    []string
	}{
		{"missing image", `metadata: {name: a}
spec: {command: [x]}`, []string{"spec.image"}},
		{"bad annotations", `metadata: {name: a, annotations: {training.opendatahub.io/ssh: maybe, training.opendatahub.io/openmpi-version: "3"}}
spec: {image: x, command: [x]}`, []string{`metadata.annotations["training.opendatahub.io/openmpi-version"]`, `metadata.annotations["training.opendatahub.io/ssh"]`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Translate(parseJob(t, tc.doc), TranslateOptions{})
			je, ok := err.(*job.Error)
			if !ok || je.Kind != job.KindInvalid {
				t.Fatalf("err = %v, want an Invalid *job.Error", err)
			}
			var got []string
			for _, f := range je.Fields {
				got = append(got, f.Field)
			}
			if d := cmp.Diff(tc.fields, got); d != "" {
				t.Errorf("fields (-want +got):\n%s\n%v", d, err)
			}
		})
	}
}

// The operator's own examples pass through unchanged apart from our
// labels and annotations.
func TestTranslateUpstreamPassThrough(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(moduleDir(t, "github.com/kubeflow/mpi-operator"), "examples", "v2beta1", "pi", "pi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	j := parseJob(t, string(data))
	j.Metadata.Namespace = "team-a"
	j.Upstream.Namespace = "team-a"
	j.Metadata.Creator = "alice"
	u, err := Translate(j, TranslateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var orig kubeflow.MPIJob
	if err := yaml.Unmarshal(data, &orig); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(orig.Spec, u.Spec); d != "" {
		t.Errorf("spec changed (-upstream +translated):\n%s", d)
	}
	want := map[string]string{AnnotationFormat: string(job.FormatUpstream), AnnotationCreator: "alice"}
	if d := cmp.Diff(want, u.Annotations); d != "" {
		t.Errorf("annotations (-want +got):\n%s", d)
	}
	if u.Labels[LabelManagedBy] != ManagedBy {
		t.Errorf("labels = %v", u.Labels)
	}
}
