package job

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strings"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// UpstreamAPIVersion is the API version of the upstream MPI operator's MPIJob.
var UpstreamAPIVersion = kubeflow.SchemeGroupVersion.String()

// Format says which document format a job came from.
type Format string

// Document formats Parse understands.
const (
	FormatHighLevel Format = "high-level"
	FormatUpstream  Format = "kubeflow.org/v2beta1"
	FormatTrainJob  Format = "trainer.kubeflow.org/v1alpha1"
)

// Parse reads one job document — our high-level MPIJob (YAML or JSON) or an
// upstream kubeflow.org/v2beta1 MPIJob — into the model. It does not default
// or validate beyond the document's shape; call Prepare for that. Problems are
// returned as an *Error of kind Invalid listing every field error.
func Parse(data []byte) (*MPIJob, Format, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, "", Invalid("", FieldErrors{{Type: FieldRequired, Message: "the document is empty: expected an MPIJob in YAML or JSON"}})
	}
	jsonData, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, "", Invalid("", FieldErrors{{Type: FieldInvalid, Message: "not valid YAML or JSON: " + cleanYAMLError(err)}})
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(jsonData))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, "", Invalid("", FieldErrors{{Type: FieldInvalid, Message: "not valid YAML or JSON: " + err.Error()}})
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, "", Invalid("", FieldErrors{{Type: FieldInvalid, Value: render(doc), Message: "the document must be an object (an MPIJob), got " + describe(doc)}})
	}
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	name := nameOf(obj)
	switch apiVersion {
	case "", APIVersion:
		if kind != "" && kind != Kind {
			return nil, "", Invalid(name, FieldErrors{{Field: "kind", Type: FieldNotSupported, Value: kind, Message: fmt.Sprintf("unsupported kind %q for apiVersion %s: expected %q", kind, APIVersion, Kind)}})
		}
		j, err := parseHighLevel(jsonData, doc, name)
		return j, FormatHighLevel, err
	case UpstreamAPIVersion:
		if kind != "MPIJob" {
			return nil, "", Invalid(name, FieldErrors{{Field: "kind", Type: FieldNotSupported, Value: kind, Message: fmt.Sprintf("unsupported kind %q for apiVersion %s: expected \"MPIJob\"", kind, UpstreamAPIVersion)}})
		}
		j, err := parseUpstream(jsonData, obj, name)
		return j, FormatUpstream, err
	case TrainJobAPIVersion:
		if kind != "TrainJob" {
			return nil, "", Invalid(name, FieldErrors{{Field: "kind", Type: FieldNotSupported, Value: kind, Message: fmt.Sprintf("unsupported kind %q for apiVersion %s: expected \"TrainJob\" (runtimes are installed by the cluster's administrator)", kind, TrainJobAPIVersion)}})
		}
		j, err := parseTrainJob(jsonData, obj, name)
		return j, FormatTrainJob, err
	case "kubeflow.org/v1", "kubeflow.org/v1alpha2", "kubeflow.org/v2beta1alpha1":
		return nil, "", Invalid(name, FieldErrors{{Field: "apiVersion", Type: FieldNotSupported, Value: apiVersion, Message: fmt.Sprintf("apiVersion %q (Kubeflow Training Operator v1) is not supported: rewrite the job as %s (see examples/) or as %s", apiVersion, UpstreamAPIVersion, APIVersion)}})
	default:
		return nil, "", Invalid(name, FieldErrors{{Field: "apiVersion", Type: FieldNotSupported, Value: apiVersion, Message: fmt.Sprintf("unsupported apiVersion %q: use %q (high-level), %q (upstream MPI operator) or %q (Kubeflow Trainer v2 TrainJob)", apiVersion, APIVersion, UpstreamAPIVersion, TrainJobAPIVersion)}})
	}
}

var yamlLine = regexp.MustCompile(`^(error converting YAML to JSON: )?(yaml: )?`)

func cleanYAMLError(err error) string { return yamlLine.ReplaceAllString(err.Error(), "") }

func nameOf(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	return name
}

func parseHighLevel(data []byte, doc any, name string) (*MPIJob, error) {
	errs := checkShape(doc, reflect.TypeFor[MPIJob](), "")
	var j MPIJob
	// The shape check has reported every ill-typed value; decoding skips them
	// so that the remaining fields can still be validated.
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(data, &j); err != nil && len(errs) == 0 {
		errs = append(errs, FieldError{Type: FieldInvalid, Message: err.Error()})
	}
	if len(errs) > 0 {
		SetDefaults(&j)
		errs = append(errs, Validate(&j)...)
		return nil, Invalid(name, sortErrors(dedupe(errs)))
	}
	return &j, nil
}

// SplitDocuments splits a multi-document YAML stream ("---" separators) into
// its non-empty documents, as kubectl does (k8s.io/apimachinery's YAML
// reader). JSON input is one document. Text after a separator on its line
// (other than a comment) is an error naming the line, not silently dropped.
func SplitDocuments(data []byte) ([][]byte, error) {
	for i, line := range bytes.Split(data, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("---"))
		if !ok {
			continue
		}
		if t := bytes.TrimSpace(rest); len(t) > 0 && t[0] != '#' {
			return nil, BadRequest("manifest", string(bytes.TrimSpace(line)), fmt.Sprintf(
				"line %d: text after the document separator %q: put the separator on a line of its own and the document below it", i+1, "---"))
		}
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, BadRequest("manifest", "", fmt.Sprintf("cannot split the YAML documents: %v", err))
		}
		if len(bytes.TrimSpace(stripComments(doc))) > 0 {
			docs = append(docs, doc)
		}
	}
}

func stripComments(b []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] == '#' {
			continue
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// Prepare defaults a parsed job and validates it. It is what every entry point
// (API, CLI dry-run, tests) runs before a job reaches an engine.
func Prepare(j *MPIJob) error {
	SetDefaults(j)
	errs := Validate(j)
	if j.Upstream != nil {
		errs = upstreamPaths(errs)
		errs = append(errs, validateUpstream(j.Upstream)...)
	}
	if j.UpstreamTrainJob != nil {
		errs = trainJobPaths(errs)
	}
	if len(errs) > 0 {
		name := j.Metadata.Name
		if name == "" {
			name = j.Metadata.GenerateName
		}
		return Invalid(name, sortErrors(dedupe(errs)))
	}
	return nil
}

// dedupe drops repeated errors for the same field and keeps the order.
func dedupe(errs FieldErrors) FieldErrors {
	seen := map[string]bool{}
	out := errs[:0:0]
	for _, e := range errs {
		k := e.Field + "\x00" + e.Type + "\x00" + e.Message
		if e.Field != "" && seen[e.Field] {
			continue
		}
		if seen[k] {
			continue
		}
		seen[k], seen[e.Field] = true, e.Field != ""
		out = append(out, e)
	}
	return out
}

// sortErrors orders errors by field path so every client shows them the same
// way (metadata first, then spec fields alphabetically).
func sortErrors(errs FieldErrors) FieldErrors {
	slices.SortStableFunc(errs, func(a, b FieldError) int { return strings.Compare(a.Field, b.Field) })
	return errs
}
