package progress

import (
	"math"
	"time"

	"github.com/odh-training/odh-training/internal/job"
)

// MaxPoints bounds a job's history. When it is full every other point is
// dropped, so the history keeps the shape of the whole run at half the
// density.
const MaxPoints = 512

// Tracker keeps one job's progress: the latest values and a compact
// history of the reports. It is not safe for concurrent use; engines hold
// their own lock.
type Tracker struct {
	latest   job.Progress
	reported bool
	names    []string // metric names, in first-seen order
	index    map[string]int
	values   []float64 // latest value per name
	points   []point
	base     rateBase
}

type point struct {
	t     int64 // Unix milliseconds
	step  int32
	epoch float64
	vals  []float32 // by name index; NaN = not in this report
}

// rateBase is where the rate of progress is measured from.
type rateBase struct {
	t  time.Time
	f  float64
	ok bool
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker { return &Tracker{index: map[string]int{}} }

// Reported reports whether anything was reported yet.
func (t *Tracker) Reported() bool { return t.reported }

// Restart forgets the rate of progress (a new attempt starts over), so
// the time left is estimated afresh; the history is kept.
func (t *Tracker) Restart() { t.base = rateBase{} }

// Apply merges a report received at now. Fields the report leaves out keep
// their last values; the percentage and the time left are recomputed.
func (t *Tracker) Apply(r Report, now time.Time) {
	p := t.update(r, now)
	if len(t.points) >= MaxPoints {
		kept := t.points[:0]
		for i := 0; i < len(t.points); i += 2 {
			kept = append(kept, t.points[i])
		}
		clear(t.points[len(kept):])
		t.points = kept
	}
	t.points = append(t.points, p)
}

// update merges a report into the latest values and returns its point.
func (t *Tracker) update(r Report, now time.Time) point {
	l := &t.latest
	if r.Step != nil && t.reported && *r.Step < l.Step {
		t.base = rateBase{} // the program started over
	}
	if r.Step != nil {
		l.Step = *r.Step
	}
	if r.TotalSteps != nil {
		l.TotalSteps = *r.TotalSteps
	}
	if r.Epoch != nil {
		l.Epoch = *r.Epoch
	}
	if r.TotalEpochs != nil {
		l.TotalEpochs = *r.TotalEpochs
	}
	p := point{t: now.UnixMilli(), step: l.Step, epoch: l.Epoch}
	for _, m := range r.Metrics {
		i, ok := t.index[m.Name]
		if !ok {
			if len(t.names) >= MaxMetricNames {
				continue
			}
			i = len(t.names)
			t.index[m.Name] = i
			t.names = append(t.names, m.Name)
			t.values = append(t.values, 0)
		}
		t.values[i] = m.Value
		for len(p.vals) <= i {
			p.vals = append(p.vals, float32(math.NaN()))
		}
		p.vals[i] = float32(m.Value)
	}
	l.Percent = nil
	if r.Percent != nil {
		l.Percent = new(*r.Percent)
	} else if f, ok := l.Fraction(); ok {
		l.Percent = new(math.Round(f*10000) / 100)
	}
	l.EstimatedRemainingSeconds = nil
	if r.Remaining != nil {
		l.EstimatedRemainingSeconds = new(*r.Remaining)
	} else if f, ok := l.Fraction(); ok {
		l.EstimatedRemainingSeconds = t.estimate(f, now)
	}
	l.UpdateTime = now.UTC()
	t.reported = true
	return p
}

// estimate is the time left at the average rate since the rate base.
func (t *Tracker) estimate(f float64, now time.Time) *int32 {
	if f >= 1 {
		return new(int32(0))
	}
	if !t.base.ok || f < t.base.f {
		t.base = rateBase{t: now, f: f, ok: true}
		return nil
	}
	dt := now.Sub(t.base.t).Seconds()
	df := f - t.base.f
	if dt <= 0 || df <= 0 {
		return nil
	}
	return new(toInt32(math.Ceil((1 - f) * dt / df)))
}

// Latest returns a copy of the latest progress, nil before any report.
func (t *Tracker) Latest() *job.Progress {
	if !t.reported {
		return nil
	}
	p := t.latest.DeepCopy()
	p.Metrics = make([]job.MetricValue, len(t.names))
	for i, n := range t.names {
		p.Metrics[i] = job.MetricValue{Name: n, Value: t.values[i]}
	}
	p.Metrics = job.SortMetrics(p.Metrics)
	if len(p.Metrics) == 0 {
		p.Metrics = nil
	}
	return p
}

// History returns the latest progress and every kept point.
func (t *Tracker) History() job.ProgressHistory {
	h := job.ProgressHistory{Latest: t.Latest(), Points: make([]job.ProgressPoint, len(t.points))}
	for i, p := range t.points {
		jp := job.ProgressPoint{Time: time.UnixMilli(p.t).UTC(), Step: p.step, Epoch: p.epoch}
		for k, v := range p.vals {
			if !math.IsNaN(float64(v)) {
				jp.Metrics = append(jp.Metrics, job.MetricValue{Name: t.names[k], Value: float64(v)})
			}
		}
		jp.Metrics = job.SortMetrics(jp.Metrics)
		h.Points[i] = jp
	}
	return h
}

// Restore rebuilds a tracker from a saved history (after a restart).
func Restore(h job.ProgressHistory) *Tracker {
	t := NewTracker()
	for _, jp := range h.Points {
		r := Report{Step: new(jp.Step), Epoch: new(jp.Epoch), Metrics: jp.Metrics}
		t.Apply(r, jp.Time)
	}
	if h.Latest != nil {
		l := h.Latest
		r := Report{Step: new(l.Step), Epoch: new(l.Epoch), Percent: l.Percent, Remaining: l.EstimatedRemainingSeconds, Metrics: l.Metrics}
		if l.TotalSteps > 0 {
			r.TotalSteps = new(l.TotalSteps)
		}
		if l.TotalEpochs > 0 {
			r.TotalEpochs = new(l.TotalEpochs)
		}
		t.update(r, l.UpdateTime) // the latest values, without a point
		t.latest.Percent, t.latest.EstimatedRemainingSeconds = copyPtr(l.Percent), copyPtr(l.EstimatedRemainingSeconds)
	}
	t.base = rateBase{}
	return t
}

func copyPtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	return new(*p)
}
