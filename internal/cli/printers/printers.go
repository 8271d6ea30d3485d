// Package printers renders jobs as kubectl does: tables (plain and wide),
// JSON, YAML, names, JSONPath templates and custom columns.
package printers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/client-go/util/jsonpath"
	"sigs.k8s.io/yaml"

	"github.com/odh-training/odh-training/internal/cli/iostreams"
	"github.com/odh-training/odh-training/internal/job"
)

// Formats accepted by -o.
const FormatsHelp = "Output format: table (default), wide, json, yaml, name, jsonpath=TEMPLATE, go-template=TEMPLATE, go-template-file=FILE, custom-columns=HEADER:JSONPATH,..."

// Format is a parsed -o value.
type Format struct {
	Kind string // table, wide, json, yaml, name, jsonpath, go-template, custom-columns
	Arg  string // the template (the file's text for go-template-file) or column spec

	tmpl *template.Template // go-template, parsed
}

// ParseFormat parses -o. A go-template is parsed here, so a bad one is a
// usage error before anything is asked of the server.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "", "table":
		return Format{Kind: "table"}, nil
	case "wide", "json", "yaml", "name":
		return Format{Kind: s}, nil
	}
	kind, arg, ok := strings.Cut(s, "=")
	switch {
	case !ok:
	case kind == "jsonpath" || kind == "custom-columns" || kind == "go-template" || kind == "go-template-file":
		if arg == "" {
			what := "a template"
			switch kind {
			case "go-template-file":
				what = "a file name"
			case "custom-columns":
				what = "a column spec"
			}
			return Format{}, fmt.Errorf("-o %s= needs %s", kind, what)
		}
		if kind == "go-template-file" {
			text, err := readTemplateFile(arg)
			if err != nil {
				return Format{}, err
			}
			t, err := parseGoTemplate("-o go-template-file="+arg, text)
			return Format{Kind: "go-template", Arg: text, tmpl: t}, err
		}
		f := Format{Kind: kind, Arg: arg}
		if kind == "go-template" {
			var err error
			f.tmpl, err = parseGoTemplate("-o go-template", arg)
			return f, err
		}
		return f, nil
	}
	return Format{}, fmt.Errorf("unknown output format %q: %s", s, FormatsHelp)
}

// Table reports whether f prints a table of our columns (where -L and
// --show-labels apply).
func (f Format) Table() bool { return f.Kind == "table" || f.Kind == "wide" }

// Options tune table output.
type Options struct {
	AllNamespaces bool
	NoHeaders     bool
	// LabelColumns adds a column per label key (-L), empty where a job has
	// no such label; ShowLabels a LABELS column with all of them.
	LabelColumns []string
	ShowLabels   bool
	Now          time.Time
	IO           *iostreams.IOStreams
}

// ListKind is the kind of a list of jobs in JSON/YAML output.
const ListKind = "MPIJobList"

// toGeneric round-trips a value through JSON so templates see JSON names.
func toGeneric(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	err = dec.Decode(&out)
	return out, err
}

func listObject(jobs []*job.MPIJob) map[string]any {
	items := make([]*job.MPIJob, len(jobs))
	copy(items, jobs)
	return map[string]any{"apiVersion": job.APIVersion, "kind": ListKind, "items": items}
}

