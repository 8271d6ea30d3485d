// Package notify implements `odh training notify create|list|delete|history`:
// webhook subscriptions to job state changes (docs/user/notifications.md).
package notify

import (
	"github.com/spf13/cobra"

	"github.com/odh-training/odh-training/internal/cli/cmdutil"
)

// NewCmdNotify returns the `notify` command group.
func NewCmdNotify(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "notify",
		Aliases: []string{"notifications"},
		Short:   "Send job state changes to webhooks (subscriptions, delivery history)",
		Long: `Subscribe a webhook to the job state changes of a namespace: created, queued,
running, succeeded, failed (with the first failing rank), preempted, suspended,
resumed, deadline_exceeded and long_pending. Deliveries are CloudEvents 1.0 JSON
(or a Slack-compatible message), signed with HMAC-SHA256 of the body in the
X-Odh-Signature header, at least once, in order, retried with backoff; the
history shows every recent attempt and the dead-lettered events.

You may manage a namespace's subscriptions when you may create jobs in it.`,
	}
	cmd.AddCommand(NewCmdCreate(f, nil), NewCmdList(f, nil), NewCmdDelete(f, nil), NewCmdHistory(f, nil))
	return cmd
}
