package kubeauth

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/odh-training/odh-training/internal/auth"
)

// rbacIndex finds, for a caller, the namespaces whose RoleBindings grant
// them a verb on a resource — for every namespace at once, from informer
// caches of RoleBindings, Roles and ClusterRoles: what a
// SelfSubjectRulesReview computes for one namespace. A list across
// namespaces then costs no review per namespace of the cluster, only one
// per namespace the index names (confirmed with the API server, because
// the index knows RBAC only, not other authorizers).
type rbacIndex struct {
	factory  informers.SharedInformerFactory
	bindings cache.Indexer
	roles    cache.Indexer
	cluster  cache.Indexer
}

const subjectIndex = "subject"

// subjectKeys indexes a RoleBinding by whom it binds.
func subjectKeys(obj any) ([]string, error) {
	rb, ok := obj.(*rbacv1.RoleBinding)
	if !ok {
		return nil, nil
	}
	var out []string
	for _, s := range rb.Subjects {
		switch s.Kind {
		case rbacv1.UserKind:
			out = append(out, "user:"+s.Name)
		case rbacv1.GroupKind:
			out = append(out, "group:"+s.Name)
		case rbacv1.ServiceAccountKind:
			ns := s.Namespace
			if ns == "" {
				ns = rb.Namespace
			}
			out = append(out, "user:system:serviceaccount:"+ns+":"+s.Name)
		}
	}
	return out, nil
}

// startRBACIndex starts the informers and waits (up to timeout) for them.
func startRBACIndex(ctx context.Context, client kubernetes.Interface, timeout time.Duration) (*rbacIndex, error) {
	f := informers.NewSharedInformerFactory(client, 0)
	rb := f.Rbac().V1().RoleBindings().Informer()
	if err := rb.AddIndexers(cache.Indexers{subjectIndex: subjectKeys}); err != nil {
		return nil, err
	}
	roles := f.Rbac().V1().Roles().Informer()
	cr := f.Rbac().V1().ClusterRoles().Informer()
	f.Start(ctx.Done())
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if !cache.WaitForCacheSync(wctx.Done(), rb.HasSynced, roles.HasSynced, cr.HasSynced) {
		f.Shutdown()
		return nil, fmt.Errorf("read RoleBindings, Roles and ClusterRoles: caches did not sync within %s (does the server's identity may list and watch them?)", timeout)
	}
	return &rbacIndex{factory: f, bindings: rb.GetIndexer(), roles: roles.GetIndexer(), cluster: cr.GetIndexer()}, nil
}

func (x *rbacIndex) stop() { x.factory.Shutdown() }

// namespaces lists, sorted, the namespaces where a RoleBinding grants u
// the verb on group/resource (subresource sub).
func (x *rbacIndex) namespaces(u auth.User, verb, group, resource, sub string) []string {
	keys := []string{"user:" + u.Name}
	for _, g := range u.Groups {
		keys = append(keys, "group:"+g)
	}
	found := map[string]bool{}
	for _, k := range keys {
		objs, _ := x.bindings.ByIndex(subjectIndex, k)
		for _, o := range objs {
			rb := o.(*rbacv1.RoleBinding)
			if found[rb.Namespace] {
				continue
			}
			if rulesAllow(x.rules(rb), verb, group, resource, sub) {
				found[rb.Namespace] = true
			}
		}
	}
	out := make([]string, 0, len(found))
	for ns := range found {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out
}

func (x *rbacIndex) rules(rb *rbacv1.RoleBinding) []rbacv1.PolicyRule {
	var obj any
	var ok bool
	switch rb.RoleRef.Kind {
	case "Role":
		obj, ok, _ = x.roles.GetByKey(rb.Namespace + "/" + rb.RoleRef.Name)
		if ok {
			return obj.(*rbacv1.Role).Rules
		}
	case "ClusterRole":
		obj, ok, _ = x.cluster.GetByKey(rb.RoleRef.Name)
		if ok {
			return obj.(*rbacv1.ClusterRole).Rules
		}
	}
	return nil
}

// rulesAllow is RBAC's rule matching for a request on every object of a
// resource (rules limited to resourceNames grant no list or watch).
func rulesAllow(rules []rbacv1.PolicyRule, verb, group, resource, sub string) bool {
	res := resource
	if sub != "" {
		res += "/" + sub
	}
	for _, r := range rules {
		if len(r.ResourceNames) > 0 || len(r.NonResourceURLs) > 0 && len(r.Resources) == 0 {
			continue
		}
		if !has(r.Verbs, verb) || !has(r.APIGroups, group) {
			continue
		}
		if has(r.Resources, res) ||
			(sub != "" && (slices.Contains(r.Resources, resource+"/*") || slices.Contains(r.Resources, "*/"+sub))) {
			return true
		}
	}
	return false
}

func has(list []string, v string) bool {
	return slices.Contains(list, v) || slices.Contains(list, rbacv1.VerbAll)
}
