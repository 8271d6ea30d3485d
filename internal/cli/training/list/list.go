// Package list implements `odh training list mpijob` (also `get`).
package list

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
	"github.com/odh-training/odh-training/internal/cli/printers"
	"github.com/odh-training/odh-training/internal/job"
)

// Options are the list command's inputs.
type Options struct {
	IO            *iostreams.IOStreams
	Client        func() (*apiclient.Client, error)
	Now           func() time.Time
	Namespace     string
	AllNamespaces bool
	Selector      string
	Status        []string
	SortBy        string
	Watch         bool
	Output        string
	NoHeaders     bool
	LabelColumns  []string
	ShowLabels    bool
	Names         []string

	format printers.Format
}

// NewCmdList returns `list` with its `mpijob` subcommand.
func NewCmdList(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{Use: "list", Aliases: []string{"ls"}, Short: "List training jobs"}
	cmd.AddCommand(NewCmdMPIJob(f, runF, "mpijob"))
	return cmd
}

// NewCmdMPIJob returns the `mpijob` subcommand (shared by list and get).
func NewCmdMPIJob(f *cmdutil.Factory, runF func(*Options) error, use string) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Client: f.Client, Now: f.Now}
	cmd := &cobra.Command{
		Use:               use + " [NAME...]",
		Aliases:           []string{"mpijobs", "mj"},
		Short:             "List MPIJobs with their status, workers ready/total, age and duration",
		ValidArgsFunction: f.CompleteJobNames,
		Example: `  odh training list mpijob
  odh training list mpijob -A --status Running,Failed
  odh training list mpijob -l team=nlp --sort-by=.metadata.creationTimestamp
  odh training list mpijob -L team,app.kubernetes.io/name --show-labels
  odh training list mpijob -o custom-columns=NAME:.metadata.name,PHASE:.status.phase
  odh training list mpijob -o go-template='{{range .items}}{{.metadata.name}} {{.status.phase}}{{"\n"}}{{end}}'
  odh training list mpijob -w`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			if !opts.AllNamespaces {
				opts.Namespace = f.NamespaceOr(opts.Namespace)
			}
			f.AllNamespaces = opts.AllNamespaces
			var err error
			if opts.format, err = printers.ParseFormat(opts.Output); err != nil {
				return cmdutil.Usagef("%v", err)
			}
			if opts.LabelColumns, err = printers.ParseLabelColumns(opts.LabelColumns); err != nil {
				return cmdutil.Usagef("%v", err)
			}
			if (len(opts.LabelColumns) > 0 || opts.ShowLabels) && !opts.format.Table() {
				return cmdutil.Usagef("-L/--label-columns and --show-labels add table columns; they do not apply to -o %s (its output has the labels under .metadata.labels)", opts.format.Kind)
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmdutil.NamespaceFlags(cmd, &opts.Namespace, &opts.AllNamespaces)
	fl := cmd.Flags()
	fl.StringVarP(&opts.Selector, "selector", "l", "", "Label selector, e.g. team=nlp,tier!=prod")
	fl.StringSliceVar(&opts.Status, "status", nil, "Only jobs in these phases (Pending, Queued, Running, Succeeded, Failed, Suspended, ...)")
	fl.StringVar(&opts.SortBy, "sort-by", "", "Sort by a JSONPath field, e.g. .metadata.creationTimestamp or .status.phase (default: namespace, name)")
	fl.BoolVarP(&opts.Watch, "watch", "w", false, "After listing, keep printing changes")
	fl.StringVarP(&opts.Output, "output", "o", "", printers.FormatsHelp)
	fl.BoolVar(&opts.NoHeaders, "no-headers", false, "Do not print table headers")
	fl.StringSliceVarP(&opts.LabelColumns, "label-columns", "L", nil, "Add a column per label key, e.g. -L team,app.kubernetes.io/name (empty where a job has no such label)")
	fl.BoolVar(&opts.ShowLabels, "show-labels", false, "Add a LABELS column with every label of each job")
	return cmd
}

func run(ctx context.Context, o *Options) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	ns := o.Namespace
	if o.AllNamespaces {
		ns = ""
	}
	jobs, err := c.List(ctx, apiclient.ListOptions{Namespace: ns, LabelSelector: o.Selector, Phases: o.Status})
	if err != nil {
		return err
	}
	if len(o.Names) > 0 {
		jobs, err = pick(jobs, o.Names, ns)
		if err != nil {
			return err
		}
	}
	if err := SortJobs(jobs, o.SortBy); err != nil {
		return err
	}
	popts := printers.Options{AllNamespaces: o.AllNamespaces, NoHeaders: o.NoHeaders, LabelColumns: o.LabelColumns, ShowLabels: o.ShowLabels, Now: o.Now(), IO: o.IO}
	if len(jobs) == 0 && o.format.Table() {
		where := fmt.Sprintf("in namespace %q", o.Namespace)
		if o.AllNamespaces {
			where = "in any namespace"
		}
		fmt.Fprintf(o.IO.ErrOut, "No MPIJobs found %s.\n", where)
	} else if err := printers.PrintJobs(o.IO.Out, jobs, o.format, len(o.Names) == 1, popts); err != nil {
		return err
	}
	if !o.Watch {
		return nil
	}
	popts.NoHeaders = len(jobs) > 0 || o.NoHeaders
	return c.Watch(ctx, apiclient.WatchOptions{Namespace: ns, LabelSelector: o.Selector, NoInitial: true, Known: jobs}, func(t job.WatchEventType, j *job.MPIJob) error {
		if t == job.Synced {
			return nil
		}
		if len(o.Names) > 0 && !contains(o.Names, j.Metadata.Name) {
			return nil
		}
		if len(o.Status) > 0 && !matchesStatus(j, o.Status) {
			return nil
		}
		popts.Now = o.Now()
		if t == job.Deleted && o.format.Table() {
			j.Status.Phase = job.PhaseDeleting
		}
		err := printers.PrintJobs(o.IO.Out, []*job.MPIJob{j}, o.format, true, popts)
		popts.NoHeaders = true
		return err
	})
}

