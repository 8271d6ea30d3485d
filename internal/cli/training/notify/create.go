package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
)

// CreateOptions are the create command's inputs.
type CreateOptions struct {
	IO            *iostreams.IOStreams
	Client        func() (*apiclient.Client, error)
	Namespace     string
	Name          string
	URL           string
	SecretFile    string
	Events        []string
	Job           string
	LabelSelector string
	Format        string
}

// NewCmdCreate returns `notify create NAME --url URL`.
func NewCmdCreate(f *cmdutil.Factory, runF func(*CreateOptions) error) *cobra.Command {
	o := &CreateOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:   "create NAME --url URL",
		Short: "Subscribe a webhook to job state changes",
		Long: `Subscribe a webhook to the job state changes of a namespace (optionally one job,
jobs matching a label selector, and some event types).

Every delivery is signed with a secret: pass it in a file (--secret-file, "-"
for stdin), or let the command generate one and print it once. The server never
shows it again.`,
		Example: `  odh training notify create ops --url https://hooks.example.com/odh --events failed,succeeded
  odh training notify create nlp --url https://hooks.example.com/odh -l team=nlp --secret-file ./hook.secret
  odh training notify create chat --url https://hooks.slack.com/services/T/B/X --format slack --events failed`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name, o.Namespace = args[0], f.NamespaceOr(o.Namespace)
			if o.URL == "" {
				return cmdutil.Usagef("--url is required: the webhook to call, e.g. --url https://hooks.example.com/odh")
			}
			if runF != nil {
				return runF(o)
			}
			return createRun(cmd.Context(), o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.URL, "url", "", "Webhook URL (http or https)")
	fl.StringVar(&o.SecretFile, "secret-file", "", `File holding the signing secret (16-256 characters; "-" reads stdin); default: generate one and print it once`)
	fl.StringSliceVar(&o.Events, "events", nil, "Event types to send (default all): created, queued, running, succeeded, failed, preempted, suspended, resumed, deadline_exceeded, long_pending")
	fl.StringVar(&o.Job, "job", "", "Only this job's events")
	fl.StringVarP(&o.LabelSelector, "selector", "l", "", "Only events of jobs whose labels match, e.g. team=nlp")
	fl.StringVar(&o.Format, "format", "cloudevents", "Body format: cloudevents (CloudEvents 1.0 JSON) or slack (a Slack incoming-webhook message)")
	cmdutil.NamespaceFlags(cmd, &o.Namespace, nil)
	return cmd
}

func createRun(ctx context.Context, o *CreateOptions) error {
	secret, generated, err := o.secret()
	if err != nil {
		return err
	}
	c, err := o.Client()
	if err != nil {
		return err
	}
	sub, err := c.CreateNotification(ctx, o.Namespace, &trainingv1.NotificationSubscription{Name: o.Name, Url: o.URL, Secret: secret,
		Format: o.Format, EventTypes: o.Events, JobName: o.Job, LabelSelector: o.LabelSelector})
	if err != nil {
		return err
	}
	events := "all events"
	if len(sub.GetEventTypes()) > 0 {
		events = strings.Join(sub.GetEventTypes(), ", ")
	}
	fmt.Fprintf(o.IO.Out, "notificationsubscription/%s created in %s (%s)\n", sub.GetName(), sub.GetNamespace(), events)
	if generated {
		fmt.Fprintf(o.IO.Out, "secret: %s\n", secret)
		fmt.Fprintln(o.IO.ErrOut, "Store this secret where your receiver checks the X-Odh-Signature header: it will not be shown again.")
	}
	return nil
}

// secret reads --secret-file, or generates a secret for a signed format.
func (o *CreateOptions) secret() (string, bool, error) {
	switch o.SecretFile {
	case "":
		if o.Format == "slack" {
			return "", false, nil
		}
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return "", false, fmt.Errorf("generate a secret: %w", err)
		}
		return hex.EncodeToString(b), true, nil
	case "-":
		b, err := io.ReadAll(io.LimitReader(o.IO.In, 4096))
		if err != nil {
			return "", false, fmt.Errorf("read the secret from stdin: %w", err)
		}
		return strings.TrimSpace(string(b)), false, nil
	default:
		b, err := os.ReadFile(o.SecretFile)
		if err != nil {
			return "", false, cmdutil.Usagef("--secret-file: %v", err)
		}
		return strings.TrimSpace(string(b)), false, nil
	}
}
