//go:build integration

package cluster_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/odh-training/odh-training/test/cluster"
)

// TestPodMetrics: metrics-server serves metrics.k8s.io PodMetrics for a
// kwok pod with the usage its annotations ask kwok to simulate.
func TestPodMetrics(t *testing.T) {
	ctx := t.Context()
	cs, _ := clients(t, cluster.Admin)
	ns, name := cluster.TeamB, uniqueName("usage")
	_, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{
			cluster.AnnotationUsageCPU: "250m", cluster.AnnotationUsageMemory: "300Mi",
		}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "x"}, {Name: "side", Image: "x"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Pods(ns).Delete(context.Background(), name, metav1.DeleteOptions{}) })
	type usage struct {
		Containers []struct {
			Name  string
			Usage map[string]resource.Quantity
		}
	}
	var got usage
	// Two scrapes at metrics-server's 10 s resolution.
	waitFor(t, 2*time.Minute, "PodMetrics", func(ctx context.Context) (bool, error) {
		raw, err := cs.RESTClient().Get().AbsPath("/apis/metrics.k8s.io/v1beta1/namespaces/" + ns + "/pods/" + name).DoRaw(ctx)
		if err != nil {
			return false, err
		}
		return json.Unmarshal(raw, &got) == nil && len(got.Containers) == 2, nil
	})
	for _, c := range got.Containers {
		cpu, mem := c.Usage["cpu"], c.Usage["memory"]
		if mem.Cmp(resource.MustParse("300Mi")) != 0 {
			t.Errorf("container %s: memory %s, want 300Mi", c.Name, mem.String())
		}
		if cpu.MilliValue() < 200 || cpu.MilliValue() > 300 {
			t.Errorf("container %s: cpu %s, want about 250m", c.Name, cpu.String())
		}
	}
	out, err := exec.CommandContext(ctx, harness.Layout.Bin("kubectl"), "--kubeconfig", harness.Kubeconfig(cluster.Admin), "top", "pod", "-n", ns, name, "--containers").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "300Mi") {
		t.Errorf("kubectl top pod: %v\n%s", err, out)
	}
}
