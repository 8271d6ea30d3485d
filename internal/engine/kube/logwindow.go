package kube

import (
	"fmt"
	"time"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

// DefaultMergedLogBytes bounds what a merged read (logs --all without
// --follow) holds in memory: the launcher and every worker share it, each
// keeping its newest lines. Lines must be held to be merged by time; a
// job of hundreds of chatty workers would otherwise exhaust the server.
const DefaultMergedLogBytes = 64 << 20

// minMergedShare is the least each source keeps in a merged read, however
// many replicas share the budget.
const minMergedShare = 64 << 10

// lineOverhead is what a held line costs beyond its text.
const lineOverhead = 48

// lineWindow keeps a source's newest lines as they are read: lines before
// since are skipped, and at most maxLines lines and maxBytes bytes are held
// (0: no limit). dropped counts the lines given up for the byte budget.
type lineWindow struct {
	since    time.Time
	maxLines int
	maxBytes int
	lines    []timedLine
	head     int
	bytes    int
	dropped  int
}

func newLineWindow(opts engine.LogOptions, maxBytes int) *lineWindow {
	w := &lineWindow{since: opts.Since, maxBytes: maxBytes}
	if opts.TailLines != nil {
		w.maxLines = int(*opts.TailLines)
		if w.maxLines == 0 {
			w.maxLines = -1 // --tail=0: nothing
		}
	}
	return w
}

func (w *lineWindow) add(l timedLine) error {
	if before(l, w.since) {
		return nil
	}
	if w.maxLines < 0 {
		return nil
	}
	w.lines = append(w.lines, l)
	w.bytes += len(l.text) + lineOverhead
	for w.maxLines > 0 && len(w.lines)-w.head > w.maxLines {
		w.pop(false)
	}
	for w.maxBytes > 0 && w.bytes > w.maxBytes && w.head < len(w.lines) {
		w.pop(true)
	}
	if w.head > 1024 && 2*w.head > len(w.lines) {
		w.lines = append([]timedLine(nil), w.lines[w.head:]...)
		w.head = 0
	}
	return nil
}

// before reports whether a line is older than since (a zero since: never).
func before(l timedLine, since time.Time) bool {
	return !since.IsZero() && l.t.Before(since)
}

func (w *lineWindow) pop(budget bool) {
	w.bytes -= len(w.lines[w.head].text) + lineOverhead
	w.lines[w.head] = timedLine{}
	w.head++
	if budget {
		w.dropped++
	}
}

// kept is what the window holds, oldest first.
func (w *lineWindow) kept() []timedLine { return w.lines[w.head:] }

// notice tells a reader of a merged log that a source's older lines were
// left out, and how to read them; it sorts just before the first line kept.
func (w *lineWindow) notice(s logSource) (job.LogLine, bool) {
	if w.dropped == 0 {
		return job.LogLine{}, false
	}
	var at time.Time
	if k := w.kept(); len(k) > 0 {
		at = k[0].t
	}
	how := "--worker " + fmt.Sprint(s.worker)
	if s.worker < 0 {
		how = "without --all"
	}
	return job.LogLine{Source: s.source, Worker: s.worker, Rank: -1, Stream: "stderr", Time: at,
		Text: fmt.Sprintf("[odh-training] %d earlier lines of %s are not shown: a merged read (--all) keeps the newest %d KiB of each replica; read it alone (%s) for all of it",
			w.dropped, s.source, w.maxBytes>>10, how)}, true
}
