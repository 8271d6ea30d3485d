package printers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/template"

	"sigs.k8s.io/yaml"
)

// Go templates (-o go-template=…, -o go-template-file=…) run on the JSON
// object -o json prints, as kubectl's do. They are text/template only:
// its built-in functions (and, or, not, len, index, slice, print, printf,
// eq, lt, html, js, urlquery…) compute on the data they are given and
// nothing else — no function reads a file, the environment or runs a
// program, and data never becomes template code.

// MaxTemplateFileBytes bounds -o go-template-file: a template is a few
// lines; anything bigger is a mistake (a binary, a log).
const MaxTemplateFileBytes = 1 << 20

// parseGoTemplate parses a go-template given with flag (for errors).
func parseGoTemplate(flag, text string) (*template.Template, error) {
	const name = "go-template"
	t, err := template.New(name).Option("missingkey=default").Parse(text)
	if err != nil {
		line, msg := templateErr(name, err)
		where := fmt.Sprintf("%q", text)
		if lines := strings.Split(text, "\n"); len(lines) > 1 && line >= 1 && line <= len(lines) {
			where = fmt.Sprintf("line %d: %q", line, lines[line-1])
		}
		return nil, fmt.Errorf("invalid %s: %s\n  template: %s\n  Go templates (text/template) look like: {{range .items}}{{.metadata.name}}{{\"\\n\"}}{{end}}", flag, msg, where)
	}
	return t, nil
}

// readTemplateFile reads a -o go-template-file template.
func readTemplateFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("-o go-template-file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxTemplateFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("-o go-template-file: read %s: %w", path, err)
	}
	if len(data) > MaxTemplateFileBytes {
		return "", fmt.Errorf("-o go-template-file: %s is larger than %d bytes; a template is a few lines", path, MaxTemplateFileBytes)
	}
	return string(data), nil
}

// templateErr turns text/template's "template: NAME:LINE[:COL]: msg" into
// its line (0 when it names none) and "line LINE[, column COL]: msg".
func templateErr(name string, err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "template: "+name+":")
	pos, rest, ok := strings.Cut(msg, ": ")
	if !ok {
		return 0, msg
	}
	lineS, col, hasCol := strings.Cut(pos, ":")
	line, lerr := strconv.Atoi(lineS)
	if lerr != nil {
		return 0, msg
	}
	if _, cerr := strconv.Atoi(col); hasCol && cerr == nil {
		return line, fmt.Sprintf("line %d, column %s: %s", line, col, rest)
	}
	return line, fmt.Sprintf("line %d: %s", line, rest)
}

// execGoTemplate runs t on obj as JSON (numbers as int64 or float64, so
// comparisons such as eq .spec.workers.replicas 2 work).
func execGoTemplate(w io.Writer, t *template.Template, obj any) error {
	generic, err := toGeneric(obj)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, numbers(generic)); err != nil {
		_, msg := templateErr(t.Name(), err)
		return fmt.Errorf("-o go-template: %s", msg)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// numbers replaces json.Number with int64 (or float64) through v.
func numbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	}
	return v
}

// PrintObject writes a document that is not a job (e.g. top's metrics),
// given as JSON, in f: json, yaml, jsonpath or go-template.
func PrintObject(w io.Writer, doc []byte, f Format) error {
	switch f.Kind {
	case "json":
		var out bytes.Buffer
		if err := json.Indent(&out, doc, "", "  "); err != nil {
			return err
		}
		out.WriteByte('\n')
		_, err := w.Write(out.Bytes())
		return err
	case "yaml":
		data, err := yaml.JSONToYAML(doc)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	case "jsonpath", "go-template":
		var obj any
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			return err
		}
		if f.Kind == "jsonpath" {
			return printJSONPath(w, obj, f.Arg)
		}
		return execGoTemplate(w, f.tmpl, obj)
	}
	return fmt.Errorf("output format %q does not apply here", f.Kind)
}
