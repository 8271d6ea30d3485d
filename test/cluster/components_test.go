package cluster

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestToolModulesPinVersions: every pinned version constant is what its tool
// module requires, and every tool module is built.
func TestToolModulesPinVersions(t *testing.T) {
	l, err := FindLayout("")
	if err != nil {
		t.Fatal(err)
	}
	pins := []struct{ module, path, version string }{
		{"kubernetes", "k8s.io/kubernetes", KubernetesVersion},
		{"kwok", "sigs.k8s.io/kwok", KwokVersion},
		{"mpi-operator", "github.com/kubeflow/mpi-operator", MPIOperatorVersion},
		{"kueue", "sigs.k8s.io/kueue", KueueVersion},
		{"jobset", "sigs.k8s.io/jobset", JobSetVersion},
		{"trainer", "github.com/kubeflow/trainer/v2", TrainerVersion},
		// Trainer's own pin of JobSet is the one the jobset module builds.
		{"trainer", "sigs.k8s.io/jobset", JobSetVersion},
		{"scheduler-plugins", "sigs.k8s.io/scheduler-plugins", SchedulerPluginsVersion},
		{"metrics-server", "sigs.k8s.io/metrics-server", MetricsServerVersion},
		{"volcano", "volcano.sh/apis", VolcanoAPIsVersion},
		{"volcano", "sigs.k8s.io/controller-tools", ControllerToolsVersion},
	}
	for _, p := range pins {
		b, err := os.ReadFile(filepath.Join(l.ToolsDir(), p.module, "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
			if len(f) >= 2 && f[0] == p.path {
				found = true
				if f[1] != p.version {
					t.Errorf("tools/%s requires %s %s, the harness pins %s", p.module, p.path, f[1], p.version)
				}
			}
		}
		if !found {
			t.Errorf("tools/%s does not require %s", p.module, p.path)
		}
	}
	built := map[string]bool{}
	for _, tb := range toolBuilds() {
		built[tb.module] = true
		if len(tb.packages) != len(tb.binaries) {
			t.Errorf("tool build %s: %d packages, %d binary names", tb.module, len(tb.packages), len(tb.binaries))
		}
	}
	entries, err := os.ReadDir(l.ToolsDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() && !built[e.Name()] {
			t.Errorf("tool module %s is not built by toolBuilds", e.Name())
		}
	}
	for _, bin := range requiredBinaries() {
		if bin == webhookBinary {
			continue
		}
		found := false
		for _, tb := range toolBuilds() {
			found = found || slices.Contains(tb.binaries, bin)
		}
		if !found {
			t.Errorf("component binary %s is built by no tool build", bin)
		}
	}
}

func TestCachedModuleDir(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("GOMODCACHE", cache)
	tool := t.TempDir()
	gomod := "module x\n\nrequire github.com/Foo/bar v1.2.3\n\nrequire (\n\tsigs.k8s.io/baz v0.1.0 // indirect\n\tk8s.io/api v0.32.7 // indirect\n)\n\nreplace k8s.io/api => k8s.io/api v0.32.7\n"
	if err := os.WriteFile(filepath.Join(tool, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"github.com/!foo/bar@v1.2.3", "sigs.k8s.io/baz@v0.1.0", "k8s.io/api@v0.32.7"} {
		if err := os.MkdirAll(filepath.Join(cache, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(cache, d, "go.mod"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for module, want := range map[string]string{
		"github.com/Foo/bar": filepath.Join(cache, "github.com/!foo/bar@v1.2.3"),
		"sigs.k8s.io/baz":    filepath.Join(cache, "sigs.k8s.io/baz@v0.1.0"),
		"k8s.io/api":         "", // replaced: the go command decides
		"example.com/none":   "",
	} {
		if got := cachedModuleDir(tool, module); got != want {
			t.Errorf("cachedModuleDir(%s) = %q, want %q", module, got, want)
		}
	}
}

// renderedWebhook is what `kubectl kustomize deploy/webhook` renders, in
// the parts the harness reads.
func renderedWebhook(args ...any) []*unstructured.Unstructured {
	return []*unstructured.Unstructured{
		{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "odh-webhook-policy"},
			"data": map[string]any{"policy.json": `{"defaults":{}}`}}},
		{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "odh-webhook"},
			"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
				"containers": []any{map[string]any{
					"name": "odh-webhook", "args": args,
					"volumeMounts": []any{
						map[string]any{"name": "certs", "mountPath": "/var/run/odh-webhook"},
						map[string]any{"name": "policy", "mountPath": "/etc/odh-webhook", "readOnly": true},
					},
				}},
				"volumes": []any{
					map[string]any{"name": "certs", "emptyDir": map[string]any{}},
					map[string]any{"name": "policy", "configMap": map[string]any{"name": "odh-webhook-policy"}},
				},
			}}}}},
	}
}

