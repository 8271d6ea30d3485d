package kube

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/odh-training/odh-training/internal/job"
)

// What one pod says about its replica: phase, node, restarts, exit code,
// OOMKilled or eviction, and the first failure among the workers.

func onNode(n string) string {
	if n == "" {
		return ""
	}
	return " on node " + n
}

func describeExit(code *int32, reason, msg string) string {
	var parts []string
	if code != nil {
		parts = append(parts, fmt.Sprintf("exit code %d", *code))
	}
	if reason != "" && reason != "Error" {
		parts = append(parts, reason)
	}
	out := strings.Join(parts, ", ")
	if out == "" {
		out = "failed"
	}
	if msg != "" {
		out += " (" + msg + ")"
	}
	return out
}

// podProblem is why a pod does not start.
type podProblem struct {
	reason, message string
	rank            int // lower ranks win: image pull, unschedulable, ...
}

func firstProblem(ps []podProblem) podProblem {
	return slices.MinFunc(ps, func(a, b podProblem) int { return a.rank - b.rank })
}

var insufficient = regexp.MustCompile(`Insufficient ([A-Za-z0-9./_-]+)`)

// replicaStatus describes one pod, and says why it cannot start if it
// cannot.
func replicaStatus(p *corev1.Pod, index int32, container string) (job.ReplicaStatus, *podProblem) {
	rs := job.ReplicaStatus{Name: job.WorkerName(index), Index: index, Pod: p.Name, Node: p.Spec.NodeName}
	if index < 0 {
		rs.Name = job.LauncherName
	}
	if t := p.Status.StartTime; t != nil {
		rs.StartTime = t.UTC()
	}
	switch p.Status.Phase {
	case corev1.PodRunning:
		rs.State = job.StateRunning
	case corev1.PodSucceeded:
		rs.State = job.StateSucceeded
	case corev1.PodFailed:
		rs.State = job.StateFailed
	case corev1.PodUnknown:
		rs.State = job.StateUnknown
	default:
		rs.State = job.StatePending
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			rs.Ready = true
		}
	}
	cs := mainStatus(p, container)
	if cs != nil {
		rs.Restarts = cs.RestartCount
		if t := cs.State.Terminated; t != nil {
			rs.ExitCode = new(t.ExitCode)
			rs.Reason = t.Reason
			rs.Message = strings.TrimSpace(t.Message)
			rs.FinishTime = t.FinishedAt.UTC()
		} else if t := cs.LastTerminationState.Terminated; t != nil && cs.RestartCount > 0 {
			rs.ExitCode = new(t.ExitCode)
			rs.Reason = t.Reason
			if rs.Reason == "" || rs.Reason == "Error" {
				rs.Reason = "Restarted"
			}
			rs.Message = fmt.Sprintf("restarted %d times; last exit code %d (%s)", cs.RestartCount, t.ExitCode, orDefault(t.Reason, "Error"))
		}
	}
	if p.Status.Reason == "Evicted" {
		rs.Reason, rs.Message = job.ReasonEvicted, p.Status.Message
	}
	if rs.Reason == "OOMKilled" {
		rs.Reason = job.ReasonOOMKilled
	}
	what := rs.Name
	if p.DeletionTimestamp != nil || rs.State != job.StatePending {
		return rs, nil
	}
	// Pending: why?
	if cs != nil && cs.State.Waiting != nil {
		switch w := cs.State.Waiting; w.Reason {
		case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable":
			rs.Reason, rs.Message = job.ReasonImagePull, w.Message
			return rs, &podProblem{rank: 0, reason: job.ReasonImagePull, message: fmt.Sprintf("%s cannot pull image %s: %s (%s); check spec.image and spec.imagePullSecrets", what, imageOf(p, container), w.Reason, strings.TrimSpace(w.Message))}
		case "CreateContainerConfigError", "CreateContainerError":
			rs.Reason, rs.Message = w.Reason, w.Message
			return rs, &podProblem{rank: 1, reason: w.Reason, message: fmt.Sprintf("%s cannot start its container: %s", what, w.Message)}
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			rs.Reason, rs.Message = job.ReasonUnschedulable, c.Message
			msg := fmt.Sprintf("%s cannot be scheduled: %s", what, c.Message)
			if m := insufficient.FindAllStringSubmatch(c.Message, -1); len(m) > 0 {
				var names []string
				for _, x := range m {
					if !slices.Contains(names, x[1]) {
						names = append(names, x[1])
					}
				}
				msg = fmt.Sprintf("%s cannot be scheduled: no node has enough free %s for it (scheduler: %s); lower spec.workers.resources or wait for capacity", what, strings.Join(names, ", "), c.Message)
			}
			return rs, &podProblem{rank: 2, reason: job.ReasonUnschedulable, message: msg}
		}
	}
	return rs, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func imageOf(p *corev1.Pod, container string) string {
	for _, c := range p.Spec.Containers {
		if c.Name == container {
			return c.Image
		}
	}
	if len(p.Spec.Containers) > 0 {
		return p.Spec.Containers[0].Image
	}
	return ""
}

// mainStatus is the status of the job's container: ours by name, or the
// first one (raw upstream manifests name containers freely; the operator
// uses the first).
func mainStatus(p *corev1.Pod, name string) *corev1.ContainerStatus {
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == name {
			return &p.Status.ContainerStatuses[i]
		}
	}
	if len(p.Spec.Containers) > 0 {
		first := p.Spec.Containers[0].Name
		for i := range p.Status.ContainerStatuses {
			if p.Status.ContainerStatuses[i].Name == first {
				return &p.Status.ContainerStatuses[i]
			}
		}
	}
	return nil
}

// failureOf reports a worker failure seen on a live pod: the pod failed,
// or its container crashed and was restarted.
func failureOf(p *corev1.Pod, index int32, rs *job.ReplicaStatus) *workerFailure {
	f := &workerFailure{Worker: index, Pod: p.Name, Node: p.Spec.NodeName, ExitCode: copyPtr(rs.ExitCode), Reason: rs.Reason, Message: rs.Message}
	switch {
	case rs.State == job.StateFailed:
		f.Time = rs.FinishTime
		if f.Time.IsZero() {
			f.Time = p.CreationTimestamp.UTC()
		}
		if f.Reason == "" {
			f.Reason = "Error"
		}
		if p.Status.Reason == "Evicted" {
			f.Reason, f.Message = job.ReasonEvicted, p.Status.Message
		}
		return f
	case rs.Restarts > 0 && rs.ExitCode != nil:
		cs := mainStatus(p, workerContainer)
		if cs == nil || cs.LastTerminationState.Terminated == nil {
			return nil
		}
		t := cs.LastTerminationState.Terminated
		if t.ExitCode == 0 {
			return nil
		}
		f.Time = t.FinishedAt.UTC()
		f.Reason = orDefault(t.Reason, "Error")
		if f.Reason == "OOMKilled" {
			f.Reason = job.ReasonOOMKilled
		}
		f.Message = fmt.Sprintf("container restarted %d times", cs.RestartCount)
		return f
	}
	return nil
}
