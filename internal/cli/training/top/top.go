// Package top implements `odh training top mpijob`: the CPU and memory the
// launcher and each worker of a job use, like `kubectl top pod`.
package top

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/printers"
	"github.com/odh-training/odh-training/internal/job"
)

// Options are the parsed flags.
type Options struct {
	Namespace string
	Name      string
	Output    string
	NoHeaders bool
	Watch     bool
	Interval  time.Duration

	format printers.Format
}

// NewCmdTop returns `top`; runF replaces the run function in tests.
func NewCmdTop(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{}
	sub := &cobra.Command{
		Use:     "mpijob NAME",
		Aliases: []string{"mpijobs", "mj"},
		Short:   "Show the CPU and memory the launcher and each worker of an MPIJob use",
		Long: `Show the CPU (millicores) and resident memory the launcher and each worker
of an MPIJob use now, and their peaks over the last minutes, as kubectl top does
for pods. The local engine samples the job's processes every 2 seconds while it
runs; on a cluster, use the cluster's monitoring for the job's pods.

With --watch, the table (or document) is shown again every --interval until
Ctrl-C or the job is deleted: redrawn in place on a terminal, one after another otherwise. A job
without samples yet is said so on stderr, and watching goes on; a server
that stays away longer than --reconnect-timeout ends the command (exit 8).`,
		Example: `  odh training top mpijob mnist
  odh training top mpijob mnist -o json
  odh training top mpijob mnist --watch --interval 5s
  odh training top mpijob mnist -o go-template='{{range .replicas}}{{.name}}{{"\n"}}{{end}}'`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: f.CompleteJobNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Namespace = f.NamespaceOr(o.Namespace)
			o.Name = args[0]
			var err error
			if o.format, err = printers.ParseFormat(o.Output); err != nil {
				return cmdutil.Usagef("%v", err)
			}
			switch o.format.Kind {
			case "table", "json", "yaml", "jsonpath", "go-template":
			default:
				return cmdutil.Usagef("-o %s does not apply to top: use json, yaml, jsonpath=, go-template= or go-template-file=, or no -o for a table", o.Output)
			}
			if cmd.Flags().Changed("interval") && !o.Watch {
				return cmdutil.Usagef("--interval applies to --watch: add -w")
			}
			if o.Interval < MinInterval {
				return cmdutil.Usagef("--interval must be at least %s (samples are taken every 2s), got %s", MinInterval, o.Interval)
			}
			if runF != nil {
				return runF(o)
			}
			return run(cmd, f, o)
		},
	}
	cmdutil.NamespaceFlags(sub, &o.Namespace, nil)
	sub.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json, yaml, jsonpath=TEMPLATE, go-template=TEMPLATE or go-template-file=FILE (on the API's JobMetrics document); a table by default")
	sub.Flags().BoolVar(&o.NoHeaders, "no-headers", false, "Do not print the table header")
	sub.Flags().BoolVarP(&o.Watch, "watch", "w", false, "Show the use again every --interval until Ctrl-C")
	sub.Flags().DurationVar(&o.Interval, "interval", DefaultInterval, "How often --watch refreshes")
	cmd := &cobra.Command{Use: "top", Short: sub.Short}
	cmd.AddCommand(sub)
	return cmd
}

func run(cmd *cobra.Command, f *cmdutil.Factory, o *Options) error {
	c, err := f.Client()
	if err != nil {
		return err
	}
	if o.Watch {
		return watch(cmd.Context(), c, f, o)
	}
	m, err := c.Metrics(cmd.Context(), o.Namespace, o.Name)
	if err != nil {
		return err
	}
	if err := unavailable(m, o); err != nil {
		return err
	}
	return show(f.IOStreams.Out, m, o)
}

// unavailable is the error of metrics that cannot be shown as o asks.
func unavailable(m *trainingv1.JobMetrics, o *Options) error {
	if !m.GetAvailable() {
		return &job.Error{Kind: job.KindUnavailable, Message: fmt.Sprintf("metrics not available for mpijob/%s: %s", o.Name, m.GetMessage())}
	}
	if o.format.Table() && len(m.GetReplicas()) == 0 {
		return &job.Error{
			Kind:    job.KindUnavailable,
			Message: fmt.Sprintf("metrics not available yet for mpijob/%s", o.Name),
			Hint:    fmt.Sprintf("Resource use is sampled every %gs while the job runs; see its state with: odh training describe mpijob %s -n %s", m.GetIntervalSeconds(), o.Name, o.Namespace),
		}
	}
	return nil
}

func show(w io.Writer, m *trainingv1.JobMetrics, o *Options) error {
	if !o.format.Table() {
		data, err := protojson.Marshal(m)
		if err != nil {
			return err
		}
		return printers.PrintObject(w, data, o.format)
	}
	return printTable(w, m, o.NoHeaders)
}

func printTable(w io.Writer, m *trainingv1.JobMetrics, noHeaders bool) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	if !noHeaders {
		fmt.Fprintln(tw, "REPLICA\tCPU(cores)\tMEMORY(bytes)\tPEAK CPU\tPEAK MEMORY\tSAMPLES")
	}
	for _, r := range m.GetReplicas() {
		s := r.GetSamples()
		if len(s) == 0 {
			continue
		}
		last := s[len(s)-1]
		var peakCPU, peakMem float64
		for _, x := range s {
			peakCPU = max(peakCPU, x.GetCpuCores())
			peakMem = max(peakMem, x.GetMemoryBytes())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", r.GetName(), millicores(last.GetCpuCores()), mebibytes(last.GetMemoryBytes()), millicores(peakCPU), mebibytes(peakMem), len(s))
	}
	return tw.Flush()
}

// millicores formats cores as kubectl top does ("250m").
func millicores(cores float64) string {
	return strconv.FormatInt(int64(cores*1000+0.5), 10) + "m"
}

// mebibytes formats bytes as kubectl top does ("128Mi").
func mebibytes(b float64) string {
	return strconv.FormatInt(int64(b/(1<<20)+0.5), 10) + "Mi"
}
