// Package logs implements `odh training logs mpijob`.
package logs

import (
	"context"
	"regexp"
	"time"

	"github.com/spf13/cobra"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
	"github.com/odh-training/odh-training/internal/cli/jobwait"
	"github.com/odh-training/odh-training/internal/job"
)

// Options are the logs command's inputs.
type Options struct {
	IO         *iostreams.IOStreams
	Client     func() (*apiclient.Client, error)
	Namespace  string
	Name       string
	Worker     int32
	All        bool
	Follow     bool
	Tail       int32
	Since      time.Duration
	Previous   bool
	Timestamps bool
	Prefix     bool
	Grep       string

	workerSet bool
	grep      *regexp.Regexp
}

// NewCmdLogs returns `logs` with its `mpijob` subcommand.
func NewCmdLogs(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{Use: "logs", Short: "Print the logs of a training job"}
	opts := &Options{IO: f.IOStreams, Client: f.Client}
	sub := &cobra.Command{
		Use:     "mpijob NAME",
		Aliases: []string{"mpijobs", "mj"},
		Short:   "Print the launcher's, one worker's or every worker's output",
		Long: `Print the output of an MPIJob: the launcher by default (mpirun's own
messages), one worker with --worker N, or everything merged in time order
with a [source] prefix with --all. Logs stay readable after the job ends.`,
		Example: `  odh training logs mpijob mnist
  odh training logs mpijob mnist --worker 1 --tail 20
  odh training logs mpijob mnist --all -f
  odh training logs mpijob mnist --all --grep 'loss=' --timestamps`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: f.CompleteJobNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			opts.Namespace = f.NamespaceOr(opts.Namespace)
			opts.workerSet = cmd.Flags().Changed("worker")
			if opts.workerSet && opts.All {
				return cmdutil.Usagef("use either --worker N or --all, not both")
			}
			if opts.workerSet && opts.Worker < 0 {
				return cmdutil.Usagef("--worker must be 0 or more, got %d", opts.Worker)
			}
			if cmd.Flags().Changed("tail") && opts.Tail < 0 {
				return cmdutil.Usagef("--tail must be 0 or more, got %d", opts.Tail)
			}
			if opts.Grep != "" {
				re, err := regexp.Compile(opts.Grep)
				if err != nil {
					return cmdutil.Usagef("--grep %q is not a valid regular expression: %v", opts.Grep, err)
				}
				opts.grep = re
			}
			if !cmd.Flags().Changed("prefix") {
				opts.Prefix = opts.All
			}
			if !cmd.Flags().Changed("tail") {
				opts.Tail = -1
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmdutil.NamespaceFlags(sub, &opts.Namespace, nil)
	fl := sub.Flags()
	fl.Int32Var(&opts.Worker, "worker", 0, "Print worker N's output (0-based)")
	fl.BoolVar(&opts.All, "all", false, "Print the launcher and every worker, merged in time order with prefixes")
	fl.BoolVarP(&opts.Follow, "follow", "f", false, "Keep streaming until the job ends")
	fl.Int32Var(&opts.Tail, "tail", -1, "Only the last N lines of each source")
	fl.DurationVar(&opts.Since, "since", 0, "Only lines newer than this, e.g. 10m")
	fl.BoolVarP(&opts.Previous, "previous", "p", false, "Logs of the previous attempt (after a retry)")
	fl.BoolVar(&opts.Timestamps, "timestamps", false, "Prefix each line with its RFC 3339 timestamp")
	fl.BoolVar(&opts.Prefix, "prefix", false, "Prefix each line with its source (default with --all)")
	fl.StringVar(&opts.Grep, "grep", "", "Only lines matching this regular expression")
	cmd.AddCommand(sub)
	return cmd
}

func run(ctx context.Context, o *Options) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	req := apiclient.LogRequest{Namespace: o.Namespace, Name: o.Name, All: o.All, Follow: o.Follow, Previous: o.Previous}
	if o.workerSet {
		req.Worker = job.Ptr(o.Worker)
	}
	if o.Tail >= 0 {
		req.TailLines = job.Ptr(o.Tail)
	}
	if o.Since > 0 {
		req.SinceSeconds = job.Ptr(int32(o.Since / time.Second))
	}
	lp := &jobwait.LogPrinter{W: o.IO.Out, IO: o.IO, Prefix: o.Prefix, Timestamps: o.Timestamps}
	if o.grep != nil {
		lp.Grep = o.grep.MatchString
	}
	err = c.Logs(ctx, req, lp.Print)
	if err != nil && ctx.Err() != nil {
		return cmdutil.ErrSilent{Code: cmdutil.ExitInterrupted}
	}
	return err
}
