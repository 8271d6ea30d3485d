// Package suspend implements `odh training suspend mpijob`.
package suspend

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
)

// Options are the suspend command's inputs.
type Options struct {
	IO        *iostreams.IOStreams
	Client    func() (*apiclient.Client, error)
	Namespace string
	Name      string
}

// NewCmdSuspend returns `suspend` with its `mpijob` subcommand. runF
// replaces the run function in tests.
func NewCmdSuspend(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Client: f.Client}
	cmd, _ := cmdutil.MPIJobVerb(f, "suspend", "Suspend an MPIJob: stop its processes or pods, keep the job", "  odh training suspend mpijob mnist", &opts.Namespace, func(cmd *cobra.Command, name string) error {
		opts.Name = name
		if runF != nil {
			return runF(opts)
		}
		return run(cmd.Context(), opts)
	})
	return cmd
}

func run(ctx context.Context, o *Options) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	j, err := c.Suspend(ctx, o.Namespace, o.Name)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.IO.Out, "mpijob/%s suspended (%s)\n", j.Metadata.Name, j.Status.Phase)
	return nil
}
