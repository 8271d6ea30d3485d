package templates_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/templates"
)

func tpl(ns, name, cmd string) *templates.Template {
	j := job.MPIJob{}
	j.Spec.Command = []string{cmd}
	return &templates.Template{Name: name, Namespace: ns, Job: j}
}

// TestStoreLimits: a namespace that would be a path, a template over the
// size limit and one over the per-namespace count are refused with a clear
// error, and nothing is written.
func TestStoreLimits(t *testing.T) {
	dir := t.TempDir()
	s, err := templates.NewStore(filepath.Join(dir, "templates"))
	if err != nil {
		t.Fatal(err)
	}
	s.MaxPerNamespace, s.MaxBytes = 2, 4096
	for _, c := range []struct {
		name string
		t    *templates.Template
		kind job.ErrorKind
		msg  string
	}{
		{"path traversal", tpl("../../x", "evil", "true"), job.KindBadRequest, "invalid namespace"},
		{"absolute path", tpl("/etc", "evil", "true"), job.KindBadRequest, "invalid namespace"},
		{"too large", tpl("team-a", "big", strings.Repeat("x", 5000)), job.KindInvalid, "more than the 4096"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Create(c.t)
			if !job.IsKind(err, c.kind) || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("Create = %v, want %s %q", err, c.kind, c.msg)
			}
		})
	}
	for _, n := range []string{"one", "two"} {
		if _, err := s.Create(tpl("team-a", n, "true")); err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.Create(tpl("team-a", "three", "true"))
	if !job.IsKind(err, job.KindQuotaExceeded) || !strings.Contains(err.Error(), "already has 2 templates") {
		t.Errorf("third template: %v", err)
	}
	// Another namespace has its own count.
	if _, err := s.Create(tpl("team-b", "one", "true")); err != nil {
		t.Errorf("team-b: %v", err)
	}
	// Nothing was written outside the store or for the refused ones.
	var files []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, rel)
		}
		return nil
	})
	want := "templates/team-a/one.json templates/team-a/two.json templates/team-b/one.json"
	if got := strings.Join(files, " "); got != want {
		t.Errorf("files: %s, want %s", got, want)
	}
}