// PrintJobs writes jobs in the format. single says the command named one
// job, so JSON/YAML print the object rather than a list.
func PrintJobs(w io.Writer, jobs []*job.MPIJob, f Format, single bool, o Options) error {
	var obj any = listObject(jobs)
	if single && len(jobs) == 1 {
		obj = jobs[0]
	}
	switch f.Kind {
	case "json":
		data, err := json.MarshalIndent(obj, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", data)
		return err
	case "yaml":
		data, err := yaml.Marshal(obj)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	case "name":
		for _, j := range jobs {
			if _, err := fmt.Fprintf(w, "mpijob/%s\n", j.Metadata.Name); err != nil {
				return err
			}
		}
		return nil
	case "jsonpath":
		return printJSONPath(w, obj, f.Arg)
	case "go-template":
		return execGoTemplate(w, f.tmpl, obj)
	case "custom-columns":
		return printCustomColumns(w, jobs, f.Arg, o)
	case "wide":
		return printTable(w, jobs, true, o)
	default:
		return printTable(w, jobs, false, o)
	}
}

func printJSONPath(w io.Writer, obj any, tmpl string) error {
	generic, err := toGeneric(obj)
	if err != nil {
		return err
	}
	jp := jsonpath.New("out").AllowMissingKeys(true)
	if err := jp.Parse(relaxTemplate(tmpl)); err != nil {
		return fmt.Errorf("invalid jsonpath template %q: %w", tmpl, err)
	}
	var buf bytes.Buffer
	if err := jp.Execute(&buf, generic); err != nil {
		return fmt.Errorf("jsonpath %q: %w", tmpl, err)
	}
	out := buf.String()
	if !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	_, err = io.WriteString(w, out)
	return err
}

// relaxTemplate accepts ".status.phase" as kubectl does, wrapping it in {}.
func relaxTemplate(t string) string {
	if strings.Contains(t, "{") {
		return t
	}
	return "{" + t + "}"
}

func printCustomColumns(w io.Writer, jobs []*job.MPIJob, spec string, o Options) error {
	type col struct {
		header string
		jp     *jsonpath.JSONPath
	}
	var cols []col
	for _, part := range strings.Split(spec, ",") {
		header, path, ok := strings.Cut(part, ":")
		if !ok || header == "" || path == "" {
			return fmt.Errorf("invalid custom-columns spec %q: use HEADER:JSONPATH[,HEADER:JSONPATH...], e.g. NAME:.metadata.name,STATUS:.status.phase", spec)
		}
		jp := jsonpath.New(header).AllowMissingKeys(true)
		if err := jp.Parse(relaxTemplate(path)); err != nil {
			return fmt.Errorf("invalid custom-columns path %q: %w", path, err)
		}
		cols = append(cols, col{header, jp})
	}
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	if !o.NoHeaders {
		hs := make([]string, len(cols))
		for i, c := range cols {
			hs[i] = c.header
		}
		fmt.Fprintln(tw, strings.Join(hs, "\t"))
	}
	for _, j := range jobs {
		generic, err := toGeneric(j)
		if err != nil {
			return err
		}
		vals := make([]string, len(cols))
		for i, c := range cols {
			var buf bytes.Buffer
			if err := c.jp.Execute(&buf, generic); err != nil || buf.Len() == 0 {
				vals[i] = "<none>"
				continue
			}
			vals[i] = buf.String()
		}
		fmt.Fprintln(tw, strings.Join(vals, "\t"))
	}
	return tw.Flush()
}

func printTable(w io.Writer, jobs []*job.MPIJob, wide bool, o Options) error {
	if len(jobs) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	headers := []string{"NAME", "STATUS", "PROGRESS", "WORKERS", "MPI", "AGE", "DURATION"}
	// Jobs of the kubernetes engine say which object runs them.
	withBackend := slices.ContainsFunc(jobs, func(j *job.MPIJob) bool { return j.Status.Backend != "" })
	if withBackend {
		headers = slices.Insert(headers, 5, "BACKEND")
	}
	if o.AllNamespaces {
		headers = append([]string{"NAMESPACE"}, headers...)
	}
	if wide {
		headers = append(headers, "SLOTS", "GPUS", "REASON", "CREATOR", "IMAGE")
	}
	headers = append(headers, LabelHeaders(o.LabelColumns)...)
	if o.ShowLabels {
		headers = append(headers, "LABELS")
	}
	if !o.NoHeaders {
		fmt.Fprintln(tw, strings.Join(headers, "\t"))
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	for _, j := range jobs {
		row := []string{j.Metadata.Name, Phase(o.IO, j), ProgressCell(j), WorkersCell(j), string(j.Spec.MPIImplementation), Age(j.Metadata.CreationTimestamp, now), Duration(j, now)}
		if withBackend {
			row = slices.Insert(row, 5, BackendCell(j))
		}
		if o.AllNamespaces {
			row = append([]string{j.Metadata.Namespace}, row...)
		}
		if wide {
			req := job.TotalRequests(&j.Spec)
			row = append(row, fmt.Sprint(req.Slots), fmt.Sprint(req.GPUs), orNone(j.Status.Reason), orNone(j.Metadata.Creator), orNone(j.Spec.Image))
		}
		for _, k := range o.LabelColumns {
			row = append(row, j.Metadata.Labels[k])
		}
		if o.ShowLabels {
			row = append(row, LabelsCell(j.Metadata.Labels))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// BackendCell is "MPIJob", or "TrainJob/<runtime>" ("(read-only)" for
// TrainJobs of runtimes without an MPI policy).
func BackendCell(j *job.MPIJob) string {
	b := orNone(j.Status.Backend)
	if j.Status.Backend == job.BackendTrainJob && j.Spec.Runtime != "" {
		b += "/" + j.Spec.Runtime
	}
	if j.Status.ReadOnly {
		b += " (read-only)"
	}
	return b
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// Phase renders the phase, coloured on a terminal.
func Phase(ios *iostreams.IOStreams, j *job.MPIJob) string {
	p := string(j.Status.Phase)
	if p == "" {
		p = "Unknown"
	}
	label := p
	if j.Status.Reason == job.ReasonPreempted {
		// Kueue took its quota for a higher-priority job and requeued it.
		label += "/Preempted"
	}
	if ios == nil {
		return label
	}
	return ios.Colorize(iostreams.PhaseColor(p), label)
}

// ProgressCell is how far a job's training has got, as its program reports
// it: "42%" (with the estimated time left while it runs: "42% ETA 5m"),
// "step 420" when the total is unknown, "-" before any report.
func ProgressCell(j *job.MPIJob) string {
	p := j.Status.Progress
	if p == nil {
		return "-"
	}
	f, ok := p.Fraction()
	if !ok {
		if p.Step > 0 {
			return fmt.Sprintf("step %d", p.Step)
		}
		if p.Epoch > 0 {
			return fmt.Sprintf("epoch %g", p.Epoch)
		}
		return "-"
	}
	cell := fmt.Sprintf("%d%%", int(f*100))
	if r := p.EstimatedRemainingSeconds; r != nil && j.Status.Phase == job.PhaseRunning && f < 1 {
		cell += " ETA " + HumanDuration(time.Duration(*r)*time.Second)
	}
	return cell
}

// WorkersCell is "ready/total" while a job is active and "succeeded/total"
// once it has finished (as the dashboard shows it).
func WorkersCell(j *job.MPIJob) string {
	total := j.Status.Workers.Total
	if total == 0 {
		total = j.Spec.Replicas()
	}
	if j.Status.Phase.Terminal() {
		return fmt.Sprintf("%d/%d", j.Status.Workers.Succeeded, total)
	}
	return fmt.Sprintf("%d/%d", j.Status.Workers.Ready, total)
}

// Age renders a duration since t the way kubectl does (45s, 5m, 3h12m, 2d).
func Age(t, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return HumanDuration(now.Sub(t))
}

// Duration is how long the job ran (so far).
func Duration(j *job.MPIJob, now time.Time) string {
	s := j.Status.StartTime
	if s.IsZero() {
		return "-"
	}
	end := j.Status.CompletionTime
	if end.IsZero() {
		end = now
	}
	return HumanDuration(end.Sub(s))
}

// HumanDuration is kubectl's short duration format (AGE columns): 5m3s,
// 4h30m, 2d2h, 3y — k8s.io/apimachinery's, so both tools print the same.
// Negative durations (clock skew) print as 0s.
func HumanDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return duration.HumanDuration(d)
}
