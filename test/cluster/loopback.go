package cluster

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Servers the apiserver calls — admission webhooks and aggregated API
// servers — run here as processes on 127.0.0.1, where no Service can reach
// them. Their upstream manifests are applied with two changes only:
// webhooks are called by URL (https://127.0.0.1:<port><path>) and trusted
// through the harness CA; aggregated APIs point at an ExternalName Service
// "localhost", which the aggregator dials directly.

// loopbackWebhooks rewrites upstream webhook configurations to call the
// server on port: every webhook's clientConfig becomes a URL with the path
// of its service reference and the harness CA as caBundle. keep, if not
// nil, selects the webhooks to register (the others are dropped, e.g.
// those of integrations that are off, so they cannot block objects nobody
// serves); configurations left without webhooks are dropped. Names get
// prefix (as upstream's kustomize namePrefix does) unless they have it.
func (c *Cluster) loopbackWebhooks(objs []*unstructured.Unstructured, port int, keep func(map[string]any) bool, prefix string) ([]*unstructured.Unstructured, error) {
	ca, err := c.PKI.CAData()
	if err != nil {
		return nil, err
	}
	caBundle := base64.StdEncoding.EncodeToString(ca)
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if k := o.GetKind(); k != "MutatingWebhookConfiguration" && k != "ValidatingWebhookConfiguration" {
			continue
		}
		hooks, _, _ := unstructured.NestedSlice(o.Object, "webhooks")
		var kept []any
		for _, h := range hooks {
			hm, _ := h.(map[string]any)
			if keep != nil && !keep(hm) {
				continue
			}
			path, _, _ := unstructured.NestedString(hm, "clientConfig", "service", "path")
			if path == "" {
				return nil, fmt.Errorf("webhook %v of %s: no clientConfig.service.path", hm["name"], o.GetName())
			}
			hm["clientConfig"] = map[string]any{
				"url":      fmt.Sprintf("https://127.0.0.1:%d%s", port, path),
				"caBundle": caBundle,
			}
			kept = append(kept, hm)
		}
		if len(kept) == 0 {
			continue
		}
		o = o.DeepCopy()
		if err := unstructured.SetNestedSlice(o.Object, kept, "webhooks"); err != nil {
			return nil, err
		}
		if !strings.HasPrefix(o.GetName(), prefix) {
			o.SetName(prefix + o.GetName())
		}
		labels := o.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		for k, v := range harnessLabels() {
			labels[k] = v
		}
		o.SetLabels(labels)
		out = append(out, o)
	}
	return out, nil
}

// webhookRules reports whether a webhook's rules name any of the resources.
func webhookRules(w map[string]any, resources ...string) bool {
	rules, _, _ := unstructured.NestedSlice(w, "rules")
	for _, r := range rules {
		rm, _ := r.(map[string]any)
		res, _, _ := unstructured.NestedStringSlice(rm, "resources")
		for _, want := range resources {
			if slices.Contains(res, want) {
				return true
			}
		}
	}
	return false
}

// aggregatedAPI returns an ExternalName Service "localhost" named service
// in namespace, and one APIService per version of group pointing at it on
// port, trusted through the harness CA. The server's certificate must name
// <service>.<namespace>.svc.
func (c *Cluster) aggregatedAPI(service, namespace string, port int, group string, versionPriority map[string]int64) ([]*unstructured.Unstructured, error) {
	ca, err := c.PKI.CAData()
	if err != nil {
		return nil, err
	}
	out := []*unstructured.Unstructured{{Object: map[string]any{
		"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": service, "namespace": namespace, "labels": map[string]any{"app.kubernetes.io/managed-by": "odh-cluster"}},
		"spec": map[string]any{
			"type": "ExternalName", "externalName": "localhost",
			"ports": []any{map[string]any{"name": "https", "port": int64(port), "protocol": "TCP"}},
		},
	}}}
	for v, prio := range versionPriority {
		out = append(out, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
			"metadata": map[string]any{"name": v + "." + group, "labels": map[string]any{"app.kubernetes.io/managed-by": "odh-cluster"}},
			"spec": map[string]any{
				"group": group, "version": v,
				"groupPriorityMinimum": int64(100), "versionPriority": prio,
				"caBundle": base64.StdEncoding.EncodeToString(ca),
				"service":  map[string]any{"name": service, "namespace": namespace, "port": int64(port)},
			},
		}})
	}
	return out, nil
}

// checkAPIPath reports an error until the apiserver serves path (e.g. an
// aggregated API's group version).
func (c *Cluster) checkAPIPath(ctx context.Context, path string) error {
	cs, err := c.Clientset(Admin)
	if err != nil {
		return err
	}
	if err := cs.Discovery().RESTClient().Get().AbsPath(path).Do(ctx).Error(); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// applyAll server-side applies objects as the harness admin.
func (c *Cluster) applyAll(ctx context.Context, objs ...*unstructured.Unstructured) error {
	a, err := c.adminApplier()
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := a.apply(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

// upstreamClusterRole reads the ClusterRole named name from an upstream
// manifest, renames it to newName (upstream's kustomize namePrefix, or a
// name of our own) and binds it to user: a component runs with exactly the
// rights its project ships for it.
func upstreamClusterRole(path, name, newName, user string) ([]any, error) {
	objs, err := readObjects(path)
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		if o.GetKind() != "ClusterRole" || o.GetName() != name {
			continue
		}
		o.SetName(newName)
		o.SetLabels(harnessLabels())
		return []any{o, clusterRoleBinding("odh-test-"+newName, newName, user)}, nil
	}
	return nil, fmt.Errorf("%s: no ClusterRole %s", path, name)
}

// clusterRoleBinding binds the ClusterRole role to user.
func clusterRoleBinding(name, role, user string) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: harnessLabels()},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
}
