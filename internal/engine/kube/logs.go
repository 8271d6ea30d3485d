package kube

import (
	"bufio"
	"context"
	"errors"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

// followDrain is how long a follower keeps reading after the informer
// shows that the container has terminated (the kubelet ends the stream
// itself; some do not).
const followDrain = time.Second

type timedLine struct {
	t    time.Time
	text string
}

// parseTimed splits a line the API returned with timestamps=true.
func parseTimed(s string) timedLine {
	if ts, rest, ok := strings.Cut(s, " "); ok {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			return timedLine{t: t.UTC(), text: rest}
		}
	}
	return timedLine{text: s}
}

// logSource is one stream of a job's logs: the launcher or a worker.
type logSource struct {
	source string
	worker int32
}

func (s logSource) line(l timedLine) job.LogLine {
	return job.LogLine{Source: s.source, Worker: s.worker, Rank: -1, Stream: "stdout", Time: l.t, Text: l.text}
}

// logJob is what a Logs call needs to know about the job.
type logJob struct {
	k        key
	uid      types.UID
	created  metav1.Time
	replicas int32
}

// Logs emits the launcher's lines (default), one worker's, or all of them
// merged (see engine.LogOptions). Lines of running pods come from the
// pods/log API; lines of pods that are gone come from the archive.
func (e *Engine) Logs(ctx context.Context, namespace, name string, opts engine.LogOptions, emit func(job.LogLine) error) error {
	j, err := e.Get(ctx, namespace, name)
	if err != nil {
		return err
	}
	lj := logJob{k: key{namespace, name}, uid: types.UID(j.Metadata.UID), created: metav1.NewTime(j.Metadata.CreationTimestamp), replicas: j.Spec.Replicas()}
	if w := opts.Worker; w != nil && !opts.All && (*w < 0 || *w >= lj.replicas) {
		return &job.Error{
			Kind:    job.KindBadRequest,
			Message: "worker " + strconv.Itoa(int(*w)) + " does not exist: MPIJob " + strconv.Quote(name) + " has " + strconv.Itoa(int(lj.replicas)) + " workers (0 to " + strconv.Itoa(int(lj.replicas-1)) + ")",
		}
	}
	c, err := e.clients(ctx)
	if err != nil {
		return err
	}
	var srcs []logSource
	switch {
	case opts.All:
		srcs = append(srcs, logSource{source: job.LauncherName, worker: -1})
		for i := range lj.replicas {
			srcs = append(srcs, logSource{source: job.WorkerName(i), worker: i})
		}
	case opts.Worker != nil:
		srcs = append(srcs, logSource{source: job.WorkerName(*opts.Worker), worker: *opts.Worker})
	default:
		srcs = append(srcs, logSource{source: job.LauncherName, worker: -1})
	}
	if opts.Follow && !opts.Previous {
		var mu sync.Mutex
		safeEmit := func(l job.LogLine) error {
			mu.Lock()
			defer mu.Unlock()
			return emit(l)
		}
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		var wg sync.WaitGroup
		errs := make([]error, len(srcs))
		for i, s := range srcs {
			wg.Go(func() {
				if err := e.follow(ctx, c, lj, s, opts, safeEmit); err != nil {
					errs[i] = err
					cancel(err)
				}
			})
		}
		wg.Wait()
		if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		for _, err := range errs {
			if err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
		}
		return ctx.Err()
	}
	if len(srcs) == 1 {
		// One source is streamed as it is read: any size, little memory.
		src := srcs[0]
		return e.readSource(ctx, c, lj, src, opts, func(l timedLine) error { return emit(src.line(l)) })
	}
	// Merged: every source's newest lines within its share of the budget
	// (read a few at a time), then merged by time.
	budget := e.opts.MergedLogBytes
	if budget <= 0 {
		budget = DefaultMergedLogBytes
	}
	share := max(budget/len(srcs), minMergedShare)
	windows := make([]*lineWindow, len(srcs))
	errs := make([]error, len(srcs))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, s := range srcs {
		windows[i] = newLineWindow(opts, share)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = e.readSource(ctx, c, lj, s, opts, windows[i].add)
		})
	}
	wg.Wait()
	for _, err := range errs {
		var je *job.Error
		if err != nil && (!errors.As(err, &je) || je.Kind != job.KindBadRequest) {
			return err
		}
	}
	var all []job.LogLine
	for i, w := range windows {
		if n, ok := w.notice(srcs[i]); ok {
			all = append(all, n)
		}
		for _, l := range w.kept() {
			all = append(all, srcs[i].line(l))
		}
		windows[i] = nil
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].Time.Before(all[b].Time) })
	for _, l := range all {
		if err := emit(l); err != nil {
			return err
		}
	}
	return nil
}

