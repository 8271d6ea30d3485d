//go:build integration

package security_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/test/cluster"
)

// attack is one manifest of internal/podpolicy/testdata/attacks: what it
// tries and the fields its refusal must name.
type attack struct {
	name, what, doc string
	want            []string // field paths
}

func loadAttacks(t *testing.T) []attack {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "internal", "podpolicy", "testdata", "attacks", "*.yaml"))
	if err != nil || len(files) < 10 {
		t.Fatalf("attack manifests: %v (%d)", err, len(files))
	}
	var out []attack
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		a := attack{name: strings.TrimSuffix(filepath.Base(f), ".yaml"), doc: string(data)}
		for _, line := range strings.Split(a.doc, "\n") {
			if w, ok := strings.CutPrefix(line, "# want: "); ok && w != "nothing (admitted)" {
				_, path, _ := strings.Cut(w, " ")
				a.want = append(a.want, path)
			}
			if w, ok := strings.CutPrefix(line, "# attack: "); ok {
				a.what = w
			}
		}
		out = append(out, a)
	}
	return out
}

// attackNamespace is a namespace of its own where alice is a data
// scientist, under internal/podpolicy/testdata/attack-policy.yaml (the
// default rules plus a GPU cap of 2 per job), with a victim job whose SSH
// key the attacks go after.
func attackNamespace(t *testing.T, suffix string) string {
	t.Helper()
	ensurePolicyCRD(t)
	ctx := t.Context()
	ns := "sec-attack-" + suffix + "-" + runID
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"odh.test/security": runID}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteNamespace(ns) })
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "sec-alice"}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: cluster.RoleDataScientist},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "alice"}}}
	if _, err := admin.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(repoRoot, "internal", "podpolicy", "testdata", "attack-policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	policy := strings.Replace(strings.Replace(string(data), "namespaces: [attack-suite]", "namespaces: ["+ns+"]", 1), "name: attack-suite", "name: "+ns, 1)
	if out, err := kubectlStdin(cluster.Admin, policy, "apply", "--server-side", "--field-manager=odh-security-test", "-f", "-"); err != nil {
		t.Fatalf("apply the attack policy: %v\n%s", err, out)
	}
	t.Cleanup(func() { _, _ = kubectl(cluster.Admin, "delete", "--ignore-not-found", "trainingpolicy", ns) })
	// The victim: bob's job with its SSH key (the secret the operator would
	// make; made here so that the attack has a real target).
	if _, err := admin.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "victim-ssh"}, Type: corev1.SecretTypeSSHAuth,
		Data: map[string][]byte{corev1.SSHAuthPrivateKey: []byte("not a real key")}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Both odh-webhook and odh-server must see the policy before the
	// attacks: the good manifest passes, the GPU attack fails on the cap.
	waitFor(t, 90*time.Second, "odh-webhook and odh-server see the attack policy", func() error {
		out, err := kubectlDryRun(t, ns, loadAttack(t, "gpus-in-init-container"))
		if err == nil || !strings.Contains(out, "more than the 2 per job") {
			return fmt.Errorf("odh-webhook: GPU attack: %v %s", err, out)
		}
		body, _ := json.Marshal(map[string]any{"manifest": loadAttack(t, "gpus-in-init-container"), "dryRun": true})
		if code, resp := restCall(t, cluster.Alice, http.MethodPost, "/api/v1/namespaces/"+ns+"/mpijobs", string(body)); !strings.Contains(resp, "more than the 2 per job") {
			return fmt.Errorf("odh-server: GPU attack: HTTP %d %s", code, resp)
		}
		return nil
	})
	return ns
}

func loadAttack(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "internal", "podpolicy", "testdata", "attacks", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func kubectlDryRun(t *testing.T, ns, doc string) (string, error) {
	t.Helper()
	return kubectlStdin(cluster.Alice, doc, "-n", ns, "create", "--dry-run=server", "-f", "-")
}

// nothingCreated asserts that no MPIJob and no pod of the attack exist.
func nothingCreated(t *testing.T, ns, via string) {
	t.Helper()
	if _, err := userMPI(cluster.Admin).KubeflowV2beta1().MPIJobs(ns).Get(t.Context(), "attack", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("%s: an MPIJob was created (%v)", via, err)
		_ = userMPI(cluster.Admin).KubeflowV2beta1().MPIJobs(ns).Delete(t.Context(), "attack", metav1.DeleteOptions{})
	}
	pods, err := admin.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "training.kubeflow.org/job-name=attack"})
	if err != nil || len(pods.Items) > 0 {
		t.Errorf("%s: pods of the attack: %v %v", via, err, pods)
	}
}

