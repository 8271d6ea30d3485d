//go:build integration

package cluster_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	mpiclient "github.com/kubeflow/mpi-operator/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/odh-training/odh-training/test/cluster"
)

var harness *cluster.Cluster

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	c, err := cluster.Ensure(ctx)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "start control-plane harness: %v\n", err)
		os.Exit(1)
	}
	harness = c
	os.Exit(m.Run())
}

func clients(t *testing.T, identity string) (*kubernetes.Clientset, *mpiclient.Clientset) {
	t.Helper()
	cfg, err := harness.RESTConfig(identity)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := mpiclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs, mc
}

func uniqueName(prefix string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// eventually polls cond every 200ms for up to a minute.
func eventually(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	var last error
	// Three minutes: right after a cold start on a busy 2-core machine the
	// controllers (Trainer, JobSet, Kueue) are still syncing; a minute was
	// seen to run out with the pods appearing seconds later.
	err := wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		last = err
		return ok, nil
	})
	if err != nil {
		t.Fatalf("%s: %v (last error: %v)", what, err, last)
	}
}

func TestNodesReady(t *testing.T) {
	cs, _ := clients(t, cluster.Admin)
	nodes, err := cs.CoreV1().Nodes().List(t.Context(), metav1.ListOptions{LabelSelector: cluster.NodeLabel + "=kwok"})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) < 4 {
		t.Fatalf("got %d kwok nodes, want at least 4", len(nodes.Items))
	}
	for _, n := range nodes.Items {
		ready := false
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				ready = c.Status == corev1.ConditionTrue
			}
		}
		if !ready {
			t.Errorf("node %s is not Ready", n.Name)
		}
		if gpus := n.Status.Allocatable[cluster.GPUResource]; gpus.Cmp(resource.MustParse("4")) != 0 {
			t.Errorf("node %s: allocatable %s = %s, want 4", n.Name, cluster.GPUResource, gpus.String())
		}
	}
	info, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if info.GitVersion != cluster.KubernetesVersion {
		t.Errorf("server version %s, want %s", info.GitVersion, cluster.KubernetesVersion)
	}
}

func newMPIJob(name string) *kubeflow.MPIJob {
	container := func(n string) corev1.PodSpec {
		return corev1.PodSpec{Containers: []corev1.Container{{
			Name:    n,
			Image:   "registry.example/mpi-pi:openmpi",
			Command: []string{"mpirun", "-n", "2", "/home/mpiuser/pi"},
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi"),
			}},
		}}}
	}
	// SSH as a non-root user: odh-webhook then defaults what the default
	// pod policy (Pod Security "restricted") demands, as for users' jobs.
	return &kubeflow.MPIJob{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: kubeflow.MPIJobSpec{
			SlotsPerWorker:   new(int32(1)),
			SSHAuthMountPath: "/home/mpiuser/.ssh",
			MPIReplicaSpecs: map[kubeflow.MPIReplicaType]*kubeflow.ReplicaSpec{
				kubeflow.MPIReplicaTypeLauncher: {Replicas: new(int32(1)), Template: corev1.PodTemplateSpec{Spec: container("launcher")}},
				kubeflow.MPIReplicaTypeWorker:   {Replicas: new(int32(2)), Template: corev1.PodTemplateSpec{Spec: container("worker")}},
			},
		},
	}
}

