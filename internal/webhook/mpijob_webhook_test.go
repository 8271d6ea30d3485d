package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"

	"github.com/odh-training/odh-training/internal/engine/kube"
)

// validJob is a kubeflow.org/v2beta1 MPIJob as the API server sends it
// (CRD defaults applied); %s are the creator annotation entries.
const validJob = `{"apiVersion":"kubeflow.org/v2beta1","kind":"MPIJob",
 "metadata":{"name":"pi","namespace":"team-a","annotations":{%s}},
 "spec":{"slotsPerWorker":1,"sshAuthMountPath":"/home/mpiuser/.ssh","mpiImplementation":"OpenMPI","launcherCreationPolicy":"AtStartup",
  "runPolicy":{"cleanPodPolicy":"Running"},
  "mpiReplicaSpecs":{
   "Launcher":{"replicas":1,"template":{"spec":{"containers":[{"name":"launcher","image":"quay.io/team-a/mpi-pi:1","command":["mpirun","-n","2","/pi"]}]}}},
   "Worker":{"replicas":2,"template":{"spec":{"containers":[{"name":"worker","image":"quay.io/team-a/mpi-pi:1","resources":{"limits":{"nvidia.com/gpu":"2"}}}]}}}}}}`

func jobJSON(creator string, edits ...func(string) string) string {
	ann := ""
	if creator != "" {
		ann = `"training.opendatahub.io/creator":"` + creator + `"`
	}
	s := strings.Replace(validJob, "%s", ann, 1)
	for _, e := range edits {
		s = e(s)
	}
	return s
}

func replace(old, new string) func(string) string {
	return func(s string) string {
		if !strings.Contains(s, old) {
			panic("fixture lacks " + old)
		}
		return strings.Replace(s, old, new, 1)
	}
}

// review builds an AdmissionReview body.
func review(op, user string, groups []string, obj, old string) string {
	req := map[string]any{
		"uid":       "u-1",
		"kind":      map[string]string{"group": "kubeflow.org", "version": "v2beta1", "kind": "MPIJob"},
		"resource":  map[string]string{"group": "kubeflow.org", "version": "v2beta1", "resource": "mpijobs"},
		"namespace": "team-a",
		"name":      "pi",
		"operation": op,
		"userInfo":  map[string]any{"username": user, "groups": groups},
	}
	if obj != "" {
		req["object"] = json.RawMessage(obj)
	}
	if old != "" {
		req["oldObject"] = json.RawMessage(old)
	}
	b, _ := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req})
	return string(b)
}

type fakeAccess map[string]bool // user -> manage-all in team-a

func (f fakeAccess) CanManageAll(_ context.Context, u authenticationv1.UserInfo, ns string) (bool, error) {
	return ns == "team-a" && f[u.Username], nil
}

type fakeNamespaces map[string]map[string]string

func (f fakeNamespaces) Annotations(_ context.Context, ns string) (map[string]string, error) {
	return f[ns], nil
}

func testHandler() *Handler {
	return &Handler{
		Policy: &PolicyConfig{
			Defaults:   Rules{AllowedRegistries: []string{"quay.io", "docker.io/mpioperator/"}},
			Namespaces: map[string]Rules{"team-a": {AllowedRegistries: []string{"quay.io/team-a/"}}},
		},
		Namespaces: fakeNamespaces{"team-a": {AnnotationMaxWorkers: "4", AnnotationMaxGPUs: "8"}},
		Access:     fakeAccess{"mlops": true},
	}
}

func post(t *testing.T, h http.Handler, path, body string) *admissionv1.AdmissionResponse {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("POST %s: %d %s", path, rec.Code, rec.Body)
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Response == nil || out.Response.UID != "u-1" || out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" {
		t.Fatalf("malformed response: %s", rec.Body)
	}
	return out.Response
}

