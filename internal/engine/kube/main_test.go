package kube

import (
	"encoding/json"
	"os/exec"
	"testing"
)

// moduleDir returns where the go command keeps a dependency's source.
func moduleDir(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-json", path).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", path, err)
	}
	var m struct{ Dir string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		t.Fatalf("no module dir for %s: %v", path, err)
	}
	return m.Dir
}
