package server

import (
	"encoding/json"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/odh-training/odh-training/gen/openapi"
)

// The API reference page is rendered on the server from the generated OpenAPI
// document: no scripts, no CDN, readable in any browser and by screen readers.

type oaDoc struct {
	Paths      map[string]map[string]oaOperation `json:"paths"`
	Components struct {
		Schemas map[string]oaSchema `json:"schemas"`
	} `json:"components"`
}

type oaOperation struct {
	Summary     string        `json:"summary"`
	Description string        `json:"description"`
	OperationID string        `json:"operationId"`
	Parameters  []oaParameter `json:"parameters"`
	RequestBody *struct {
		Content map[string]struct {
			Schema oaSchema `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
	Responses map[string]struct {
		Description string `json:"description"`
		Content     map[string]struct {
			Schema oaSchema `json:"schema"`
		} `json:"content"`
	} `json:"responses"`
}

type oaParameter struct {
	Name        string   `json:"name"`
	In          string   `json:"in"`
	Description string   `json:"description"`
	Required    bool     `json:"required"`
	Schema      oaSchema `json:"schema"`
}

type oaSchema struct {
	Ref                  string              `json:"$ref"`
	Type                 any                 `json:"type"`
	Format               string              `json:"format"`
	Description          string              `json:"description"`
	Items                *oaSchema           `json:"items"`
	Properties           map[string]oaSchema `json:"properties"`
	Title                string              `json:"title"`
	AdditionalProperties any                 `json:"additionalProperties"`
}

func (s oaSchema) TypeName() string {
	if s.Ref != "" {
		return s.Ref[strings.LastIndex(s.Ref, "/")+1:]
	}
	switch t := s.Type.(type) {
	case string:
		if t == "array" && s.Items != nil {
			return "[]" + s.Items.TypeName()
		}
		if t == "object" && s.AdditionalProperties != nil {
			return "map"
		}
		if s.Format != "" {
			return t + " (" + s.Format + ")"
		}
		return t
	case []any:
		parts := make([]string, 0, len(t))
		for _, p := range t {
			parts = append(parts, strings.TrimSpace(strings.Trim(strings.ReplaceAll(strings.ReplaceAll(jsonString(p), `"`, ""), "null", ""), " ")))
		}
		return strings.Trim(strings.Join(parts, " | "), " |")
	}
	return "object"
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

type docOp struct {
	Method, Path string
	Op           oaOperation
	Body         string
	Response     string
}

type docSchema struct {
	Name   string
	Schema oaSchema
	Fields []docField
}

type docField struct {
	Name, Type, Description string
}

var (
	docsOnce sync.Once
	docsHTML []byte
	docsErr  error
)

func renderDocs() ([]byte, error) {
	var d oaDoc
	if err := json.Unmarshal(openapi.JSON, &d); err != nil {
		return nil, err
	}
	var ops []docOp
	for p, methods := range d.Paths {
		for m, op := range methods {
			o := docOp{Method: strings.ToUpper(m), Path: p, Op: op}
			if op.RequestBody != nil {
				for _, c := range op.RequestBody.Content {
					o.Body = c.Schema.TypeName()
				}
			}
			if r, ok := op.Responses["200"]; ok {
				for _, c := range r.Content {
					o.Response = c.Schema.TypeName()
				}
			}
			ops = append(ops, o)
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Path != ops[j].Path {
			return ops[i].Path < ops[j].Path
		}
		return ops[i].Method < ops[j].Method
	})
	var schemas []docSchema
	for name, sc := range d.Components.Schemas {
		ds := docSchema{Name: name, Schema: sc}
		for fname, f := range sc.Properties {
			ds.Fields = append(ds.Fields, docField{Name: fname, Type: f.TypeName(), Description: f.Description})
		}
		sort.Slice(ds.Fields, func(i, j int) bool { return ds.Fields[i].Name < ds.Fields[j].Name })
		schemas = append(schemas, ds)
	}
	sort.Slice(schemas, func(i, j int) bool { return schemas[i].Name < schemas[j].Name })
	var b strings.Builder
	err := docsTemplate.Execute(&b, map[string]any{"Ops": ops, "Schemas": schemas})
	return []byte(b.String()), err
}

func (s *Server) apiDocs(w http.ResponseWriter, _ *http.Request) {
	docsOnce.Do(func() { docsHTML, docsErr = renderDocs() })
	if docsErr != nil {
		http.Error(w, "cannot render the API reference: "+docsErr.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(docsHTML)
}

var docsTemplate = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>odh-training API reference</title>
<style>
body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#151515}
code,td.t{font-family:ui-monospace,monospace}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}
th,td{border:1px solid #d2d2d2;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f0f0f0}
.m{font-weight:bold;padding:.1rem .4rem;border-radius:3px;background:#e7f1fa;color:#004080}
a{color:#0066cc}
section{margin-bottom:2rem}
</style></head>
<body><main>
<h1>odh-training API reference</h1>
<p>Every operation is served as gRPC (<code>odh.training.v1.TrainingService</code>) and as REST/JSON on the same port.
Send <code>Authorization: Bearer &lt;token&gt;</code>. Errors are JSON bodies with <code>code</code>, <code>reason</code>, <code>message</code>,
<code>fieldErrors</code> (field path, type, value, message), <code>quota</code> and <code>hint</code>.
Streaming operations (watch, logs) answer with one JSON object per line: <code>{"result": …}</code> or <code>{"error": …}</code>;
logs are also available as plain text with <code>Accept: text/plain</code>.
The machine-readable document is <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
<h2>Operations</h2>
<nav aria-label="Operations"><ul>
{{range .Ops}}<li><a href="#{{.Op.OperationID}}"><span class="m">{{.Method}}</span> <code>{{.Path}}</code></a> — {{.Op.Summary}}</li>
{{end}}</ul></nav>
{{range .Ops}}<section id="{{.Op.OperationID}}">
<h3><span class="m">{{.Method}}</span> <code>{{.Path}}</code></h3>
<p>{{.Op.Summary}} {{if ne .Op.Description .Op.Summary}}{{.Op.Description}}{{end}}</p>
<p>gRPC: <code>{{.Op.OperationID}}</code>{{if .Body}} · body: <a href="#schema-{{.Body}}">{{.Body}}</a>{{end}}{{if .Response}} · response: <a href="#schema-{{.Response}}">{{.Response}}</a>{{end}}</p>
{{if .Op.Parameters}}<table><caption class="visually-hidden">Parameters</caption><thead><tr><th scope="col">Parameter</th><th scope="col">In</th><th scope="col">Type</th><th scope="col">Description</th></tr></thead><tbody>
{{range .Op.Parameters}}<tr><td class="t">{{.Name}}{{if .Required}} (required){{end}}</td><td>{{.In}}</td><td class="t">{{.Schema.TypeName}}</td><td>{{.Description}}</td></tr>
{{end}}</tbody></table>{{end}}
</section>
{{end}}
<h2>Schemas</h2>
{{range .Schemas}}<section id="schema-{{.Name}}"><h3><code>{{.Name}}</code></h3>
{{if .Schema.Description}}<p>{{.Schema.Description}}</p>{{end}}
{{if .Fields}}<table><thead><tr><th scope="col">Field</th><th scope="col">Type</th><th scope="col">Description</th></tr></thead><tbody>
{{range .Fields}}<tr><td class="t">{{.Name}}</td><td class="t">{{.Type}}</td><td>{{.Description}}</td></tr>
{{end}}</tbody></table>{{end}}
</section>
{{end}}
</main></body></html>
`))