func TestValidate(t *testing.T) {
	h := Routes(testHandler())
	withFinalizer := replace(`"namespace":"team-a",`, `"namespace":"team-a","finalizers":["foregroundDeletion"],`)
	withOtherFinalizer := replace(`"namespace":"team-a",`, `"namespace":"team-a","finalizers":["foregroundDeletion","x.example/keep"],`)
	fewerWorkers := replace(`"Worker":{"replicas":2`, `"Worker":{"replicas":1`)
	cases := []struct {
		name        string
		body        string
		allowed     bool
		code        int32
		msgContains []string
		fields      []string
	}{
		{name: "create by the stamped creator", body: review("CREATE", "alice", nil, jobJSON("alice"), ""), allowed: true},
		{name: "create with a forged creator", body: review("CREATE", "alice", nil, jobJSON("bob"), ""), code: 403,
			msgContains: []string{`training.opendatahub.io/creator="bob"`, `("alice")`}},
		{name: "create without the stamp", body: review("CREATE", "alice", nil, jobJSON(""), ""), code: 403, msgContains: []string{"mutating webhook"}},
		{name: "create invalid", body: review("CREATE", "alice", nil, jobJSON("alice", replace(`"Worker":{"replicas":2`, `"Worker":{"replicas":0`), replace(`"slotsPerWorker":1`, `"slotsPerWorker":0`)), ""), code: 422,
			msgContains: []string{`MPIJob "pi" is invalid`}, fields: []string{"spec.mpiReplicaSpecs[Worker].replicas", "spec.slotsPerWorker"}},
		{name: "create from a registry not allowed", body: review("CREATE", "alice", nil, jobJSON("alice", replace(`"image":"quay.io/team-a/mpi-pi:1","resources"`, `"image":"mpioperator/mpi-pi","resources"`)), ""), code: 403,
			msgContains: []string{`image "mpioperator/mpi-pi" is not from a registry allowed in namespace team-a (quay.io/team-a/)`}, fields: []string{"spec.mpiReplicaSpecs[Worker].template.spec.containers[0].image"}},
		{name: "too many workers (namespace annotation)", body: review("CREATE", "alice", nil, jobJSON("alice", replace(`"Worker":{"replicas":2`, `"Worker":{"replicas":5`)), ""), code: 403,
			msgContains: []string{"5 workers exceed the maximum of 4"}},
		{name: "too many GPUs (namespace annotation)", body: review("CREATE", "alice", nil, jobJSON("alice", replace(`"Worker":{"replicas":2`, `"Worker":{"replicas":3`), replace(`"nvidia.com/gpu":"2"`, `"nvidia.com/gpu":"3"`)), ""), code: 403,
			msgContains: []string{"requests 9 GPUs in total, more than the maximum of 8"}},
		{name: "update by the creator", body: review("UPDATE", "alice", nil, jobJSON("alice", fewerWorkers), jobJSON("alice")), allowed: true},
		{name: "update by someone else", body: review("UPDATE", "bob", nil, jobJSON("alice", fewerWorkers), jobJSON("alice")), code: 403,
			msgContains: []string{`user "bob" may not change MPIJob "pi" in namespace "team-a": it was created by "alice"`, "manage-all"}},
		{name: "update by an MLOps engineer", body: review("UPDATE", "mlops", nil, jobJSON("alice", fewerWorkers), jobJSON("alice")), allowed: true},
		{name: "update to an invalid spec", body: review("UPDATE", "alice", nil, jobJSON("alice", replace(`"slotsPerWorker":1`, `"slotsPerWorker":0`)), jobJSON("alice")), code: 422},
		{name: "creator changed by the creator", body: review("UPDATE", "alice", nil, jobJSON("bob"), jobJSON("alice")), code: 403, msgContains: []string{"cannot be changed"}},
		{name: "creator changed by an MLOps engineer", body: review("UPDATE", "mlops", nil, jobJSON("mlops"), jobJSON("alice")), code: 403, msgContains: []string{"cannot be changed"}},
		{name: "creator removed", body: review("UPDATE", "alice", nil, jobJSON(""), jobJSON("alice")), code: 403},
		{name: "finalizer removed by the garbage collector", body: review("UPDATE", "system:serviceaccount:kube-system:generic-garbage-collector", nil, jobJSON("alice"), jobJSON("alice", withFinalizer)), allowed: true},
		{name: "finalizer removed by anyone", body: review("UPDATE", "bob", nil, jobJSON("alice", withFinalizer), jobJSON("alice", withOtherFinalizer)), allowed: true},
		{name: "finalizer added by someone else", body: review("UPDATE", "bob", nil, jobJSON("alice", withOtherFinalizer), jobJSON("alice", withFinalizer)), code: 403},
		{name: "delete by the creator", body: review("DELETE", "alice", nil, "", jobJSON("alice")), allowed: true},
		{name: "delete by someone else", body: review("DELETE", "bob", nil, "", jobJSON("alice")), code: 403, msgContains: []string{`may not delete MPIJob "pi"`}},
		{name: "delete by an MLOps engineer", body: review("DELETE", "mlops", nil, "", jobJSON("alice")), allowed: true},
		{name: "delete by the namespace controller", body: review("DELETE", "system:serviceaccount:kube-system:namespace-controller", []string{"system:serviceaccounts", "system:serviceaccounts:kube-system"}, "", jobJSON("alice")), allowed: true},
		{name: "delete by a cluster admin", body: review("DELETE", "admin", []string{"system:masters"}, "", jobJSON("alice")), allowed: true},
		{name: "delete of a job without a creator", body: review("DELETE", "bob", nil, "", jobJSON("")), code: 403, msgContains: []string{"created by someone else"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := post(t, h, PathValidate, tc.body)
			if resp.Allowed != tc.allowed {
				t.Fatalf("allowed = %v, want %v: %+v", resp.Allowed, tc.allowed, resp.Result)
			}
			if tc.allowed {
				return
			}
			if resp.Result.Code != tc.code {
				t.Errorf("code = %d, want %d: %s", resp.Result.Code, tc.code, resp.Result.Message)
			}
			for _, m := range tc.msgContains {
				if !strings.Contains(resp.Result.Message, m) {
					t.Errorf("message %q lacks %q", resp.Result.Message, m)
				}
			}
			if tc.fields != nil {
				var got []string
				if resp.Result.Details != nil {
					for _, c := range resp.Result.Details.Causes {
						got = append(got, c.Field)
					}
				}
				for _, f := range tc.fields {
					if !strings.Contains(strings.Join(got, " "), f) {
						t.Errorf("causes %v lack field %s", got, f)
					}
				}
			}
		})
	}
}

