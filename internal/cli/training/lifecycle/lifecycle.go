// Package lifecycle implements `odh training wait|suspend|resume|events mpijob`.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/jobwait"
	"github.com/odh-training/odh-training/internal/cli/printers"
	"github.com/odh-training/odh-training/internal/job"
)

func mpijobCmd(use, short, example string, f *cmdutil.Factory, ns *string, run func(cmd *cobra.Command, name string) error) *cobra.Command {
	sub := &cobra.Command{
		Use:               "mpijob NAME",
		Aliases:           []string{"mpijobs", "mj"},
		Short:             short,
		Example:           example,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: f.CompleteJobNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			*ns = f.NamespaceOr(*ns)
			return run(cmd, args[0])
		},
	}
	cmdutil.NamespaceFlags(sub, ns, nil)
	parent := &cobra.Command{Use: use, Short: short}
	parent.AddCommand(sub)
	return parent
}

// NewCmdWait returns `wait`.
func NewCmdWait(f *cmdutil.Factory) *cobra.Command {
	var ns, forCond string
	var timeout time.Duration
	cmd := mpijobCmd("wait", "Wait until an MPIJob reaches a condition", `  odh training wait mpijob mnist --for=condition=Succeeded --timeout=30m
  odh training wait mpijob mnist --for=condition=Running`, f, &ns, func(cmd *cobra.Command, name string) error {
		want, err := parseFor(forCond)
		if err != nil {
			return err
		}
		c, err := f.Client()
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		j, err := jobwait.Wait(ctx, c, ns, name, jobwait.Options{IO: f.IOStreams, Progress: true, Now: f.Now, Until: func(j *job.MPIJob) bool {
			return j.Status.Phase == want || j.Status.Phase.Terminal()
		}})
		if err != nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return &job.Error{Kind: job.KindTimeout, Message: fmt.Sprintf("timed out after %s waiting for mpijob/%s to be %s", timeout, name, want)}
			}
			if ctx.Err() != nil {
				return cmdutil.ErrSilent{Code: cmdutil.ExitInterrupted}
			}
			return err
		}
		if j.Status.Phase != want {
			msg := fmt.Sprintf("mpijob/%s ended %s (%s) instead of %s", name, j.Status.Phase, j.Status.Reason, want)
			if j.Status.Message != "" {
				msg += ": " + j.Status.Message
			}
			return &cmdutil.ExitError{Code: cmdutil.ExitJobFailed, Err: errors.New(msg)}
		}
		fmt.Fprintf(f.IOStreams.Out, "mpijob/%s condition met: %s\n", name, want)
		return nil
	})
	sub := cmd.Commands()[0]
	sub.Flags().StringVar(&forCond, "for", "condition=Succeeded", "condition=PHASE to wait for: Succeeded, Failed, Running, Suspended, ...")
	sub.Flags().DurationVar(&timeout, "timeout", 0, "Give up after this long (exit code 9); 0 waits forever")
	return cmd
}

func parseFor(s string) (job.Phase, error) {
	v, ok := strings.CutPrefix(s, "condition=")
	if !ok {
		v, ok = strings.CutPrefix(s, "jsonpath={.status.phase}=")
	}
	if !ok {
		return "", cmdutil.Usagef("--for must be condition=PHASE, e.g. --for=condition=Succeeded")
	}
	for _, p := range job.Phases {
		if strings.EqualFold(v, string(p)) {
			return p, nil
		}
	}
	return "", cmdutil.Usagef("unknown condition %q: use one of Pending, Queued, Starting, Running, Succeeded, Failed, Suspended", v)
}

// NewCmdSuspend returns `suspend`.
func NewCmdSuspend(f *cmdutil.Factory) *cobra.Command {
	var ns string
	return mpijobCmd("suspend", "Suspend an MPIJob: stop its processes or pods, keep the job", "  odh training suspend mpijob mnist", f, &ns, func(cmd *cobra.Command, name string) error {
		c, err := f.Client()
		if err != nil {
			return err
		}
		j, err := c.Suspend(cmd.Context(), ns, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(f.IOStreams.Out, "mpijob/%s suspended (%s)\n", j.Metadata.Name, j.Status.Phase)
		return nil
	})
}

// NewCmdResume returns `resume`.
func NewCmdResume(f *cmdutil.Factory) *cobra.Command {
	var ns string
	return mpijobCmd("resume", "Resume a suspended MPIJob (it starts from the beginning)", "  odh training resume mpijob mnist", f, &ns, func(cmd *cobra.Command, name string) error {
		c, err := f.Client()
		if err != nil {
			return err
		}
		j, err := c.Resume(cmd.Context(), ns, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(f.IOStreams.Out, "mpijob/%s resumed (%s)\n", j.Metadata.Name, j.Status.Phase)
		return nil
	})
}

// NewCmdEvents returns `events`.
func NewCmdEvents(f *cmdutil.Factory) *cobra.Command {
	var ns string
	return mpijobCmd("events", "List the events of an MPIJob", "  odh training events mpijob mnist", f, &ns, func(cmd *cobra.Command, name string) error {
		c, err := f.Client()
		if err != nil {
			return err
		}
		evs, err := c.Events(cmd.Context(), ns, name)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			fmt.Fprintf(f.IOStreams.ErrOut, "No events for mpijob/%s.\n", name)
			return nil
		}
		sort.SliceStable(evs, func(a, b int) bool { return evs[a].LastTime.Before(evs[b].LastTime) })
		tw := tabwriter.NewWriter(f.IOStreams.Out, 0, 8, 3, ' ', 0)
		fmt.Fprintln(tw, "LAST SEEN\tTYPE\tREASON\tOBJECT\tMESSAGE")
		now := f.Now()
		for _, e := range evs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", printers.Age(e.LastTime, now), e.Type, e.Reason, e.Object, e.Message)
		}
		return tw.Flush()
	})
}
