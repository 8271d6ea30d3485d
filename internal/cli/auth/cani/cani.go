// Package cani implements `odh auth can-i`.
package cani

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
)

// Options are the can-i command's inputs.
type Options struct {
	IO        *iostreams.IOStreams
	Client    func() (*apiclient.Client, error)
	Namespace string
	Verb      string
	Resource  string
	Name      string
	Quiet     bool
}

// NewCmdCanI returns `can-i`.
func NewCmdCanI(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:   "can-i VERB [RESOURCE] [NAME]",
		Short: "Say whether you may do something (yes or no, with the reason)",
		Long: `Ask the server whether you may do VERB on RESOURCE (default mpijobs),
optionally on the job NAME. On a cluster the API server's RBAC decides (as
you, with your own token), including the rule that only a job's creator
or an MLOps engineer may change or delete it; on a local server its policy
file decides.

VERB: get, list, watch, create, delete, update, suspend, resume, logs.
RESOURCE: mpijobs, mpijobs/log, events, capacity, templates.

Prints "yes" (exit 0) or "no" and the reason (exit 6).`,
		Example: `  odh auth can-i create mpijobs
  odh auth can-i delete mpijobs train-42 -n team-a
  odh auth can-i logs mpijobs train-42 --quiet && odh training logs mpijob train-42`,
		Args: cobra.RangeArgs(1, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Verb = args[0]
			if len(args) > 1 {
				opts.Resource = args[1]
			}
			if len(args) > 2 {
				opts.Name = args[2]
			}
			opts.Namespace = f.NamespaceOr(opts.Namespace)
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmdutil.NamespaceFlags(cmd, &opts.Namespace, nil)
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "Print nothing; answer with the exit code only")
	return cmd
}

func run(ctx context.Context, o *Options) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	r, err := c.CanI(ctx, o.Namespace, o.Verb, o.Resource, o.Name)
	if err != nil {
		return err
	}
	if r.GetAllowed() {
		if !o.Quiet {
			fmt.Fprintln(o.IO.Out, "yes")
		}
		return nil
	}
	if !o.Quiet {
		fmt.Fprintln(o.IO.Out, "no")
		if r.GetReason() != "" {
			fmt.Fprintln(o.IO.ErrOut, r.GetReason())
		}
	}
	return cmdutil.ErrSilent{Code: cmdutil.ExitForbidden}
}
