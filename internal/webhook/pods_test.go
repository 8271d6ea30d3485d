package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/odh-training/odh-training/internal/podpolicy"
)

// onePolicy answers the same pod policy for every namespace.
type onePolicy struct {
	p   *podpolicy.Policy
	err error
}

func (o onePolicy) For(_ context.Context, ns string) (*podpolicy.Policy, podpolicy.Env, error) {
	return o.p, podpolicy.Env{Namespace: ns}, o.err
}

// mutated runs the mutating webhook on obj as the API server would before
// validation, and returns the result as JSON.
func mutated(t *testing.T, h *Handler, obj string) string {
	t.Helper()
	m := applyPatch(t, obj, post(t, Routes(h), PathMutate, review("CREATE", "alice", nil, obj, "")))
	b, _ := json.Marshal(m)
	return string(b)
}

func causesOf(r *admissionv1.AdmissionResponse) []string {
	var out []string
	if r.Result != nil && r.Result.Details != nil {
		for _, c := range r.Result.Details.Causes {
			out = append(out, string(c.Type)+" "+c.Field)
		}
	}
	return out
}

func TestPodPolicy(t *testing.T) {
	policy := &podpolicy.Policy{Name: "team-a", Spec: podpolicy.TrainingPolicySpec{MaxPerJob: corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("8")}}}
	h := testHandler()
	h.Namespaces = nil // the policy file alone: no GPU limit there
	h.Pods = onePolicy{p: policy}
	hostPath := replace(`"Worker":{"replicas":2,"template":{"spec":{`, `"Worker":{"replicas":2,"template":{"spec":{"volumes":[{"name":"root","hostPath":{"path":"/"}}],`)
	privileged := replace(`"name":"launcher",`, `"name":"launcher","securityContext":{"privileged":true},`)
	initGPUs := replace(`"Launcher":{"replicas":1,"template":{"spec":{`, `"Launcher":{"replicas":1,"template":{"spec":{"initContainers":[{"name":"warm","image":"quay.io/team-a/mpi-pi:1","resources":{"limits":{"nvidia.com/gpu":"8"}}}],`)
	suspend := replace(`"runPolicy":{"cleanPodPolicy":"Running"}`, `"runPolicy":{"cleanPodPolicy":"Running","suspend":true}`)

	for _, tc := range []struct {
		name    string
		op      string
		obj     string
		old     string
		allowed bool
		causes  []string
		msg     []string
	}{
		{name: "a mutated non-root job passes", op: "CREATE", obj: mutated(t, h, jobJSON("")), allowed: true},
		{name: "hostPath", op: "CREATE", obj: mutated(t, h, jobJSON("", hostPath)),
			causes: []string{"FieldValueForbidden spec.mpiReplicaSpecs[Worker].template.spec.volumes[0].hostPath"},
			msg:    []string{`MPIJob "pi" violates the policy of namespace team-a (TrainingPolicy "team-a"); nothing was created or changed`, `hostPath volumes expose the node's files (here "/")`}},
		{name: "GPUs in an init container count", op: "CREATE", obj: mutated(t, h, jobJSON("", initGPUs)),
			causes: []string{"FieldValueForbidden spec.mpiReplicaSpecs"}, msg: []string{"Launcher: 1 × 8 (an init container's request), Worker: 2 × 2"}},
		{name: "an update may not add a violation", op: "UPDATE", obj: mutated(t, h, jobJSON("alice", hostPath, privileged)), old: mutated(t, h, jobJSON("alice", hostPath)),
			causes: []string{"FieldValueForbidden spec.mpiReplicaSpecs[Launcher].template.spec.containers[0].securityContext.privileged"}},
		{name: "an update of a job that predates the policy may suspend it", op: "UPDATE", obj: mutated(t, h, jobJSON("alice", hostPath, suspend)), old: mutated(t, h, jobJSON("alice", hostPath)), allowed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, Routes(h), PathValidate, review(tc.op, "alice", nil, tc.obj, tc.old))
			if r.Allowed != tc.allowed {
				t.Fatalf("allowed = %v: %+v", r.Allowed, r.Result)
			}
			if tc.allowed {
				return
			}
			if r.Result.Code != 403 {
				t.Errorf("code %d, want 403", r.Result.Code)
			}
			if diff := cmp.Diff(tc.causes, causesOf(r)); diff != "" {
				t.Errorf("causes (-want +got):\n%s", diff)
			}
			for _, m := range tc.msg {
				if !strings.Contains(r.Result.Message, m) {
					t.Errorf("message %q lacks %q", r.Result.Message, m)
				}
			}
		})
	}

	// Without a decided policy, nothing is admitted.
	h.Pods = onePolicy{err: errors.New(`TrainingPolicies "a", "b" all name it in spec.namespaces`)}
	r := post(t, Routes(h), PathValidate, review("CREATE", "alice", nil, mutated(t, h, jobJSON("")), ""))
	if r.Allowed || !strings.Contains(r.Result.Message, `TrainingPolicies "a", "b"`) {
		t.Errorf("an undecidable policy admitted the job: %+v", r.Result)
	}
}

// The policy file's max-gpus-per-job counts every container, init
// containers included (it used to count the main container only).
func TestPolicyFileGPUsCountInitContainers(t *testing.T) {
	h := testHandler() // team-a: at most 8 GPUs per job
	obj := jobJSON("alice", replace(`"Launcher":{"replicas":1,"template":{"spec":{`,
		`"Launcher":{"replicas":1,"template":{"spec":{"initContainers":[{"name":"warm","image":"quay.io/team-a/mpi-pi:1","resources":{"limits":{"nvidia.com/gpu":"5"}}}],`))
	r := post(t, Routes(h), PathValidate, review("CREATE", "alice", nil, obj, ""))
	if r.Allowed || !strings.Contains(r.Result.Message, "requests 9 GPUs in total, more than the maximum of 8") {
		t.Errorf("4 worker GPUs and 5 in an init container were admitted under a cap of 8: %+v", r.Result)
	}
}
