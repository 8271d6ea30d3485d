package job

import (
	"bytes"
	"encoding/json"
	"fmt"

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

// Totals returns TotalRequests in display form.
func (r Requests) Totals() Totals {
	return Totals{CPU: canonical(r.CPU), Memory: canonical(r.Memory), GPUs: int32(r.GPUs), Slots: int32(r.Slots)}
}

func mul(q resource.Quantity, n int64) resource.Quantity {
	out := q.DeepCopy()
	out.Mul(n)
	return out
}

func canonical(q resource.Quantity) string {
	if q.IsZero() {
		return "0"
	}
	return q.String()
}