func applyPatch(t *testing.T, obj string, resp *admissionv1.AdmissionResponse) map[string]any {
	t.Helper()
	out := []byte(obj)
	if len(resp.Patch) > 0 {
		if resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch {
			t.Fatalf("patch type %v", resp.PatchType)
		}
		p, err := jsonpatch.DecodePatch(resp.Patch)
		if err != nil {
			t.Fatal(err)
		}
		if out, err = p.Apply(out); err != nil {
			t.Fatalf("apply %s: %v", resp.Patch, err)
		}
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func at(m any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			mm, _ := m.(map[string]any)
			m = mm[k]
		case int:
			l, _ := m.([]any)
			if k >= len(l) {
				return nil
			}
			m = l[k]
		}
	}
	return m
}

func TestMutate(t *testing.T) {
	h := Routes(testHandler())
	worker := []any{"spec", "mpiReplicaSpecs", "Worker", "template", "spec"}

	obj := jobJSON("")
	got := applyPatch(t, obj, post(t, h, PathMutate, review("CREATE", "alice", nil, obj, "")))
	if c := at(got, "metadata", "annotations", AnnotationCreator); c != "alice" {
		t.Errorf("creator = %v, want alice", c)
	}
	if p := at(got, append(worker, "securityContext", "seccompProfile", "type")...); p != "RuntimeDefault" {
		t.Errorf("seccomp profile = %v", p)
	}
	if r := at(got, append(worker, "securityContext", "runAsNonRoot")...); r != true {
		t.Errorf("runAsNonRoot = %v, want true for sshd as a non-root user", r)
	}
	sc := at(got, append(worker, "containers", 0, "securityContext")...)
	if diff := cmp.Diff(map[string]any{"allowPrivilegeEscalation": false, "capabilities": map[string]any{"drop": []any{"ALL"}}}, sc); diff != "" {
		t.Errorf("container securityContext (-want +got):\n%s", diff)
	}
	// Everything else is unchanged.
	if at(got, append(worker, "containers", 0, "image")...) != "quay.io/team-a/mpi-pi:1" || at(got, "spec", "slotsPerWorker") != float64(1) {
		t.Errorf("mutation changed the job: %v", got)
	}

	// A pre-set creator is left for the validating webhook to judge; set
	// security fields are kept; sshd as root gets only the seccomp profile.
	obj = jobJSON("bob", replace(`"sshAuthMountPath":"/home/mpiuser/.ssh"`, `"sshAuthMountPath":"/root/.ssh"`),
		replace(`"name":"worker",`, `"name":"worker","securityContext":{"runAsUser":0},`))
	got = applyPatch(t, obj, post(t, h, PathMutate, review("CREATE", "alice", nil, obj, "")))
	if c := at(got, "metadata", "annotations", AnnotationCreator); c != "bob" {
		t.Errorf("pre-set creator rewritten to %v", c)
	}
	if diff := cmp.Diff(map[string]any{"runAsUser": float64(0)}, at(got, append(worker, "containers", 0, "securityContext")...)); diff != "" {
		t.Errorf("root job's securityContext (-want +got):\n%s", diff)
	}
	if at(got, append(worker, "securityContext", "seccompProfile", "type")...) != "RuntimeDefault" {
		t.Error("root job lacks the seccomp default")
	}
	if r := at(got, append(worker, "securityContext", "runAsNonRoot")...); r != nil {
		t.Errorf("root job got runAsNonRoot = %v", r)
	}
	// A job that decided runAsNonRoot itself (here false, on a container)
	// keeps its decision.
	obj = jobJSON("", replace(`"name":"worker",`, `"name":"worker","securityContext":{"runAsNonRoot":false},`))
	got = applyPatch(t, obj, post(t, h, PathMutate, review("CREATE", "alice", nil, obj, "")))
	if r := at(got, append(worker, "securityContext", "runAsNonRoot")...); r != nil {
		t.Errorf("runAsNonRoot = %v added over the container's own", r)
	}
	// Updates are not mutated.
	if r := post(t, h, PathMutate, review("UPDATE", "bob", nil, jobJSON("alice"), jobJSON("alice"))); !r.Allowed || len(r.Patch) > 0 {
		t.Errorf("update mutated: %+v", r)
	}
	// The annotation is the one the kubernetes engine reads.
	if AnnotationCreator != kube.AnnotationCreator {
		t.Errorf("creator annotation %q differs from the engine's %q", AnnotationCreator, kube.AnnotationCreator)
	}
}

