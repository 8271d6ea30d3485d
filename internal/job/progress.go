package job

import (
	"math"
	"slices"
	"strconv"
	"time"
)

// Progress is how far a job's training has got and its latest training
// metrics, as the job's program reported them (a line "ODH_PROGRESS …" on
// standard output, docs/user/progress.md). Engines keep it in
// Status.Progress; the history of the metrics is served separately
// (ProgressHistory), so watch events stay small.
type Progress struct {
	Step        int32   `json:"step,omitempty"`
	TotalSteps  int32   `json:"totalSteps,omitempty"`
	Epoch       float64 `json:"epoch,omitempty"`
	TotalEpochs int32   `json:"totalEpochs,omitempty"`
	// Percent is 0–100: reported, or computed from step/totalSteps (else
	// epoch/totalEpochs). Nil when unknown.
	Percent *float64 `json:"percent,omitempty"`
	// EstimatedRemainingSeconds is reported, or estimated from the rate of
	// progress since the first report of the current attempt.
	EstimatedRemainingSeconds *int32 `json:"estimatedRemainingSeconds,omitempty"`
	// Metrics are the latest value of every named scalar (loss,
	// accuracy, …), sorted by name.
	Metrics    []MetricValue `json:"metrics,omitempty"`
	UpdateTime time.Time     `json:"updateTime,omitzero"`
}

// MetricValue is one named training metric.
type MetricValue struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// Metric returns the latest value of a named metric.
func (p *Progress) Metric(name string) (float64, bool) {
	if p == nil {
		return 0, false
	}
	i, ok := slices.BinarySearchFunc(p.Metrics, name, func(m MetricValue, n string) int {
		switch {
		case m.Name < n:
			return -1
		case m.Name > n:
			return 1
		}
		return 0
	})
	if !ok {
		return 0, false
	}
	return p.Metrics[i].Value, true
}

// Fraction is the share of the work done (0–1), when known.
func (p *Progress) Fraction() (float64, bool) {
	if p == nil {
		return 0, false
	}
	if p.Percent != nil {
		return clamp01(*p.Percent / 100), true
	}
	if p.TotalSteps > 0 {
		return clamp01(float64(p.Step) / float64(p.TotalSteps)), true
	}
	if p.TotalEpochs > 0 {
		return clamp01(p.Epoch / float64(p.TotalEpochs)), true
	}
	return 0, false
}

func clamp01(f float64) float64 { return math.Max(0, math.Min(1, f)) }

// DeepCopy copies a progress value.
func (p *Progress) DeepCopy() *Progress {
	if p == nil {
		return nil
	}
	c := *p
	c.Percent = copyPtr(p.Percent)
	c.EstimatedRemainingSeconds = copyPtr(p.EstimatedRemainingSeconds)
	c.Metrics = slices.Clone(p.Metrics)
	return &c
}

// ProgressPoint is one report in a job's progress history.
type ProgressPoint struct {
	Time    time.Time     `json:"time"`
	Step    int32         `json:"step,omitempty"`
	Epoch   float64       `json:"epoch,omitempty"`
	Metrics []MetricValue `json:"metrics,omitempty"`
}

// ProgressHistory is a job's progress over time: the latest value and a
// bounded series of earlier reports (older points are thinned out, so a
// long run keeps its whole shape).
type ProgressHistory struct {
	Latest *Progress       `json:"latest,omitempty"`
	Points []ProgressPoint `json:"points,omitempty"`
}

// TrainerStatus mirrors Kubeflow Trainer's TrainJob status.trainerStatus
// (trainer.kubeflow.org/v1alpha1, v2.2+, alpha behind the TrainJobStatus
// feature gate) without importing it: the Trainer backend converts with
// ProgressFromTrainerStatus and Progress.TrainerStatus.
type TrainerStatus struct {
	ProgressPercentage        *int32
	EstimatedRemainingSeconds *int32
	Metrics                   []TrainerMetric
	LastUpdatedTime           time.Time
}

