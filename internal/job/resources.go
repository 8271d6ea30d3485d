package job

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Quantity is a Kubernetes resource quantity kept as the user wrote it
// ("500m", "16Gi"). In YAML it may be written as a bare number (cpu: 4).
type Quantity string

// UnmarshalJSON accepts a JSON string or number.
func (q *Quantity) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*q = Quantity(s)
		return nil
	}
	if string(b) == "null" {
		*q = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("quantity must be a string or a number, like \"500m\" or 4")
	}
	*q = Quantity(n.String())
	return nil
}

// Parse parses the quantity; the empty quantity is zero.
func (q Quantity) Parse() (resource.Quantity, error) {
	if q == "" {
		return resource.Quantity{}, nil
	}
	return resource.ParseQuantity(string(q))
}

// Totals is what a job requests in total: workers × per worker + launcher.
type Totals struct {
	CPU    string `json:"cpu,omitempty"`
	Memory string `json:"memory,omitempty"`
	GPUs   int32  `json:"gpus,omitempty"`
	Slots  int32  `json:"slots,omitempty"`
}

// Requests are the totals as parsed quantities, for comparison with quotas.
type Requests struct {
	CPU    resource.Quantity
	Memory resource.Quantity
	GPUs   int64
	Slots  int64
}

// TotalRequests computes the job's total requests. Quantities that do not
// parse count as zero; Validate reports them.
func TotalRequests(s *Spec) Requests {
	n := int64(s.Replicas())
	var r Requests
	wc, _ := s.Workers.Resources.CPU.Parse()
	wm, _ := s.Workers.Resources.Memory.Parse()
	lc, _ := s.Launcher.Resources.CPU.Parse()
	lm, _ := s.Launcher.Resources.Memory.Parse()
	r.CPU = mul(wc, n)
	r.CPU.Add(lc)
	r.Memory = mul(wm, n)
	r.Memory.Add(lm)
	r.GPUs = n*int64(s.Workers.Resources.GPUs) + int64(s.Launcher.Resources.GPUs)
	r.Slots = int64(s.Ranks())
	return r
}

// Totals returns TotalRequests in display form (HumanCPU, HumanMemory):
// 1,000 workers of 20Mi are "19.5Gi", not "20000Mi".
func (r Requests) Totals() Totals {
	return Totals{CPU: HumanCPU(r.CPU), Memory: HumanMemory(r.Memory), GPUs: int32(r.GPUs), Slots: int32(r.Slots)}
}

// HumanMemory writes a byte quantity in the largest binary unit that keeps
// it at 1 or more, with up to three significant digits: 19.5Gi, 512Mi,
// 1.25Ti, 100 (bytes). The result is still a valid quantity, rounded.
func HumanMemory(q resource.Quantity) string {
	if q.IsZero() {
		return "0"
	}
	v := q.AsApproximateFloat64()
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	units := []string{"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"}
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return sign + threeDigits(v) + units[i]
}

// HumanCPU writes cores with up to three significant digits, and
// quantities under one core in millicores: 2000, 1.5, 250m.
func HumanCPU(q resource.Quantity) string {
	if q.IsZero() {
		return "0"
	}
	v := q.AsApproximateFloat64()
	if v > -1 && v < 1 {
		return threeDigits(v*1000) + "m"
	}
	return threeDigits(v)
}

// threeDigits rounds to three significant digits (whole numbers of 1,000
// and more keep all their digits) without trailing zeros.
func threeDigits(v float64) string {
	var s string
	switch a := max(v, -v); {
	case a >= 100:
		s = fmt.Sprintf("%.0f", v)
	case a >= 10:
		s = fmt.Sprintf("%.1f", v)
	default:
		s = fmt.Sprintf("%.2f", v)
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func mul(q resource.Quantity, n int64) resource.Quantity {
	out := q.DeepCopy()
	out.Mul(n)
	return out
}
