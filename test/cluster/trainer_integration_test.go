//go:build integration

package cluster_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/odh-training/odh-training/test/cluster"
)

var (
	trainJobs               = schema.GroupVersionResource{Group: "trainer.kubeflow.org", Version: "v1alpha1", Resource: "trainjobs"}
	clusterTrainingRuntimes = schema.GroupVersionResource{Group: "trainer.kubeflow.org", Version: "v1alpha1", Resource: "clustertrainingruntimes"}
	jobSets                 = schema.GroupVersionResource{Group: "jobset.x-k8s.io", Version: "v1alpha2", Resource: "jobsets"}
)

// mpiRuntime is a minimal ClusterTrainingRuntime with mlPolicy.mpi: a
// launcher and sshd nodes, as Trainer's own MPI runtimes are shaped.
const mpiRuntime = `
apiVersion: trainer.kubeflow.org/v1alpha1
kind: ClusterTrainingRuntime
metadata:
  name: %s
spec:
  mlPolicy:
    # Trainer (v2.2) gives the replicated job labelled ancestor-step=trainer
    # (the launcher) this many pods; the TrainJob's numNodes sizes the nodes.
    numNodes: 1
    mpi:
      numProcPerNode: 1
      mpiImplementation: OpenMPI
      sshAuthMountPath: /home/mpiuser/.ssh
      runLauncherAsNode: false
  template:
    spec:
      network:
        publishNotReadyAddresses: true
      successPolicy:
        operator: All
        targetReplicatedJobs: [launcher]
      replicatedJobs:
      - name: launcher
        template:
          metadata:
            labels:
              trainer.kubeflow.org/trainjob-ancestor-step: trainer
          spec:
            template:
              spec:
                containers:
                - name: node
                  image: registry.example/mpi-base:1
      - name: node
        template:
          spec:
            template:
              spec:
                containers:
                - name: node
                  image: registry.example/mpi-base:1
                  command: [/usr/sbin/sshd, -De, -p, "2222"]
`

func condStatus(u *unstructured.Unstructured, typ string) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		cm, _ := c.(map[string]any)
		if cm["type"] == typ {
			s, _ := cm["status"].(string)
			return s
		}
	}
	return ""
}

// TestTrainJobOnJobSet runs a TrainJob on an MPI runtime through the real
// Trainer and JobSet controllers: JobSet, Jobs and pods on kwok nodes,
// Trainer's MPI plugin objects, and completion when the launcher exits 0.
func TestTrainJobOnJobSet(t *testing.T) {
	ctx := t.Context()
	dyn := dynClient(t, cluster.Admin)
	cs, _ := clients(t, cluster.Admin)
	ns := cluster.TeamA
	runtimeName, name := uniqueName("mpi-runtime"), uniqueName("tj")

	if _, err := dyn.Resource(clusterTrainingRuntimes).Create(ctx, mustObject(t, fmt.Sprintf(mpiRuntime, runtimeName)), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ClusterTrainingRuntime: %v", err)
	}
	t.Cleanup(func() {
		_ = dyn.Resource(clusterTrainingRuntimes).Delete(context.Background(), runtimeName, metav1.DeleteOptions{})
	})
	tj := mustObject(t, fmt.Sprintf(`
apiVersion: trainer.kubeflow.org/v1alpha1
kind: TrainJob
metadata:
  name: %s
  namespace: %s
spec:
  runtimeRef:
    name: %s
    kind: ClusterTrainingRuntime
    apiGroup: trainer.kubeflow.org
  trainer:
    numNodes: 2
    command: [mpirun, -n, "2", /home/mpiuser/pi]
`, name, ns, runtimeName))
	if _, err := dyn.Resource(trainJobs).Namespace(ns).Create(ctx, tj, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create TrainJob: %v", err)
	}
	t.Cleanup(func() {
		bg := metav1.DeletePropagationBackground
		_ = dyn.Resource(trainJobs).Namespace(ns).Delete(context.Background(), name, metav1.DeleteOptions{PropagationPolicy: &bg})
	})

	sel := "jobset.sigs.k8s.io/jobset-name=" + name
	var launcher string
	eventually(t, "JobSet, its Jobs and Running pods on kwok nodes", func(ctx context.Context) (bool, error) {
		if _, err := dyn.Resource(jobSets).Namespace(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			return false, err
		}
		jobs, err := cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil || len(jobs.Items) < 2 {
			return false, fmt.Errorf("jobs: %d, %v", len(jobs.Items), err)
		}
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return false, err
		}
		nodes, launchers := 0, 0
		for _, p := range pods.Items {
			if p.Status.Phase != corev1.PodRunning || !strings.HasPrefix(p.Spec.NodeName, "kwok-node-") {
				return false, fmt.Errorf("pod %s is %s on %q", p.Name, p.Status.Phase, p.Spec.NodeName)
			}
			switch p.Labels["jobset.sigs.k8s.io/replicatedjob-name"] {
			case "launcher":
				launchers++
				launcher = p.Name
			case "node":
				nodes++
			}
		}
		if launchers != 1 || nodes < 1 {
			return false, fmt.Errorf("%d launcher and %d node pods Running", launchers, nodes)
		}
		return true, nil
	})
	// Trainer's MPI plugin made the SSH key and the hostfile.
	if _, err := cs.CoreV1().Secrets(ns).Get(ctx, name+"-mpi-ssh-auth", metav1.GetOptions{}); err != nil {
		t.Errorf("MPI SSH secret: %v", err)
	}
	if cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, name+"-mpi-hostfile", metav1.GetOptions{}); err != nil {
		t.Errorf("MPI hostfile: %v", err)
	} else if hf := cm.Data["hostfile"]; !strings.Contains(hf, "slots=1") {
		t.Errorf("hostfile %q", hf)
	}

	if err := harness.SetPodExitCode(ctx, ns, launcher, 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, "TrainJob Complete", func(ctx context.Context) (bool, error) {
		u, err := dyn.Resource(trainJobs).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if s := condStatus(u, "Complete"); s != "True" {
			return false, fmt.Errorf("Complete=%q, conditions %v", s, u.Object["status"])
		}
		return true, nil
	})
}

