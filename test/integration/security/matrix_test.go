//go:build integration

package security_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/service"
	"github.com/odh-training/odh-training/test/cluster"
)

// upstreamJob is a small kubeflow.org/v2beta1 MPIJob (one worker).
func upstreamJob(name, ns string, workers int32, suspend bool) *kubeflow.MPIJob {
	res := corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")}}
	return &kubeflow.MPIJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: kubeflow.MPIJobSpec{
			SlotsPerWorker:   new(int32(1)),
			SSHAuthMountPath: "/home/mpiuser/.ssh",
			RunPolicy:        kubeflow.RunPolicy{Suspend: new(suspend)},
			MPIReplicaSpecs: map[kubeflow.MPIReplicaType]*kubeflow.ReplicaSpec{
				kubeflow.MPIReplicaTypeLauncher: {Replicas: new(int32(1)), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "launcher", Image: "quay.io/odh/mpi-pi:1", Command: []string{"mpirun", "-n", "1", "/pi"}, Resources: res}}}}},
				kubeflow.MPIReplicaTypeWorker: {Replicas: new(workers), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "worker", Image: "quay.io/odh/mpi-pi:1", Resources: res}}}}},
			},
		},
	}
}

// createAs creates a suspended job as identity directly on the cluster (the
// webhook stamps the creator).
func createAs(t *testing.T, identity, ns, name string, suspend bool) {
	t.Helper()
	if _, err := userMPI(identity).KubeflowV2beta1().MPIJobs(ns).Create(t.Context(), upstreamJob(name, ns, 1, suspend), metav1.CreateOptions{}); err != nil {
		t.Fatalf("%s creates %s/%s: %v", identity, ns, name, err)
	}
}

// outcome of one cell: allowed, denied, or something else (a test failure).
type outcome string

const (
	allowed outcome = "allow"
	denied  outcome = "deny"
)

// protocol performs the operations as a user and says whether the server
// (or the API server) allowed them.
type protocol interface {
	name() string
	create(user, ns, name string) (outcome, string)
	get(user, ns, name string) (outcome, string)
	list(user, ns string) (outcome, string)
	logs(user, ns, name string) (outcome, string)
	update(user, ns, name string) (outcome, string) // resume a suspended job
	delete(user, ns, name string) (outcome, string)
}

func token(user string) string {
	if user == anonymous {
		return ""
	}
	return harness.Token(user)
}

// ---- REST ------------------------------------------------------------------

type restProto struct{}

func (restProto) name() string { return "REST" }

func (restProto) do(user, method, path, body string) (outcome, string) {
	req, _ := http.NewRequest(method, srvURL+path, strings.NewReader(body))
	if t := token(user); t != "" {
		req.Header.Set("Authorization", "Bearer "+t)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "error", err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	switch {
	case resp.StatusCode < 300:
		return allowed, ""
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized:
		return denied, string(b)
	}
	return outcome(fmt.Sprintf("HTTP %d", resp.StatusCode)), string(b)
}

func highLevel(name string) string {
	return fmt.Sprintf(`{"job": {"metadata": {"name": %q}, "spec": {"image": "quay.io/odh/mpi-pi:1", "command": ["python3", "train.py"], "workers": {"replicas": 1, "resources": {"cpu": "100m", "memory": "64Mi"}}, "launcher": {"resources": {"cpu": "100m", "memory": "64Mi"}}, "runPolicy": {"suspend": true}}}}`, name)
}

func (r restProto) create(user, ns, name string) (outcome, string) {
	return r.do(user, http.MethodPost, "/api/v1/namespaces/"+ns+"/mpijobs", highLevel(name))
}
func (r restProto) get(user, ns, name string) (outcome, string) {
	return r.do(user, http.MethodGet, "/api/v1/namespaces/"+ns+"/mpijobs/"+name, "")
}
func (r restProto) list(user, ns string) (outcome, string) {
	return r.do(user, http.MethodGet, "/api/v1/namespaces/"+ns+"/mpijobs", "")
}
func (r restProto) logs(user, ns, name string) (outcome, string) {
	return r.do(user, http.MethodGet, "/api/v1/namespaces/"+ns+"/mpijobs/"+name+"/logs?all=true", "")
}
func (r restProto) update(user, ns, name string) (outcome, string) {
	return r.do(user, http.MethodPost, "/api/v1/namespaces/"+ns+"/mpijobs/"+name+"/resume", "{}")
}
func (r restProto) delete(user, ns, name string) (outcome, string) {
	return r.do(user, http.MethodDelete, "/api/v1/namespaces/"+ns+"/mpijobs/"+name, "")
}

// ---- gRPC ------------------------------------------------------------------

type grpcProto struct {
	rpc trainingv1.TrainingServiceClient
}

func newGRPC(t *testing.T) grpcProto {
	conn, err := grpc.NewClient(srvAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return grpcProto{rpc: trainingv1.NewTrainingServiceClient(conn)}
}

func (grpcProto) name() string { return "gRPC" }

func grpcCtx(user string) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	if t := token(user); t != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+t)
	}
	return ctx, cancel
}

