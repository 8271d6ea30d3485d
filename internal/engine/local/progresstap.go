package local

import (
	"sync"
	"time"

	"github.com/odh-training/odh-training/internal/progress"
)

// progressInterval is the most often a rank's progress is passed on: a
// program that reports on every step of a fast loop costs one datagram per
// interval, with the reports of the interval merged.
const progressInterval = 100 * time.Millisecond

// progressTap finds progress reports in a program's output and passes them
// on — at once when none was sent for an interval, otherwise merged and
// sent when the interval is over.
type progressTap struct {
	interval time.Duration
	send     func(progress.Report)

	sendMu  sync.Mutex // reports leave in order
	mu      sync.Mutex
	pending *progress.Report
	last    time.Time
	timer   *time.Timer
}

func newProgressTap(interval time.Duration, send func(progress.Report)) *progressTap {
	return &progressTap{interval: interval, send: send}
}

// line looks at one line of output.
func (p *progressTap) line(b []byte) {
	r, ok := progress.Parse(b)
	if !ok {
		return
	}
	p.mu.Lock()
	if p.pending == nil {
		p.pending = &r
	} else {
		p.pending.Merge(r)
	}
	if p.timer != nil {
		p.mu.Unlock()
		return
	}
	if wait := p.interval - time.Since(p.last); wait > 0 {
		p.timer = time.AfterFunc(wait, p.flush)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.flush()
}

// flush sends what is pending now (also when the program ends).
func (p *progressTap) flush() {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	p.mu.Lock()
	r := p.pending
	p.pending = nil
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	if r != nil {
		p.last = time.Now()
	}
	p.mu.Unlock()
	if r != nil {
		p.send(*r)
	}
}
