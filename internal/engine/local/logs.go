package local

import (
	"container/heap"
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

// followPoll is how often a follower looks at log files written by other
// processes (the rank wrappers); in-process writes wake it at once.
const followPoll = 100 * time.Millisecond

// logBatch bounds how many records are read from one file at a time, so a
// large log streams instead of filling memory.
const logBatch = 2048

// logSource is one log file and what its lines are.
type logSource struct {
	path   string
	source string
	worker int32
	rank   int32
	cur    *logCursor
	buf    []logRecord
	eof    bool
}

func (s *logSource) line(r logRecord) job.LogLine {
	return job.LogLine{Source: s.source, Worker: s.worker, Rank: s.rank, Stream: r.stream, Time: r.t, Text: r.text}
}

// sources lists the files of an attempt that opts selects.
func sources(jobDir string, attempt int32, spec *job.Spec, opts engine.LogOptions) []*logSource {
	dir := filepath.Join(jobDir, "attempts", strconv.Itoa(int(attempt)))
	var out []*logSource
	launcher := &logSource{path: filepath.Join(dir, "launcher.log"), source: job.LauncherName, worker: -1, rank: -1}
	workers := []int32{}
	switch {
	case opts.All:
		out = append(out, launcher)
		for w := range spec.Replicas() {
			workers = append(workers, w)
		}
	case opts.Worker != nil:
		workers = append(workers, *opts.Worker)
	default:
		out = append(out, launcher)
	}
	slots := spec.Slots()
	for _, w := range workers {
		for _, r := range workerRanks(w, slots) {
			out = append(out, &logSource{path: filepath.Join(dir, "rank-"+strconv.Itoa(int(r))+".log"), source: job.WorkerName(w), worker: w, rank: r})
		}
	}
	for _, s := range out {
		s.cur = &logCursor{path: s.path}
	}
	return out
}

// Logs emits the launcher's lines (default), one worker's, or all of them
// merged in time order. See engine.LogOptions.
func (e *Engine) Logs(ctx context.Context, namespace, name string, opts engine.LogOptions, emit func(job.LogLine) error) error {
	e.mu.Lock()
	rec, ok := e.jobs[key{namespace, name}]
	if !ok {
		e.mu.Unlock()
		return job.NotFound(namespace, name)
	}
	j := rec.j
	e.mu.Unlock()
	spec := &j.Spec
	if w := opts.Worker; w != nil && !opts.All && (*w < 0 || *w >= spec.Replicas()) {
		return &job.Error{
			Kind:    job.KindBadRequest,
			Message: "worker " + strconv.Itoa(int(*w)) + " does not exist: MPIJob " + strconv.Quote(name) + " has " + strconv.Itoa(int(spec.Replicas())) + " workers (0 to " + strconv.Itoa(int(spec.Replicas()-1)) + ")",
		}
	}
	attempt := j.Status.Attempts
	if opts.Previous {
		if attempt < 2 {
			return &job.Error{Kind: job.KindBadRequest, Message: "MPIJob " + strconv.Quote(name) + " has no previous attempt (it has run " + strconv.Itoa(int(attempt)) + " attempts)"}
		}
		attempt--
	}
	srcs := sources(rec.dir, attempt, spec, opts)
	if attempt > 0 {
		if err := e.readInitial(srcs, opts, emit); err != nil {
			return err
		}
	}
	if !opts.Follow || opts.Previous {
		return nil
	}
	return e.follow(ctx, rec, attempt, srcs, opts, emit)
}

// readInitial emits what is already written, honouring TailLines and Since.
func (e *Engine) readInitial(srcs []*logSource, opts engine.LogOptions, emit func(job.LogLine) error) error {
	if opts.TailLines == nil {
		return mergeAll(srcs, opts.Since, emit)
	}
	n := int(*opts.TailLines)
	// Tail per source: a worker's ranks are merged, then cut to n lines.
	type entry struct {
		src *logSource
		rec logRecord
	}
	groups := map[string][]entry{}
	var order []string
	for _, s := range srcs {
		off, err := tailOffset(s.path, n)
		if err != nil {
			return err
		}
		s.cur.off = off
		recs, err := s.cur.next(opts.Since, 0)
		if err != nil {
			return err
		}
		if _, ok := groups[s.source]; !ok {
			order = append(order, s.source)
		}
		for _, r := range recs {
			groups[s.source] = append(groups[s.source], entry{s, r})
		}
	}
	var all []entry
	for _, g := range order {
		es := groups[g]
		slices.SortStableFunc(es, func(a, b entry) int { return a.rec.t.Compare(b.rec.t) })
		if len(es) > n {
			es = es[len(es)-n:]
		}
		all = append(all, es...)
	}
	slices.SortStableFunc(all, func(a, b entry) int { return a.rec.t.Compare(b.rec.t) })
	for _, en := range all {
		if err := emit(en.src.line(en.rec)); err != nil {
			return err
		}
	}
	// Position every cursor at the end for a follow.
	for _, s := range srcs {
		if _, err := s.cur.next(time.Time{}, 0); err != nil {
			return err
		}
	}
	return nil
}

// mergeHeap orders sources by the time of their next buffered record.
type mergeHeap []*logSource

func (h mergeHeap) Len() int           { return len(h) }
func (h mergeHeap) Less(i, j int) bool { return h[i].buf[0].t.Before(h[j].buf[0].t) }
func (h mergeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)        { *h = append(*h, x.(*logSource)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// mergeAll streams every complete record of the sources in time order.
func mergeAll(srcs []*logSource, since time.Time, emit func(job.LogLine) error) error {
	fill := func(s *logSource) error {
		if len(s.buf) > 0 || s.eof {
			return nil
		}
		recs, err := s.cur.next(since, logBatch)
		if err != nil {
			return err
		}
		s.buf = recs
		if len(recs) < logBatch {
			s.eof = true
		}
		return nil
	}
	h := mergeHeap{}
	for _, s := range srcs {
		s.eof, s.buf = false, nil
		if err := fill(s); err != nil {
			return err
		}
		if len(s.buf) > 0 {
			h = append(h, s)
		}
	}
	heap.Init(&h)
	for h.Len() > 0 {
		s := h[0]
		r := s.buf[0]
		s.buf = s.buf[1:]
		if err := emit(s.line(r)); err != nil {
			return err
		}
		if len(s.buf) == 0 {
			if err := fill(s); err != nil {
				return err
			}
		}
		if len(s.buf) == 0 {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
	}
	return nil
}

// follow streams new lines until the job is over (its last attempt done
// and drained), the job is deleted, or ctx ends. A retry's new attempt is
// followed too.
func (e *Engine) follow(ctx context.Context, rec *record, attempt int32, srcs []*logSource, opts engine.LogOptions, emit func(job.LogLine) error) error {
	drain := func() error { return mergeAll(srcs, opts.Since, emit) }
	for {
		e.mu.Lock()
		j, r, changed, removed := rec.j, rec.run, rec.changed, rec.removed
		e.mu.Unlock()
		if removed {
			return nil
		}
		if r != nil && r.attempt == attempt {
			// Stream the running attempt.
			tick := time.NewTicker(followPoll)
			for running := true; running; {
				select {
				case <-ctx.Done():
					tick.Stop()
					return ctx.Err()
				case <-r.done:
					running = false
				case <-r.logs.wait():
				case <-tick.C:
				}
				if err := drain(); err != nil {
					tick.Stop()
					return err
				}
			}
			tick.Stop()
			continue
		}
		if attempt > 0 {
			if err := drain(); err != nil {
				return err
			}
		}
		ph := j.Status.Phase
		if ph.Terminal() || ph == job.PhaseSuspended || ph == job.PhaseDeleting {
			return nil
		}
		if j.Status.Attempts > attempt {
			// A new attempt (a retry) has started: follow it.
			attempt = j.Status.Attempts
			srcs = sources(rec.dir, attempt, &j.Spec, opts)
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

// notifier wakes log followers.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

func (n *notifier) fire() {
	n.mu.Lock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
	n.mu.Unlock()
}
