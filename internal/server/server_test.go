package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/internal/engine/local"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/server"
	"github.com/odh-training/odh-training/internal/server/servertest"
)

func TestMain(m *testing.M) {
	local.MaybeRankExec() // the local engine re-executes this binary as its rank wrapper
	os.Exit(m.Run())
}

const testToken = servertest.Token

// testServer is a real odh-server (local engine, real mpirun) on a loopback port.
type testServer struct {
	url  string
	addr string
	rpc  trainingv1.TrainingServiceClient
}

func startServer(t *testing.T, options ...func(*server.Options)) *testServer {
	return startServerB(t, options...)
}

func startServerB(t testing.TB, options ...func(*server.Options)) *testServer {
	t.Helper()
	srv := servertest.Start(t, options...)
	conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &testServer{url: srv.URL, addr: srv.Addr, rpc: trainingv1.NewTrainingServiceClient(conn)}
}

func authed(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+testToken)
}

func (s *testServer) rest(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

const badSpec = `metadata:
  name: My-Job
spec:
  command: [python3, train.py]
  workers:
    replicas: 0
    resources:
      memory: 16GG
`

var wantBadFields = []string{"metadata.name", "spec.workers.replicas", "spec.workers.resources.memory"}

// TestInvalidSpecSameErrorsOverGRPCAndREST: every error, with its field
// path, in one response, identical over both protocols; nothing created.
func TestInvalidSpecSameErrorsOverGRPCAndREST(t *testing.T) {
	s := startServer(t)
	ctx := authed(t.Context())

	_, err := s.rpc.CreateJob(ctx, &trainingv1.CreateJobRequest{Namespace: "default", Manifest: badSpec})
	st, _ := status.FromError(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("gRPC code = %v, want InvalidArgument (%v)", st.Code(), err)
	}
	grpcErr := apiconv.FromStatus(st)

	body, _ := json.Marshal(map[string]string{"manifest": badSpec})
	code, data := s.rest(t, http.MethodPost, "/api/v1/namespaces/default/mpijobs", string(body))
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("REST status = %d, want 422: %s", code, data)
	}
	var rb apiconv.ErrorBody
	if err := json.Unmarshal(data, &rb); err != nil {
		t.Fatal(err)
	}
	if rb.Reason != job.KindInvalid || rb.Status != "INVALID_ARGUMENT" || rb.Code != int(codes.InvalidArgument) {
		t.Errorf("REST error body: %s", data)
	}
	var paths []string
	for _, f := range rb.FieldErrors {
		paths = append(paths, f.Field)
	}
	if diff := cmp.Diff(wantBadFields, paths); diff != "" {
		t.Errorf("REST field paths (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(grpcErr.Fields, job.FieldErrors(rb.FieldErrors)); diff != "" {
		t.Errorf("gRPC and REST field errors differ (-grpc +rest):\n%s", diff)
	}
	if grpcErr.Message != rb.Message {
		t.Errorf("messages differ: %q vs %q", grpcErr.Message, rb.Message)
	}
	list, err := s.rpc.ListJobs(ctx, &trainingv1.ListJobsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetItems()) != 0 {
		t.Errorf("a rejected job was created: %v", list.GetItems())
	}
}

func TestAuthentication(t *testing.T) {
	s := startServer(t)
	_, err := s.rpc.ListJobs(t.Context(), &trainingv1.ListJobsRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("gRPC without token: %v, want Unauthenticated", err)
	}
	bad := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer nope")
	if _, err := s.rpc.ListJobs(bad, &trainingv1.ListJobsRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("gRPC with a wrong token: %v, want Unauthenticated", err)
	}
	resp, err := http.Get(s.url + "/api/v1/namespaces/default/mpijobs")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("REST without token: %d %q", resp.StatusCode, data)
	}
	// Probes and the API document need no token; metrics and the
	// readiness details do.
	for _, p := range []string{"/metrics", "/readyz?verbose"} {
		resp, err := http.Get(s.url + p)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || strings.Contains(string(data), "odh_") {
			t.Errorf("GET %s without token = %d %.200s", p, resp.StatusCode, data)
		}
	}
	for _, p := range []string{"/healthz", "/readyz", "/openapi.json", "/api/docs", "/"} {
		resp, err := http.Get(s.url + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d", p, resp.StatusCode)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s lacks security headers", p)
		}
	}
}

