package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/server"
	"github.com/odh-training/odh-training/internal/service"
)

// testPolicy: alice and bob are data scientists in team-a and team-b, mlops
// runs team-a, viv views team-a, root is admin everywhere (the access policy
// file's own tests in internal/auth use the same people).
var testPolicy = `{
  "users": [
    {"name": "alice", "groups": ["team-a"], "token": "alice-token"},
    {"name": "bob", "groups": ["team-b"], "token": "bob-token"},
    {"name": "mlops", "token": "mlops-token"},
    {"name": "viv", "token": "viv-token"},
    {"name": "root", "token": "root-token"},
    {"name": "nobody", "token": "nobody-token"}
  ],
  "bindings": [
    {"role": "data-scientist", "namespaces": ["team-a"], "groups": ["team-a"]},
    {"role": "data-scientist", "namespaces": ["team-b"], "users": ["bob"]},
    {"role": "mlops", "namespaces": ["team-a"], "users": ["mlops"]},
    {"role": "viewer", "namespaces": ["team-a"], "users": ["viv"]},
    {"role": "admin", "namespaces": ["*"], "users": ["root"]}
  ]
}`

func as(ctx context.Context, user string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+user+"-token")
}

// TestPolicyThroughTheService: the policy file decides every call, over
// gRPC and REST; lists and watches across namespaces are filtered; denials
// are Forbidden with who/what/where and audited.
func TestPolicyThroughTheService(t *testing.T) {
	p, err := auth.ParsePolicy([]byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	audit := &syncBuf{}
	s := startServer(t, func(o *server.Options) { o.Auth, o.Authorizer, o.Audit = p, p, audit })
	ctx := t.Context()
	create := func(user, ns, name string) error {
		_, err := s.rpc.CreateJob(as(ctx, user), &trainingv1.CreateJobRequest{Namespace: ns, Manifest: "metadata: {name: " + name + "}\nspec: {command: [\"true\"], runPolicy: {suspend: true}}"})
		return err
	}
	code := func(err error) codes.Code { return status.Code(err) }
	for _, c := range []struct{ user, ns, name string }{{"alice", "team-a", "a1"}, {"mlops", "team-a", "m1"}, {"bob", "team-b", "b1"}} {
		if err := create(c.user, c.ns, c.name); err != nil {
			t.Fatalf("%s creates %s: %v", c.user, c.name, err)
		}
	}
	if err := create("viv", "team-a", "v1"); code(err) != codes.PermissionDenied {
		t.Errorf("viewer create: %v", err)
	}
	if err := create("alice", "team-b", "a2"); code(err) != codes.PermissionDenied {
		t.Errorf("create in another namespace: %v", err)
	}
	got, err := s.rpc.GetJob(as(ctx, "alice"), &trainingv1.GetJobRequest{Namespace: "team-a", Name: "m1"})
	if err != nil || got.GetMetadata().GetCreator() != "mlops" {
		t.Fatalf("alice gets mlops's job: %v %v", got.GetMetadata(), err)
	}
	if _, err := s.rpc.GetJob(as(ctx, "alice"), &trainingv1.GetJobRequest{Namespace: "team-b", Name: "b1"}); code(err) != codes.PermissionDenied {
		t.Errorf("get in another namespace: %v", err)
	}
	// Own job vs someone else's.
	if _, err := s.rpc.SuspendJob(as(ctx, "alice"), &trainingv1.SuspendJobRequest{Namespace: "team-a", Name: "m1"}); code(err) != codes.PermissionDenied {
		t.Errorf("alice suspends mlops's job: %v", err)
	} else {
		e := apiconv.FromStatus(status.Convert(err))
		for _, want := range []string{`user "alice" may not update MPIJob "m1" in namespace "team-a"`, `created by "mlops"`} {
			if !strings.Contains(e.Message, want) {
				t.Errorf("denial %q lacks %q", e.Message, want)
			}
		}
		if e.Hint == "" {
			t.Error("denial without a hint")
		}
	}
	if _, err := s.rpc.DeleteJob(as(ctx, "alice"), &trainingv1.DeleteJobRequest{Namespace: "team-a", Name: "m1"}); code(err) != codes.PermissionDenied {
		t.Errorf("alice deletes mlops's job: %v", err)
	}
	if _, err := s.rpc.DeleteJob(as(ctx, "mlops"), &trainingv1.DeleteJobRequest{Namespace: "team-a", Name: "a1", DryRun: true}); err != nil {
		t.Errorf("mlops deletes alice's job (dry run): %v", err)
	}
	if _, err := s.rpc.DeleteJob(as(ctx, "alice"), &trainingv1.DeleteJobRequest{Namespace: "team-a", Name: "a1", Wait: true}); err != nil {
		t.Errorf("alice deletes her job: %v", err)
	}
	// REST: same decision, 403 with the reason.
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, s.url+"/api/v1/namespaces/team-b/mpijobs/b1", nil)
	req.Header.Set("Authorization", "Bearer alice-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var eb apiconv.ErrorBody
	_ = json.Unmarshal(body, &eb)
	if resp.StatusCode != http.StatusForbidden || eb.Reason != "Forbidden" || !strings.Contains(eb.Message, `namespace "team-b"`) {
		t.Errorf("REST delete in another namespace: %d %s", resp.StatusCode, body)
	}
	// Lists across namespaces show what the caller may see.
	names := func(user string) []string {
		l, err := s.rpc.ListJobs(as(ctx, user), &trainingv1.ListJobsRequest{})
		if err != nil {
			t.Fatalf("%s lists: %v", user, err)
		}
		var out []string
		for _, j := range l.GetItems() {
			out = append(out, j.GetMetadata().GetNamespace()+"/"+j.GetMetadata().GetName())
		}
		slices.Sort(out)
		return out
	}
	if diff := cmp.Diff([]string{"team-a/m1"}, names("alice")); diff != "" {
		t.Errorf("alice's list (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"team-b/b1"}, names("bob")); diff != "" {
		t.Errorf("bob's list (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"team-a/m1", "team-b/b1"}, names("root")); diff != "" {
		t.Errorf("root's list (-want +got):\n%s", diff)
	}
	if l, err := s.rpc.ListJobs(as(ctx, "nobody"), &trainingv1.ListJobsRequest{}); err != nil || len(l.GetItems()) != 0 {
		t.Errorf("nobody's list: %v %v", l, err)
	}
	if _, err := s.rpc.ListJobs(as(ctx, "bob"), &trainingv1.ListJobsRequest{Namespace: "team-a"}); code(err) != codes.PermissionDenied {
		t.Errorf("bob lists team-a: %v", err)
	}
	// A watch across namespaces sees only bob's namespace.
	wctx, cancel := context.WithTimeout(as(ctx, "bob"), 10*time.Second)
	defer cancel()
	w, err := s.rpc.WatchJobs(wctx, &trainingv1.WatchJobsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for {
		ev, err := w.Recv()
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
		if ev.GetType() == "SYNCED" {
			break
		}
		seen = append(seen, ev.GetJob().GetMetadata().GetNamespace()+"/"+ev.GetJob().GetMetadata().GetName())
	}
	if diff := cmp.Diff([]string{"team-b/b1"}, seen); diff != "" {
		t.Errorf("bob's watch (-want +got):\n%s", diff)
	}
	// Logs of a job in a namespace without a role.
	lg, err := s.rpc.GetLogs(as(ctx, "bob"), &trainingv1.GetLogsRequest{Namespace: "team-a", Name: "m1"})
	if err == nil {
		_, err = lg.Recv()
	}
	if code(err) != codes.PermissionDenied {
		t.Errorf("bob reads team-a logs: %v", err)
	}

	// Every denial is audited, without tokens.
	type row struct{ User, Verb, Namespace, Name, Result string }
	var denied []row
	for _, line := range strings.Split(strings.TrimSpace(audit.String()), "\n") {
		var r service.AuditRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		if r.Result == "Denied" {
			denied = append(denied, row{r.User, r.Verb, r.Namespace, r.Name, r.Result})
		}
	}
	want := []row{
		{"viv", "create", "team-a", "", "Denied"}, // manifests are not parsed for the audit log
		{"alice", "create", "team-b", "", "Denied"},
		{"alice", "get", "team-b", "b1", "Denied"},
		{"alice", "suspend", "team-a", "m1", "Denied"},
		{"alice", "delete", "team-a", "m1", "Denied"},
		{"alice", "delete", "team-b", "b1", "Denied"},
		{"bob", "list", "team-a", "", "Denied"},
		{"bob", "get", "team-a", "m1", "Denied"},
	}
	if diff := cmp.Diff(want, denied); diff != "" {
		t.Errorf("denials in the audit log (-want +got):\n%s", diff)
	}
	for _, tok := range []string{"alice-token", "bob-token", "viv-token"} {
		if strings.Contains(audit.String(), tok) {
			t.Errorf("the audit log contains %s", tok)
		}
	}
}

func TestCanI(t *testing.T) {
	p, err := auth.ParsePolicy([]byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, func(o *server.Options) { o.Auth, o.Authorizer = p, p })
	ctx := t.Context()
	if _, err := s.rpc.CreateJob(as(ctx, "mlops"), &trainingv1.CreateJobRequest{Namespace: "team-a", Manifest: "metadata: {name: m1}\nspec: {command: [\"true\"], runPolicy: {suspend: true}}"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		user, verb, ns, name string
		want                 bool
	}{
		{"alice", "create", "team-a", "", true},
		{"alice", "delete", "team-a", "m1", false},
		{"alice", "suspend", "team-a", "m1", false},
		{"alice", "get", "team-a", "m1", true},
		{"alice", "logs", "team-a", "m1", true},
		{"mlops", "delete", "team-a", "m1", true},
		{"viv", "create", "team-a", "", false},
		{"bob", "list", "team-a", "", false},
	} {
		r, err := s.rpc.CanI(as(ctx, c.user), &trainingv1.CanIRequest{Namespace: c.ns, Verb: c.verb, Name: c.name})
		if err != nil {
			t.Fatalf("%s can-i %s: %v", c.user, c.verb, err)
		}
		if r.GetAllowed() != c.want || r.GetUser() != c.user || (!c.want && r.GetReason() == "") {
			t.Errorf("%s can-i %s %s: %v", c.user, c.verb, c.name, r)
		}
	}
	// REST, and bad questions.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/api/v1/namespaces/team-a/cani?verb=delete&resource=mpijobs&name=m1", nil)
	req.Header.Set("Authorization", "Bearer alice-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"allowed":false`) && strings.Contains(string(body), `"allowed":true`) || !strings.Contains(string(body), `created by \"mlops\"`) {
		t.Errorf("REST can-i: %d %s", resp.StatusCode, body)
	}
	if _, err := s.rpc.CanI(as(ctx, "alice"), &trainingv1.CanIRequest{Namespace: "team-a", Verb: "fly"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("unknown verb: %v", err)
	}
}
