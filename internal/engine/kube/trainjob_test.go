package kube

import (
	"encoding/json"
	"strings"
	"testing"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/odh-training/odh-training/internal/job"
)

func TestNormalizeJobSetPod(t *testing.T) {
	for _, tc := range []struct {
		rjob, index, role, replica string
	}{
		{"launcher", "0", "launcher", ""},
		{"node", "3", "worker", "3"},
	} {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{jobSetNameLabel: "pi", replicatedJobLabel: tc.rjob, jobCompletionIndexKey: tc.index}}}
		o, _ := normalizeJobSetPod(p)
		l := o.(*corev1.Pod).Labels
		if l[kubeflow.JobNameLabel] != "pi" || l[kubeflow.JobRoleLabel] != tc.role || l[kubeflow.ReplicaIndexLabel] != tc.replica {
			t.Errorf("%s: labels %v", tc.rjob, l)
		}
	}
	other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}}}
	if o, _ := normalizeJobSetPod(other); len(o.(*corev1.Pod).Labels) != 1 {
		t.Error("a pod outside any JobSet was relabelled")
	}
}

func TestTrainJobEventName(t *testing.T) {
	for _, tc := range []struct{ kind, name, want string }{
		{"TrainJob", "pi", "pi"},
		{"JobSet", "pi", "pi"},
		{"Job", "pi-node-0", "pi"},
		{"Job", "pi-launcher-0", "pi"},
		{"Pod", "pi-node-0-3-abcde", "pi"},
		{"Pod", "pi-worker-3", ""},
		{"Workload", "trainjob-pi-1a2b3", "pi"},
	} {
		if got := trainJobEventName(corev1.ObjectReference{Kind: tc.kind, Name: tc.name}); got != tc.want {
			t.Errorf("%s/%s: %q, want %q", tc.kind, tc.name, got, tc.want)
		}
	}
}

func trainJobObject(conds ...map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": job.TrainJobAPIVersion, "kind": "TrainJob",
		"metadata": map[string]any{"name": "pi", "namespace": "ns", "uid": "u1", "creationTimestamp": "2026-01-01T00:00:00Z"},
		"spec":     map[string]any{"runtimeRef": map[string]any{"name": "odh-openmpi4"}, "trainer": map[string]any{"numNodes": int64(2)}},
	}}
	if len(conds) > 0 {
		var cs []any
		for _, c := range conds {
			cs = append(cs, c)
		}
		u.Object["status"] = map[string]any{"conditions": cs, "jobsStatus": []any{map[string]any{"name": "node"}}}
	}
	return u
}

// mpiView maps Trainer's conditions and the launcher pod to the MPIJob
// conditions aggregate reads.
func TestMPIView(t *testing.T) {
	running := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{replicatedJobLabel: rjLauncher}}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	readyNode := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{replicatedJobLabel: rjNode}}, Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
	exited := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{replicatedJobLabel: rjLauncher}}, Status: corev1.PodStatus{Phase: corev1.PodSucceeded}}
	at := "2026-01-01T00:01:00Z"
	for _, tc := range []struct {
		name  string
		tj    *unstructured.Unstructured
		pods  []*corev1.Pod
		want  []kubeflow.JobConditionType
		avoid []kubeflow.JobConditionType
	}{
		{"new", trainJobObject(), nil, nil, []kubeflow.JobConditionType{kubeflow.JobCreated}},
		{"launcher before workers", trainJobObject(), []*corev1.Pod{running, readyNode}, []kubeflow.JobConditionType{kubeflow.JobCreated}, []kubeflow.JobConditionType{kubeflow.JobRunning}},
		{"running", trainJobObject(map[string]any{"type": "Suspended", "status": "False", "lastTransitionTime": at}), []*corev1.Pod{running, readyNode, readyNode}, []kubeflow.JobConditionType{kubeflow.JobCreated, kubeflow.JobRunning}, []kubeflow.JobConditionType{kubeflow.JobSuspended}},
		{"launcher exited, outcome not recorded", trainJobObject(), []*corev1.Pod{exited}, []kubeflow.JobConditionType{kubeflow.JobRunning}, nil},
		{"complete", trainJobObject(map[string]any{"type": "Complete", "status": "True", "lastTransitionTime": at}), []*corev1.Pod{running}, []kubeflow.JobConditionType{kubeflow.JobSucceeded}, []kubeflow.JobConditionType{kubeflow.JobRunning}},
		{"failed", trainJobObject(map[string]any{"type": "Failed", "status": "True", "reason": "JobSetFailed", "lastTransitionTime": at}), nil, []kubeflow.JobConditionType{kubeflow.JobFailed}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, v := jobFromTrainJob(tc.tj)
			u := mpiView(tc.tj, v, trainStatusOf(tc.tj), tc.pods, 2)
			has := map[kubeflow.JobConditionType]bool{}
			for _, c := range u.Status.Conditions {
				has[c.Type] = c.Status == corev1.ConditionTrue
			}
			for _, c := range tc.want {
				if !has[c] {
					t.Errorf("no %s condition: %+v", c, u.Status.Conditions)
				}
			}
			for _, c := range tc.avoid {
				if has[c] {
					t.Errorf("unexpected %s condition", c)
				}
			}
		})
	}
}

