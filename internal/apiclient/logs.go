package apiclient

import (
	"context"
	"errors"
	"io"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/internal/job"
)

// ErrStop ends Watch or Logs without an error.
var ErrStop = errors.New("stop")

// LogRequest selects log lines.
type LogRequest struct {
	Namespace, Name string
	Worker          *int32
	All             bool
	Follow          bool
	TailLines       *int32
	SinceSeconds    *int32
	SinceTime       time.Time
	Previous        bool
}

// logMargin: lines within this much of a source's last delivered line are
// compared one by one when a follow resumes (a cluster's sinceTime has
// whole seconds).
const logMargin = time.Second

// Logs calls fn for each log line. A follow (Follow without Previous)
// that drops before the job is over is reopened from the last line's time
// and resumed without repeating or losing lines; it ends when the job has
// ended (or is deleted) and its output is delivered.
func (c *Client) Logs(ctx context.Context, r LogRequest, fn func(job.LogLine) error) error {
	follow := r.Follow && !r.Previous
	req := logsRequest(r)
	var floor time.Time // lines before this were not asked for
	switch {
	case !r.SinceTime.IsZero():
		floor = r.SinceTime
	case r.SinceSeconds != nil:
		floor = time.Now().Add(-time.Duration(*r.SinceSeconds) * time.Second)
	}
	tr := newLogTracker()
	rc := c.reconnector()
	for {
		err := c.logsOnce(ctx, req, rc, func(l job.LogLine) error {
			if !tr.feed(l) {
				return nil
			}
			return fn(l)
		})
		switch {
		case errors.Is(err, ErrStop):
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case err == nil && !follow:
			return nil
		case err == nil:
			// The server ends a follow when the job is over — or when it
			// stops serving us (shutdown, maximum stream lifetime).
			over, gerr := c.jobOver(ctx, r.Namespace, r.Name)
			if gerr == nil && over {
				return nil
			}
			err = errEnded
			if gerr != nil && !retryable(gerr) {
				return c.classify(gerr)
			}
		}
		var fnErr fnError
		if errors.As(err, &fnErr) {
			return fnErr.err
		}
		if !follow || !retryable(err) {
			return c.classify(err)
		}
		if werr := rc.wait(ctx, err); werr != nil {
			return werr
		}
		req = resumeRequest(r, tr, floor)
		tr.reopened()
	}
}

// jobOver reports whether a job has ended or is gone.
func (c *Client) jobOver(ctx context.Context, namespace, name string) (bool, error) {
	p, err := c.rpc.GetJob(ctx, &trainingv1.GetJobRequest{Namespace: namespace, Name: name})
	if err != nil {
		var je *job.Error
		if errors.As(apiconv.Classify(err), &je) && je.Kind == job.KindNotFound {
			return true, nil
		}
		return false, err
	}
	ph := job.Phase(p.GetStatus().GetPhase())
	return ph.Terminal() || ph == job.PhaseDeleting, nil
}

func logsRequest(r LogRequest) *trainingv1.GetLogsRequest {
	req := &trainingv1.GetLogsRequest{
		Namespace: r.Namespace, Name: r.Name, Worker: r.Worker, All: r.All, Follow: r.Follow,
		TailLines: r.TailLines, SinceSeconds: r.SinceSeconds, Previous: r.Previous,
	}
	if !r.SinceTime.IsZero() {
		req.SinceTime = timestamppb.New(r.SinceTime)
	}
	return req
}

// resumeRequest asks for the lines after those delivered: no tail, and
// since the oldest "last line" among the sources (never before the
// caller's own since). Nothing delivered yet: the first request again.
func resumeRequest(r LogRequest, tr *logTracker, floor time.Time) *trainingv1.GetLogsRequest {
	since, ok := tr.since()
	if !ok {
		return logsRequest(r)
	}
	if since.Before(floor) {
		since = floor
	}
	r.TailLines, r.SinceSeconds, r.SinceTime = nil, nil, since
	return logsRequest(r)
}

func (c *Client) logsOnce(ctx context.Context, req *trainingv1.GetLogsRequest, rc *reconnector, fn func(job.LogLine) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.rpc.GetLogs(ctx, req)
	if err != nil {
		return err
	}
	first := true
	for {
		l, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if first {
			rc.opened()
			first = false
		}
		if l.GetHeartbeat() {
			continue
		}
		if err := fn(apiconv.LogLineFromProto(l)); err != nil {
			if errors.Is(err, ErrStop) {
				return ErrStop
			}
			return fnError{err}
		}
	}
}

// logTracker remembers what a log stream delivered, per source, to resume
// it exactly: the time of each source's last line, and the lines within
// logMargin of it (a reopened stream repeats those; they are skipped once
// each, so identical lines at the same instant are neither lost nor
// doubled).
type logTracker struct {
	last   map[string]time.Time
	recent map[string][]seenLine
	skip   map[lineKey]int
}

type lineKey struct {
	source, stream, text string
	time                 time.Time
}

type seenLine struct {
	t   time.Time
	key lineKey
}

func newLogTracker() *logTracker {
	return &logTracker{last: map[string]time.Time{}, recent: map[string][]seenLine{}}
}

// since is the sinceTime of a reopened stream: margin before the oldest
// source's last line. False when nothing was delivered.
func (t *logTracker) since() (time.Time, bool) {
	var oldest time.Time
	for _, l := range t.last {
		if oldest.IsZero() || l.Before(oldest) {
			oldest = l
		}
	}
	if oldest.IsZero() {
		return time.Time{}, false
	}
	return oldest.Add(-logMargin), true
}

// reopened: the lines of the overlap will come again; skip each once.
func (t *logTracker) reopened() {
	t.skip = map[lineKey]int{}
	for _, ls := range t.recent {
		for _, l := range ls {
			t.skip[l.key]++
		}
	}
}

// feed reports whether to deliver a line (false: already delivered).
func (t *logTracker) feed(l job.LogLine) bool {
	if l.Time.IsZero() {
		return true // cannot be placed; lines always carry a time today
	}
	// Lines of one rank (or one pod) come in time order; a merge of
	// several does not, so each is tracked on its own.
	src := l.Source + "/" + strconv.Itoa(int(l.Rank))
	k := lineKey{source: src, stream: l.Stream, text: l.Text, time: l.Time.UTC()}
	last, seen := t.last[src]
	if seen && l.Time.Before(last.Add(-logMargin)) {
		return false
	}
	if t.skip[k] > 0 {
		t.skip[k]--
		return false
	}
	if !seen || l.Time.After(last) {
		last = l.Time
		t.last[src] = last
	}
	rs := append(t.recent[src], seenLine{t: l.Time, key: k})
	i := 0
	for i < len(rs) && rs[i].t.Before(last.Add(-logMargin)) {
		i++
	}
	t.recent[src] = rs[i:]
	return true
}
