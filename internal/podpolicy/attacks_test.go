package podpolicy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	"sigs.k8s.io/yaml"
)

// The raw manifests of testdata/attacks (also sent through kubectl and the
// API by the attack suite on the harness) are refused exactly where their
// "# want:" lines say, under testdata/attack-policy.yaml.
func TestAttackManifests(t *testing.T) {
	data, err := os.ReadFile("testdata/attack-policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	policy, errs := Parse(data)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	files, _ := filepath.Glob("testdata/attacks/*.yaml")
	if len(files) < 10 {
		t.Fatalf("only %d attack manifests", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, line := range strings.Split(string(data), "\n") {
				if w, ok := strings.CutPrefix(line, "# want: "); ok && w != "nothing (admitted)" {
					want = append(want, w)
				}
			}
			var j kubeflow.MPIJob
			if err := yaml.UnmarshalStrict(data, &j); err != nil {
				t.Fatal(err)
			}
			got := summary(Validate(policy, Env{Namespace: "attack-suite"}, FromMPIJob(&j)))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}