// TrainerMetric is one metric of a trainerStatus; Trainer serializes
// values as strings (at most 64 characters).
type TrainerMetric struct {
	Name  string
	Value string
}

// Metric names that carry Progress fields through a trainerStatus, whose
// only numbers are the percentage and the remaining time.
const (
	TrainerMetricStep        = "step"
	TrainerMetricTotalSteps  = "total_steps"
	TrainerMetricEpoch       = "epoch"
	TrainerMetricTotalEpochs = "total_epochs"
)

// trainerMaxMetrics is the CRD's limit on trainerStatus.metrics.
const trainerMaxMetrics = 256

// TrainerStatus converts progress into a Trainer trainerStatus: the
// percentage (rounded down, 0–100), the remaining time, and every metric
// (step, total_steps, epoch and total_epochs among them when known).
func (p *Progress) TrainerStatus() *TrainerStatus {
	if p == nil {
		return nil
	}
	ts := &TrainerStatus{EstimatedRemainingSeconds: copyPtr(p.EstimatedRemainingSeconds), LastUpdatedTime: p.UpdateTime}
	if f, ok := p.Fraction(); ok {
		ts.ProgressPercentage = new(int32(math.Floor(f * 100)))
	}
	add := func(name string, v float64) {
		ts.Metrics = append(ts.Metrics, TrainerMetric{Name: name, Value: strconv.FormatFloat(v, 'g', -1, 64)})
	}
	if p.Step != 0 || p.TotalSteps != 0 {
		add(TrainerMetricStep, float64(p.Step))
	}
	if p.TotalSteps != 0 {
		add(TrainerMetricTotalSteps, float64(p.TotalSteps))
	}
	if p.Epoch != 0 || p.TotalEpochs != 0 {
		add(TrainerMetricEpoch, p.Epoch)
	}
	if p.TotalEpochs != 0 {
		add(TrainerMetricTotalEpochs, float64(p.TotalEpochs))
	}
	for _, m := range p.Metrics {
		if len(ts.Metrics) == trainerMaxMetrics {
			break
		}
		add(m.Name, m.Value)
	}
	return ts
}

// ProgressFromTrainerStatus converts a Trainer trainerStatus into
// progress. Metrics whose value is not a finite number are left out; the
// step, total_steps, epoch and total_epochs metrics fill the fields of the
// same names.
func ProgressFromTrainerStatus(ts *TrainerStatus) *Progress {
	if ts == nil {
		return nil
	}
	p := &Progress{EstimatedRemainingSeconds: copyPtr(ts.EstimatedRemainingSeconds), UpdateTime: ts.LastUpdatedTime}
	if ts.ProgressPercentage != nil {
		p.Percent = new(math.Max(0, math.Min(100, float64(*ts.ProgressPercentage))))
	}
	for _, m := range ts.Metrics {
		v, err := strconv.ParseFloat(m.Value, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || m.Name == "" {
			continue
		}
		switch m.Name {
		case TrainerMetricStep:
			p.Step = clampInt32(v)
		case TrainerMetricTotalSteps:
			p.TotalSteps = clampInt32(v)
		case TrainerMetricEpoch:
			p.Epoch = v
		case TrainerMetricTotalEpochs:
			p.TotalEpochs = clampInt32(v)
		default:
			p.Metrics = append(p.Metrics, MetricValue{Name: m.Name, Value: v})
		}
	}
	p.Metrics = SortMetrics(p.Metrics)
	return p
}

// SortMetrics orders metrics by name and keeps the last of duplicates.
func SortMetrics(ms []MetricValue) []MetricValue {
	slices.SortStableFunc(ms, func(a, b MetricValue) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	out := ms[:0]
	for i, m := range ms {
		if i+1 < len(ms) && ms[i+1].Name == m.Name {
			continue
		}
		out = append(out, m)
	}
	return out
}

func clampInt32(v float64) int32 {
	switch {
	case v >= math.MaxInt32:
		return math.MaxInt32
	case v <= math.MinInt32:
		return math.MinInt32
	}
	return int32(v)
}
