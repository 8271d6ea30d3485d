package printers_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/odh-training/odh-training/internal/cli/printers"
)

func TestGoTemplate(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "names.tmpl")
	if err := os.WriteFile(file, []byte("{{range .items}}{{.metadata.namespace}}/{{.metadata.name}}\n{{end}}"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, format string
		single       bool
		want         string
	}{
		{"list", `go-template={{range .items}}{{.metadata.name}} {{.status.phase}}{{"\n"}}{{end}}`, false, "mnist Running\nresnet Succeeded\nbert Queued\n"},
		{"single object", `go-template={{.metadata.name}}`, true, "mnist"},
		{"numbers compare as numbers", `go-template={{range .items}}{{if gt .spec.workers.replicas 2}}{{.metadata.name}} {{end}}{{end}}`, false, "mnist resnet "},
		{"built-in functions", `go-template={{len .items}} {{index .items 0 "metadata" "labels" "team"}} {{printf "%04d" (index .items 0).status.progress.percent}}`, false, "3 nlp 0042"},
		{"missing keys print <no value>, as kubectl", `go-template={{(index .items 2).status.reason}}`, false, "<no value>"},
		{"from a file", "go-template-file=" + file, false, "team-a/mnist\nteam-a/resnet\nteam-b/bert\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := printers.ParseFormat(c.format)
			if err != nil {
				t.Fatal(err)
			}
			js := jobs()
			if c.single {
				js = js[:1]
			}
			var buf bytes.Buffer
			if err := printers.PrintJobs(&buf, js, f, c.single, printers.Options{Now: now}); err != nil {
				t.Fatal(err)
			}
			if buf.String() != c.want {
				t.Errorf("got %q, want %q", buf.String(), c.want)
			}
		})
	}
}

// Bad templates are refused before anything runs, naming the flag and
// where the template is wrong; templates cannot reach beyond their data.
func TestGoTemplateRefused(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.tmpl")
	if err := os.WriteFile(big, bytes.Repeat([]byte("x"), printers.MaxTemplateFileBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	multi := filepath.Join(dir, "multi.tmpl")
	if err := os.WriteFile(multi, []byte("{{.metadata.name}}\n{{.status.phase}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		format string
		want   []string
	}{
		{"go-template=", []string{"-o go-template= needs a template"}},
		{"go-template-file=", []string{"-o go-template-file= needs a file name"}},
		{"go-template={{.metadata.name", []string{"invalid -o go-template: line 1", "unclosed action", `"{{.metadata.name"`}},
		{"go-template={{range .items}}", []string{"invalid -o go-template: line 1", "unexpected EOF"}},
		{"go-template-file=" + multi, []string{"invalid -o go-template-file=" + multi + ": line 2", `line 2: "{{.status.phase}"`}},
		{"go-template-file=" + filepath.Join(dir, "nope"), []string{"-o go-template-file: open", "no such file"}},
		{"go-template-file=" + big, []string{"larger than 1048576 bytes"}},
		// No function reads the environment or a file, or runs anything:
		// sprig's and Helm's are not there.
		{`go-template={{env "HOME"}}`, []string{"invalid -o go-template: line 1", `function "env" not defined`}},
		{`go-template={{readFile "/etc/passwd"}}`, []string{`function "readFile" not defined`}},
		{`go-template={{exec "id"}}`, []string{`function "exec" not defined`}},
		{`go-template={{include "x" .}}`, []string{`function "include" not defined`}},
	} {
		_, err := printers.ParseFormat(c.format)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("ParseFormat(%.60q) = %v, want an error with %q", c.format, err, w)
			}
		}
	}
	// Errors while running name the flag and the position.
	f, err := printers.ParseFormat(`go-template={{index .items 7}}`)
	if err != nil {
		t.Fatal(err)
	}
	err = printers.PrintJobs(&bytes.Buffer{}, jobs(), f, false, printers.Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "-o go-template: line 1, column 2:") || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("execution error: %v", err)
	}
	// {{template}} reaches only templates defined in the same text: a
	// file name is not a template.
	if _, err := printers.ParseFormat(`go-template={{template "/etc/passwd"}}`); err != nil {
		t.Fatal(err)
	}
	f, _ = printers.ParseFormat(`go-template={{template "/etc/passwd"}}`)
	var buf bytes.Buffer
	if err := printers.PrintJobs(&buf, jobs(), f, false, printers.Options{}); err == nil || !strings.Contains(err.Error(), `template "/etc/passwd" not defined`) || buf.Len() != 0 {
		t.Errorf("{{template \"/etc/passwd\"}}: %v, printed %q", err, buf.String())
	}
}

// A tenant's data is data: template text in a label value is printed as
// it is, never run.
func TestGoTemplateDataIsNotCode(t *testing.T) {
	js := jobs()[:1]
	js[0].Metadata.Labels["team"] = `{{env "HOME"}}{{.}}`
	f, err := printers.ParseFormat(`go-template={{.metadata.labels.team}}`)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := printers.PrintJobs(&buf, js, f, true, printers.Options{}); err != nil {
		t.Fatal(err)
	}
	if buf.String() != `{{env "HOME"}}{{.}}` {
		t.Errorf("got %q", buf.String())
	}
}

func TestPrintObject(t *testing.T) {
	doc := []byte(`{"available":true,"intervalSeconds":2,"replicas":[{"name":"launcher"},{"name":"worker-0"}]}`)
	for format, want := range map[string]string{
		"json":                         "{\n  \"available\": true,\n  \"intervalSeconds\": 2,\n  \"replicas\": [\n    {\n      \"name\": \"launcher\"\n    },\n    {\n      \"name\": \"worker-0\"\n    }\n  ]\n}\n",
		"yaml":                         "available: true\nintervalSeconds: 2\nreplicas:\n- name: launcher\n- name: worker-0\n",
		"jsonpath={.replicas[*].name}": "launcher worker-0\n",
		`go-template={{range .replicas}}{{.name}},{{end}}{{if eq .intervalSeconds 2}}2s{{end}}`: "launcher,worker-0,2s",
	} {
		f, err := printers.ParseFormat(format)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := printers.PrintObject(&buf, doc, f); err != nil || buf.String() != want {
			t.Errorf("%s: %v\ngot  %q\nwant %q", format, err, buf.String(), want)
		}
	}
	f, _ := printers.ParseFormat("name")
	if err := printers.PrintObject(&bytes.Buffer{}, doc, f); err == nil {
		t.Error("-o name accepted for a document that is not a job")
	}
}
