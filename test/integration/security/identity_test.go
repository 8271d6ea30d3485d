//go:build integration

package security_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/odh-training/odh-training/test/cluster"
)

const serverSA = "system:serviceaccount:odh-training:odh-server"

// TestServerIdentityIsLeastPrivileged asks the API server what the rights
// of deploy/server/rbac.yaml allow odh-server's own identity: it can
// impersonate nobody (system:masters, system:admin, any ServiceAccount),
// write no MPIJob, and patch pods only in a namespace that bound
// odh-training-server-namespace (nsA here, not nsB) — never cluster-wide.
// Then it tries an impersonation for real with the ServiceAccount's token.
func TestServerIdentityIsLeastPrivileged(t *testing.T) {
	ctx := t.Context()
	can := func(ra authorizationv1.ResourceAttributes) bool {
		t.Helper()
		r, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: serverSA, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:odh-training", "system:authenticated"}, ResourceAttributes: &ra,
		}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Status.Allowed
	}
	for _, c := range []struct {
		what string
		ra   authorizationv1.ResourceAttributes
		want bool
	}{
		{"impersonate user system:admin", authorizationv1.ResourceAttributes{Verb: "impersonate", Resource: "users", Name: "system:admin"}, false},
		{"impersonate group system:masters", authorizationv1.ResourceAttributes{Verb: "impersonate", Resource: "groups", Name: "system:masters"}, false},
		{"impersonate user alice", authorizationv1.ResourceAttributes{Verb: "impersonate", Resource: "users", Name: "alice"}, false},
		{"impersonate serviceaccounts", authorizationv1.ResourceAttributes{Verb: "impersonate", Resource: "serviceaccounts", Namespace: "kube-system", Name: "default"}, false},
		{"impersonate uids", authorizationv1.ResourceAttributes{Verb: "impersonate", Group: "authentication.k8s.io", Resource: "uids"}, false},
		{"patch pods cluster-wide", authorizationv1.ResourceAttributes{Verb: "patch", Resource: "pods"}, false},
		{"patch pods in kube-system", authorizationv1.ResourceAttributes{Verb: "patch", Resource: "pods", Namespace: "kube-system"}, false},
		{"patch pods in an unbound namespace", authorizationv1.ResourceAttributes{Verb: "patch", Resource: "pods", Namespace: nsB}, false},
		{"create NetworkPolicies in an unbound namespace", authorizationv1.ResourceAttributes{Verb: "create", Group: "networking.k8s.io", Resource: "networkpolicies", Namespace: nsB}, false},
		{"create pods", authorizationv1.ResourceAttributes{Verb: "create", Resource: "pods", Namespace: nsA}, false},
		{"create MPIJobs", authorizationv1.ResourceAttributes{Verb: "create", Group: "kubeflow.org", Resource: "mpijobs", Namespace: nsA}, false},
		{"delete MPIJobs", authorizationv1.ResourceAttributes{Verb: "delete", Group: "kubeflow.org", Resource: "mpijobs", Namespace: nsA}, false},
		{"update namespaces", authorizationv1.ResourceAttributes{Verb: "update", Resource: "namespaces", Name: nsA}, false},
		{"get secrets", authorizationv1.ResourceAttributes{Verb: "get", Resource: "secrets", Namespace: nsA}, false},
		{"bind cluster roles", authorizationv1.ResourceAttributes{Verb: "bind", Group: "rbac.authorization.k8s.io", Resource: "clusterroles"}, false},
		{"create rolebindings", authorizationv1.ResourceAttributes{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "rolebindings", Namespace: nsA}, false},
		// What it keeps: reads for its informers, the two reviews, and its
		// finalizer on pods where the namespace bound the role.
		{"watch MPIJobs", authorizationv1.ResourceAttributes{Verb: "watch", Group: "kubeflow.org", Resource: "mpijobs"}, true},
		{"create TokenReviews", authorizationv1.ResourceAttributes{Verb: "create", Group: "authentication.k8s.io", Resource: "tokenreviews"}, true},
		{"create SubjectAccessReviews", authorizationv1.ResourceAttributes{Verb: "create", Group: "authorization.k8s.io", Resource: "subjectaccessreviews"}, true},
		{"patch pods in a bound namespace", authorizationv1.ResourceAttributes{Verb: "patch", Resource: "pods", Namespace: nsA}, true},
	} {
		if got := can(c.ra); got != c.want {
			t.Errorf("odh-server may %s: %v, want %v", c.what, got, c.want)
		}
	}
	// For real: the ServiceAccount's token, asking to act as system:admin.
	out, err := kubectlKubeconfig(serverKubeconfig, "get", "pods", "-n", "kube-system", "--as=system:admin", "--as-group=system:masters")
	if err == nil || !strings.Contains(out, "cannot impersonate") {
		t.Errorf("odh-server's token impersonating system:admin: err=%v\n%s", err, out)
	}
}

// TestStreamEndsWhenAccessRevoked opens a watch and a followed log as bob in
// nsA, where a RoleBinding gives him access, deletes the binding, and
// expects both streams to end — with a status that says why —
// within the server's recheck interval plus its access-review cache time.
func TestStreamEndsWhenAccessRevoked(t *testing.T) {
	ctx := t.Context()
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "sec-revoke-bob"}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: cluster.RoleDataScientist},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "bob"}}}
	if _, err := admin.RbacV1().RoleBindings(nsA).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = admin.RbacV1().RoleBindings(nsA).Delete(context.Background(), rb.Name, metav1.DeleteOptions{})
	})

	type ended struct {
		what, last string
		err        error
	}
	done := make(chan ended, 2)
	open := func(what, path string) {
		waitFor(t, 30*time.Second, "bob may "+what, func() error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srvURL+path, nil)
			req.Header.Set("Authorization", "Bearer "+token(cluster.Bob))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK {
				resp.Body.Close()
				return fmt.Errorf("%s: HTTP %d", path, resp.StatusCode)
			}
			go func() {
				defer resp.Body.Close()
				sc := bufio.NewScanner(resp.Body)
				sc.Buffer(make([]byte, 1<<20), 1<<20)
				last := ""
				for sc.Scan() {
					last = sc.Text()
				}
				done <- ended{what, last, sc.Err()}
			}()
			return nil
		})
	}
	open("watch", "/api/v1/watch/namespaces/"+nsA+"/mpijobs")
	open("follow logs", "/api/v1/namespaces/"+nsA+"/mpijobs/run-alice/logs?follow=true")
	start := time.Now()
	if err := admin.RbacV1().RoleBindings(nsA).Delete(ctx, rb.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Recheck every 2 s (the suite's --stream-recheck-interval) + 10 s of
	// cached access reviews + slack for a loaded machine.
	for range 2 {
		select {
		case e := <-done:
			t.Logf("%s ended %s after the binding was deleted: %s", e.what, time.Since(start).Round(time.Millisecond), e.last)
			if !strings.Contains(e.last, "access ended") {
				t.Errorf("%s ended without saying access ended: %q (%v)", e.what, e.last, e.err)
			}
		case <-time.After(45 * time.Second):
			t.Fatal("a stream was still open 45 s after bob's access was revoked")
		}
	}
}
