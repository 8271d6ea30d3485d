package apiconv

import (
	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/job"
)

// ProgressToProto converts a job's progress; nil stays nil.
func ProgressToProto(p *job.Progress) *trainingv1.Progress {
	if p == nil {
		return nil
	}
	return &trainingv1.Progress{
		Step: p.Step, TotalSteps: p.TotalSteps, Epoch: p.Epoch, TotalEpochs: p.TotalEpochs,
		Percent: p.Percent, EstimatedRemainingSeconds: p.EstimatedRemainingSeconds,
		Metrics: metricValuesToProto(p.Metrics), UpdateTime: ts(p.UpdateTime),
	}
}

// ProgressFromProto converts back; nil stays nil.
func ProgressFromProto(p *trainingv1.Progress) *job.Progress {
	if p == nil {
		return nil
	}
	return &job.Progress{
		Step: p.GetStep(), TotalSteps: p.GetTotalSteps(), Epoch: p.GetEpoch(), TotalEpochs: p.GetTotalEpochs(),
		Percent: p.Percent, EstimatedRemainingSeconds: p.EstimatedRemainingSeconds,
		Metrics: metricValuesFromProto(p.GetMetrics()), UpdateTime: fromTS(p.GetUpdateTime()),
	}
}

// ProgressHistoryToProto converts a job's progress history.
func ProgressHistoryToProto(h *job.ProgressHistory) *trainingv1.JobProgress {
	out := &trainingv1.JobProgress{Latest: ProgressToProto(h.Latest), Points: make([]*trainingv1.ProgressPoint, len(h.Points))}
	for i, p := range h.Points {
		out.Points[i] = &trainingv1.ProgressPoint{Time: ts(p.Time), Step: p.Step, Epoch: p.Epoch, Metrics: metricValuesToProto(p.Metrics)}
	}
	return out
}

// ProgressHistoryFromProto converts back.
func ProgressHistoryFromProto(p *trainingv1.JobProgress) *job.ProgressHistory {
	h := &job.ProgressHistory{Latest: ProgressFromProto(p.GetLatest())}
	for _, pt := range p.GetPoints() {
		h.Points = append(h.Points, job.ProgressPoint{Time: fromTS(pt.GetTime()), Step: pt.GetStep(), Epoch: pt.GetEpoch(), Metrics: metricValuesFromProto(pt.GetMetrics())})
	}
	return h
}

func metricValuesToProto(ms []job.MetricValue) []*trainingv1.MetricValue {
	if len(ms) == 0 {
		return nil
	}
	out := make([]*trainingv1.MetricValue, len(ms))
	for i, m := range ms {
		out[i] = &trainingv1.MetricValue{Name: m.Name, Value: m.Value}
	}
	return out
}

func metricValuesFromProto(ms []*trainingv1.MetricValue) []job.MetricValue {
	if len(ms) == 0 {
		return nil
	}
	out := make([]job.MetricValue, len(ms))
	for i, m := range ms {
		out[i] = job.MetricValue{Name: m.GetName(), Value: m.GetValue()}
	}
	return out
}