func createREST(t *testing.T, s *testServer, name string, cmd []string, extra string) {
	t.Helper()
	c, _ := json.Marshal(cmd)
	body := fmt.Sprintf(`{"job": {"metadata": {"name": %q, "labels": {"suite": "server"}}, "spec": {"command": %s, "workers": {"replicas": 2}%s}}}`, name, c, extra)
	code, data := s.rest(t, http.MethodPost, "/api/v1/namespaces/default/mpijobs", body)
	if code != http.StatusOK {
		t.Fatalf("create %s: %d %s", name, code, data)
	}
}

// TestLifecycleOverREST creates a real 2-rank job over REST, watches it to
// completion over the streaming REST endpoint, reads logs, and deletes it.
func TestLifecycleOverREST(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	// Start watching before creating, so every transition is seen.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/api/v1/watch/namespaces/default/mpijobs?name=hello", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("watch: %d", resp.StatusCode)
	}
	createREST(t, s, "hello", []string{"sh", "-c", "echo hello from rank $OMPI_COMM_WORLD_RANK"}, "")

	var phases []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var msg struct {
			Result struct {
				Type string `json:"type"`
				Job  struct {
					Status struct {
						Phase string `json:"phase"`
					} `json:"status"`
				} `json:"job"`
			} `json:"result"`
		}
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil {
			t.Fatalf("watch line %q: %v", sc.Text(), err)
		}
		if msg.Result.Type == "SYNCED" {
			continue
		}
		p := msg.Result.Job.Status.Phase
		if len(phases) == 0 || phases[len(phases)-1] != p {
			phases = append(phases, p)
		}
		if p == "Succeeded" || p == "Failed" {
			break
		}
	}
	if phases[len(phases)-1] != "Succeeded" || !slices.Contains(phases, "Running") {
		t.Fatalf("phases seen over the watch: %v", phases)
	}

	code, data := s.rest(t, http.MethodGet, "/api/v1/namespaces/default/mpijobs/hello", "")
	if code != http.StatusOK || !strings.Contains(string(data), `"phase":"Succeeded"`) {
		t.Fatalf("get: %d %s", code, data)
	}
	// Logs of worker 1 as NDJSON, and everything as plain text.
	code, data = s.rest(t, http.MethodGet, "/api/v1/namespaces/default/mpijobs/hello/logs?worker=1", "")
	if code != http.StatusOK || !strings.Contains(string(data), "hello from rank 1") || strings.Contains(string(data), "hello from rank 0") {
		t.Fatalf("worker 1 logs: %d %s", code, data)
	}
	treq, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/api/v1/namespaces/default/mpijobs/hello/logs?all=true", nil)
	treq.Header.Set("Authorization", "Bearer "+testToken)
	treq.Header.Set("Accept", "text/plain")
	tresp, err := http.DefaultClient.Do(treq)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(tresp.Body)
	tresp.Body.Close()
	for _, want := range []string{"[worker-0] hello from rank 0", "[worker-1] hello from rank 1"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("text logs lack %q:\n%s", want, text)
		}
	}
	code, data = s.rest(t, http.MethodGet, "/api/v1/namespaces/default/mpijobs?labelSelector=suite%3Dserver&phase=Succeeded", "")
	if code != http.StatusOK || !strings.Contains(string(data), `"name":"hello"`) {
		t.Fatalf("list with selector and phase: %d %s", code, data)
	}
	code, data = s.rest(t, http.MethodDelete, "/api/v1/namespaces/default/mpijobs/hello?wait=true", "")
	if code != http.StatusOK {
		t.Fatalf("delete: %d %s", code, data)
	}
	code, data = s.rest(t, http.MethodGet, "/api/v1/namespaces/default/mpijobs/hello", "")
	if code != http.StatusNotFound || !strings.Contains(string(data), `"reason":"NotFound"`) {
		t.Fatalf("get after delete: %d %s", code, data)
	}
}