func TestWebhookArgs(t *testing.T) {
	dir := t.TempDir()
	c := &Cluster{Layout: Layout{Root: "/repo"}, PKI: &PKI{Dir: "/pki"}, State: &State{Ports: Ports{Webhook: 4443}}}
	got, err := c.webhookArgs(renderedWebhook(
		"--listen=0.0.0.0:9443", "--cert-dir=/var/run/odh-webhook", "--dns-name=odh-webhook.odh-training.svc",
		"--policy-file=/etc/odh-webhook/policy.json", "--log-format=json"), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"--listen=127.0.0.1:4443",
		"--policy-file=" + filepath.Join(dir, "policy", "policy.json"),
		"--log-format=json",
		"--tls-cert-file=/pki/loopback/tls.crt", "--tls-key-file=/pki/loopback/tls.key",
		"--kubeconfig=/repo/.cluster/odh-webhook.kubeconfig",
	}
	if !slices.Equal(got, want) {
		t.Errorf("args:\n got %q\nwant %q", got, want)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "policy", "policy.json")); err != nil || string(b) != `{"defaults":{}}` {
		t.Errorf("policy file: %q, %v", b, err)
	}

	for _, bad := range []struct {
		arg, want string
	}{
		{"--state-dir=/var/run/odh-webhook/state", "cannot provide"},
		{"--listen", "--flag=value only"},
	} {
		if _, err := c.webhookArgs(renderedWebhook(bad.arg), dir); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("arg %q: error %v, want one saying %q", bad.arg, err, bad.want)
		}
	}
	if _, err := c.webhookArgs(renderedWebhook()[:1], dir); err == nil {
		t.Error("no Deployment rendered: no error")
	}
}

func TestLoopbackWebhooks(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, pkiCACert), []byte("CA"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &Cluster{PKI: &PKI{Dir: dir}}
	hook := func(name, resource string) map[string]any {
		return map[string]any{
			"name":          name,
			"clientConfig":  map[string]any{"service": map[string]any{"name": "svc", "namespace": "ns", "path": "/" + name}},
			"rules":         []any{map[string]any{"apiGroups": []any{"x"}, "resources": []any{resource}, "operations": []any{"CREATE"}}},
			"failurePolicy": "Fail",
		}
	}
	objs := []*unstructured.Unstructured{
		{Object: map[string]any{"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
			"metadata": map[string]any{"name": "validating-webhook-configuration"},
			"webhooks": []any{hook("keep", "jobsets"), hook("drop", "rayjobs")}}},
		{Object: map[string]any{"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
			"metadata": map[string]any{"name": "jobset-mutating"},
			"webhooks": []any{hook("drop2", "rayclusters")}}},
		{Object: map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "svc"}}},
	}
	out, err := c.loopbackWebhooks(objs, 7443, func(w map[string]any) bool { return webhookRules(w, "jobsets") }, "jobset-")
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 {
		t.Fatalf("got %d configurations, want 1 (the one with a kept webhook)", len(out))
	}
	if out[0].GetName() != "jobset-validating-webhook-configuration" {
		t.Errorf("name %s", out[0].GetName())
	}
	hooks, _, _ := unstructured.NestedSlice(out[0].Object, "webhooks")
	if len(hooks) != 1 {
		t.Fatalf("webhooks %v", hooks)
	}
	h := hooks[0].(map[string]any)
	if url, _, _ := unstructured.NestedString(h, "clientConfig", "url"); url != "https://127.0.0.1:7443/keep" {
		t.Errorf("url %q", url)
	}
	if ca, _, _ := unstructured.NestedString(h, "clientConfig", "caBundle"); ca != "Q0E=" {
		t.Errorf("caBundle %q", ca)
	}
	if h["failurePolicy"] != "Fail" {
		t.Errorf("failurePolicy %v: the rest of the webhook must stay as upstream wrote it", h["failurePolicy"])
	}
	// The input is not changed.
	if n, _, _ := unstructured.NestedSlice(objs[0].Object, "webhooks"); len(n) != 2 {
		t.Errorf("input changed: %v", n)
	}
}

func TestMainStamp(t *testing.T) {
	root := t.TempDir()
	write := func(rel, text string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module m\n")
	write("go.sum", "")
	write("cmd/w/main.go", "package main\n")
	write("internal/a/a.go", "package a\n")
	write("internal/a/a_test.go", "package a\n")
	write("internal/a/static/x.txt", "x")
	write("internal/b/b.go", "package b\n")
	l := Layout{Root: root}
	in := &mainInputs{Dirs: []string{"cmd/w", "internal/a"}, Embed: []string{"internal/a/static/x.txt"}}
	stamp := func() string {
		t.Helper()
		s, err := mainStamp(l, in, "go1.27.3")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	base := stamp()
	if stamp() != base {
		t.Fatal("stamp not stable")
	}
	for _, c := range []struct {
		what    string
		edit    func()
		changes bool
	}{
		{"a test file", func() { write("internal/a/a_test.go", "package a // edited\n") }, false},
		{"a package it does not import", func() { write("internal/b/b.go", "package b // edited\n") }, false},
		{"a source file", func() { write("internal/a/a.go", "package a // edited\n") }, true},
		{"a new file", func() { write("internal/a/new.go", "package a\n") }, true},
		{"an embedded file", func() { write("internal/a/static/x.txt", "y") }, true},
		{"go.sum", func() { write("go.sum", "x v1.0.0 h1:\n") }, true},
	} {
		before := stamp()
		c.edit()
		if got := stamp() != before; got != c.changes {
			t.Errorf("editing %s: stamp changed = %v, want %v", c.what, got, c.changes)
		}
	}
}