func grpcOutcome(err error) (outcome, string) {
	switch status.Code(err) {
	case codes.OK:
		return allowed, ""
	case codes.PermissionDenied, codes.Unauthenticated:
		return denied, status.Convert(err).Message()
	}
	return outcome("gRPC " + status.Code(err).String()), status.Convert(err).Message()
}

func (g grpcProto) create(user, ns, name string) (outcome, string) {
	ctx, cancel := grpcCtx(user)
	defer cancel()
	_, err := g.rpc.CreateJob(ctx, &trainingv1.CreateJobRequest{Namespace: ns, Manifest: fmt.Sprintf("metadata: {name: %s}\nspec: {image: quay.io/odh/mpi-pi:1, command: [python3, train.py], workers: {replicas: 1, resources: {cpu: 100m, memory: 64Mi}}, launcher: {resources: {cpu: 100m, memory: 64Mi}}, runPolicy: {suspend: true}}", name)})
	return grpcOutcome(err)
}
func (g grpcProto) get(user, ns, name string) (outcome, string) {
	ctx, cancel := grpcCtx(user)
	defer cancel()
	_, err := g.rpc.GetJob(ctx, &trainingv1.GetJobRequest{Namespace: ns, Name: name})
	return grpcOutcome(err)
}
func (g grpcProto) list(user, ns string) (outcome, string) {
	ctx, cancel := grpcCtx(user)
	defer cancel()
	_, err := g.rpc.ListJobs(ctx, &trainingv1.ListJobsRequest{Namespace: ns})
	return grpcOutcome(err)
}
func (g grpcProto) logs(user, ns, name string) (outcome, string) {
	ctx, cancel := grpcCtx(user)
	defer cancel()
	s, err := g.rpc.GetLogs(ctx, &trainingv1.GetLogsRequest{Namespace: ns, Name: name, All: true})
	if err == nil {
		_, err = s.Recv()
		if err == io.EOF {
			err = nil
		}
	}
	return grpcOutcome(err)
}
func (g grpcProto) update(user, ns, name string) (outcome, string) {
	ctx, cancel := grpcCtx(user)
	defer cancel()
	_, err := g.rpc.ResumeJob(ctx, &trainingv1.ResumeJobRequest{Namespace: ns, Name: name})
	return grpcOutcome(err)
}
func (g grpcProto) delete(user, ns, name string) (outcome, string) {
	ctx, cancel := grpcCtx(user)
	defer cancel()
	_, err := g.rpc.DeleteJob(ctx, &trainingv1.DeleteJobRequest{Namespace: ns, Name: name})
	return grpcOutcome(err)
}

// ---- kubectl ---------------------------------------------------------------

