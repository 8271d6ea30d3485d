package printers_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/odh-training/odh-training/internal/cli/printers"
)

func TestLabelColumns(t *testing.T) {
	js := jobs()
	js[0].Metadata.Labels["app.kubernetes.io/name"] = "mnist"
	js[2].Metadata.Labels = nil
	for _, c := range []struct {
		name   string
		format string
		opts   printers.Options
		want   string
	}{
		{"label columns", "", printers.Options{LabelColumns: []string{"team", "app.kubernetes.io/name", "missing"}}, `
NAME     STATUS      PROGRESS        WORKERS   MPI       AGE   DURATION   TEAM   NAME    MISSING
mnist    Running     42% ETA 5m30s   4/4       OpenMPI   5m    4m59s      nlp    mnist   
resnet   Succeeded   step 9000       8/8       OpenMPI   3h    133m       nlp            
bert     Queued      -               0/2       OpenMPI   40s   -                         
`},
		{"show labels", "", printers.Options{ShowLabels: true}, `
NAME     STATUS      PROGRESS        WORKERS   MPI       AGE   DURATION   LABELS
mnist    Running     42% ETA 5m30s   4/4       OpenMPI   5m    4m59s      app.kubernetes.io/name=mnist,team=nlp
resnet   Succeeded   step 9000       8/8       OpenMPI   3h    133m       team=nlp
bert     Queued      -               0/2       OpenMPI   40s   -          <none>
`},
		{"wide, both, no headers", "wide", printers.Options{LabelColumns: []string{"team"}, ShowLabels: true, NoHeaders: true}, `
mnist    Running     42% ETA 5m30s   4/4   OpenMPI   5m    4m59s   8    4   <none>      alice   quay.io/acme/train:1   nlp   app.kubernetes.io/name=mnist,team=nlp
resnet   Succeeded   step 9000       8/8   OpenMPI   3h    133m    16   8   Succeeded   alice   quay.io/acme/train:1   nlp   team=nlp
bert     Queued      -               0/2   OpenMPI   40s   -       4    2   <none>      alice   quay.io/acme/train:1         <none>
`},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := printers.ParseFormat(c.format)
			if err != nil {
				t.Fatal(err)
			}
			c.opts.Now = now
			var buf bytes.Buffer
			if err := printers.PrintJobs(&buf, js, f, false, c.opts); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(strings.TrimPrefix(c.want, "\n"), buf.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseLabelColumns(t *testing.T) {
	got, err := printers.ParseLabelColumns([]string{"team,app.kubernetes.io/name", "team", " tier "})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"team", "app.kubernetes.io/name", "tier"}, got); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"TEAM", "NAME", "TIER"}, printers.LabelHeaders(got)); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	many := make([]string, printers.MaxLabelColumns+1)
	for i := range many {
		many[i] = fmt.Sprintf("k%d", i)
	}
	for _, c := range []struct {
		in   []string
		want string
	}{
		{[]string{"team,,tier"}, "a label key is empty"},
		{[]string{"team=nlp"}, `"team=nlp" is not a label key`},
		{[]string{"a/b/c"}, `"a/b/c" is not a label key`},
		{[]string{strings.Repeat("x", 64)}, "must be no more than 63"},
		// A huge list is refused, not turned into a table no one can read.
		{[]string{strings.Join(many, ",")}, fmt.Sprintf("%d label columns asked for, at most %d", len(many), printers.MaxLabelColumns)},
	} {
		if _, err := printers.ParseLabelColumns(c.in); err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "-L") {
			t.Errorf("ParseLabelColumns(%.40q) = %v, want an error naming -L with %q", c.in, err, c.want)
		}
	}
}