// TestLifecycleOverGRPC does the same through the Go client (gRPC), with a
// failing rank.
func TestLifecycleOverGRPC(t *testing.T) {
	s := startServer(t)
	c, err := apiclient.Dial(apiclient.Options{Server: s.url, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	j := &job.MPIJob{Metadata: job.ObjectMeta{Name: "fails"}, Spec: job.Spec{
		Command: []string{"sh", "-c", `if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then echo boom >&2; exit 3; fi; sleep 5`},
		Workers: job.WorkerSpec{Replicas: job.Ptr(int32(2))},
	}}
	created, warnings, err := c.Create(ctx, apiclient.CreateRequest{Job: j})
	if err != nil {
		t.Fatal(err)
	}
	if created.Metadata.Creator != servertest.User || created.Metadata.UID == "" {
		t.Errorf("server-set metadata: %+v", created.Metadata)
	}
	_ = warnings
	var final *job.MPIJob
	err = c.Watch(ctx, apiclient.WatchOptions{Namespace: "default", Name: "fails"}, func(_ job.WatchEventType, j *job.MPIJob) error {
		if j != nil && j.Status.Phase.Terminal() {
			final = j
			return apiclient.ErrStop
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if final.Status.Phase != job.PhaseFailed || final.Status.FirstFailedWorker == nil || *final.Status.FirstFailedWorker != 1 || final.Status.ExitCode == nil || *final.Status.ExitCode != 3 {
		t.Fatalf("final status: %+v", final.Status)
	}
	if !strings.Contains(final.Status.Message, "rank 1") {
		t.Errorf("message does not name the rank: %q", final.Status.Message)
	}
	// Already exists, not found, bad selector: classified errors.
	if _, _, err := c.Create(ctx, apiclient.CreateRequest{Job: j}); !job.IsKind(err, job.KindAlreadyExists) {
		t.Errorf("duplicate create: %v", err)
	}
	if _, err := c.Get(ctx, "default", "nope"); !job.IsKind(err, job.KindNotFound) {
		t.Errorf("get missing: %v", err)
	}
	if _, err := c.List(ctx, apiclient.ListOptions{LabelSelector: "a in (b"}); !job.IsKind(err, job.KindBadRequest) {
		t.Errorf("bad selector: %v", err)
	}
	if _, err := c.Delete(ctx, "default", "fails", true, false); err != nil {
		t.Fatal(err)
	}
}

func TestDryRunAndPagination(t *testing.T) {
	s := startServer(t)
	ctx := authed(t.Context())
	resp, err := s.rpc.CreateJob(ctx, &trainingv1.CreateJobRequest{DryRun: true, Manifest: "metadata: {name: dry}\nspec:\n  image: quay.io/x/y:1\n  command: [\"true\"]\n  workers: {replicas: 2, resources: {cpu: 2, memory: 1Gi}}\n"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetJob().GetStatus().GetRequested().GetCpu() != "2" && resp.GetJob().GetStatus().GetRequested().GetCpu() != "4" {
		t.Errorf("dry run totals: %v", resp.GetJob().GetStatus().GetRequested())
	}
	if !slices.ContainsFunc(resp.GetWarnings(), func(w string) bool { return strings.Contains(w, "image") }) {
		t.Errorf("dry run warnings do not mention the ignored image: %v", resp.GetWarnings())
	}
	// The upstream MPIJob the job becomes on a cluster, over gRPC and REST.
	if m := resp.GetUpstreamManifest(); !strings.Contains(m, "kind: MPIJob") || !strings.Contains(m, "image: quay.io/x/y:1") {
		t.Errorf("dry run upstream manifest:\n%s", m)
	}
	code, body := s.rest(t, "POST", "/api/v1/namespaces/default/mpijobs", `{"dryRun": true, "manifest": "metadata: {name: dry}\nspec: {image: quay.io/x/y:1, command: [\"true\"]}"}`)
	var restResp struct {
		UpstreamManifest string `json:"upstreamManifest"`
	}
	if err := json.Unmarshal(body, &restResp); code != 200 || err != nil || !strings.Contains(restResp.UpstreamManifest, "apiVersion: kubeflow.org/v2beta1") {
		t.Errorf("REST dry run: %d %v\n%s", code, err, body)
	}
	// No manifest without an image: a cluster could not run the job.
	if resp, err := s.rpc.CreateJob(ctx, &trainingv1.CreateJobRequest{DryRun: true, Manifest: "metadata: {name: dry}\nspec: {command: [\"true\"]}"}); err != nil || resp.GetUpstreamManifest() != "" {
		t.Errorf("dry run without an image: %v, manifest %q", err, resp.GetUpstreamManifest())
	}
	for i := range 5 {
		_, err := s.rpc.CreateJob(ctx, &trainingv1.CreateJobRequest{Job: apiconv.ToProto(&job.MPIJob{
			Metadata: job.ObjectMeta{Name: fmt.Sprintf("held-%d", i)},
			Spec:     job.Spec{Command: []string{"true"}, RunPolicy: job.RunPolicy{Suspend: true}},
		})})
		if err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	token := ""
	for {
		page, err := s.rpc.ListJobs(ctx, &trainingv1.ListJobsRequest{Namespace: "default", PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.GetItems()) > 2 {
			t.Fatalf("page of %d items", len(page.GetItems()))
		}
		for _, j := range page.GetItems() {
			names = append(names, j.GetMetadata().GetName())
		}
		if token = page.GetNextPageToken(); token == "" {
			break
		}
	}
	if diff := cmp.Diff([]string{"held-0", "held-1", "held-2", "held-3", "held-4"}, names); diff != "" {
		t.Errorf("paginated names (-want +got):\n%s", diff)
	}
}

func TestTemplates(t *testing.T) {
	s := startServer(t)
	code, data := s.rest(t, http.MethodPost, "/api/v1/namespaces/default/templates", `{"template": {"name": "small", "description": "2 workers", "job": {"spec": {"command": ["true"], "workers": {"replicas": 2}}}}}`)
	if code != http.StatusOK {
		t.Fatalf("create template: %d %s", code, data)
	}
	code, data = s.rest(t, http.MethodPost, "/api/v1/namespaces/default/templates", `{"template": {"name": "Bad", "job": {"spec": {"workers": {"replicas": 0}}}}}`)
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(data), "template.job.spec.workers.replicas") {
		t.Fatalf("invalid template: %d %s", code, data)
	}
	code, data = s.rest(t, http.MethodGet, "/api/v1/namespaces/default/templates", "")
	if code != http.StatusOK || !strings.Contains(string(data), `"name":"small"`) {
		t.Fatalf("list templates: %d %s", code, data)
	}
	if code, _ = s.rest(t, http.MethodDelete, "/api/v1/namespaces/default/templates/small", ""); code != http.StatusOK {
		t.Fatalf("delete template: %d", code)
	}
	if code, _ = s.rest(t, http.MethodGet, "/api/v1/namespaces/default/templates/small", ""); code != http.StatusNotFound {
		t.Fatalf("get deleted template: %d", code)
	}
}

func TestRESTBadRequests(t *testing.T) {
	s := startServer(t)
	for _, c := range []struct {
		method, path, body string
		status             int
		reason             job.ErrorKind
	}{
		{"POST", "/api/v1/namespaces/default/mpijobs", `{"job": {"spec": {"workerz": 1}}}`, 422, job.KindInvalid},
		{"POST", "/api/v1/namespaces/default/mpijobs", `{"jobz": {}}`, 400, job.KindBadRequest},
		{"POST", "/api/v1/namespaces/default/mpijobs", `not json`, 400, job.KindBadRequest},
		{"POST", "/api/v1/namespaces/default/mpijobs", `{}`, 400, job.KindBadRequest},
		{"POST", "/api/v1/namespaces/team-a/mpijobs", `{"job": {"metadata": {"name": "x", "namespace": "team-b"}, "spec": {"command": ["true"]}}}`, 400, job.KindBadRequest},
		{"GET", "/api/v1/namespaces/default/mpijobs?phase=Sleeping", ``, 400, job.KindBadRequest},
		{"GET", "/api/v1/nothing-here", ``, 404, job.KindNotFound},
		{"PUT", "/api/v1/namespaces/default/mpijobs/x", `{}`, 400, job.KindBadRequest},
	} {
		code, data := s.rest(t, c.method, c.path, c.body)
		var b apiconv.ErrorBody
		_ = json.Unmarshal(data, &b)
		if code != c.status || b.Reason != c.reason || b.Message == "" {
			t.Errorf("%s %s %s: %d %s, want %d %s", c.method, c.path, c.body, code, data, c.status, c.reason)
		}
	}
}

// TestStructuredJobGetsFieldErrors: a REST body's job object is validated by
// the same parser as files: unknown fields and wrong types come back as
// field errors with paths and suggestions.
func TestStructuredJobGetsFieldErrors(t *testing.T) {
	s := startServer(t)
	code, data := s.rest(t, http.MethodPost, "/api/v1/namespaces/default/mpijobs",
		`{"dryRun": true, "job": {"metadata": {"name": "x"}, "spec": {"command": ["true"], "worker": {"replicas": 2}, "workers": {"replicas": "two"}}}}`)
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("%d %s", code, data)
	}
	var b apiconv.ErrorBody
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	want := job.FieldErrors{
		{Field: "spec.worker", Type: job.FieldUnknown, Value: "worker", Message: `unknown field "worker"; did you mean "workers"?`},
		{Field: "spec.workers.replicas", Type: job.FieldInvalid, Value: "two", Message: `must be a whole number, got the string "two"`},
	}
	if diff := cmp.Diff(want, job.FieldErrors(b.FieldErrors)); diff != "" {
		t.Errorf("field errors (-want +got):\n%s", diff)
	}
}

// TestRESTWatchFront: REST watches bypass the gateway but must answer as
// it did — the same REST errors before the watch is established, NDJSON
// chunks.
func TestRESTWatchFront(t *testing.T) {
	s := startServer(t)
	get := func(path string, hdr map[string]string) (*http.Response, *bufio.Reader) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.url+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp, bufio.NewReader(resp.Body)
	}
	auth := map[string]string{"Authorization": "Bearer " + testToken}
	resp, body := get("/api/v1/watch/mpijobs", nil)
	data, _ := io.ReadAll(body)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Bearer") || !strings.Contains(string(data), `"reason"`) {
		t.Errorf("watch without token: %d %q", resp.StatusCode, data)
	}
	resp, body = get("/api/v1/watch/namespaces/default/mpijobs?sendInitialEvents=maybe", auth)
	data, _ = io.ReadAll(body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(data), "send_initial_events") {
		t.Errorf("watch with a bad parameter: %d %q", resp.StatusCode, data)
	}
	resp, body = get("/api/v1/watch/namespaces/default/mpijobs?sendInitialEvents=false", auth)
	line, err := body.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("watch: %d %v", resp.StatusCode, resp.Header)
	}
	if line != "{\"result\":{\"type\":\"SYNCED\"}}\n" {
		t.Errorf("first chunk %q", line)
	}
	createREST(t, s, "watched-rest", []string{"true"}, `, "runPolicy": {"suspend": true}`)
	line, err = body.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Result struct {
			Type string     `json:"type"`
			Job  job.MPIJob `json:"job"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Result.Type != "ADDED" || ev.Result.Job.Metadata.Name != "watched-rest" {
		t.Errorf("event %q: %v", line, err)
	}
}

// A quiet REST watch carries heartbeats as blank lines (proxies with idle
// timeouts keep it open; NDJSON readers skip blank lines), and nothing
// else: every non-blank line is still a JSON message.
func TestQuietRESTWatchSendsBlankLines(t *testing.T) {
	s := startServer(t, func(o *server.Options) { o.Heartbeat = 50 * time.Millisecond })
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/api/v1/watch/namespaces/default/mpijobs", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	blank := 0
	for blank < 3 && sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			blank++
			continue
		}
		var msg map[string]any
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil || msg["result"] == nil {
			t.Fatalf("line %q is neither blank nor a result (%v)", sc.Text(), err)
		}
	}
	if blank < 3 {
		t.Fatalf("stream ended after %d blank lines: %v", blank, sc.Err())
	}
}
