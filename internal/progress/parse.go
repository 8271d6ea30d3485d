// Package progress turns what a training program prints into job progress:
// it finds "ODH_PROGRESS …" lines in a job's output (Parse), and keeps each
// job's latest progress — percent done, an estimate of the time left, the
// latest value of every metric — and a bounded history of its reports
// (Tracker). Both engines use it: the local engine's rank wrapper parses
// the ranks' output, the kubernetes engine the launcher's log. The format
// is documented for users in docs/user/progress.md.
package progress

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"

	"github.com/odh-training/odh-training/internal/job"
)

// Marker starts a progress report anywhere in a line of standard output,
// followed by a space and either a JSON object or name=value pairs:
//
//	ODH_PROGRESS step=120 total_steps=1000 loss=0.53 accuracy=0.91
//	ODH_PROGRESS {"step": 120, "total_steps": 1000, "loss": 0.53}
//
// The marker may follow anything (a logger's prefix, mpirun's rank tag).
const Marker = "ODH_PROGRESS"

var marker = []byte(Marker)

// Limits on what one report and one job may carry; more is ignored.
const (
	// MaxLine is the longest line considered (longer lines are not reports).
	MaxLine = 4096
	// MaxMetricsPerReport bounds the metrics of one report.
	MaxMetricsPerReport = 32
	// MaxMetricName is the longest metric name (Trainer's limit too).
	MaxMetricName = 64
	// MaxMetricNames bounds the distinct metrics of one job.
	MaxMetricNames = 64
)

// Report is one parsed progress line. Nil fields were not reported.
type Report struct {
	Step        *int32            `json:"step,omitempty"`
	TotalSteps  *int32            `json:"totalSteps,omitempty"`
	Epoch       *float64          `json:"epoch,omitempty"`
	TotalEpochs *int32            `json:"totalEpochs,omitempty"`
	Percent     *float64          `json:"percent,omitempty"`
	Remaining   *int32            `json:"remaining,omitempty"`
	Metrics     []job.MetricValue `json:"metrics,omitempty"`
}

// Merge lays a later report over r: the later values win, metrics are
// merged by name.
func (r *Report) Merge(later Report) {
	for _, f := range []struct{ dst, src **int32 }{{&r.Step, &later.Step}, {&r.TotalSteps, &later.TotalSteps}, {&r.TotalEpochs, &later.TotalEpochs}, {&r.Remaining, &later.Remaining}} {
		if *f.src != nil {
			*f.dst = *f.src
		}
	}
	if later.Epoch != nil {
		r.Epoch = later.Epoch
	}
	if later.Percent != nil {
		r.Percent = later.Percent
	}
	if len(later.Metrics) > 0 {
		r.Metrics = job.SortMetrics(append(r.Metrics, later.Metrics...))
		if len(r.Metrics) > MaxMetricsPerReport*2 {
			r.Metrics = r.Metrics[:MaxMetricsPerReport*2]
		}
	}
}

// Empty reports whether the line carried nothing usable.
func (r *Report) Empty() bool {
	return r.Step == nil && r.TotalSteps == nil && r.Epoch == nil && r.TotalEpochs == nil && r.Percent == nil && r.Remaining == nil && len(r.Metrics) == 0
}

// Parse reads a progress report from one line of output (without its
// newline). It returns false for lines without the marker, and for reports
// with nothing usable in them. Unknown names are metrics; values that are
// not finite numbers and invalid names are skipped.
func Parse(line []byte) (Report, bool) {
	if len(line) < len(marker) || len(line) > MaxLine {
		return Report{}, false
	}
	i := bytes.Index(line, marker)
	if i < 0 {
		return Report{}, false
	}
	rest := line[i+len(marker):]
	if len(rest) == 0 || (rest[0] != ' ' && rest[0] != '\t' && rest[0] != ':') {
		return Report{}, false
	}
	rest = bytes.TrimSpace(rest[1:])
	var r Report
	if len(rest) > 0 && rest[0] == '{' {
		var m map[string]json.RawMessage
		if json.Unmarshal(rest, &m) != nil {
			return Report{}, false
		}
		for k, raw := range m {
			v, ok := jsonNumber(raw)
			if ok {
				r.set(k, v)
			}
		}
	} else {
		for len(rest) > 0 {
			var tok []byte
			if j := bytes.IndexAny(rest, " \t,"); j >= 0 {
				tok, rest = rest[:j], rest[j+1:]
			} else {
				tok, rest = rest, nil
			}
			k, val, ok := bytes.Cut(tok, []byte{'='})
			if !ok || len(k) == 0 {
				continue
			}
			if v, err := strconv.ParseFloat(string(val), 64); err == nil {
				r.set(string(k), v)
			}
		}
	}
	r.Metrics = job.SortMetrics(r.Metrics)
	return r, !r.Empty()
}

func jsonNumber(raw json.RawMessage) (float64, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0, false
	}
	if raw[0] == '"' { // "0.5" from languages that quote numbers
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
		raw = []byte(s)
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	return v, err == nil
}

// set records one name=value of a report.
func (r *Report) set(name string, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	switch name {
	case "step", "global_step":
		if v >= 0 {
			r.Step = new(toInt32(v))
		}
	case "total_steps", "totalSteps", "max_steps":
		if v > 0 {
			r.TotalSteps = new(toInt32(v))
		}
	case "epoch":
		if v >= 0 {
			r.Epoch = new(v)
		}
	case "total_epochs", "totalEpochs", "num_epochs":
		if v > 0 {
			r.TotalEpochs = new(toInt32(v))
		}
	case "percent", "progress_percentage":
		r.Percent = new(math.Max(0, math.Min(100, v)))
	case "eta_seconds", "remaining_seconds", "estimated_remaining_seconds":
		if v >= 0 {
			r.Remaining = new(toInt32(v))
		}
	default:
		if len(r.Metrics) < MaxMetricsPerReport && ValidMetricName(name) {
			r.Metrics = append(r.Metrics, job.MetricValue{Name: name, Value: v})
		}
	}
}

// ValidMetricName reports whether name may name a metric: a letter or '_'
// first, then letters, digits and _ . : / -, at most MaxMetricName long.
func ValidMetricName(name string) bool {
	if name == "" || len(name) > MaxMetricName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '.' || c == ':' || c == '/' || c == '-'):
		default:
			return false
		}
	}
	return true
}

func toInt32(v float64) int32 {
	if v >= math.MaxInt32 {
		return math.MaxInt32
	}
	if v <= math.MinInt32 {
		return math.MinInt32
	}
	return int32(v)
}
