package webhook

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRegistryAllowed(t *testing.T) {
	for _, c := range []struct {
		image   string
		allowed []string
		want    bool
	}{
		{"quay.io/team-a/x:1", []string{"quay.io"}, true},
		{"quay.io.evil.com/x", []string{"quay.io"}, false},
		{"quay.io/team-b/x", []string{"quay.io/team-a/"}, false},
		{"quay.io/team-a/x@sha256:00", []string{"quay.io/team-a/"}, true},
		{"ubuntu", []string{"docker.io/library/"}, true},
		{"mpioperator/mpi-pi", []string{"docker.io/mpioperator/"}, true},
		{"mpioperator/mpi-pi", []string{"quay.io"}, false},
		{"localhost:5000/x", []string{"localhost:5000"}, true},
		{"registry.example.com:5000/a/b", []string{"registry.example.com:5000"}, true},
		{"", []string{"quay.io"}, false},
	} {
		if got := registryAllowed(c.image, c.allowed); got != c.want {
			t.Errorf("registryAllowed(%q, %v) = %v, want %v", c.image, c.allowed, got, c.want)
		}
	}
}

func TestRulesFor(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(p, []byte(`{"defaults": {"allowedRegistries": ["quay.io"], "maxWorkers": 64},
	  "namespaces": {"team-a": {"maxWorkers": 8, "maxGPUsPerJob": 0}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadPolicyConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.rulesFor(t.Context(), "team-a", fakeNamespaces{"team-a": {AnnotationAllowedRegistries: "registry.example.com, quay.io/team-a/"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.AllowedRegistries) != 2 || r.AllowedRegistries[1] != "quay.io/team-a/" || *r.MaxWorkers != 8 || *r.MaxGPUsPerJob != 0 {
		t.Errorf("team-a rules: %+v", r)
	}
	r, _ = c.rulesFor(t.Context(), "team-b", nil)
	if *r.MaxWorkers != 64 || r.MaxGPUsPerJob != nil {
		t.Errorf("team-b rules: %+v", r)
	}
	if _, err := c.rulesFor(t.Context(), "x", fakeNamespaces{"x": {AnnotationMaxWorkers: "many"}}); err == nil {
		t.Error("a malformed annotation was ignored")
	}
	if err := os.WriteFile(p, []byte(`{"default": {}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPolicyConfig(p); err == nil {
		t.Error("unknown field accepted")
	}
}
