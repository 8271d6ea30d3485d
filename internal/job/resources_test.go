package job_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/odh-training/odh-training/internal/job"
)

func TestHumanTotals(t *testing.T) {
	for _, tc := range []struct {
		in, memory, cpu string
	}{
		{"0", "0", "0"},
		{"20000Mi", "19.5Gi", ""},
		{"1000Mi", "1000Mi", ""},
		{"1024Mi", "1Gi", ""},
		{"16Gi", "16Gi", ""},
		{"2000Gi", "1.95Ti", ""},
		{"100", "100", "100"},
		{"1536", "1.5Ki", "1536"},
		{"1500m", "", "1.5"},
		{"250m", "", "250m"},
		{"2k", "", "2000"},
		{"33333m", "", "33.3"},
		{"1e3", "", "1000"},
	} {
		q := resource.MustParse(tc.in)
		if tc.memory != "" {
			if got := job.HumanMemory(q); got != tc.memory {
				t.Errorf("HumanMemory(%s) = %s, want %s", tc.in, got, tc.memory)
			}
			if _, err := resource.ParseQuantity(job.HumanMemory(q)); err != nil {
				t.Errorf("HumanMemory(%s) is not a quantity: %v", tc.in, err)
			}
		}
		if tc.cpu != "" {
			if got := job.HumanCPU(q); got != tc.cpu {
				t.Errorf("HumanCPU(%s) = %s, want %s", tc.in, got, tc.cpu)
			}
		}
	}
	s := job.Spec{Workers: job.WorkerSpec{Replicas: job.Ptr(int32(1000)), Resources: job.Resources{CPU: "2", Memory: "20Mi"}}}
	if got := job.TotalRequests(&s).Totals(); got.Memory != "19.5Gi" || got.CPU != "2000" {
		t.Errorf("totals of 1,000 workers × (2 cpu, 20Mi) = %+v", got)
	}
}
