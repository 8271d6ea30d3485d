// Package describe implements `odh training describe mpijob`.
package describe

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
	"github.com/odh-training/odh-training/internal/cli/printers"
	"github.com/odh-training/odh-training/internal/job"
)

// Options are the describe command's inputs.
type Options struct {
	IO        *iostreams.IOStreams
	Client    func() (*apiclient.Client, error)
	Now       func() time.Time
	Namespace string
	Name      string
	Watch     bool
	Workers   Workers
}

// NewCmdDescribe returns `describe` with its `mpijob` subcommand.
func NewCmdDescribe(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{Use: "describe", Short: "Show a training job in detail"}
	opts := &Options{IO: f.IOStreams, Client: f.Client, Now: f.Now}
	sub := &cobra.Command{
		Use:     "mpijob NAME",
		Aliases: []string{"mpijobs", "mj"},
		Short:   "Show an MPIJob: spec, phase and reason, workers, conditions, history and events",
		Long: `Show an MPIJob: spec, phase and reason, workers, conditions, history and events.

Jobs of more than 50 workers are summarised by state and by node, and the
per-worker table lists only the workers that need attention (failed,
restarted, not ready, held back); --workers selects others.`,
		Example: `  odh training describe mpijob mnist
  odh training describe mpijob mnist --watch
  odh training describe mpijob big --workers=failed,not-ready
  odh training describe mpijob big --workers=all --node=node-17 --limit=0`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: f.CompleteJobNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			opts.Namespace = f.NamespaceOr(opts.Namespace)
			if err := validSelect(opts.Workers.Select); err != nil {
				return cmdutil.Usagef("%v", err)
			}
			if opts.Workers.Limit < 0 {
				return cmdutil.Usagef("--limit must be 0 (no limit) or more, got %d", opts.Workers.Limit)
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmdutil.NamespaceFlags(sub, &opts.Namespace, nil)
	sub.Flags().BoolVarP(&opts.Watch, "watch", "w", false, "Keep showing the job as it changes")
	sub.Flags().StringVar(&opts.Workers.Select, "workers", "auto", "Workers to list: auto, all, none, or states and keywords separated by commas (pending, running, succeeded, failed, stopped, not-ready, restarted, problems)")
	sub.Flags().StringVar(&opts.Workers.Node, "node", "", "List only the workers on this node")
	sub.Flags().IntVar(&opts.Workers.Limit, "limit", DefaultLimit, "List at most this many workers (0: no limit)")
	cmd.AddCommand(sub)
	return cmd
}

func run(ctx context.Context, o *Options) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	j, err := c.Get(ctx, o.Namespace, o.Name)
	if err != nil {
		return err
	}
	events, err := c.Events(ctx, o.Namespace, o.Name)
	if err != nil {
		return err
	}
	Print(o.IO.Out, o.IO, j, events, o.Now(), o.Workers)
	printCapacity(ctx, o, c, j)
	if !o.Watch {
		return nil
	}
	return c.Watch(ctx, apiclient.WatchOptions{Namespace: o.Namespace, Name: o.Name, NoInitial: true, Known: []*job.MPIJob{j}}, func(t job.WatchEventType, j *job.MPIJob) error {
		if t == job.Synced {
			return nil
		}
		if t == job.Deleted {
			fmt.Fprintf(o.IO.ErrOut, "mpijob/%s was deleted\n", o.Name)
			return apiclient.ErrStop
		}
		evs, _ := c.Events(ctx, o.Namespace, o.Name)
		if o.IO.IsStdoutTTY() {
			fmt.Fprint(o.IO.Out, "\x1b[H\x1b[2J")
		} else {
			fmt.Fprintln(o.IO.Out, "---")
		}
		Print(o.IO.Out, o.IO, j, evs, o.Now(), o.Workers)
		return nil
	})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func optInt(p *int32, unit string) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%d%s", *p, unit)
}

func ago(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return fmt.Sprintf("%s (%s ago)", t.UTC().Format(time.RFC3339), printers.HumanDuration(now.Sub(t)))
}

func resources(r job.Resources) string {
	parts := []string{"cpu " + orDash(string(r.CPU)), "memory " + orDash(string(r.Memory)), fmt.Sprintf("gpus %d", r.GPUs)}
	if r.CPULimit != "" {
		parts = append(parts, "cpu limit "+string(r.CPULimit))
	}
	if r.MemoryLimit != "" {
		parts = append(parts, "memory limit "+string(r.MemoryLimit))
	}
	return strings.Join(parts, ", ")
}

// Print writes the description of a job, with the workers v selects.
func Print(w io.Writer, ios *iostreams.IOStreams, j *job.MPIJob, events []job.Event, now time.Time, v Workers) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	kv := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	m, s, st := j.Metadata, j.Spec, j.Status
	kv("Name", m.Name)
	kv("Namespace", m.Namespace)
	kv("Labels", printers.LabelsCell(m.Labels))
	kv("Creator", orDash(m.Creator))
	kv("Created", ago(m.CreationTimestamp, now))
	kv("UID", orDash(m.UID))
	tw.Flush()
	fmt.Fprintln(w, "Spec:")
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	kv = func(k, v string) { fmt.Fprintf(tw, "  %s:\t%s\n", k, v) }
	kv("MPI", string(s.MPIImplementation))
	kv("Image", orDash(s.Image))
	kv("Command", strings.Join(s.Command, " "))
	if s.WorkingDir != "" {
		kv("Working dir", s.WorkingDir)
	}
	if len(s.Env) > 0 {
		var env []string
		for _, e := range s.Env {
			env = append(env, e.Name+"="+e.Value)
		}
		kv("Env", strings.Join(env, " "))
	}
	kv("Workers", fmt.Sprintf("%d x %d slot(s): %s", s.Replicas(), s.Slots(), resources(s.Workers.Resources)))
	kv("Launcher", resources(s.Launcher.Resources))
	req := job.TotalRequests(&s).Totals()
	kv("Requested", fmt.Sprintf("cpu %s, memory %s, gpus %d, MPI ranks %d", req.CPU, req.Memory, req.GPUs, req.Slots))
	rp := s.RunPolicy
	kv("Run policy", fmt.Sprintf("deadline %s, backoff limit %s, ttl after finished %s, clean pods %s, suspend %t",
		optInt(rp.ActiveDeadlineSeconds, "s"), optInt(rp.BackoffLimit, ""), optInt(rp.TTLSecondsAfterFinished, "s"), orDash(string(rp.CleanPodPolicy)), rp.Suspend))
	if s.Scheduling.Queue != "" || s.Scheduling.PriorityClass != "" {
		kv("Scheduling", fmt.Sprintf("queue %s, priority class %s", orDash(s.Scheduling.Queue), orDash(s.Scheduling.PriorityClass)))
	}
	tw.Flush()
	fmt.Fprintln(w, "Status:")
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	phase := string(st.Phase)
	kv("Phase", ios.Colorize(iostreams.PhaseColor(phase), orDash(phase)))
	kv("Reason", orDash(st.Reason))
	if st.Message != "" {
		kv("Message", st.Message)
	}
	if st.Phase == job.PhaseQueued && st.QueuePosition > 0 {
		kv("Queue position", fmt.Sprint(st.QueuePosition))
	}
	if st.Preemptions > 0 {
		p := fmt.Sprintf("%d time(s) by Kueue for higher-priority work", st.Preemptions)
		if st.PreemptedBy != "" {
			p += fmt.Sprintf(", last by job %s", st.PreemptedBy)
		}
		kv("Preempted", p)
	}
	kv("Started", ago(st.StartTime, now))
	if !st.CompletionTime.IsZero() {
		kv("Completed", fmt.Sprintf("%s, took %s", ago(st.CompletionTime, now), printers.HumanDuration(st.CompletionTime.Sub(st.StartTime))))
	}
	kv("Attempts", fmt.Sprint(st.Attempts))
	if st.ExitCode != nil {
		kv("Exit code", fmt.Sprint(*st.ExitCode))
	}
	if st.FirstFailedWorker != nil || st.FirstFailedRank != nil {
		kv("First failure", fmt.Sprintf("worker %s, rank %s", optInt(st.FirstFailedWorker, ""), optInt(st.FirstFailedRank, "")))
	}
	if l := st.Launcher; l != nil {
		kv("Launcher", replicaLine(l))
	}
	wc := st.Workers
	kv("Workers", fmt.Sprintf("%d total: %d pending, %d running, %d ready, %d succeeded, %d failed", wc.Total, wc.Pending, wc.Running, wc.Ready, wc.Succeeded, wc.Failed))
	tw.Flush()
	printWorkers(w, ios, &st, v)
	printProgress(w, st, now)
	if len(st.Conditions) > 0 {
		fmt.Fprintln(w, "Conditions:")
		tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  TYPE\tSTATUS\tREASON\tAGE\tMESSAGE")
		for _, c := range st.Conditions {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", c.Type, c.Status, orDash(c.Reason), printers.Age(c.LastTransitionTime, now), c.Message)
		}
		tw.Flush()
	}
	if len(st.History) > 0 {
		fmt.Fprintln(w, "History:")
		tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  TIME\tPHASE\tREASON\tMESSAGE")
		for _, h := range st.History {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", h.Time.UTC().Format("15:04:05.000"), h.Phase, orDash(h.Reason), h.Message)
		}
		tw.Flush()
	}
	fmt.Fprintln(w, "Events:")
	if len(events) == 0 {
		fmt.Fprintln(w, "  <none>")
		return
	}
	sort.SliceStable(events, func(a, b int) bool { return events[a].LastTime.Before(events[b].LastTime) })
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  TYPE\tREASON\tAGE\tOBJECT\tMESSAGE")
	for _, e := range events {
		age := printers.Age(e.LastTime, now)
		if e.Count > 1 {
			age = fmt.Sprintf("%s (x%d)", age, e.Count)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", e.Type, e.Reason, age, orDash(e.Object), e.Message)
	}
	tw.Flush()
}

// printCapacity shows the namespace's quota or capacity for a job that is
// still waiting or running, where it explains a Pending or Queued phase.
func printCapacity(ctx context.Context, o *Options, c *apiclient.Client, j *job.MPIJob) {
	if j.Status.Phase.Terminal() {
		return
	}
	capacity, err := c.Capacity(ctx, o.Namespace)
	if err != nil || len(capacity.Resources) == 0 {
		return
	}
	fmt.Fprintf(o.IO.Out, "Capacity (%s):\n", capacity.Source)
	tw := tabwriter.NewWriter(o.IO.Out, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  RESOURCE\tHARD\tUSED\tAVAILABLE")
	for _, r := range capacity.Resources {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", r.Name, orDash(r.Hard), orDash(r.Used), orDash(r.Available))
	}
	tw.Flush()
}

func replicaLine(r *job.ReplicaStatus) string {
	parts := []string{orDash(r.State)}
	if r.Node != "" {
		parts = append(parts, "node "+r.Node)
	}
	if r.ExitCode != nil {
		parts = append(parts, fmt.Sprintf("exit %d", *r.ExitCode))
	}
	if r.Restarts > 0 {
		parts = append(parts, fmt.Sprintf("%d restarts", r.Restarts))
	}
	if r.Reason != "" {
		parts = append(parts, r.Reason)
	}
	return strings.Join(parts, ", ")
}

func ranks(r []int32) string {
	if len(r) == 0 {
		return "-"
	}
	if len(r) > 2 && int(r[len(r)-1]-r[0]) == len(r)-1 {
		return fmt.Sprintf("%d-%d", r[0], r[len(r)-1])
	}
	s := make([]string, len(r))
	for i, x := range r {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}
