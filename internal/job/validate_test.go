package job_test

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/odh-training/odh-training/internal/job"
)

var update = flag.Bool("update", false, "rewrite the expected errors in testdata/validation_cases.json")

// validationCase is one entry of testdata/validation_cases.json. The same
// file drives the Python SDK's client-side validation tests, so both sides
// must agree on every field path, type and message.
type validationCase struct {
	Name   string          `json:"name"`
	Job    json.RawMessage `json:"job"`
	Errors job.FieldErrors `json:"errors"`
}

// parseAndPrepare is what the API does with a submitted document.
func parseAndPrepare(data []byte) (*job.MPIJob, error) {
	j, _, err := job.Parse(data)
	if err != nil {
		return nil, err
	}
	return j, job.Prepare(j)
}

func fieldErrors(t *testing.T, err error) job.FieldErrors {
	t.Helper()
	if err == nil {
		return job.FieldErrors{}
	}
	var e *job.Error
	if !errors.As(err, &e) || e.Kind != job.KindInvalid {
		t.Fatalf("error is not a *job.Error of kind Invalid: %#v", err)
	}
	if len(e.Fields) == 0 {
		t.Fatalf("Invalid error without field errors: %v", err)
	}
	return e.Fields
}

func TestValidationCases(t *testing.T) {
	const path = "testdata/validation_cases.json"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []validationCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	for i := range cases {
		c := &cases[i]
		t.Run(c.Name, func(t *testing.T) {
			_, err := parseAndPrepare(c.Job)
			got := fieldErrors(t, err)
			if *update {
				c.Errors = got
				return
			}
			want := c.Errors
			if want == nil {
				want = job.FieldErrors{}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("field errors (-want +got):\n%s", diff)
			}
		})
	}
	if *update {
		out, err := json.MarshalIndent(cases, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestInvalidErrorListsEverything(t *testing.T) {
	doc := []byte(`
metadata:
  name: My-Job
spec:
  command: [python3, train.py]
  workers:
    replicas: 0
    resources:
      memory: 16GG
`)
	_, err := parseAndPrepare(doc)
	msg := err.Error()
	for _, want := range []string{"3 errors", "nothing was created", "metadata.name", "spec.workers.replicas", "spec.workers.resources.memory"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not mention %q", msg, want)
		}
	}
}
