package kubeauth

import (
	"errors"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/job"
)

func TestTokenReviewCaches(t *testing.T) {
	c := fake.NewClientset()
	calls := 0
	c.PrependReactor("create", "tokenreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		calls++
		tr := a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenReview)
		if tr.Spec.Token == "good" {
			tr.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: authenticationv1.UserInfo{Username: "alice", UID: "u1", Groups: []string{"team-a"}, Extra: map[string]authenticationv1.ExtraValue{"scopes": {"x"}}}}
		}
		return true, tr, nil
	})
	tr := NewTokenReview(c, TokenReviewOptions{TTL: time.Minute})
	for range 3 {
		u, err := tr.Authenticate(t.Context(), "good")
		if err != nil || u.Name != "alice" || u.UID != "u1" || u.Groups[0] != "team-a" || u.Extra["scopes"][0] != "x" {
			t.Fatalf("good token: %+v %v", u, err)
		}
	}
	for range 3 {
		if _, err := tr.Authenticate(t.Context(), "bad"); err == nil {
			t.Fatal("bad token accepted")
		}
	}
	if calls != 2 {
		t.Errorf("%d TokenReviews for 2 distinct tokens", calls)
	}
}

// sar answers SubjectAccessReviews from a table user -> "verb group/resource/sub ns".
func sar(t *testing.T, allowed map[string]bool) (*fake.Clientset, *[]string) {
	c := fake.NewClientset()
	var seen []string
	c.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview)
		ra := r.Spec.ResourceAttributes
		k := r.Spec.User + " " + ra.Verb + " " + ra.Group + "/" + ra.Resource + "/" + ra.Subresource + " " + ra.Namespace
		seen = append(seen, k)
		r.Status.Allowed = allowed[k]
		return true, r, nil
	})
	return c, &seen
}

func TestAccessReview(t *testing.T) {
	c, seen := sar(t, map[string]bool{
		"alice get kubeflow.org/mpijobs/ team-a":        true,
		"alice list kubeflow.org/mpijobs/ team-a":       true,
		"alice get /pods/log team-a":                    true,
		"alice patch kubeflow.org/mpijobs/ team-a":      true,
		"alice delete kubeflow.org/mpijobs/ team-a":     true,
		"mlops delete kubeflow.org/mpijobs/ team-a":     true,
		"mlops manage-all kubeflow.org/mpijobs/ team-a": true,
	})
	r := NewAccessReview(c, AccessReviewOptions{TTL: time.Minute})
	ctx := t.Context()
	alice := auth.User{Name: "alice", Groups: []string{"system:authenticated"}}
	mlops := auth.User{Name: "mlops"}
	ok := func(u auth.User, verb, res, ns string) error {
		return r.Authorize(ctx, u, auth.Action{Verb: verb, Resource: res, Namespace: ns})
	}
	if err := ok(alice, "get", auth.ResourceJobs, "team-a"); err != nil {
		t.Error(err)
	}
	if err := ok(alice, "get", auth.ResourceJobs, "team-a"); err != nil { // cached
		t.Error(err)
	}
	if err := ok(alice, "get", auth.ResourceLogs, "team-a"); err != nil {
		t.Error(err)
	}
	err := ok(alice, "list", auth.ResourceJobs, "team-b")
	if !job.IsKind(err, job.KindForbidden) || !strings.Contains(err.Error(), `user "alice" may not list mpijobs.kubeflow.org in namespace "team-b"`) {
		t.Errorf("team-b: %v", err)
	}
	if err := ok(alice, "delete", auth.ResourceJobs, "team-b"); !job.IsKind(err, job.KindForbidden) {
		t.Errorf("delete in another namespace: %v", err)
	}
	if err := ok(alice, "delete", auth.ResourceJobs, "team-a"); err != nil {
		t.Errorf("delete in her namespace (the own-job rule is the webhook's): %v", err)
	}
	if n := len(*seen); n != 5 {
		t.Errorf("%d reviews, want 5 (one cached): %v", n, *seen)
	}
	owner := func(o string) func() (string, error) { return func() (string, error) { return o, nil } }
	for _, c := range []struct {
		u     auth.User
		verb  string
		owner string
		want  bool
	}{
		{alice, "delete", "alice", true},
		{alice, "delete", "bob", false},
		{alice, "update", "bob", false},
		{alice, "update", "alice", true},
		{mlops, "delete", "alice", true},
		{auth.User{Name: "bob"}, "delete", "bob", false}, // no RBAC in team-a
	} {
		got, reason, err := r.CanI(ctx, c.u, auth.Action{Verb: c.verb, Resource: auth.ResourceJobs, Namespace: "team-a", Name: "j", Owner: owner(c.owner)})
		if err != nil || got != c.want || (!got && reason == "") {
			t.Errorf("%s can-i %s (owner %s): %v %q %v", c.u.Name, c.verb, c.owner, got, reason, err)
		}
	}
}

// Allowed answers the admission webhook's manage-all question from the same
// cached reviews, and hands back the API server's own error.
func TestAllowed(t *testing.T) {
	c, seen := sar(t, map[string]bool{"mlops manage-all kubeflow.org/mpijobs/ team-a": true})
	r := NewAccessReview(c, AccessReviewOptions{TTL: time.Minute})
	ra := func(ns string) *authorizationv1.ResourceAttributes {
		return &authorizationv1.ResourceAttributes{Namespace: ns, Verb: "manage-all", Group: "kubeflow.org", Resource: "mpijobs"}
	}
	for _, tc := range []struct {
		user, ns string
		want     bool
	}{{"mlops", "team-a", true}, {"mlops", "team-a", true}, {"mlops", "team-b", false}, {"alice", "team-a", false}} {
		got, err := r.Allowed(t.Context(), auth.User{Name: tc.user}, ra(tc.ns))
		if err != nil || got != tc.want {
			t.Errorf("%s in %s: %v %v, want %v", tc.user, tc.ns, got, err, tc.want)
		}
	}
	if n := len(*seen); n != 3 {
		t.Errorf("%d reviews, want 3 (one cached): %v", n, *seen)
	}
	broken := fake.NewClientset()
	broken.PrependReactor("create", "subjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("apiserver down")
	})
	if _, err := NewAccessReview(broken, AccessReviewOptions{TTL: time.Minute}).Allowed(t.Context(), auth.User{Name: "x"}, ra("team-a")); err == nil || err.Error() != "apiserver down" {
		t.Errorf("error = %v, want the API server's", err)
	}
}