type kubectlProto struct{}

func (kubectlProto) name() string { return "kubectl" }

func kubectlOutcome(out string, err error) (outcome, string) {
	if err == nil {
		return allowed, ""
	}
	for _, s := range []string{"Forbidden", "forbidden", "Unauthorized", "denied the request", "must be logged in", "provide credentials"} {
		if strings.Contains(out, s) {
			return denied, out
		}
	}
	return "kubectl error", out
}

func (kubectlProto) create(user, ns, name string) (outcome, string) {
	b, _ := json.Marshal(upstreamJob(name, ns, 1, true))
	j := strings.Replace(string(b), "{", `{"apiVersion":"kubeflow.org/v2beta1","kind":"MPIJob",`, 1)
	return kubectlOutcome(kubectlStdin(user, j, "create", "-f", "-"))
}
func (kubectlProto) get(user, ns, name string) (outcome, string) {
	return kubectlOutcome(kubectl(user, "-n", ns, "get", "mpijobs.kubeflow.org", name))
}
func (kubectlProto) list(user, ns string) (outcome, string) {
	return kubectlOutcome(kubectl(user, "-n", ns, "get", "mpijobs.kubeflow.org"))
}
func (kubectlProto) logs(user, ns, name string) (outcome, string) {
	return kubectlOutcome(kubectl(user, "-n", ns, "logs", "-l", "training.kubeflow.org/job-name="+name+",training.kubeflow.org/job-role=launcher"))
}
func (kubectlProto) update(user, ns, name string) (outcome, string) {
	return kubectlOutcome(kubectl(user, "-n", ns, "patch", "mpijobs.kubeflow.org", name, "--type=merge", "-p", `{"spec":{"runPolicy":{"suspend":false}}}`))
}
func (kubectlProto) delete(user, ns, name string) (outcome, string) {
	return kubectlOutcome(kubectl(user, "-n", ns, "delete", "mpijobs.kubeflow.org", name, "--wait=false"))
}

// ---- the matrix ------------------------------------------------------------

// persona is a caller of the matrix and the namespace they act in.
type persona struct {
	label, user, ns string
}

func personas() []persona {
	return []persona{
		{"data scientist", cluster.Alice, nsA},
		{"MLOps engineer", cluster.MLOps, nsA},
		{"admin", cluster.Admin, nsA},
		{"other namespace", cluster.Bob, nsA},
		{"unauthenticated", anonymous, nsA},
	}
}

// expect is the policy under test: who may do what in nsA.
func expect(p persona, op, target string) outcome {
	switch p.user {
	case anonymous, cluster.Bob:
		return denied
	case cluster.Alice:
		if (op == "update" || op == "delete") && target == "other" {
			return denied
		}
	}
	return allowed
}

// owners of "own" and "other" jobs for each persona.
func ownerOf(p persona, target string) string {
	switch {
	case target == "own" && (p.user == anonymous || p.user == cluster.Bob):
		return cluster.Alice // they own nothing in nsA: "own" is moot, use alice's
	case target == "own":
		return p.user
	case p.user == cluster.Alice:
		return cluster.MLOps
	}
	return cluster.Alice
}

type cell struct {
	proto, persona, op, target string
	want, got                  outcome
	detail                     string
}

var (
	resultsMu sync.Mutex
	results   []cell
)