func contains(names []string, n string) bool {
	for _, x := range names {
		if x == n {
			return true
		}
	}
	return false
}

func matchesStatus(j *job.MPIJob, phases []string) bool {
	for _, p := range phases {
		for _, part := range strings.Split(p, ",") {
			if strings.EqualFold(strings.TrimSpace(part), string(j.Status.Phase)) {
				return true
			}
		}
	}
	return false
}

func pick(jobs []*job.MPIJob, names []string, ns string) ([]*job.MPIJob, error) {
	var out []*job.MPIJob
	for _, n := range names {
		found := false
		for _, j := range jobs {
			if j.Metadata.Name == n {
				out = append(out, j)
				found = true
			}
		}
		if !found {
			if ns == "" {
				ns = "any namespace"
			}
			return nil, job.NotFound(ns, n)
		}
	}
	return out, nil
}

// SortJobs sorts by a JSONPath-like field (kubectl's --sort-by).
func SortJobs(jobs []*job.MPIJob, by string) error {
	if by == "" {
		return nil
	}
	key, ok := sortKeys[strings.TrimPrefix(strings.Trim(by, "{}"), ".")]
	if !ok {
		names := make([]string, 0, len(sortKeys))
		for k := range sortKeys {
			names = append(names, "."+k)
		}
		sort.Strings(names)
		return cmdutil.Usagef("cannot sort by %q: use one of %s", by, strings.Join(names, ", "))
	}
	sort.SliceStable(jobs, func(i, k int) bool { return key(jobs[i]) < key(jobs[k]) })
	return nil
}

var sortKeys = map[string]func(*job.MPIJob) string{
	"metadata.name":              func(j *job.MPIJob) string { return j.Metadata.Name },
	"metadata.namespace":         func(j *job.MPIJob) string { return j.Metadata.Namespace + "/" + j.Metadata.Name },
	"metadata.creationTimestamp": func(j *job.MPIJob) string { return j.Metadata.CreationTimestamp.UTC().Format(time.RFC3339Nano) },
	"status.phase":               func(j *job.MPIJob) string { return string(j.Status.Phase) },
	"status.startTime":           func(j *job.MPIJob) string { return j.Status.StartTime.UTC().Format(time.RFC3339Nano) },
	"status.completionTime":      func(j *job.MPIJob) string { return j.Status.CompletionTime.UTC().Format(time.RFC3339Nano) },
	"spec.workers.replicas":      func(j *job.MPIJob) string { return fmt.Sprintf("%010d", j.Spec.Replicas()) },
	"metadata.creator":           func(j *job.MPIJob) string { return j.Metadata.Creator },
}
