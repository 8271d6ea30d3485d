// Package jobwait waits for a job to reach a phase by watching it (never by
// polling) and shows progress: a live line on a terminal, plain lines
// otherwise. It also streams logs with per-source prefixes.
package jobwait

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
	"github.com/odh-training/odh-training/internal/cli/printers"
	"github.com/odh-training/odh-training/internal/job"
)

// Options tune Wait.
type Options struct {
	// Until returns true when waiting is over. Default: a terminal phase.
	Until func(*job.MPIJob) bool
	// Progress shows progress on IO.ErrOut.
	Progress bool
	IO       *iostreams.IOStreams
	Now      func() time.Time
}

// Terminal is the default Until.
func Terminal(j *job.MPIJob) bool { return j.Status.Phase.Terminal() }

// ErrDeleted says the job disappeared while waiting.
var ErrDeleted = errors.New("the job was deleted while waiting")

// Wait watches one job until opts.Until holds, and returns its last state.
func Wait(ctx context.Context, c *apiclient.Client, namespace, name string, opts Options) (*job.MPIJob, error) {
	until := opts.Until
	if until == nil {
		until = Terminal
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	p := newProgress(opts.IO, opts.Progress, now)
	defer p.done()
	var last *job.MPIJob
	found := false
	err := c.Watch(ctx, apiclient.WatchOptions{Namespace: namespace, Name: name}, func(t job.WatchEventType, j *job.MPIJob) error {
		switch t {
		case job.Synced:
			if !found {
				return job.NotFound(namespace, name)
			}
			return nil
		case job.Deleted:
			last = j
			return ErrDeleted
		}
		found = true
		last = j
		p.update(j)
		if until(j) {
			return apiclient.ErrStop
		}
		return nil
	})
	return last, err
}

type progress struct {
	io      *iostreams.IOStreams
	on      bool
	live    bool
	now     func() time.Time
	start   time.Time
	last    string
	ticker  *time.Ticker
	stop    chan struct{}
	current *job.MPIJob
	frame   int
	lines   chan *job.MPIJob
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func newProgress(ios *iostreams.IOStreams, on bool, now func() time.Time) *progress {
	p := &progress{io: ios, on: on && ios != nil, now: now, start: now()}
	if p.on && ios.IsStderrTTY() {
		p.live = true
		p.stop = make(chan struct{})
		p.lines = make(chan *job.MPIJob, 16)
		p.ticker = time.NewTicker(120 * time.Millisecond)
		go p.loop()
	}
	return p
}

func (p *progress) loop() {
	for {
		select {
		case <-p.stop:
			return
		case j := <-p.lines:
			p.current = j
			p.render()
		case <-p.ticker.C:
			p.frame++
			p.render()
		}
	}
}

func (p *progress) render() {
	if p.current == nil {
		return
	}
	line := fmt.Sprintf("%s %s", spinner[p.frame%len(spinner)], Summary(p.current, p.now().Sub(p.start)))
	width := p.io.TerminalWidth() - 1
	if r := []rune(line); len(r) > width {
		line = string(r[:width])
	}
	fmt.Fprintf(p.io.ErrOut, "\r\x1b[K%s", line)
}

func (p *progress) update(j *job.MPIJob) {
	if !p.on {
		return
	}
	if p.live {
		p.lines <- j
		return
	}
	s := fmt.Sprintf("mpijob/%s: %s", j.Metadata.Name, phaseLine(j))
	if s != p.last {
		fmt.Fprintln(p.io.ErrOut, s)
		p.last = s
	}
}

func (p *progress) done() {
	if !p.live {
		return
	}
	close(p.stop)
	p.ticker.Stop()
	fmt.Fprint(p.io.ErrOut, "\r\x1b[K")
}

func phaseLine(j *job.MPIJob) string {
	var b strings.Builder
	b.WriteString(string(j.Status.Phase))
	if j.Status.Reason != "" && j.Status.Reason != string(j.Status.Phase) {
		b.WriteString(" (" + j.Status.Reason + ")")
	}
	w := j.Status.Workers
	total := w.Total
	if total == 0 {
		total = j.Spec.Replicas()
	}
	fmt.Fprintf(&b, " — workers: %d/%d running", w.Running, total)
	if w.Pending > 0 {
		fmt.Fprintf(&b, ", %d pending", w.Pending)
	}
	if w.Failed > 0 {
		fmt.Fprintf(&b, ", %d failed", w.Failed)
	}
	if j.Status.Phase == job.PhaseQueued && j.Status.QueuePosition > 0 {
		fmt.Fprintf(&b, ", queue position %d", j.Status.QueuePosition)
	}
	return b.String()
}

// Summary is the one-line progress text.
func Summary(j *job.MPIJob, elapsed time.Duration) string {
	w := j.Status.Workers
	total := w.Total
	if total == 0 {
		total = j.Spec.Replicas()
	}
	scheduled := total - w.Pending
	return fmt.Sprintf("mpijob/%s %s · workers scheduled %d/%d, ready %d/%d, running %d/%d · %s",
		j.Metadata.Name, j.Status.Phase, scheduled, total, w.Ready, total, w.Running, total, printers.HumanDuration(elapsed))
}

// LogPrinter writes log lines, with a coloured [source] prefix when merging.
type LogPrinter struct {
	W          io.Writer
	IO         *iostreams.IOStreams
	Prefix     bool
	Timestamps bool
	Grep       func(string) bool
	colors     map[string]string
}

// Print writes one line.
func (lp *LogPrinter) Print(l job.LogLine) error {
	if lp.Grep != nil && !lp.Grep(l.Text) {
		return nil
	}
	var b strings.Builder
	if lp.Timestamps {
		b.WriteString(l.Time.UTC().Format(time.RFC3339Nano))
		b.WriteByte(' ')
	}
	if lp.Prefix {
		src := l.Source
		if l.Rank >= 0 && strings.HasPrefix(src, "worker") {
			src = fmt.Sprintf("%s/rank-%d", src, l.Rank)
		}
		b.WriteString(lp.color(l.Source, "["+src+"]"))
		b.WriteByte(' ')
	}
	b.WriteString(l.Text)
	b.WriteByte('\n')
	_, err := io.WriteString(lp.W, b.String())
	return err
}

func (lp *LogPrinter) color(source, text string) string {
	if lp.IO == nil || !lp.IO.ColorEnabled() {
		return text
	}
	if lp.colors == nil {
		lp.colors = map[string]string{}
	}
	c, ok := lp.colors[source]
	if !ok {
		if source == job.LauncherName {
			c = iostreams.Bold
		} else {
			c = iostreams.Palette[len(lp.colors)%len(iostreams.Palette)]
		}
		lp.colors[source] = c
	}
	return lp.IO.Colorize(c, text)
}