func mpiRuntime(name, ompi string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": name, "annotations": map[string]any{AnnotationOpenMPIVersion: ompi}},
		"spec": map[string]any{"mlPolicy": map[string]any{"mpi": map[string]any{}}, "template": map[string]any{"spec": map[string]any{"replicatedJobs": []any{
			map[string]any{"name": "node", "template": map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "node", "image": "rt-image"}}}}}}},
		}}}},
	}}
}

func TestTrainJobFor(t *testing.T) {
	j := &job.MPIJob{Metadata: job.ObjectMeta{Name: "pi", Namespace: "ns", Creator: "alice"}, Spec: job.Spec{
		Image: "my-image", Command: []string{"python3", "pi.py"}, Env: []job.EnvVar{{Name: "A", Value: "1"}},
		Workers:  job.WorkerSpec{Replicas: job.Ptr(int32(3)), SlotsPerWorker: job.Ptr(int32(2)), Resources: job.Resources{CPU: "1"}},
		Launcher: job.LauncherSpec{Resources: job.Resources{CPU: "500m"}}, Runtime: "odh-openmpi5",
		NodeSelector: map[string]string{"pool": "mpi"},
	}}
	job.SetDefaults(j)
	u, warnings, err := trainJobFor(j, mpiRuntime("odh-openmpi5", "5"), TranslateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tr, _, _ := unstructured.NestedMap(u.Object, "spec", "trainer")
	if tr["numNodes"] != int64(3) || tr["numProcPerNode"] != int64(2) || tr["image"] != "my-image" {
		t.Errorf("trainer %v", tr)
	}
	cmd, _, _ := unstructured.NestedStringSlice(u.Object, "spec", "trainer", "command")
	if got := strings.Join(cmd, " "); got != "mpirun --hostfile /etc/mpi/hostfile -np 6 python3 pi.py" {
		t.Errorf("command %q", got)
	}
	if rt, _, _ := unstructured.NestedString(u.Object, "spec", "runtimeRef", "name"); rt != "odh-openmpi5" {
		t.Errorf("runtimeRef %q", rt)
	}
	if u.GetAnnotations()[AnnotationCreator] != "alice" || u.GetAnnotations()[AnnotationSpec] == "" || u.GetLabels()[LabelManagedBy] != ManagedBy {
		t.Errorf("metadata %v %v", u.GetLabels(), u.GetAnnotations())
	}
	patches, _, _ := unstructured.NestedSlice(u.Object, "spec", "runtimePatches")
	if len(patches) != 1 || !strings.Contains(toJSON(patches), `"pool":"mpi"`) {
		t.Errorf("runtimePatches %s", toJSON(patches))
	}
	if !strings.Contains(toJSON(tr["env"]), "PRTE_MCA_plm_ssh_args") {
		t.Errorf("Open MPI 5 env %s", toJSON(tr["env"]))
	}
	joined := strings.Join(warnings, "\n")
	for _, want := range []string{"launcher only", "rt-image", "spec.workers.resources are not applied"} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings lack %q: %q", want, warnings)
		}
	}
	j.Spec.MPIImplementation = job.MPICH
	if _, _, err := trainJobFor(j, mpiRuntime("odh-openmpi5", "5"), TranslateOptions{}); err == nil || !strings.Contains(err.Error(), "accepts only OpenMPI") {
		t.Errorf("MPICH: %v", err)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