// TestAttacks tries every attack of internal/podpolicy/testdata/attacks as
// a data scientist through kubectl (the raw manifest), the REST API and the
// gRPC API (the same manifest): each is refused with the field it abuses,
// and nothing is created. The good manifest of the same set is admitted.
func TestAttacks(t *testing.T) {
	ns := attackNamespace(t, "raw")
	grpcc := newGRPC(t)
	for _, a := range loadAttacks(t) {
		t.Run(a.name, func(t *testing.T) {
			if len(a.want) == 0 {
				if out, err := kubectlDryRun(t, ns, a.doc); err != nil {
					t.Fatalf("%s refused: %v\n%s", a.what, err, out)
				}
				return
			}
			// kubectl: odh-webhook refuses.
			out, err := kubectlStdin(cluster.Alice, a.doc, "-n", ns, "create", "-f", "-")
			if err == nil {
				t.Fatalf("kubectl: %s was admitted:\n%s", a.what, out)
			}
			mustContain(t, "kubectl", out, append([]string{denial, "violates the policy of namespace " + ns}, a.want...)...)
			nothingCreated(t, ns, "kubectl")

			// REST: the Training Service refuses before sending anything,
			// with the same fields, also in a dry run.
			body, _ := json.Marshal(map[string]any{"manifest": a.doc})
			for _, dry := range []bool{true, false} {
				b := string(body)
				if dry {
					b = strings.Replace(b, "{", `{"dryRun":true,`, 1)
				}
				code, resp := restCall(t, cluster.Alice, http.MethodPost, "/api/v1/namespaces/"+ns+"/mpijobs", b)
				if code != http.StatusForbidden {
					t.Errorf("REST (dry run %v): HTTP %d, want 403: %s", dry, code, resp)
				}
				mustContain(t, "REST", resp, a.want...)
			}
			nothingCreated(t, ns, "REST")

			// gRPC.
			ctx, cancel := grpcCtx(cluster.Alice)
			defer cancel()
			_, err = grpcc.rpc.CreateJob(ctx, &trainingv1.CreateJobRequest{Namespace: ns, Manifest: a.doc})
			if status.Code(err) != codes.PermissionDenied {
				t.Fatalf("gRPC: %v, want PermissionDenied", err)
			}
			je := apiconv.Classify(err)
			var fields []string
			for _, f := range je.Fields {
				fields = append(fields, f.Field)
			}
			for _, w := range a.want {
				found := false
				for _, f := range fields {
					found = found || f == w
				}
				if !found {
					t.Errorf("gRPC: the refusal's fields %v lack %s", fields, w)
				}
			}
			nothingCreated(t, ns, "gRPC")
		})
	}
}

// restCall sends one request to odh-server as user and returns the status
// and body.
func restCall(t *testing.T, user, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srvURL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token(user))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(b)
}

// High-level specs are held to the same policy; the refusal names the
// fields of the high-level spec.
func TestAttacksHighLevel(t *testing.T) {
	ns := attackNamespace(t, "hl")
	for _, tc := range []struct{ name, spec, want string }{
		{"hostPath", `"volumes": [{"name": "root", "mountPath": "/host", "hostPath": "/"}]`, "spec.volumes[0].hostPath"},
		{"other-ssh-secret", `"volumes": [{"name": "key", "mountPath": "/tmp/key", "secret": "victim-ssh"}]`, "spec.volumes[0].secret"},
		{"toleration", `"tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]`, "spec.tolerations[0]"},
		{"priority-class", `"scheduling": {"priorityClass": "system-cluster-critical"}`, "spec.scheduling.priorityClass"},
		{"gpus", `"workers": {"replicas": 2, "resources": {"cpu": "100m", "memory": "64Mi", "gpus": 2}}`, "spec.workers.resources"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := `"image": "quay.io/odh/mpi-pi:1", "command": ["python3", "train.py"], "launcher": {"resources": {"cpu": "100m", "memory": "64Mi"}}, ` + tc.spec
			if !strings.Contains(tc.spec, `"workers"`) {
				spec += `, "workers": {"replicas": 1, "resources": {"cpu": "100m", "memory": "64Mi"}}`
			}
			body := fmt.Sprintf(`{"job": {"metadata": {"name": "attack"}, "spec": {%s}}}`, spec)
			code, resp := restCall(t, cluster.Alice, http.MethodPost, "/api/v1/namespaces/"+ns+"/mpijobs", body)
			if code != http.StatusForbidden {
				t.Fatalf("HTTP %d, want 403: %s", code, resp)
			}
			mustContain(t, "REST", resp, tc.want, "violates the policy of namespace "+ns)
			nothingCreated(t, ns, "REST")
		})
	}
}
