// Package events implements `odh training events mpijob`.
package events

import (
	"context"
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
	"github.com/odh-training/odh-training/internal/cli/printers"
)

// Options are the events command's inputs.
type Options struct {
	IO        *iostreams.IOStreams
	Client    func() (*apiclient.Client, error)
	Now       func() time.Time
	Namespace string
	Name      string
}

// NewCmdEvents returns `events` with its `mpijob` subcommand. runF
// replaces the run function in tests.
func NewCmdEvents(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Client: f.Client, Now: f.Now}
	cmd, _ := cmdutil.MPIJobVerb(f, "events", "List the events of an MPIJob", "  odh training events mpijob mnist", &opts.Namespace, func(cmd *cobra.Command, name string) error {
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
	evs, err := c.Events(ctx, o.Namespace, o.Name)
	if err != nil {
		return err
	}
	if len(evs) == 0 {
		fmt.Fprintf(o.IO.ErrOut, "No events for mpijob/%s.\n", o.Name)
		return nil
	}
	sort.SliceStable(evs, func(a, b int) bool { return evs[a].LastTime.Before(evs[b].LastTime) })
	tw := tabwriter.NewWriter(o.IO.Out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "LAST SEEN\tTYPE\tREASON\tOBJECT\tMESSAGE")
	now := o.Now()
	for _, e := range evs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", printers.Age(e.LastTime, now), e.Type, e.Reason, e.Object, e.Message)
	}
	return tw.Flush()
}
