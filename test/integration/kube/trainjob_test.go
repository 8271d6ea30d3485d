//go:build integration

package kube_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/test/cluster"
)

// The TrainJob backend against the real Kubeflow Trainer v2.2 and JobSet
// controllers of the harness, with the runtimes deploy/runtimes ships.

var (
	trainJobsGVR = schema.GroupVersionResource{Group: "trainer.kubeflow.org", Version: "v1alpha1", Resource: "trainjobs"}
	runtimesGVR  = schema.GroupVersionResource{Group: "trainer.kubeflow.org", Version: "v1alpha1", Resource: "clustertrainingruntimes"}
)

func adminDynamic(t *testing.T) dynamic.Interface {
	t.Helper()
	cfg, err := harness.RESTConfig(cluster.Admin)
	if err != nil {
		t.Fatal(err)
	}
	return dynamic.NewForConfigOrDie(cfg)
}

// installRuntimes applies deploy/runtimes/*.yaml (idempotent: other
// packages on the harness may do the same) and waits until the engine's
// cache has them.
func installRuntimes(t *testing.T) {
	t.Helper()
	dyn := adminDynamic(t)
	for _, f := range []string{"odh-openmpi4.yaml", "odh-openmpi5.yaml"} {
		data, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "runtimes", f))
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if err := yaml.Unmarshal(data, &obj); err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{Object: obj}
		if _, err := dyn.Resource(runtimesGVR).Create(t.Context(), u, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("create runtime %s: %v", f, err)
		}
	}
	eventually(t, "the engine sees the runtimes", func() bool {
		_, err := eng.Admit(t.Context(), backendJob(t, "probe-"+randHex(2), "odh-openmpi4", 1))
		return err == nil
	})
}

func backendJob(t *testing.T, name, runtime string, workers int) *job.MPIJob {
	return newJob(t, fmt.Sprintf(`
metadata: {name: %s, labels: {suite: kube}}
spec:
  runtime: %s
  image: odh-mpi-openmpi
  command: [python3, train.py]
  workers: {replicas: %d}
`, name, runtime, workers))
}

// trainPod returns the Running pod of a TrainJob's replicated job
// ("launcher" or "node") with the given completion index.
func trainPod(t *testing.T, name, rjob string, index int) string {
	t.Helper()
	var pod string
	eventually(t, rjob+" pod of TrainJob "+name, func() bool {
		l, err := admin.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "jobset.sigs.k8s.io/jobset-name=" + name + ",jobset.sigs.k8s.io/replicatedjob-name=" + rjob})
		if err != nil {
			return false
		}
		for _, p := range l.Items {
			if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && p.Labels["batch.kubernetes.io/job-completion-index"] == fmt.Sprint(index) {
				pod = p.Name
			}
		}
		return pod != ""
	})
	return pod
}

// normalized is what must be the same on both backends.
type normalized struct {
	Phases   []job.Phase
	Workers  job.WorkerCounts
	States   []string
	Launcher string
	ExitCode int32
}

func normalize(j *job.MPIJob) normalized {
	n := normalized{Workers: j.Status.Workers}
	for _, h := range j.Status.History {
		if len(n.Phases) == 0 || n.Phases[len(n.Phases)-1] != h.Phase {
			n.Phases = append(n.Phases, h.Phase)
		}
	}
	for _, w := range j.Status.WorkerStatuses {
		n.States = append(n.States, w.State)
	}
	if j.Status.Launcher != nil {
		n.Launcher = j.Status.Launcher.State
	}
	if j.Status.ExitCode != nil {
		n.ExitCode = *j.Status.ExitCode
	}
	return n
}

// One job document runs to Succeeded as an MPIJob and as a TrainJob, with
// the same normalized status.
func TestSameJobOnBothBackends(t *testing.T) {
	installRuntimes(t)
	var results []normalized
	for _, rt := range []string{job.RuntimeMPIJob, "odh-openmpi4"} {
		name := uniqueName("both")
		created := create(t, backendJob(t, name, rt, 2))
		wantBackend := map[string]string{job.RuntimeMPIJob: job.BackendMPIJob, "odh-openmpi4": job.BackendTrainJob}[rt]
		if created.Status.Backend != wantBackend || created.Spec.Runtime != rt {
			t.Errorf("%s: backend %q runtime %q, want %q %q", rt, created.Status.Backend, created.Spec.Runtime, wantBackend, rt)
		}
		running := awaitPhase(t, name, job.PhaseRunning)
		if running.Status.Workers.Ready != 2 || running.Status.Launcher == nil || running.Status.Launcher.State != job.StateRunning {
			t.Errorf("%s running: workers %+v launcher %+v", rt, running.Status.Workers, running.Status.Launcher)
		}
		var lp string
		if rt == job.RuntimeMPIJob {
			lp = launcherPod(t, name)
		} else {
			lp = trainPod(t, name, "launcher", 0)
			if err := harness.SetPodLogs(t.Context(), ns, lp, "pi is 3.14"); err != nil {
				t.Fatal(err)
			}
			if got := texts(collect(t, name, engine.LogOptions{})); !slices.Equal(got, []string{"launcher: pi is 3.14"}) {
				t.Errorf("TrainJob launcher logs: %q", got)
			}
		}
		exitPod(t, lp, 0)
		done := awaitPhase(t, name, job.PhaseSucceeded)
		results = append(results, normalize(done))
	}
	if len(results) == 2 && fmt.Sprint(results[0]) != fmt.Sprint(results[1]) {
		t.Errorf("normalized status differs:\n MPIJob   %+v\n TrainJob %+v", results[0], results[1])
	}
}