func condition(job *kubeflow.MPIJob, typ kubeflow.JobConditionType) corev1.ConditionStatus {
	for _, c := range job.Status.Conditions {
		if c.Type == typ {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}

// TestMPIJobLifecycle runs an MPIJob through the real operator on kwok nodes:
// created as alice, running, logs, launcher exit 0 → Succeeded, foreground
// deletion removes every child.
func TestMPIJobLifecycle(t *testing.T) {
	ctx := t.Context()
	ns := cluster.TeamA
	name := uniqueName("smoke")
	cs, mc := clients(t, cluster.Alice)

	if _, err := mc.KubeflowV2beta1().MPIJobs(ns).Create(ctx, newMPIJob(name), metav1.CreateOptions{}); err != nil {
		t.Fatalf("alice creates MPIJob in %s: %v", ns, err)
	}
	t.Cleanup(func() {
		_ = mc.KubeflowV2beta1().MPIJobs(ns).Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	sel := "training.kubeflow.org/job-name=" + name

	var launcher string
	eventually(t, "launcher Job and 2 worker pods Running, MPIJob Running=True", func(ctx context.Context) (bool, error) {
		if _, err := cs.BatchV1().Jobs(ns).Get(ctx, name+"-launcher", metav1.GetOptions{}); err != nil {
			return false, err
		}
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return false, err
		}
		workers := 0
		launcher = ""
		for _, p := range pods.Items {
			if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
				return false, fmt.Errorf("pod %s is %s", p.Name, p.Status.Phase)
			}
			switch p.Labels["training.kubeflow.org/job-role"] {
			case "worker":
				workers++
			case "launcher":
				launcher = p.Name
			}
		}
		if workers != 2 || launcher == "" {
			return false, fmt.Errorf("%d workers, launcher %q", workers, launcher)
		}
		job, err := mc.KubeflowV2beta1().MPIJobs(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return condition(job, kubeflow.JobRunning) == corev1.ConditionTrue, nil
	})

	t.Run("pods/log", func(t *testing.T) {
		want := "rank 0: pi is approximately 3.1416\nrank 1: done"
		if err := harness.SetPodLogs(ctx, ns, launcher, want); err != nil {
			t.Fatal(err)
		}
		got := readLogs(t, cs, ns, launcher)
		if strings.TrimSpace(got) != want {
			t.Errorf("launcher log = %q, want %q", got, want)
		}
		if got := readLogs(t, cs, ns, name+"-worker-0"); !strings.Contains(got, cluster.DefaultLogLine) {
			t.Errorf("worker log = %q, want the default line", got)
		}
	})

	if err := harness.SetPodExitCode(ctx, ns, launcher, 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, "MPIJob Succeeded", func(ctx context.Context) (bool, error) {
		job, err := mc.KubeflowV2beta1().MPIJobs(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return condition(job, kubeflow.JobSucceeded) == corev1.ConditionTrue, nil
	})

	foreground := metav1.DeletePropagationForeground
	if err := mc.KubeflowV2beta1().MPIJobs(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &foreground}); err != nil {
		t.Fatalf("alice deletes MPIJob: %v", err)
	}
	eventually(t, "MPIJob gone after foreground deletion", func(ctx context.Context) (bool, error) {
		_, err := mc.KubeflowV2beta1().MPIJobs(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	admin, _ := clients(t, cluster.Admin)
	var leftovers []string
	if pods, err := admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel}); err != nil {
		t.Fatal(err)
	} else {
		for _, p := range pods.Items {
			leftovers = append(leftovers, "pod/"+p.Name)
		}
	}
	checks := map[string]func() error{
		"job/" + name + "-launcher": func() error {
			_, err := admin.BatchV1().Jobs(ns).Get(ctx, name+"-launcher", metav1.GetOptions{})
			return err
		},
		"service/" + name: func() error {
			_, err := admin.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
			return err
		},
		"configmap/" + name + "-config": func() error {
			_, err := admin.CoreV1().ConfigMaps(ns).Get(ctx, name+"-config", metav1.GetOptions{})
			return err
		},
		"secret/" + name + "-ssh": func() error {
			_, err := admin.CoreV1().Secrets(ns).Get(ctx, name+"-ssh", metav1.GetOptions{})
			return err
		},
	}
	for what, get := range checks {
		if err := get(); !apierrors.IsNotFound(err) {
			leftovers = append(leftovers, fmt.Sprintf("%s (%v)", what, err))
		}
	}
	if len(leftovers) > 0 {
		t.Errorf("children left after foreground deletion of the MPIJob: %v", leftovers)
	}
}

func readLogs(t *testing.T, cs kubernetes.Interface, ns, pod string) string {
	t.Helper()
	rc, err := cs.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{}).Stream(t.Context())
	if err != nil {
		t.Fatalf("logs of %s/%s: %v", ns, pod, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestBobCannotCreateInTeamA(t *testing.T) {
	_, mc := clients(t, cluster.Bob)
	_, err := mc.KubeflowV2beta1().MPIJobs(cluster.TeamA).Create(t.Context(), newMPIJob(uniqueName("bob")), metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("bob creating an MPIJob in %s: got %v, want Forbidden", cluster.TeamA, err)
	}
	// …while his own namespace works.
	name := uniqueName("bob")
	if _, err := mc.KubeflowV2beta1().MPIJobs(cluster.TeamB).Create(t.Context(), newMPIJob(name), metav1.CreateOptions{}); err != nil {
		t.Fatalf("bob creating an MPIJob in %s: %v", cluster.TeamB, err)
	}
	_ = mc.KubeflowV2beta1().MPIJobs(cluster.TeamB).Delete(t.Context(), name, metav1.DeleteOptions{})
}

// TestKwokPodContract checks the annotations that drive fake pods.
func TestKwokPodContract(t *testing.T) {
	ctx := t.Context()
	cs, _ := clients(t, cluster.Admin)
	ns := cluster.TeamB
	newPod := func(name string, restart corev1.RestartPolicy) string {
		t.Helper()
		_, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       corev1.PodSpec{RestartPolicy: restart, Containers: []corev1.Container{{Name: "main", Image: "x"}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cs.CoreV1().Pods(ns).Delete(context.Background(), name, metav1.DeleteOptions{}) })
		return name
	}
	pod := func(ctx context.Context, name string) (*corev1.Pod, error) {
		return cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	}
	running := func(name string) {
		t.Helper()
		eventually(t, name+" Running and Ready", func(ctx context.Context) (bool, error) {
			p, err := pod(ctx, name)
			if err != nil {
				return false, err
			}
			return p.Status.Phase == corev1.PodRunning && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].Ready, nil
		})
	}

	t.Run("exit code fails the pod", func(t *testing.T) {
		name := newPod(uniqueName("exit"), corev1.RestartPolicyNever)
		running(name)
		if err := harness.SetPodExitCode(ctx, ns, name, 3); err != nil {
			t.Fatal(err)
		}
		eventually(t, "pod Failed with exit code 3", func(ctx context.Context) (bool, error) {
			p, err := pod(ctx, name)
			if err != nil || p.Status.Phase != corev1.PodFailed {
				return false, err
			}
			term := p.Status.ContainerStatuses[0].State.Terminated
			return term != nil && term.ExitCode == 3 && term.Reason == "Error", nil
		})
	})
	t.Run("restarts and OOMKilled", func(t *testing.T) {
		name := newPod(uniqueName("restart"), corev1.RestartPolicyAlways)
		running(name)
		if err := harness.SetPodRestarts(ctx, ns, name, 2, 137, "OOMKilled"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "restartCount 2 after OOMKilled", func(ctx context.Context) (bool, error) {
			p, err := pod(ctx, name)
			if err != nil {
				return false, err
			}
			st := p.Status.ContainerStatuses[0]
			last := st.LastTerminationState.Terminated
			return p.Status.Phase == corev1.PodRunning && st.RestartCount == 2 && last != nil && last.Reason == "OOMKilled" && last.ExitCode == 137, nil
		})
		if err := harness.SetPodOOMKilled(ctx, ns, name); err != nil {
			t.Fatal(err)
		}
		eventually(t, "pod Failed as OOMKilled", func(ctx context.Context) (bool, error) {
			p, err := pod(ctx, name)
			if err != nil || p.Status.Phase != corev1.PodFailed {
				return false, err
			}
			st := p.Status.ContainerStatuses[0]
			return st.State.Terminated != nil && st.State.Terminated.Reason == "OOMKilled" && st.RestartCount == 2, nil
		})
	})
}
