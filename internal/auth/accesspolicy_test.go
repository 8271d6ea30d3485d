package auth_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/job"
)

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// testPolicy: alice and bob are data scientists in team-a and team-b, mlops
// runs team-a, viv views team-a, root is admin everywhere.
var testPolicy = `{
  "users": [
    {"name": "alice", "groups": ["team-a"], "token": "alice-token"},
    {"name": "bob", "groups": ["team-b"], "tokenSHA256": "` + sha("bob-token") + `"},
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

func TestPolicyAuthenticate(t *testing.T) {
	p, err := auth.ParsePolicy([]byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	for tok, want := range map[string]string{"alice-token": "alice", "bob-token": "bob", "root-token": "root"} {
		u, err := p.Authenticate(t.Context(), tok)
		if err != nil || u.Name != want {
			t.Errorf("token %s: got %v, %v; want %s", tok, u, err, want)
		}
	}
	u, _ := p.Authenticate(t.Context(), "alice-token")
	if strings.Join(u.Groups, ",") != "team-a,system:authenticated" {
		t.Errorf("alice's groups: %v", u.Groups)
	}
	for _, tok := range []string{"", "wrong", sha("bob-token")} {
		if _, err := p.Authenticate(t.Context(), tok); err == nil {
			t.Errorf("token %q accepted", tok)
		}
	}
}

func TestPolicyAuthorize(t *testing.T) {
	p, err := auth.ParsePolicy([]byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	owned := func(by string) func() (string, error) { return func() (string, error) { return by, nil } }
	type c struct {
		user  string
		verb  string
		res   string
		ns    string
		owner string
		allow bool
	}
	cases := []c{
		{"alice", "get", auth.ResourceJobs, "team-a", "", true},
		{"alice", "list", auth.ResourceJobs, "team-a", "", true},
		{"alice", "watch", auth.ResourceJobs, "team-a", "", true},
		{"alice", "get", auth.ResourceLogs, "team-a", "", true},
		{"alice", "create", auth.ResourceJobs, "team-a", "", true},
		{"alice", "delete", auth.ResourceJobs, "team-a", "alice", true},
		{"alice", "update", auth.ResourceJobs, "team-a", "alice", true},
		{"alice", "delete", auth.ResourceJobs, "team-a", "bob", false},
		{"alice", "update", auth.ResourceJobs, "team-a", "mlops", false},
		{"alice", "get", auth.ResourceJobs, "team-b", "", false},
		{"alice", "create", auth.ResourceJobs, "team-b", "", false},
		{"alice", "list", auth.ResourceJobs, "", "", false},
		{"bob", "create", auth.ResourceJobs, "team-b", "", true},
		{"bob", "get", auth.ResourceJobs, "team-a", "", false},
		{"mlops", "delete", auth.ResourceJobs, "team-a", "alice", true},
		{"mlops", "update", auth.ResourceJobs, "team-a", "alice", true},
		{"mlops", "create", auth.ResourceJobs, "team-a", "", true},
		{"mlops", "delete", auth.ResourceJobs, "team-b", "bob", false},
		{"viv", "get", auth.ResourceJobs, "team-a", "", true},
		{"viv", "create", auth.ResourceJobs, "team-a", "", false},
		{"viv", "delete", auth.ResourceJobs, "team-a", "viv", false},
		{"root", "delete", auth.ResourceJobs, "team-b", "bob", true},
		{"root", "list", auth.ResourceJobs, "", "", true},
		{"root", "create", auth.ResourceTemplates, "anywhere", "", true},
		{"nobody", "get", auth.ResourceJobs, "team-a", "", false},
		{"alice", "delete", auth.ResourceTemplates, "team-a", "alice", true},
		{"alice", "delete", auth.ResourceTemplates, "team-a", "mlops", false},
	}
	for _, tc := range cases {
		u, err := p.Authenticate(t.Context(), tc.user+"-token")
		if err != nil {
			t.Fatal(err)
		}
		a := auth.Action{Verb: tc.verb, Resource: tc.res, Namespace: tc.ns, Name: "j1"}
		if tc.owner != "" {
			a.Owner = owned(tc.owner)
		}
		err = p.Authorize(t.Context(), u, a)
		if (err == nil) != tc.allow {
			t.Errorf("%s %s %s in %q (owner %q): allowed=%v, want %v (%v)", tc.user, tc.verb, tc.res, tc.ns, tc.owner, err == nil, tc.allow, err)
			continue
		}
		if err != nil && !job.IsKind(err, job.KindForbidden) {
			t.Errorf("%s %s: error kind %s, want Forbidden", tc.user, tc.verb, job.KindOf(err))
		}
	}
}

func TestPolicyDenialMessages(t *testing.T) {
	p, err := auth.ParsePolicy([]byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	alice, _ := p.Authenticate(t.Context(), "alice-token")
	err = p.Authorize(t.Context(), alice, auth.Action{Verb: "delete", Resource: auth.ResourceJobs, Namespace: "team-a", Name: "train", Owner: func() (string, error) { return "bob", nil }})
	var je *job.Error
	if !errors.As(err, &je) {
		t.Fatalf("got %v", err)
	}
	for _, want := range []string{`user "alice" may not delete MPIJob "train" in namespace "team-a"`, `created by "bob"`} {
		if !strings.Contains(je.Message, want) {
			t.Errorf("message %q lacks %q", je.Message, want)
		}
	}
	if !strings.Contains(je.Hint, "mlops") {
		t.Errorf("hint %q does not say how to get access", je.Hint)
	}
	err = p.Authorize(t.Context(), alice, auth.Action{Verb: "get", Resource: auth.ResourceJobs, Namespace: "team-b", Name: "x"})
	if !errors.As(err, &je) || !strings.Contains(je.Message, `alice has no role in namespace "team-b"`) || !strings.Contains(je.Hint, "--policy-file") {
		t.Errorf("no-role denial: %v", err)
	}
	// The owner is looked up only when the decision needs it, and a lookup
	// error (the job does not exist) is returned as is.
	mlops, _ := p.Authenticate(t.Context(), "mlops-token")
	called := false
	if err := p.Authorize(t.Context(), mlops, auth.Action{Verb: "delete", Resource: auth.ResourceJobs, Namespace: "team-a", Owner: func() (string, error) { called = true; return "", nil }}); err != nil || called {
		t.Errorf("mlops delete: %v, owner looked up: %v", err, called)
	}
	err = p.Authorize(t.Context(), alice, auth.Action{Verb: "delete", Resource: auth.ResourceJobs, Namespace: "team-a", Owner: func() (string, error) { return "", job.NotFound("team-a", "gone") }})
	if !job.IsKind(err, job.KindNotFound) {
		t.Errorf("missing job: %v", err)
	}
}

func TestParsePolicyErrors(t *testing.T) {
	_, err := auth.ParsePolicy([]byte(`{
	  "users": [{"name": "a"}, {"name": "a", "token": "x", "tokenSHA256": "y"}, {"name": "b", "tokenSHA256": "zz"}, {"name": "c", "token": "t"}, {"name": "d", "token": "t"}],
	  "bindings": [{"role": "owner", "namespaces": []}]
	}`))
	if err == nil {
		t.Fatal("invalid policy accepted")
	}
	for _, want := range []string{
		"users[0]: token or tokenSHA256 is required", "users[1]: user \"a\" is listed twice", "users[1]: set token or tokenSHA256, not both",
		"users[2]: tokenSHA256 must be 64 hex digits", "users[4]: the token of \"d\" is also another user's",
		"bindings[0]: unknown role \"owner\"", "bindings[0]: namespaces is required", "bindings[0]: name users or groups",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if _, err := auth.ParsePolicy([]byte(`{"users": [], "rules": []}`)); err == nil || !strings.Contains(err.Error(), "unknown field") {
		t.Errorf("unknown field: %v", err)
	}
}

// The policy file is read again when it changes; a broken file keeps the
// last good policy.
func TestPolicyFileReload(t *testing.T) {
	p := t.TempDir() + "/policy.json"
	write := func(s string) {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"users": [{"name": "a", "token": "t1"}], "bindings": [{"role": "viewer", "namespaces": ["x"], "users": ["a"]}]}`)
	f, err := auth.OpenPolicyFile(p, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := f.Authenticate(t.Context(), "t1")
	if err != nil {
		t.Fatal(err)
	}
	if f.Authorize(t.Context(), u, auth.Action{Verb: "create", Resource: auth.ResourceJobs, Namespace: "x"}) == nil {
		t.Fatal("viewer may create")
	}
	write(`{"users": [{"name": "a", "token": "t1"}], "bindings": [{"role": "data-scientist", "namespaces": ["x"], "users": ["a"]}]}`)
	future := time.Now().Add(time.Minute)
	_ = os.Chtimes(p, future, future)
	eventuallyTrue(t, func() bool {
		return f.Authorize(t.Context(), u, auth.Action{Verb: "create", Resource: auth.ResourceJobs, Namespace: "x"}) == nil
	})
	write(`{"users": [`)
	future = future.Add(time.Minute)
	_ = os.Chtimes(p, future, future)
	time.Sleep(2100 * time.Millisecond)
	if _, err := f.Authenticate(t.Context(), "t1"); err != nil {
		t.Errorf("a broken file replaced the policy: %v", err)
	}
}

func eventuallyTrue(t *testing.T, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