func TestOtherResourcesPass(t *testing.T) {
	h := Routes(testHandler())
	body := strings.Replace(review("CREATE", "bob", nil, `{"kind":"Pod"}`, ""), `"resource":"mpijobs"`, `"resource":"pods"`, 1)
	body = strings.Replace(body, `"group":"kubeflow.org","resource"`, `"group":"","resource"`, 1)
	if r := post(t, h, PathValidate, body); !r.Allowed {
		t.Errorf("a pod was judged: %+v", r.Result)
	}
}

func TestMalformedReviews(t *testing.T) {
	h := Routes(testHandler())
	for name, tc := range map[string]struct{ ct, body string }{
		"not JSON":         {"application/json", "{"},
		"wrong type":       {"text/plain", review("CREATE", "a", nil, jobJSON("a"), "")},
		"no request":       {"application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`},
		"no uid":           {"application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}`},
		"wrong kind":       {"application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"Pod","request":{"uid":"x"}}`},
		"trailing data":    {"application/json", review("CREATE", "a", nil, jobJSON("a"), "") + "{}"},
		"too large":        {"application/json", `{"x":"` + strings.Repeat("a", maxReviewBytes) + `"}`},
		"wrong apiVersion": {"application/json", `{"apiVersion":"v1","kind":"AdmissionReview","request":{"uid":"x"}}`},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, PathValidate, bytes.NewBufferString(tc.body))
		req.Header.Set("Content-Type", tc.ct)
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, rec.Code)
		}
	}
	// A well-formed review whose object is not an MPIJob is denied, not a crash.
	r := post(t, h, PathValidate, review("CREATE", "a", nil, `{"spec":{"mpiReplicaSpecs":[1,2]}}`, ""))
	if r.Allowed || r.Result.Code != 400 {
		t.Errorf("bad object: %+v", r)
	}
}
