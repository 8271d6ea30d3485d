package notify

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
)

// DeleteOptions are the delete command's inputs.
type DeleteOptions struct {
	IO        *iostreams.IOStreams
	Client    func() (*apiclient.Client, error)
	Namespace string
	Name      string
}

// NewCmdDelete returns `notify delete NAME`.
func NewCmdDelete(f *cmdutil.Factory, runF func(*DeleteOptions) error) *cobra.Command {
	o := &DeleteOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:     "delete NAME",
		Aliases: []string{"rm"},
		Short:   "Delete a notification subscription (its pending deliveries stop)",
		Example: "  odh training notify delete ops -n team-a",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name, o.Namespace = args[0], f.NamespaceOr(o.Namespace)
			if runF != nil {
				return runF(o)
			}
			return deleteRun(cmd.Context(), o)
		},
	}
	cmdutil.NamespaceFlags(cmd, &o.Namespace, nil)
	return cmd
}

func deleteRun(ctx context.Context, o *DeleteOptions) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	if _, err := c.DeleteNotification(ctx, o.Namespace, o.Name); err != nil {
		return err
	}
	fmt.Fprintf(o.IO.Out, "notificationsubscription/%s deleted\n", o.Name)
	return nil
}
