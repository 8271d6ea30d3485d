// Package events implements `odh training events mpijob`.
package events

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
	"github.com/odh-training/odh-training/internal/cli/printers"
	"github.com/odh-training/odh-training/internal/job"
)

// DefaultResync is how often --watch re-reads the events when the job
// itself does not change: events of a job's pods (a failed scheduling, an
// image pull) need not change the job.
const DefaultResync = 2 * time.Second

// Options are the events command's inputs.
type Options struct {
	IO        *iostreams.IOStreams
	Client    func() (*apiclient.Client, error)
	Now       func() time.Time
	Namespace string
	Name      string
	Watch     bool
	// Resync is how often --watch re-reads events between job changes.
	Resync time.Duration
}

// NewCmdEvents returns `events` with its `mpijob` subcommand. runF
// replaces the run function in tests.
func NewCmdEvents(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Client: f.Client, Now: f.Now, Resync: DefaultResync}
	cmd, sub := cmdutil.MPIJobVerb(f, "events", "List the events of an MPIJob", `  odh training events mpijob mnist
  odh training events mpijob mnist --watch`, &opts.Namespace, func(cmd *cobra.Command, name string) error {
		opts.Name = name
		if runF != nil {
			return runF(opts)
		}
		return run(cmd.Context(), opts)
	})
	sub.Flags().BoolVarP(&opts.Watch, "watch", "w", false, "After listing, keep printing new and repeated events until the job is deleted or Ctrl-C (a dropped stream is resumed, see --reconnect-timeout)")
	return cmd
}

func run(ctx context.Context, o *Options) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	var j *job.MPIJob
	if o.Watch {
		// The job as the events were read: the watch starts from it.
		if j, err = c.Get(ctx, o.Namespace, o.Name); err != nil {
			return err
		}
	}
	evs, err := c.Events(ctx, o.Namespace, o.Name)
	if err != nil {
		return err
	}
	p := &printer{w: o.IO.Out, now: o.Now, seen: map[eventKey]seen{}}
	if len(evs) == 0 && !o.Watch {
		fmt.Fprintf(o.IO.ErrOut, "No events for mpijob/%s.\n", o.Name)
		return nil
	}
	if err := p.print(evs); err != nil || !o.Watch {
		return err
	}
	return watch(ctx, o, c, j, p)
}

// watch follows the job (its watch resumes dropped streams, and ends the
// command when the job is deleted or the server stays away longer than
// the reconnect timeout) and re-reads its events on every change of the
// job and every o.Resync.
func watch(ctx context.Context, o *Options, c *apiclient.Client, j *job.MPIJob, p *printer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changed := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- c.Watch(ctx, apiclient.WatchOptions{Namespace: o.Namespace, Name: o.Name, NoInitial: true, Known: []*job.MPIJob{j}}, func(t job.WatchEventType, _ *job.MPIJob) error {
			if t == job.Deleted {
				return errDeleted
			}
			select {
			case changed <- struct{}{}:
			default:
			}
			return nil
		})
	}()
	tick := time.NewTicker(o.Resync)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if errors.Is(err, errDeleted) {
				// Print what was recorded up to the deletion, if we can.
				if evs, lerr := c.Events(ctx, o.Namespace, o.Name); lerr == nil {
					_ = p.print(evs)
				}
				fmt.Fprintf(o.IO.ErrOut, "mpijob/%s was deleted\n", o.Name)
				return nil
			}
			return err
		case <-changed:
		case <-tick.C:
		}
		evs, err := c.Events(ctx, o.Namespace, o.Name)
		var je *job.Error
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &je) && (je.Kind == job.KindUnavailable || je.Kind == job.KindTooManyRequests || je.Kind == job.KindNotFound):
			// The server is away (the watch reconnects, and gives up after
			// --reconnect-timeout) or the job is going (the watch says so).
			continue
		default:
			return err
		}
		if err := p.print(evs); err != nil {
			return err
		}
	}
}

var errDeleted = errors.New("the job was deleted")

// eventKey identifies an event across reads; its count and last time say
// whether it happened again.
type eventKey struct {
	typ, reason, message, object string
	first                        time.Time
}

type seen struct {
	count int32
	last  time.Time
}

// printer prints events not printed before, and again those that
// happened again (a higher count or a later last time), as kubectl's
// events --watch does; the header once.
type printer struct {
	w      io.Writer
	now    func() time.Time
	seen   map[eventKey]seen
	header bool
}

func (p *printer) print(evs []job.Event) error {
	sort.SliceStable(evs, func(a, b int) bool { return evs[a].LastTime.Before(evs[b].LastTime) })
	tw := tabwriter.NewWriter(p.w, 0, 8, 3, ' ', 0)
	now := p.now()
	for _, e := range evs {
		k := eventKey{e.Type, e.Reason, e.Message, e.Object, e.FirstTime}
		s, ok := p.seen[k]
		if ok && e.Count <= s.count && !e.LastTime.After(s.last) {
			continue
		}
		p.seen[k] = seen{e.Count, e.LastTime}
		if !p.header {
			fmt.Fprintln(tw, "LAST SEEN\tTYPE\tREASON\tOBJECT\tMESSAGE")
			p.header = true
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", printers.Age(e.LastTime, now), e.Type, e.Reason, e.Object, e.Message)
	}
	return tw.Flush()
}
