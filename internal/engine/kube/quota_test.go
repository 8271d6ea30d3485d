package kube

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/odh-training/odh-training/internal/job"
)

func rq(name string, hard, used map[corev1.ResourceName]string) corev1.ResourceQuota {
	q := corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: name}}
	q.Status.Hard, q.Status.Used = corev1.ResourceList{}, corev1.ResourceList{}
	for k, v := range hard {
		q.Status.Hard[k] = resource.MustParse(v)
	}
	for k, v := range used {
		q.Status.Used[k] = resource.MustParse(v)
	}
	return q
}

func quotaJob(workers int32, cpu string, gpus int32, suspend bool) *job.MPIJob {
	j := &job.MPIJob{Metadata: job.ObjectMeta{Name: "big", Namespace: "team-a"}}
	j.Spec.Workers.Replicas = &workers
	j.Spec.Workers.Resources = job.Resources{CPU: job.Quantity(cpu), Memory: "1Gi", GPUs: gpus}
	j.Spec.Launcher.Resources = job.Resources{CPU: "500m", Memory: "512Mi"}
	j.Spec.RunPolicy.Suspend = suspend
	return j
}

func TestQuotaViolations(t *testing.T) {
	quotas := []corev1.ResourceQuota{
		// Short and long forms; the tighter one counts.
		rq("compute", map[corev1.ResourceName]string{"requests.cpu": "8", "memory": "64Gi", "requests.nvidia.com/gpu": "4"}, map[corev1.ResourceName]string{"requests.cpu": "6", "memory": "10Gi", "requests.nvidia.com/gpu": "1"}),
		rq("cpu-short", map[corev1.ResourceName]string{"cpu": "20"}, map[corev1.ResourceName]string{"cpu": "1"}),
		rq("pods", map[corev1.ResourceName]string{"pods": "10"}, map[corev1.ResourceName]string{"pods": "9"}),
	}
	limits := quotaLimits(quotas)
	type v struct{ Resource, Requested, Available, Limit, Source string }
	conv := func(in []job.QuotaViolation) []v {
		var out []v
		for _, x := range in {
			out = append(out, v{x.Resource, x.Requested, x.Available, x.Limit, x.Source})
		}
		return out
	}
	j := quotaJob(2, "2", 2, false) // 4.5 cpu, 2.5Gi, 4 GPUs, 3 pods
	over, _ := quotaViolations(j, jobRequests(j), limits)
	want := []v{
		{"cpu", "4500m", "2", "8", "ResourceQuota compute"},
		{"nvidia.com/gpu", "4", "3", "4", "ResourceQuota compute"},
		{"pods", "3", "1", "10", "ResourceQuota pods"},
	}
	if diff := cmp.Diff(want, conv(over)); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
	// A job that fits passes; a suspended job is held to the hard limits only.
	small := quotaJob(1, "1", 1, false)
	small.Spec.Workers.Replicas = new(int32(0))
	if over, _ := quotaViolations(small, jobRequests(small), limits); len(over) != 0 {
		t.Errorf("a job that fits: %v", over)
	}
	susp := quotaJob(2, "2", 2, true)
	if over, _ := quotaViolations(susp, jobRequests(susp), limits); len(over) != 0 {
		t.Errorf("suspended job within hard limits: %v", over)
	}
	huge := quotaJob(8, "2", 1, true)
	over, _ = quotaViolations(huge, jobRequests(huge), limits)
	if len(over) == 0 || over[0].Resource != "cpu" {
		t.Errorf("suspended job over the hard limit: %v", over)
	}
	// No cpu request under a cpu quota: a warning, not a rejection.
	none := quotaJob(1, "", 0, false)
	none.Spec.Workers.Replicas = new(int32(0))
	none.Spec.Launcher.Resources.CPU = ""
	over, warnings := quotaViolations(none, jobRequests(none), limits)
	if len(over) != 0 || len(warnings) == 0 || !strings.Contains(warnings[0], "requests none") {
		t.Errorf("no request: %v %v", over, warnings)
	}
}

func TestKueueQuota(t *testing.T) {
	cq := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "team-a-cq"},
		"spec": map[string]any{"resourceGroups": []any{
			map[string]any{"coveredResources": []any{"cpu", "memory"}, "flavors": []any{
				map[string]any{"name": "default", "resources": []any{
					map[string]any{"name": "cpu", "nominalQuota": "10"},
					map[string]any{"name": "memory", "nominalQuota": "64Gi"},
				}},
				map[string]any{"name": "spot", "resources": []any{
					map[string]any{"name": "cpu", "nominalQuota": int64(6)},
					map[string]any{"name": "memory", "nominalQuota": "32Gi"},
				}},
			}},
			map[string]any{"coveredResources": []any{"nvidia.com/gpu"}, "flavors": []any{
				map[string]any{"name": "a100", "resources": []any{map[string]any{"name": "nvidia.com/gpu", "nominalQuota": "4"}}},
			}},
		}},
		"status": map[string]any{"flavorsUsage": []any{
			map[string]any{"name": "default", "resources": []any{map[string]any{"name": "cpu", "total": "9"}}},
			map[string]any{"name": "a100", "resources": []any{map[string]any{"name": "nvidia.com/gpu", "total": "2"}}},
		}},
	}}
	nominal, used := kueueQuota(cq)
	for name, want := range map[string]string{"cpu": "16", "memory": "96Gi", "nvidia.com/gpu": "4"} {
		if q := nominal[name]; q.Cmp(resource.MustParse(want)) != 0 {
			t.Errorf("nominal %s = %s, want %s", name, q.String(), want)
		}
	}
	if q := used["cpu"]; q.Cmp(resource.MustParse("9")) != 0 {
		t.Errorf("used cpu = %s", q.String())
	}
	// 8 workers × 2 cpu + 0.5 = 16.5 > 16 nominal: never admitted. GPUs 3 > 2 free: waits.
	j := quotaJob(8, "2", 0, false)
	j.Spec.Workers.Resources.GPUs = 0
	want := jobRequests(j)
	want["nvidia.com/gpu"] = *resource.NewQuantity(3, resource.DecimalSI)
	over, warnings := kueueViolations(cq, want)
	if len(over) != 1 || over[0].Resource != "cpu" || over[0].Requested != "16500m" || over[0].Available != "7" || over[0].Limit != "16" || over[0].Source != "ClusterQueue team-a-cq" {
		t.Errorf("violations: %+v", over)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "3 nvidia.com/gpu but ClusterQueue team-a-cq has 2 free") {
		t.Errorf("warnings: %v", warnings)
	}
}

func TestJobNetworkPolicy(t *testing.T) {
	u := &kubeflow.MPIJob{ObjectMeta: metav1.ObjectMeta{Name: "pi", Namespace: "team-a", UID: "uid-1"}}
	np := jobNetworkPolicy(u)
	if np.Name != "pi-mpi" || np.OwnerReferences[0].UID != "uid-1" || np.OwnerReferences[0].Kind != "MPIJob" {
		t.Errorf("metadata: %+v", np.ObjectMeta)
	}
	sel := np.Spec.PodSelector.MatchLabels
	if sel[kubeflow.JobNameLabel] != "pi" || np.Spec.Ingress[0].From[0].PodSelector.MatchLabels[kubeflow.JobNameLabel] != "pi" {
		t.Errorf("selectors: %+v", np.Spec)
	}
}
