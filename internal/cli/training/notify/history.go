package notify

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
	"github.com/odh-training/odh-training/internal/cli/printers"
)

// HistoryOptions are the history command's inputs.
type HistoryOptions struct {
	IO        *iostreams.IOStreams
	Client    func() (*apiclient.Client, error)
	Now       func() time.Time
	Namespace string
	Name      string
	Output    string
}

// NewCmdHistory returns `notify history NAME`.
func NewCmdHistory(f *cmdutil.Factory, runF func(*HistoryOptions) error) *cobra.Command {
	o := &HistoryOptions{IO: f.IOStreams, Client: f.Client, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "history NAME",
		Short: "Show a subscription's recent delivery attempts and dead-lettered events",
		Long: `Show a subscription's recent deliveries, newest first: each attempt's event, job,
attempt number, HTTP status and outcome (delivered, retrying, dead_lettered),
then the events given up on. The history starts empty when the server restarts.`,
		Example: "  odh training notify history ops -n team-a",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name, o.Namespace = args[0], f.NamespaceOr(o.Namespace)
			if o.Output != "" && o.Output != "json" {
				return cmdutil.Usagef("unknown output format %q: use -o json, or no -o for a table", o.Output)
			}
			if runF != nil {
				return runF(o)
			}
			return historyRun(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format: json (default: tables)")
	cmdutil.NamespaceFlags(cmd, &o.Namespace, nil)
	return cmd
}

func historyRun(ctx context.Context, o *HistoryOptions) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	h, err := c.NotificationHistory(ctx, o.Namespace, o.Name)
	if err != nil {
		return err
	}
	if o.Output == "json" {
		b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(h)
		if err != nil {
			return err
		}
		fmt.Fprintln(o.IO.Out, string(b))
		return nil
	}
	fmt.Fprintf(o.IO.Out, "Delivered: %d   Failed attempts: %d   Dead-lettered: %d   Waiting: %d\n", h.GetDelivered(), h.GetFailedAttempts(), h.GetDeadLettered(), h.GetPending())
	if len(h.GetAttempts()) > 0 {
		fmt.Fprintln(o.IO.Out, "\nAttempts (newest first):")
		tw := tabwriter.NewWriter(o.IO.Out, 0, 8, 3, ' ', 0)
		fmt.Fprintln(tw, "AGE\tEVENT\tJOB\tATTEMPT\tSTATUS\tOUTCOME\tERROR")
		for _, a := range h.GetAttempts() {
			code := "-"
			if a.GetStatusCode() != 0 {
				code = fmt.Sprint(a.GetStatusCode())
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", printers.Age(a.GetTime().AsTime(), o.Now()), a.GetEventType(), a.GetJob(), a.GetAttempt(), code, a.GetOutcome(), a.GetError())
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(h.GetDeadLetters()) > 0 {
		fmt.Fprintln(o.IO.Out, "\nDead letters (not delivered):")
		tw := tabwriter.NewWriter(o.IO.Out, 0, 8, 3, ' ', 0)
		fmt.Fprintln(tw, "AGE\tEVENT\tJOB\tATTEMPTS\tID\tLAST ERROR")
		for _, d := range h.GetDeadLetters() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", printers.Age(d.GetTime().AsTime(), o.Now()), d.GetEventType(), d.GetJob(), d.GetAttempts(), d.GetEventId(), d.GetLastError())
		}
		return tw.Flush()
	}
	return nil
}
