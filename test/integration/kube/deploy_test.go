//go:build integration

package kube_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/odh-training/odh-training/test/cluster"
)

// deploy/ builds with kustomize and every object passes the API server's
// validation (server-side dry run): the vendored CRD, the operator with the
// RBAC fix, and the odh-server objects.
func TestDeployManifests(t *testing.T) {
	t.Parallel()
	kubectl := harness.Layout.Bin("kubectl")
	build := exec.Command(kubectl, "kustomize", "deploy")
	build.Dir = repoRoot
	out, err := build.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize deploy: %v", err)
	}
	for _, want := range []string{"kind: CustomResourceDefinition", "name: mpijobs.kubeflow.org", "jobs/status", "--lock-namespace=mpi-operator",
		"image: mpioperator/mpi-operator:0.8.2", "name: odh-training-server", "--engine=kubernetes", "kind: PersistentVolumeClaim"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("kustomize output lacks %q", want)
		}
	}
	// The harness registers deploy/webhook's configurations under their own
	// names with a loopback URL; applied over them, the Service reference
	// would join the URL. Check deploy's under another name.
	out = bytes.ReplaceAll(out, []byte("name: odh-training-mpijobs\n"), []byte("name: odh-training-mpijobs-deploy-test\n"))
	apply := exec.Command(kubectl, "--kubeconfig", harness.Kubeconfig(cluster.Admin), "apply", "--server-side", "--dry-run=server", "--force-conflicts", "--field-manager=odh-deploy-test", "-f", "-")
	apply.Stdin = bytes.NewReader(out)
	res, err := apply.CombinedOutput()
	if err != nil {
		t.Fatalf("server-side dry run of deploy/: %v\n%s", err, res)
	}
	if n := strings.Count(string(res), "(server dry run)"); n < 15 {
		t.Errorf("only %d objects applied:\n%s", n, res)
	}
}
