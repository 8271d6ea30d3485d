// Package delete implements `odh training delete mpijob`.
package delete

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
	"github.com/odh-training/odh-training/internal/job"
)

// Options are the delete command's inputs.
type Options struct {
	IO        *iostreams.IOStreams
	Client    func() (*apiclient.Client, error)
	Namespace string
	Names     []string
	Selector  string
	All       bool
	Yes       bool
	Wait      bool
	DryRun    bool
}

// NewCmdDelete returns `delete` with its `mpijob` subcommand.
func NewCmdDelete(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{Use: "delete", Aliases: []string{"rm"}, Short: "Delete training jobs"}
	opts := &Options{IO: f.IOStreams, Client: f.Client}
	sub := &cobra.Command{
		Use:               "mpijob (NAME... | -l SELECTOR | --all)",
		Aliases:           []string{"mpijobs", "mj"},
		Short:             "Delete MPIJobs: stop their processes or pods and remove them",
		ValidArgsFunction: f.CompleteJobNames,
		Long: `Delete MPIJobs. Running jobs are stopped first: every process (local
engine) or pod (kubernetes engine) of the job is removed. On a terminal
you are asked to confirm unless --yes is given.`,
		Example: `  odh training delete mpijob mnist
  odh training delete mpijob -l team=nlp --yes
  odh training delete mpijob --all --dry-run`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			opts.Namespace = f.NamespaceOr(opts.Namespace)
			n := 0
			if len(args) > 0 {
				n++
			}
			if opts.Selector != "" {
				n++
			}
			if opts.All {
				n++
			}
			if n != 1 {
				return cmdutil.Usagef("name the jobs to delete: give NAMEs, or -l SELECTOR, or --all (exactly one of them)")
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmdutil.NamespaceFlags(sub, &opts.Namespace, nil)
	fl := sub.Flags()
	fl.StringVarP(&opts.Selector, "selector", "l", "", "Delete the jobs matching this label selector")
	fl.BoolVar(&opts.All, "all", false, "Delete every job in the namespace")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "Do not ask for confirmation")
	fl.BoolVar(&opts.Wait, "wait", true, "Return only when every process or pod of the job is gone")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "Show what would be deleted; delete nothing")
	cmd.AddCommand(sub)
	return cmd
}

func run(ctx context.Context, o *Options) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	names := o.Names
	if o.Selector != "" || o.All {
		jobs, err := c.List(ctx, apiclient.ListOptions{Namespace: o.Namespace, LabelSelector: o.Selector})
		if err != nil {
			return err
		}
		for _, j := range jobs {
			names = append(names, j.Metadata.Name)
		}
		if len(names) == 0 {
			fmt.Fprintf(o.IO.ErrOut, "No MPIJobs to delete in namespace %q.\n", o.Namespace)
			return nil
		}
	}
	if !o.DryRun && !o.Yes && o.IO.CanPrompt() {
		ok, err := confirm(o, names)
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(o.IO.ErrOut, "Nothing was deleted.")
			return cmdutil.ErrSilent{Code: cmdutil.ExitGeneral}
		}
	}
	var firstErr error
	for _, n := range names {
		_, err := c.Delete(ctx, o.Namespace, n, o.Wait, o.DryRun)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			if len(names) > 1 {
				cmdutil.PrintError(o.IO, err)
			}
			continue
		}
		suffix := "deleted"
		if o.DryRun {
			suffix = "would be deleted (dry run)"
		}
		fmt.Fprintf(o.IO.Out, "mpijob/%s %s\n", n, suffix)
	}
	if firstErr != nil && len(names) > 1 {
		return cmdutil.ErrSilent{Code: cmdutil.ExitCode(firstErr)}
	}
	return firstErr
}

func confirm(o *Options, names []string) (bool, error) {
	what := fmt.Sprintf("mpijob/%s", names[0])
	if len(names) > 1 {
		what = fmt.Sprintf("%d MPIJobs (%s)", len(names), strings.Join(names, ", "))
	}
	fmt.Fprintf(o.IO.ErrOut, "Delete %s in namespace %q? Running processes or pods are stopped. [y/N]: ", what, o.Namespace)
	line, err := bufio.NewReader(o.IO.In).ReadString('\n')
	if err != nil && line == "" {
		return false, &job.Error{Kind: job.KindBadRequest, Message: "no answer to the confirmation prompt; use --yes to delete without asking"}
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}
