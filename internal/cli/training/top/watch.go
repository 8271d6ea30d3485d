package top

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/job"
)

// DefaultInterval is how often --watch refreshes: the local engine's
// sampling period.
const DefaultInterval = 2 * time.Second

// MinInterval bounds --interval from below: faster refreshes only load
// the server, the samples do not change faster.
const MinInterval = time.Second

// watch shows the metrics every o.Interval until ctx ends or the job is
// deleted. Calls that fail
// because the server is away are retried each interval, until it has been
// away longer than the reconnect timeout; other errors (the job is gone,
// access is denied) end the command.
func watch(ctx context.Context, c *apiclient.Client, f *cmdutil.Factory, o *Options) error {
	ios := f.IOStreams
	timeout := f.Overrides.ReconnectTimeout
	if timeout <= 0 {
		timeout = apiclient.DefaultReconnectTimeout
	}
	var downSince time.Time
	var lastErr error
	note := ""
	seen := false
	for n := 0; ; {
		m, err := c.Metrics(ctx, o.Namespace, o.Name)
		var je *job.Error
		switch {
		case err != nil && seen && errors.As(err, &je) && je.Kind == job.KindNotFound:
			fmt.Fprintf(ios.ErrOut, "mpijob/%s was deleted\n", o.Name)
			return nil
		case err == nil:
			seen = true
			if !downSince.IsZero() {
				fmt.Fprintf(ios.ErrOut, "reconnected after %s; resuming.\n", time.Since(downSince).Round(100*time.Millisecond))
				downSince = time.Time{}
			}
			// A job without samples (not started, finished long ago) is
			// said once, and watching goes on: it may start.
			if uerr := unavailable(m, o); uerr != nil && o.format.Table() {
				if msg := message(uerr); msg != note {
					fmt.Fprintf(ios.ErrOut, "%s; watching…\n", msg)
					note = msg
				}
				break
			}
			note = ""
			switch {
			case ios.IsStdoutTTY() && o.format.Table():
				fmt.Fprint(ios.Out, "\x1b[H\x1b[2J")
			case n > 0 && o.format.Kind == "yaml":
				fmt.Fprintln(ios.Out, "---")
			case n > 0 && o.format.Table():
				fmt.Fprintln(ios.Out)
			}
			if err := show(ios.Out, m, o); err != nil {
				return err
			}
			n++
		case ctx.Err() != nil:
			return ctx.Err()
		case transient(err):
			if downSince.IsZero() {
				downSince, lastErr = time.Now(), err
				fmt.Fprintf(ios.ErrOut, "lost the connection to the server (%s); retrying every %s…\n", message(err), o.Interval)
			} else if time.Since(downSince) > timeout {
				return &job.Error{
					Kind:    job.KindUnavailable,
					Message: fmt.Sprintf("could not reach the Training Service at %s for %s: %s", c.Address(), timeout, message(lastErr)),
					Hint:    "Jobs keep running on the server. Run the command again once the server is reachable (--reconnect-timeout waits longer).",
					Err:     err,
				}
			}
		default:
			return err
		}
		t := time.NewTimer(o.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// transient reports whether err says the server is away for now.
func transient(err error) bool {
	var je *job.Error
	return errors.As(err, &je) && (je.Kind == job.KindUnavailable || je.Kind == job.KindTooManyRequests)
}

func message(err error) string {
	var je *job.Error
	if errors.As(err, &je) {
		return je.Message
	}
	return err.Error()
}
