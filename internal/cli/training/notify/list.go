package notify

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
	"github.com/odh-training/odh-training/internal/cli/printers"
)

// ListOptions are the list command's inputs.
type ListOptions struct {
	IO        *iostreams.IOStreams
	Client    func() (*apiclient.Client, error)
	Now       func() time.Time
	Namespace string
	Output    string
}

// NewCmdList returns `notify list`.
func NewCmdList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	o := &ListOptions{IO: f.IOStreams, Client: f.Client, Now: f.Now}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List a namespace's notification subscriptions",
		Example: "  odh training notify list -n team-a",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Namespace = f.NamespaceOr(o.Namespace)
			if o.Output != "" && o.Output != "json" {
				return cmdutil.Usagef("unknown output format %q: use -o json, or no -o for a table", o.Output)
			}
			if runF != nil {
				return runF(o)
			}
			return listRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json (default: a table)")
	cmdutil.NamespaceFlags(cmd, &o.Namespace, nil)
	return cmd
}

func listRun(ctx context.Context, o *ListOptions) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	subs, err := c.ListNotifications(ctx, o.Namespace)
	if err != nil {
		return err
	}
	if o.Output == "json" {
		b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(&trainingv1.ListNotificationSubscriptionsResponse{Items: subs})
		if err != nil {
			return err
		}
		fmt.Fprintln(o.IO.Out, string(b))
		return nil
	}
	if len(subs) == 0 {
		fmt.Fprintf(o.IO.ErrOut, "No notification subscriptions in namespace %s.\n", o.Namespace)
		return nil
	}
	tw := tabwriter.NewWriter(o.IO.Out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tURL\tEVENTS\tFILTER\tFORMAT\tSIGNED\tAGE")
	for _, s := range subs {
		events := "all"
		if len(s.GetEventTypes()) > 0 {
			events = strings.Join(s.GetEventTypes(), ",")
		}
		var filter []string
		if s.GetJobName() != "" {
			filter = append(filter, "job="+s.GetJobName())
		}
		if s.GetLabelSelector() != "" {
			filter = append(filter, "labels: "+s.GetLabelSelector())
		}
		if len(filter) == 0 {
			filter = []string{"<none>"}
		}
		signed := "no"
		if s.GetHasSecret() {
			signed = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.GetName(), s.GetUrl(), events, strings.Join(filter, " "), s.GetFormat(), signed, printers.Age(s.GetCreateTime().AsTime(), o.Now()))
	}
	return tw.Flush()
}
