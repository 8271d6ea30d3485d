package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/server"
	"github.com/odh-training/odh-training/internal/service"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }

func (s *syncBuf) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestAuditLog: every mutation — allowed, failed or denied — is recorded
// with who, what, where and the result, and no token appears.
func TestAuditLog(t *testing.T) {
	audit := &syncBuf{}
	s := startServer(t, func(o *server.Options) { o.Audit = audit })
	ctx := authed(t.Context())
	_, _ = s.rpc.CreateJob(ctx, &trainingv1.CreateJobRequest{Namespace: "team-a", Manifest: "metadata: {name: a1}\nspec: {command: [\"true\"], runPolicy: {suspend: true}}"})
	_, _ = s.rpc.CreateJob(ctx, &trainingv1.CreateJobRequest{Namespace: "team-a", Manifest: badSpec})
	code, _ := s.rest(t, http.MethodDelete, "/api/v1/namespaces/team-a/mpijobs/a1", "")
	if code != 200 {
		t.Fatalf("delete: %d", code)
	}
	_, _ = s.rpc.DeleteJob(t.Context(), &trainingv1.DeleteJobRequest{Namespace: "team-a", Name: "x"}) // no token
	_, _ = s.rpc.GetJob(ctx, &trainingv1.GetJobRequest{Namespace: "team-a", Name: "a1"})              // a read: not audited
	var recs []service.AuditRecord
	for _, line := range strings.Split(strings.TrimSpace(audit.String()), "\n") {
		var r service.AuditRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		recs = append(recs, r)
	}
	type row struct{ User, Verb, Namespace, Name, Result, Reason string }
	var got []row
	for _, r := range recs {
		got = append(got, row{r.User, r.Verb, r.Namespace, r.Name, r.Result, r.Reason})
		if r.RequestID == "" || r.Time.IsZero() {
			t.Errorf("record without request id or time: %+v", r)
		}
	}
	want := []row{
		{"tester", "create", "team-a", "a1", "OK", ""},
		{"tester", "create", "team-a", "", "Error", "Invalid"},
		{"tester", "delete", "team-a", "a1", "OK", ""},
		// Refused by the front before the request's body was read: what was
		// asked is the gRPC method only.
		{"", "", "", "", "Denied", "Unauthenticated"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit records (-want +got):\n%s", diff)
	}
	if strings.Contains(audit.String(), testToken) {
		t.Error("the audit log contains the token")
	}
}

func TestRateLimitPerUser(t *testing.T) {
	s := startServer(t, func(o *server.Options) { o.RateLimit, o.RateBurst = 1, 3 })
	ctx := authed(t.Context())
	var limited error
	for i := 0; i < 10 && limited == nil; i++ {
		_, limited = s.rpc.ListJobs(ctx, &trainingv1.ListJobsRequest{})
	}
	e := apiconv.Classify(limited)
	if e.Kind != job.KindTooManyRequests {
		t.Fatalf("after a burst: %v", limited)
	}
	code, data := s.rest(t, http.MethodGet, "/api/v1/mpijobs", "")
	if code != http.StatusTooManyRequests || !strings.Contains(string(data), "TooManyRequests") {
		t.Errorf("REST after the burst: %d %s", code, data)
	}
}

func TestRequestIDEchoed(t *testing.T) {
	s := startServer(t)
	req, _ := http.NewRequest(http.MethodGet, s.url+"/api/v1/mpijobs", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("X-Request-Id", "abc-123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Request-Id"); got != "abc-123" {
		t.Errorf("X-Request-Id = %q", got)
	}
}
