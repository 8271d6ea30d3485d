package apiclient

import (
	"context"
	"errors"
	"io"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/internal/job"
)

// heartbeat is the WatchEvent type of a keep-alive.
const heartbeat = "HEARTBEAT"

// WatchOptions filters Watch.
type WatchOptions struct {
	Namespace     string
	LabelSelector string
	Name          string
	// NoInitial skips the current jobs: only changes are delivered.
	NoInitial bool
	// Known are jobs the caller already has (from List or Get): the
	// watch's first listing is compared with them, so a change between
	// that read and the watch is delivered, and nothing is repeated. Set
	// with NoInitial.
	Known []*job.MPIJob
}

// Watch calls fn for each event until ctx ends or fn returns an error (use
// ErrStop to end without error). A dropped stream is reopened and resumed
// (see reconnect.go): the reopened stream's listing is compared with what
// was delivered by resource version, so fn sees each change once, jobs
// that changed during the gap as MODIFIED, created as ADDED and deleted as
// DELETED, and SYNCED only once. Watch fails only when the server refuses
// the watch or stays away longer than the reconnect timeout.
func (c *Client) Watch(ctx context.Context, opts WatchOptions, fn func(job.WatchEventType, *job.MPIJob) error) error {
	tr := newWatchTracker(opts)
	rc := c.reconnector()
	// Always ask for the initial events: they are how a reopened watch
	// finds what it missed.
	req := &trainingv1.WatchJobsRequest{Namespace: opts.Namespace, LabelSelector: opts.LabelSelector, Name: opts.Name}
	for {
		err := c.watchOnce(ctx, req, rc, func(ev *trainingv1.WatchEvent) error {
			for _, out := range tr.feed(job.WatchEventType(ev.GetType()), ev.GetJob()) {
				if err := fn(out.Type, out.Job); err != nil {
					return err
				}
			}
			return nil
		})
		switch {
		case errors.Is(err, ErrStop):
			return nil
		case err == nil:
			err = errEnded // a watch never ends by itself
		case ctx.Err() != nil:
			return ctx.Err()
		}
		var fnErr fnError
		if errors.As(err, &fnErr) {
			return fnErr.err
		}
		if !retryable(err) {
			return c.classify(err)
		}
		if werr := rc.wait(ctx, err); werr != nil {
			return werr
		}
		tr.reopened()
	}
}

// fnError wraps an error returned by the caller's function, which ends
// the call as it is.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

func (c *Client) watchOnce(ctx context.Context, req *trainingv1.WatchJobsRequest, rc *reconnector, fn func(*trainingv1.WatchEvent) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.rpc.WatchJobs(ctx, req)
	if err != nil {
		return err
	}
	first := true
	for {
		ev, err := stream.Recv()
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
		if ev.GetType() == heartbeat {
			continue
		}
		if err := fn(ev); err != nil {
			if errors.Is(err, ErrStop) {
				return ErrStop
			}
			return fnError{err}
		}
	}
}

// watchTracker remembers what a watch delivered and turns the events of
// every (re)opened stream into the events the caller should see.
type watchTracker struct {
	wantInitial bool
	known       map[jobKey]known
	synced      bool // the caller has its baseline (first SYNCED, or Known)
	initial     bool // reading the initial events of the current stream
	listed      map[jobKey]bool
}

type jobKey struct{ namespace, name string }

type known struct {
	rv  string
	job *job.MPIJob
}

// delivery is one event for the caller.
type delivery struct {
	Type job.WatchEventType
	Job  *job.MPIJob
}

func newWatchTracker(opts WatchOptions) *watchTracker {
	t := &watchTracker{wantInitial: !opts.NoInitial, known: map[jobKey]known{}, initial: true, listed: map[jobKey]bool{}}
	if opts.Known != nil {
		for _, j := range opts.Known {
			t.known[keyOf(j)] = known{rv: j.Metadata.ResourceVersion, job: j}
		}
		// The caller's read is the baseline: the first listing is compared
		// with it like a reopened stream's.
		t.synced, t.wantInitial = true, false
	}
	return t
}

func keyOf(j *job.MPIJob) jobKey { return jobKey{j.Metadata.Namespace, j.Metadata.Name} }

// reopened says a new stream starts (with initial events).
func (t *watchTracker) reopened() {
	t.initial = true
	t.listed = map[jobKey]bool{}
}

func (t *watchTracker) feed(typ job.WatchEventType, p *trainingv1.MPIJob) []delivery {
	if typ == job.Synced {
		var out []delivery
		if t.synced {
			// Jobs delivered before but not in this listing were deleted
			// while the stream was down.
			for k, kn := range t.known {
				if !t.listed[k] {
					delete(t.known, k)
					out = append(out, delivery{job.Deleted, kn.job})
				}
			}
		} else if t.wantInitial {
			out = append(out, delivery{job.Synced, nil})
		}
		t.synced, t.initial = true, false
		return out
	}
	if p == nil {
		return nil
	}
	j := apiconv.FromProto(p)
	k, rv := keyOf(j), j.Metadata.ResourceVersion
	if t.initial {
		t.listed[k] = true
	}
	seen, ok := t.known[k]
	if typ == job.Deleted {
		delete(t.known, k)
		if !ok && t.initial {
			return nil
		}
		return []delivery{{job.Deleted, j}}
	}
	if ok && !newerRV(rv, seen.rv) {
		return nil // a state already delivered (or older)
	}
	t.known[k] = known{rv: rv, job: j}
	switch {
	case t.initial && !t.synced:
		if t.wantInitial {
			return []delivery{{typ, j}}
		}
		return nil // the baseline of a watch without initial events
	case t.initial && ok:
		return []delivery{{job.Modified, j}}
	case t.initial:
		return []delivery{{job.Added, j}}
	}
	return []delivery{{typ, j}}
}

// newerRV reports whether resource version rv comes after than. Both
// engines hand out decimal versions from one increasing counter (the local
// engine's survives restarts; on a cluster they are etcd's), compared as
// numbers; anything else is newer when it differs.
func newerRV(rv, than string) bool {
	if rv == "" || than == "" || !decimal(rv) || !decimal(than) {
		return rv != than || rv == ""
	}
	if len(rv) != len(than) {
		return len(rv) > len(than)
	}
	return rv > than
}

func decimal(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