// TestMatrix checks every persona × operation × (own job, someone else's)
// cell in namespace nsA through REST, gRPC and kubectl.
func TestMatrix(t *testing.T) {
	start := time.Now()
	// Shared fixtures for the cells that must be denied (they must not
	// change them), and a running job for the logs cells.
	// The running jobs were created in TestMain; the shared MPI operator
	// may be busy with other suites' jobs, hence the long wait.
	createAs(t, cluster.Alice, nsA, "fx-alice", true)
	createAs(t, cluster.MLOps, nsA, "fx-mlops", true)
	createAs(t, cluster.Admin, nsA, "fx-admin", true)
	for _, j := range []string{"run-alice", "run-mlops", "run-admin"} {
		waitFor(t, 5*time.Minute, "launcher of "+j+" running", func() error {
			pods, err := admin.CoreV1().Pods(nsA).List(t.Context(), metav1.ListOptions{LabelSelector: "training.kubeflow.org/job-name=" + j + ",training.kubeflow.org/job-role=launcher"})
			if err != nil {
				return err
			}
			for _, p := range pods.Items {
				if p.Status.Phase == corev1.PodRunning {
					return nil
				}
			}
			return fmt.Errorf("%d launcher pods, none running", len(pods.Items))
		})
	}
	fixture := map[string]string{cluster.Alice: "fx-alice", cluster.MLOps: "fx-mlops", cluster.Admin: "fx-admin"}
	running := map[string]string{cluster.Alice: "run-alice", cluster.MLOps: "run-mlops", cluster.Admin: "run-admin"}

	protos := []protocol{restProto{}, newGRPC(t), kubectlProto{}}
	n := 0
	for _, pr := range protos {
		for _, p := range personas() {
			record := func(op, target string, got outcome, detail string) {
				c := cell{proto: pr.name(), persona: p.label, op: op, target: target, want: expect(p, op, target), got: got, detail: detail}
				resultsMu.Lock()
				results = append(results, c)
				resultsMu.Unlock()
				if c.got != c.want {
					t.Errorf("%s %s %s %s job: got %s, want %s: %s", c.proto, c.persona, op, target, c.got, c.want, detail)
				}
			}
			n++
			name := fmt.Sprintf("c-%s-%s-%d", strings.ToLower(pr.name()), p.user, n)
			o, d := pr.create(p.user, p.ns, name)
			record("create", "-", o, d)
			o, d = pr.list(p.user, p.ns)
			record("list", "-", o, d)
			for _, target := range []string{"own", "other"} {
				owner := ownerOf(p, target)
				o, d = pr.get(p.user, p.ns, fixture[owner])
				record("get", target, o, d)
				o, d = pr.logs(p.user, p.ns, running[owner])
				record("logs", target, o, d)
				for _, op := range []string{"update", "delete"} {
					job := fixture[owner]
					if expect(p, op, target) == allowed {
						// Allowed writes get a job of their own.
						job = fmt.Sprintf("w-%s-%s-%s-%s", strings.ToLower(pr.name()), p.user, op, target)
						createAs(t, owner, p.ns, job, true)
					}
					if op == "update" {
						o, d = pr.update(p.user, p.ns, job)
					} else {
						o, d = pr.delete(p.user, p.ns, job)
					}
					record(op, target, o, d)
				}
			}
		}
	}
	// Bob in his own namespace may work there.
	for _, pr := range protos {
		o, d := pr.create(cluster.Bob, nsB, "b-"+strings.ToLower(pr.name()))
		if o != allowed {
			t.Errorf("%s: bob creates in his namespace: %s %s", pr.name(), o, d)
		}
	}
	// The denied cells changed nothing.
	for _, f := range []string{"fx-alice", "fx-mlops", "fx-admin"} {
		j, err := userMPI(cluster.Admin).KubeflowV2beta1().MPIJobs(nsA).Get(t.Context(), f, metav1.GetOptions{})
		if err != nil || j.DeletionTimestamp != nil || j.Spec.RunPolicy.Suspend == nil || !*j.Spec.RunPolicy.Suspend {
			t.Errorf("fixture %s was changed by a denied call: %v", f, err)
		}
	}
	t.Logf("matrix: %d cells in %s", len(results), time.Since(start).Round(time.Millisecond))
	logMatrix(t)
}