var (
	resourceFlavors = schema.GroupVersionResource{Group: "kueue.x-k8s.io", Version: "v1beta2", Resource: "resourceflavors"}
	clusterQueues   = schema.GroupVersionResource{Group: "kueue.x-k8s.io", Version: "v1beta2", Resource: "clusterqueues"}
	localQueues     = schema.GroupVersionResource{Group: "kueue.x-k8s.io", Version: "v1beta2", Resource: "localqueues"}
	workloads       = schema.GroupVersionResource{Group: "kueue.x-k8s.io", Version: "v1beta2", Resource: "workloads"}
)

// TestTrainJobQueuedByKueue: Kueue's TrainJob integration is on — a
// TrainJob with a queue-name label gets a Workload, is admitted and runs.
func TestTrainJobQueuedByKueue(t *testing.T) {
	ctx := t.Context()
	dyn := dynClient(t, cluster.Admin)
	ns := cluster.TeamA
	id := uniqueName("kq")
	create := func(gvr schema.GroupVersionResource, namespace, manifest string) {
		t.Helper()
		var ri dynamic.ResourceInterface = dyn.Resource(gvr)
		if namespace != "" {
			ri = dyn.Resource(gvr).Namespace(namespace)
		}
		u, err := ri.Create(ctx, mustObject(t, manifest), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create %s: %v", gvr.Resource, err)
		}
		t.Cleanup(func() { _ = ri.Delete(context.Background(), u.GetName(), metav1.DeleteOptions{}) })
	}
	create(resourceFlavors, "", fmt.Sprintf("{apiVersion: kueue.x-k8s.io/v1beta2, kind: ResourceFlavor, metadata: {name: %s}}", id))
	create(clusterQueues, "", fmt.Sprintf(`
apiVersion: kueue.x-k8s.io/v1beta2
kind: ClusterQueue
metadata: {name: %s}
spec:
  namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: %s}}
  resourceGroups:
  - coveredResources: [cpu, memory]
    flavors:
    - name: %s
      resources:
      - {name: cpu, nominalQuota: "10"}
      - {name: memory, nominalQuota: 10Gi}
`, id, ns, id))
	create(localQueues, ns, fmt.Sprintf("{apiVersion: kueue.x-k8s.io/v1beta2, kind: LocalQueue, metadata: {name: %s, namespace: %s}, spec: {clusterQueue: %s}}", id, ns, id))
	create(clusterTrainingRuntimes, "", fmt.Sprintf(mpiRuntime, id))
	create(trainJobs, ns, fmt.Sprintf(`
apiVersion: trainer.kubeflow.org/v1alpha1
kind: TrainJob
metadata:
  name: %s
  namespace: %s
  labels: {kueue.x-k8s.io/queue-name: %s}
spec:
  runtimeRef: {name: %s, kind: ClusterTrainingRuntime, apiGroup: trainer.kubeflow.org}
  trainer:
    numNodes: 2
    resourcesPerNode: {requests: {cpu: 500m}}
`, id, ns, id, id))
	waitFor(t, 2*time.Minute, "Kueue admits the TrainJob's Workload and its JobSet runs", func(ctx context.Context) (bool, error) {
		wls, err := dyn.Resource(workloads).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		admitted := false
		for _, wl := range wls.Items {
			for _, o := range wl.GetOwnerReferences() {
				if o.Kind == "TrainJob" && o.Name == id {
					admitted = condStatus(&wl, "Admitted") == "True"
				}
			}
		}
		if !admitted {
			return false, fmt.Errorf("no admitted Workload owned by TrainJob %s", id)
		}
		if _, err := dyn.Resource(jobSets).Namespace(ns).Get(ctx, id, metav1.GetOptions{}); err != nil {
			return false, err
		}
		tj, err := dyn.Resource(trainJobs).Namespace(ns).Get(ctx, id, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		suspended, _, _ := unstructured.NestedBool(tj.Object, "spec", "suspend")
		return !suspended, fmt.Errorf("TrainJob still suspended")
	})
}
