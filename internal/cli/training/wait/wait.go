// Package wait implements `odh training wait mpijob`.
package wait

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
	"github.com/odh-training/odh-training/internal/cli/jobwait"
	"github.com/odh-training/odh-training/internal/job"
)

// Options are the wait command's inputs.
type Options struct {
	IO        *iostreams.IOStreams
	Client    func() (*apiclient.Client, error)
	Now       func() time.Time
	Namespace string
	Name      string
	// For is the phase to wait for (from --for=condition=PHASE).
	For     job.Phase
	Timeout time.Duration
}

// NewCmdWait returns `wait` with its `mpijob` subcommand. runF replaces
// the run function in tests.
func NewCmdWait(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Client: f.Client, Now: f.Now}
	var forCond string
	cmd, sub := cmdutil.MPIJobVerb(f, "wait", "Wait until an MPIJob reaches a condition", `  odh training wait mpijob mnist --for=condition=Succeeded --timeout=30m
  odh training wait mpijob mnist --for=condition=Running`, &opts.Namespace, func(cmd *cobra.Command, name string) error {
		want, err := parseFor(forCond)
		if err != nil {
			return err
		}
		opts.Name, opts.For = name, want
		if runF != nil {
			return runF(opts)
		}
		return run(cmd.Context(), opts)
	})
	sub.Flags().StringVar(&forCond, "for", "condition=Succeeded", "condition=PHASE to wait for: Succeeded, Failed, Running, Suspended, ...")
	sub.Flags().DurationVar(&opts.Timeout, "timeout", 0, "Give up after this long (exit code 9); 0 waits forever")
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

func run(ctx context.Context, o *Options) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	want := o.For
	j, err := jobwait.Wait(ctx, c, o.Namespace, o.Name, jobwait.Options{IO: o.IO, Progress: true, Now: o.Now, Until: func(j *job.MPIJob) bool {
		return j.Status.Phase == want || j.Status.Phase.Terminal()
	}})
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return &job.Error{Kind: job.KindTimeout, Message: fmt.Sprintf("timed out after %s waiting for mpijob/%s to be %s", o.Timeout, o.Name, want)}
		}
		if ctx.Err() != nil {
			return cmdutil.ErrSilent{Code: cmdutil.ExitInterrupted}
		}
		return err
	}
	if j.Status.Phase != want {
		msg := fmt.Sprintf("mpijob/%s ended %s (%s) instead of %s", o.Name, j.Status.Phase, j.Status.Reason, want)
		if j.Status.Message != "" {
			msg += ": " + j.Status.Message
		}
		return &cmdutil.ExitError{Code: cmdutil.ExitJobFailed, Err: errors.New(msg)}
	}
	fmt.Fprintf(o.IO.Out, "mpijob/%s condition met: %s\n", o.Name, want)
	return nil
}