// A runtime the cluster lacks, and an MPI the Trainer CRD refuses, are
// errors at their fields; nothing is created.
func TestTrainJobRefusals(t *testing.T) {
	installRuntimes(t)
	dyn := adminDynamic(t)
	name := uniqueName("nort")
	_, err := eng.Create(t.Context(), backendJob(t, name, "no-such-runtime", 1))
	var je *job.Error
	if !errors.As(err, &je) || len(je.Fields) == 0 || je.Fields[0].Field != "spec.runtime" || !strings.Contains(je.Fields[0].Message, "odh-openmpi4") {
		t.Fatalf("unknown runtime: %v (%+v)", err, je)
	}
	mpich := newJob(t, fmt.Sprintf("metadata: {name: %s}\nspec: {runtime: odh-openmpi4, image: x, mpiImplementation: MPICH, command: [a]}\n", name))
	_, err = eng.Create(t.Context(), mpich)
	if !errors.As(err, &je) || len(je.Fields) == 0 || je.Fields[0].Field != "spec.mpiImplementation" || !strings.Contains(je.Fields[0].Message, "accepts only OpenMPI") {
		t.Fatalf("MPICH on a TrainJob runtime: %v", err)
	}
	if _, err := dyn.Resource(trainJobsGVR).Namespace(ns).Get(t.Context(), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a refused job left a TrainJob behind: %v", err)
	}
}

// A TrainJob made with kubectl (not by odh) shows up in list, describe and
// logs; a worker failure is reported; delete --wait removes everything.
func TestKubectlTrainJobListed(t *testing.T) {
	installRuntimes(t)
	dyn := adminDynamic(t)
	name := uniqueName("kctl")
	var obj map[string]any
	if err := yaml.Unmarshal(fmt.Appendf(nil, `
apiVersion: trainer.kubeflow.org/v1alpha1
kind: TrainJob
metadata: {name: %s, namespace: %s}
spec:
  runtimeRef: {name: odh-openmpi4}
  trainer: {numNodes: 2, command: [mpirun, -n, "2", /home/mpiuser/pi]}
`, name, ns), &obj); err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(trainJobsGVR).Namespace(ns).Create(t.Context(), &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	running := awaitPhase(t, name, job.PhaseRunning)
	if running.Status.Backend != job.BackendTrainJob || running.Spec.Runtime != "odh-openmpi4" || running.Spec.Replicas() != 2 || running.Status.ReadOnly {
		t.Errorf("listed as backend %q runtime %q replicas %d read-only %v", running.Status.Backend, running.Spec.Runtime, running.Spec.Replicas(), running.Status.ReadOnly)
	}
	list, err := eng.List(t.Context(), engine.ListOptions{Namespace: ns})
	if err != nil || !slices.Contains(names(list), name) {
		t.Errorf("list: %v %v", names(list), err)
	}
	w1 := trainPod(t, name, "node", 1)
	if err := harness.SetPodLogs(t.Context(), ns, w1, "sshd up"); err != nil {
		t.Fatal(err)
	}
	if got := texts(collect(t, name, engine.LogOptions{Worker: new(int32(1))})); !slices.Equal(got, []string{"worker-1: sshd up"}) {
		t.Errorf("worker 1 logs: %q", got)
	}
	exitPod(t, w1, 42)
	f := await(t, name, awaitTimeout, "worker failure reported", func(j *job.MPIJob) bool { return j.Status.FirstFailedWorker != nil })
	if *f.Status.FirstFailedWorker != 1 || f.Status.WorkerStatuses[1].ExitCode == nil || *f.Status.WorkerStatuses[1].ExitCode != 42 {
		t.Errorf("first failed %v, worker-1 %+v", *f.Status.FirstFailedWorker, f.Status.WorkerStatuses[1])
	}
	mustContain(t, "message", f.Status.Message, "worker 1", "exit code 42")
	if _, err := eng.Delete(t.Context(), ns, name, engine.DeleteOptions{Wait: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(trainJobsGVR).Namespace(ns).Get(t.Context(), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after delete --wait the TrainJob is still there: %v", err)
	}
	if pods, _ := admin.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "jobset.sigs.k8s.io/jobset-name=" + name}); len(pods.Items) != 0 {
		t.Errorf("after delete --wait %d pods remain", len(pods.Items))
	}
}

// Suspend removes the pods and resume brings them back, as for MPIJobs.
func TestTrainJobSuspendResume(t *testing.T) {
	installRuntimes(t)
	name := uniqueName("tsus")
	create(t, backendJob(t, name, "odh-openmpi4", 1))
	awaitPhase(t, name, job.PhaseRunning)
	if _, err := eng.Suspend(t.Context(), ns, name); err != nil {
		t.Fatal(err)
	}
	s := await(t, name, awaitTimeout, "suspended", func(j *job.MPIJob) bool {
		return j.Status.Phase == job.PhaseSuspended && j.Status.Reason == job.ReasonSuspended
	})
	if !s.Spec.RunPolicy.Suspend {
		t.Errorf("suspended job's spec: %+v", s.Spec.RunPolicy)
	}
	if _, err := eng.Resume(t.Context(), ns, name); err != nil {
		t.Fatal(err)
	}
	awaitPhase(t, name, job.PhaseRunning)
}
