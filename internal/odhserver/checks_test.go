package odhserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odh-training/odh-training/internal/auth"
)

func TestCheckPrivate(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, mode os.FileMode, isDir bool) string {
		p := filepath.Join(dir, name)
		var err error
		if isDir {
			err = os.Mkdir(p, mode)
		} else {
			err = os.WriteFile(p, []byte("x"), mode)
		}
		if err == nil {
			err = os.Chmod(p, mode)
		}
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name, path, want string
	}{
		{"missing (created private later)", filepath.Join(dir, "missing"), ""},
		{"private dir", mk("private", 0o700, true), ""},
		{"private file", mk("token", 0o600, false), ""},
		{"dir others can read", mk("shared", 0o755, true), "chmod 700"},
		{"file others can read", mk("token-readable", 0o644, false), "chmod 600"},
		{"file group can write", mk("token-groupw", 0o620, false), "can be read or written by other users"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := checkPrivate("state directory", c.path)
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Errorf("checkPrivate(%s) = %v, want %q", c.path, err, c.want)
			}
		})
	}
	// Another user's: /  belongs to root (skipped when the tests run as root).
	if os.Geteuid() != 0 {
		if err := checkPrivate("state directory", "/"); err == nil || !strings.Contains(err.Error(), "belongs to another user") {
			t.Errorf("root's directory: %v", err)
		}
	}
}

func TestRunRefusesUnsafeLocalSetups(t *testing.T) {
	dir := t.TempDir()
	shared := filepath.Join(dir, "shared")
	if err := os.Mkdir(shared, 0o700); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(shared, 0o777)
	policy := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policy, []byte(`{"users": [{"name": "a", "token": "ta"}, {"name": "b", "token": "tb"}], "bindings": [{"role": "data-scientist", "namespaces": ["x"], "users": ["a"]}, {"role": "admin", "namespaces": ["*"], "users": ["b"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		o    Options
		want string
	}{
		{"state dir others can write", Options{Engine: "local", Listen: "127.0.0.1:0", StateDir: shared}, "can be read or written by other users"},
		{"--auth=none off loopback", Options{Engine: "local", Auth: "none", Listen: "0.0.0.0:0", StateDir: filepath.Join(dir, "s1")}, "loopback address only"},
		{"a policy separating local users", Options{Engine: "local", Auth: "token", PolicyFile: policy, Listen: "127.0.0.1:0", StateDir: filepath.Join(dir, "s2")}, "cannot keep users apart"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := c.o
			o.LogLevel, o.LogFormat, o.AuditLog = "error", "text", "off"
			err := Run(t.Context(), &o, os.Stdout, os.Stderr)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Run = %v, want %q", err, c.want)
			}
		})
	}
	// A policy giving everyone full access is what the local engine can keep.
	p, err := auth.ParsePolicy([]byte(`{"users": [{"name": "a", "token": "ta"}, {"name": "b", "token": "tb"}], "bindings": [{"role": "admin", "namespaces": ["*"], "users": ["a", "b"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkLocalPolicy(p); err != nil {
		t.Errorf("full access for all: %v", err)
	}
}
