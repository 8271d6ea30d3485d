// Package templates stores reusable job templates ("Save as template" in the
// dashboard, `--from-template` in the CLI) as JSON files in a directory.
package templates

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/odh-training/odh-training/internal/job"
)

// Template is a named, reusable job.
type Template struct {
	Name        string     `json:"name"`
	Namespace   string     `json:"namespace"`
	Description string     `json:"description,omitempty"`
	Job         job.MPIJob `json:"job"`
	CreateTime  time.Time  `json:"createTime"`
	Creator     string     `json:"creator,omitempty"`
}

// Store keeps templates in dir/<namespace>/<name>.json.
type Store struct {
	dir string
	mu  sync.Mutex
	// MaxPerNamespace and MaxBytes bound what one namespace can store (0:
	// DefaultMaxPerNamespace, DefaultMaxBytes).
	MaxPerNamespace int
	MaxBytes        int
}

// Limits of a Store unless set.
const (
	DefaultMaxPerNamespace = 200
	DefaultMaxBytes        = 256 << 10
)

// NewStore returns a store rooted at dir (created if missing).
func NewStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create template dir: %w", err)
	}
	return &Store{dir: dir}, nil
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// Validate checks a template's name and job. The job may leave its name
// empty: a template is instantiated under a new name.
func Validate(t *Template) error {
	var errs job.FieldErrors
	if t.Name == "" {
		errs = append(errs, job.FieldError{Field: "template.name", Type: job.FieldRequired, Message: "a template needs a name"})
	} else if len(t.Name) > 63 || !nameRE.MatchString(t.Name) {
		errs = append(errs, job.FieldError{Field: "template.name", Type: job.FieldInvalid, Value: t.Name, Message: fmt.Sprintf("invalid template name %q: use lowercase letters, digits and '-', starting and ending with a letter or digit", t.Name)})
	}
	j := t.Job
	j.Status = job.Status{}
	if j.Metadata.Name == "" && j.Metadata.GenerateName == "" {
		j.Metadata.Name = "template"
	}
	if err := job.Prepare(&j); err != nil {
		var e *job.Error
		if errors.As(err, &e) {
			for _, f := range e.Fields {
				f.Field = "template.job." + f.Field
				errs = append(errs, f)
			}
		}
	}
	if len(errs) > 0 {
		return &job.Error{Kind: job.KindInvalid, Message: fmt.Sprintf("template %q is invalid; nothing was saved:", t.Name), Fields: errs}
	}
	return nil
}

func (s *Store) path(ns, name string) string { return filepath.Join(s.dir, ns, name+".json") }

// Create saves a new template; it fails with AlreadyExists if the name is taken.
func (s *Store) Create(t *Template) (*Template, error) {
	if err := Validate(t); err != nil {
		return nil, err
	}
	// The namespace becomes a directory name: never a path.
	if err := job.CheckNamespace(t.Namespace); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.path(t.Namespace, t.Name)
	if _, err := os.Stat(p); err == nil {
		return nil, job.Errorf(job.KindAlreadyExists, "template %q already exists in namespace %q", t.Name, t.Namespace)
	}
	maxN := s.MaxPerNamespace
	if maxN <= 0 {
		maxN = DefaultMaxPerNamespace
	}
	if n, _ := filepath.Glob(filepath.Join(s.dir, t.Namespace, "*.json")); len(n) >= maxN {
		return nil, &job.Error{Kind: job.KindQuotaExceeded,
			Message: fmt.Sprintf("namespace %q already has %d templates, the most a namespace may keep; nothing was saved", t.Namespace, len(n)),
			Hint:    "Delete templates you no longer use (the dashboard's templates list, or DELETE /api/v1/namespaces/NAMESPACE/templates/NAME), then save again."}
	}
	t.Job.Status = job.Status{}
	t.Job.Metadata.UID, t.Job.Metadata.ResourceVersion = "", ""
	t.Job.Metadata.CreationTimestamp = time.Time{}
	if t.CreateTime.IsZero() {
		t.CreateTime = time.Now().UTC()
	}
	data, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return nil, err
	}
	maxB := s.MaxBytes
	if maxB <= 0 {
		maxB = DefaultMaxBytes
	}
	if len(data) > maxB {
		return nil, &job.Error{Kind: job.KindInvalid, Message: fmt.Sprintf("template %q is %d bytes, more than the %d a template may have; nothing was saved", t.Name, len(data), maxB),
			Fields: []job.FieldError{{Field: "template", Type: job.FieldInvalid, Message: "too large: keep large data (scripts, configuration) in a ConfigMap or volume and refer to it"}}}
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return nil, err
	}
	return t, os.Rename(tmp, p)
}

// Get returns one template.
func (s *Store) Get(ns, name string) (*Template, error) {
	data, err := os.ReadFile(s.path(ns, name))
	if errors.Is(err, fs.ErrNotExist) || !nameRE.MatchString(name) {
		return nil, &job.Error{Kind: job.KindNotFound, Message: fmt.Sprintf("template %q not found in namespace %q", name, ns), Hint: "List templates with: odh training list templates -n " + ns}
	}
	if err != nil {
		return nil, err
	}
	var t Template
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("read template %s/%s: %w", ns, name, err)
	}
	return &t, nil
}

// List returns the templates of a namespace ("" = all), sorted by name.
func (s *Store) List(ns string) ([]*Template, error) {
	pattern := filepath.Join(s.dir, "*", "*.json")
	if ns != "" {
		pattern = filepath.Join(s.dir, ns, "*.json")
	}
	files, err := filepath.Glob(pattern)
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	out := make([]*Template, 0, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var t Template
		if json.Unmarshal(data, &t) == nil {
			out = append(out, &t)
		}
	}
	return out, nil
}

// Delete removes a template.
func (s *Store) Delete(ns, name string) error {
	if _, err := s.Get(ns, name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return os.Remove(s.path(ns, name))
}