// pods returns the job's pods of one source from the cache, oldest first
// (a launcher has one pod per attempt).
func (e *Engine) sourcePods(lj logJob, s logSource) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range e.podsOf(lj.k.String()) {
		if !podOfJob(p, lj) {
			continue
		}
		switch {
		case s.worker < 0 && p.Labels[kubeflow.JobRoleLabel] == "launcher":
			out = append(out, p)
		case s.worker >= 0 && p.Labels[kubeflow.JobRoleLabel] == "worker" && p.Labels[kubeflow.ReplicaIndexLabel] == strconv.Itoa(int(s.worker)):
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *corev1.Pod) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

func podOfJob(p *corev1.Pod, lj logJob) bool {
	for _, r := range p.OwnerReferences {
		if r.UID == lj.uid {
			return true
		}
		if r.Kind == "Job" && r.Name == lj.k.name+"-launcher" {
			return !p.CreationTimestamp.Before(&lj.created)
		}
	}
	return trainJobPodOwned(p, lj.k.name, lj.created)
}

// archivedPods lists a source's archived pods, oldest first.
func (e *Engine) archivedPods(lj logJob, s logSource) []string {
	files := e.archive.files(lj.k, lj.uid)
	var names []string
	for n := range files {
		switch {
		case s.worker < 0 && launcherPodName.MatchString(n) && strings.HasPrefix(n, lj.k.name+"-launcher-"):
			names = append(names, n)
		case s.worker >= 0 && n == lj.k.name+"-worker-"+strconv.Itoa(int(s.worker)):
			names = append(names, n)
		}
	}
	slices.SortFunc(names, func(a, b string) int { return files[a].ModTime().Compare(files[b].ModTime()) })
	return names
}

// readSource sends a source's lines to sink, honouring TailLines, Since and
// Previous: a live pod's through the API (its archive when the API cannot
// serve it), a removed pod's from the archive.
func (e *Engine) readSource(ctx context.Context, c *Clients, lj logJob, s logSource, opts engine.LogOptions, sink func(timedLine) error) error {
	pods := e.sourcePods(lj, s)
	archived := e.archivedPods(lj, s)
	// The pod to read, newest first: live pods, then archived ones.
	type cand struct {
		pod  *corev1.Pod
		name string
	}
	var cands []cand
	for i := len(pods) - 1; i >= 0; i-- {
		cands = append(cands, cand{pod: pods[i], name: pods[i].Name})
	}
	for i := len(archived) - 1; i >= 0; i-- {
		if !slices.ContainsFunc(cands, func(x cand) bool { return x.name == archived[i] }) {
			cands = append(cands, cand{name: archived[i]})
		}
	}
	if len(cands) == 0 {
		if opts.Previous {
			return &job.Error{Kind: job.KindBadRequest, Message: s.source + " of MPIJob " + strconv.Quote(lj.k.name) + " has no previous run"}
		}
		return nil
	}
	target, previous := cands[0], false
	if opts.Previous {
		switch {
		case target.pod != nil && restarts(target.pod) > 0:
			previous = true
		case e.archive.has(lj.k, lj.uid, target.name, true):
			previous = true
		case len(cands) > 1:
			target = cands[1] // the previous attempt's pod
		default:
			return &job.Error{Kind: job.KindBadRequest, Message: s.source + " of MPIJob " + strconv.Quote(lj.k.name) + " has no previous run: its container never restarted and it had one attempt"}
		}
	}
	if target.pod != nil {
		opened, err := e.readPod(ctx, c, target.pod, previous, opts, sink)
		if err == nil || opened {
			return err
		}
		// The API served no line: the archive may have the log.
		if ok, aerr := e.readArchive(lj, target.name, previous, opts, sink); ok {
			return aerr
		}
		return err
	}
	_, err := e.readArchive(lj, target.name, previous, opts, sink)
	return err
}

// readArchive sends an archived log's lines to sink, honouring TailLines
// and Since; false when the pod's log is not archived. Without TailLines
// the lines go straight through: nothing is held.
func (e *Engine) readArchive(lj logJob, pod string, previous bool, opts engine.LogOptions, sink func(timedLine) error) (bool, error) {
	if opts.TailLines == nil {
		var err error
		ok := e.archive.read(lj.k, lj.uid, pod, previous, func(l timedLine) error {
			if before(l, opts.Since) {
				return nil
			}
			err = sink(l)
			return err
		})
		return ok, err
	}
	w := newLineWindow(opts, 0)
	if !e.archive.read(lj.k, lj.uid, pod, previous, w.add) {
		return false, nil
	}
	for _, l := range w.kept() {
		if err := sink(l); err != nil {
			return true, err
		}
	}
	return true, nil
}

func restarts(p *corev1.Pod) int32 {
	if cs := mainStatus(p, mainContainer(p)); cs != nil {
		return cs.RestartCount
	}
	return 0
}

// readPod sends a live pod's log, read through the API, to sink; opened
// is false when the API refused the request (no line was sent).
func (e *Engine) readPod(ctx context.Context, c *Clients, p *corev1.Pod, previous bool, opts engine.LogOptions, sink func(timedLine) error) (opened bool, err error) {
	lo := &corev1.PodLogOptions{Container: mainContainer(p), Timestamps: true, Previous: previous}
	if opts.TailLines != nil {
		lo.TailLines = new(int64(*opts.TailLines))
	}
	if !opts.Since.IsZero() {
		lo.SinceTime = &metav1.Time{Time: opts.Since}
	}
	rc, err := c.Kube.CoreV1().Pods(p.Namespace).GetLogs(p.Name, lo).Stream(ctx)
	if err != nil {
		return false, logError(err, p.Name)
	}
	defer rc.Close()
	return true, scanLines(rc, sink)
}

func logError(err error, pod string) error {
	if apierrors.IsBadRequest(err) {
		// Typically: the container has not started yet.
		return &job.Error{Kind: job.KindBadRequest, Message: "no logs from pod " + pod + " yet: " + err.Error(), Err: err}
	}
	return apiError(err, "read logs of pod "+pod)
}

func scanLines(r io.Reader, f func(timedLine) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		s, err := br.ReadString('\n')
		if s != "" {
			if ferr := f(parseTimed(strings.TrimRight(s, "\r\n"))); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// follow streams one source until the job is over (launcher) or the
// worker's pod has ended, or ctx ends. A launcher that is retried is
// followed into its next pod.
func (e *Engine) follow(ctx context.Context, c *Clients, lj logJob, s logSource, opts engine.LogOptions, emit func(job.LogLine) error) error {
	// A container is identified by its pod and restart count: following
	// goes on across container restarts and new pods (a retried launcher)
	// until the job is over.
	instance := func(p *corev1.Pod) string { return string(p.UID) + "/" + strconv.Itoa(int(restarts(p))) }
	done := map[string]bool{}
	first := true
	for {
		var pod *corev1.Pod
		over := false
		err := e.waitFor(ctx, func() bool {
			over = e.jobOver(lj)
			for _, p := range e.sourcePods(lj, s) {
				if !done[instance(p)] && p.Status.Phase != corev1.PodPending {
					pod = p
				}
			}
			return pod != nil || over
		})
		if err != nil {
			return err
		}
		if pod == nil {
			// Nothing (more) to stream: what is archived is all there is.
			if first {
				// A source with nothing readable ends quietly (the job
				// ended before it started); only the reader's own end counts.
				var emitErr error
				_ = e.readSource(ctx, c, lj, s, opts, func(l timedLine) error {
					emitErr = emit(s.line(l))
					return emitErr
				})
				return emitErr
			}
			return nil
		}
		done[instance(pod)] = true
		lo := &corev1.PodLogOptions{Container: mainContainer(pod), Timestamps: true, Follow: true}
		if first {
			if opts.TailLines != nil {
				lo.TailLines = new(int64(*opts.TailLines))
			}
			if !opts.Since.IsZero() {
				lo.SinceTime = &metav1.Time{Time: opts.Since}
			}
		}
		first = false
		if err := e.streamPod(ctx, c, lj, pod, lo, func(l timedLine) error { return emit(s.line(l)) }); err != nil {
			return err
		}
	}
}

// jobOver reports whether the job has finished or is gone.
func (e *Engine) jobOver(lj logJob) bool {
	snap, uid := e.snapshot(lj.k)
	if snap == nil || uid != lj.uid {
		return true
	}
	return snap.Status.Phase.Terminal() || snap.Status.Phase == job.PhaseDeleting
}

// streamPod follows one pod's log until the stream ends, the informer shows
// the container terminated or the pod gone (then the stream is drained
// briefly and closed), or ctx ends.
func (e *Engine) streamPod(ctx context.Context, c *Clients, lj logJob, pod *corev1.Pod, lo *corev1.PodLogOptions, f func(timedLine) error) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		err := e.waitFor(sctx, func() bool {
			p, exists := e.cachedPod(pod.Namespace + "/" + pod.Name)
			if !exists {
				return true
			}
			// A restarted container's log is a new stream.
			return p.UID != pod.UID || p.DeletionTimestamp != nil || podTerminal(p) || restarts(p) != restarts(pod)
		})
		if err != nil {
			return
		}
		select {
		case <-time.After(followDrain):
			cancel()
		case <-sctx.Done():
		}
	}()
	rc, err := c.Kube.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, lo).Stream(sctx)
	if err != nil {
		if sctx.Err() != nil && ctx.Err() == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The pod went away or never started: fall back to the archive.
		if ok, err := e.readArchive(lj, pod.Name, false, engine.LogOptions{TailLines: int32Ptr(lo.TailLines)}, f); ok {
			return err
		}
		var je *job.Error
		if err := logError(err, pod.Name); errors.As(err, &je) && je.Kind == job.KindBadRequest {
			return nil
		}
		return logError(err, pod.Name)
	}
	defer rc.Close()
	err = scanLines(rc, f)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil && sctx.Err() != nil {
		return nil // closed by us after the container ended
	}
	return err
}

func int32Ptr(p *int64) *int32 {
	if p == nil {
		return nil
	}
	return new(int32(*p))
}