// logMatrix prints the matrix: one row per persona × operation × target,
// one column per protocol.
func logMatrix(t *testing.T) {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	type key struct{ persona, op, target string }
	rows := map[key]map[string]string{}
	var keys []key
	for _, c := range results {
		k := key{c.persona, c.op, c.target}
		if rows[k] == nil {
			rows[k] = map[string]string{}
			keys = append(keys, k)
		}
		mark := string(c.got)
		if c.got != c.want {
			mark += "(!)"
		}
		rows[k][c.proto] = mark
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-16s %-7s %-6s | %-6s %-6s %-7s\n", "persona", "op", "job", "REST", "gRPC", "kubectl")
	for _, k := range keys {
		r := rows[k]
		fmt.Fprintf(&b, "%-16s %-7s %-6s | %-6s %-6s %-7s\n", k.persona, k.op, k.target, r["REST"], r["gRPC"], r["kubectl"])
	}
	t.Log(b.String())
}

// TestAuditRecords: every mutation through the server is in the audit log
// with who, what, namespace, job and result — allowed and denied — and no
// record holds a token.
func TestAuditRecords(t *testing.T) {
	g := newGRPC(t)
	createAs(t, cluster.Alice, nsA, "audit-alice", true)
	calls := []struct {
		user, verb, name, result string
		do                       func() (outcome, string)
	}{
		{cluster.Alice, "create", "", "OK", func() (outcome, string) { return restProto{}.create(cluster.Alice, nsA, "audit-new") }},
		{cluster.Bob, "create", "", "Denied", func() (outcome, string) { return g.create(cluster.Bob, nsA, "audit-bob") }},
		{cluster.MLOps, "resume", "audit-alice", "OK", func() (outcome, string) { return g.update(cluster.MLOps, nsA, "audit-alice") }},
		{cluster.Bob, "delete", "audit-alice", "Denied", func() (outcome, string) { return restProto{}.delete(cluster.Bob, nsA, "audit-alice") }},
		{"", "delete", "audit-alice", "Denied", func() (outcome, string) { return restProto{}.delete(anonymous, nsA, "audit-alice") }},
		{cluster.Alice, "delete", "audit-alice", "OK", func() (outcome, string) { return g.delete(cluster.Alice, nsA, "audit-alice") }},
	}
	for _, c := range calls {
		if o, d := c.do(); (o == allowed) != (c.result == "OK") {
			t.Errorf("%s %s %s: %s %s", c.user, c.verb, c.name, o, d)
		}
	}
	var recs []service.AuditRecord
	eventually(t, "audit records", func() error {
		data, err := readFile(auditLog)
		if err != nil {
			return err
		}
		recs = nil
		for _, line := range strings.Split(strings.TrimSpace(data), "\n") {
			var r service.AuditRecord
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				return fmt.Errorf("audit line %q: %v", line, err)
			}
			recs = append(recs, r)
		}
		for _, tok := range []string{harness.Token(cluster.Alice), harness.Token(cluster.Bob), harness.Token(cluster.MLOps), harness.Token(cluster.Admin)} {
			if strings.Contains(data, tok) {
				return fmt.Errorf("the audit log contains a token")
			}
		}
		return nil
	})
	for _, c := range calls {
		found := false
		for _, r := range recs {
			if r.User == c.user && r.Verb == c.verb && r.Namespace == nsA && (c.name == "" || r.Name == c.name) && r.Result == c.result && r.RequestID != "" {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no audit record {user %q, verb %s, namespace %s, name %q, result %s}", c.user, c.verb, nsA, c.name, c.result)
		}
	}
	// Every mutation of the matrix through REST and gRPC is there too.
	resultsMu.Lock()
	defer resultsMu.Unlock()
	mutations := 0
	for _, c := range results {
		if c.proto != "kubectl" && (c.op == "create" || c.op == "update" || c.op == "delete") {
			mutations++
		}
	}
	if mutations > 0 && len(recs) < mutations {
		t.Errorf("%d audit records for %d mutations of the matrix", len(recs), mutations)
	}
}
