package kube

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	corev1 "k8s.io/api/core/v1"

	"github.com/odh-training/odh-training/internal/job"
)

// Reasons only the kubernetes engine sets, in addition to job.Reason*.
const (
	// ReasonWaitingForOperator: the MPI operator has not acknowledged the
	// job (no Created condition) yet.
	ReasonWaitingForOperator = "WaitingForOperator"
	// ReasonOperatorNotRunning: no Created condition long after creation.
	ReasonOperatorNotRunning = "OperatorNotRunning"
	// ReasonOperatorBusy: no Created condition long after creation
	// although the operator's lease is fresh: it works through a backlog.
	ReasonOperatorBusy = "OperatorBusy"
	// ReasonOperatorRejected: the operator's own validation refused the
	// job (it only says so in an Event).
	ReasonOperatorRejected = "OperatorRejected"
	// ReasonOperatorError: the operator reports (in a Warning event) that
	// it cannot create the job's objects.
	ReasonOperatorError = "OperatorError"
	// ReasonManagedElsewhere: spec.runPolicy.managedBy names another
	// controller (e.g. MultiKueue); the MPI operator leaves the job alone.
	ReasonManagedElsewhere = "ManagedElsewhere"
	// ReasonSuspending: runPolicy.suspend is set; the operator has not
	// removed every pod yet.
	ReasonSuspending = "Suspending"
	// ReasonWaitingForWorkers: pods exist, the workers are not all ready.
	ReasonWaitingForWorkers = "WaitingForWorkers"
	// ReasonLauncherStarting: workers ready, the launcher is starting.
	ReasonLauncherStarting = "LauncherStarting"
)

// statusRecord is what the engine keeps about a job beyond what the
// cluster shows: the phase history, the first worker failure and the
// number of launcher attempts. They must outlive the pods (the operator
// deletes workers when a job ends) and a restart of odh-server, so the
// engine saves them as <ArchiveDir>/<namespace>/<job>/<uid>/status.json.
type statusRecord struct {
	History      []job.Transition `json:"history,omitempty"`
	FirstFailure *workerFailure   `json:"firstFailure,omitempty"`
	Attempts     int32            `json:"attempts,omitempty"`
}

// recordFromConditions rebuilds a job's history from the MPIJob's
// conditions when nothing was saved (no archive directory, or a job that
// ran while no server watched it).
func recordFromConditions(u *kubeflow.MPIJob) statusRecord {
	r := statusRecord{History: []job.Transition{{Phase: job.PhasePending, Reason: job.ReasonCreated, Message: "created", Time: u.CreationTimestamp.UTC()}}}
	for _, c := range u.Status.Conditions {
		if c.Type == kubeflow.JobRunning && c.Status == corev1.ConditionTrue && !c.LastTransitionTime.IsZero() {
			r.History = append(r.History, job.Transition{Phase: job.PhaseRunning, Reason: job.ReasonRunning, Message: "running (from the MPIJob's Running condition)", Time: c.LastTransitionTime.UTC()})
		}
	}
	return r
}

// workerFailure is the first worker that failed.
type workerFailure struct {
	Worker   int32     `json:"worker"`
	Pod      string    `json:"pod,omitempty"`
	Node     string    `json:"node,omitempty"`
	ExitCode *int32    `json:"exitCode,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Message  string    `json:"message,omitempty"`
	Time     time.Time `json:"time"`
}

func parseRecord(s string) statusRecord {
	var r statusRecord
	if s != "" {
		_ = json.Unmarshal([]byte(s), &r) // a damaged record only loses history
	}
	return r
}

func (r statusRecord) encode() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// maxHistory bounds the saved history; the oldest entries after the first
// go first.
const maxHistory = 100

// observed is everything the status of one job is computed from.
type observed struct {
	mpiJob   *kubeflow.MPIJob
	spec     *job.Spec
	pods     []*corev1.Pod               // launcher and worker pods of the job
	warnings []*corev1.Event             // recent Warning events about the job or its children
	record   statusRecord                // persisted history and first failure
	lastSeen map[int32]job.ReplicaStatus // last live states by worker index, -1 = launcher
	now      time.Time
	// operatorTimeout is how long a job may lack the Created condition
	// before the status says the operator is not running.
	operatorTimeout time.Duration
	// operatorRunning is whether the operator's lease is fresh (nil:
	// unknown).
	operatorRunning *bool
	// queuePos is the job's place in Kueue's queues while it is pending
	// there (nil: not pending, or unknown).
	queuePos *queuePos
	// preemption is what Kueue says about the job's preemptions (nil:
	// never preempted, or unknown).
	preemption *preemptionView
	// controller runs the job: controllerMPIOperator ("") or
	// controllerTrainer (a TrainJob presented as an MPIJob, see mpiView).
	controller string
}

// Controllers that run jobs (observed.controller).
const (
	controllerMPIOperator = ""
	controllerTrainer     = "trainer"
)

// controllerName names the controller in status messages.
func (in observed) controllerName() string {
	if in.controller == controllerTrainer {
		return "Kubeflow Trainer"
	}
	return "the MPI operator"
}

// aggregate computes the normalized status of a job. It is pure: the
// engine calls it on every informer event that touches the job.
func aggregate(in observed) (job.Status, statusRecord, map[int32]job.ReplicaStatus) {
	u := in.mpiJob
	rec := statusRecord{History: slices.Clone(in.record.History), FirstFailure: in.record.FirstFailure, Attempts: in.record.Attempts}
	st := job.Status{History: rec.History}
	if len(st.History) > 0 {
		last := st.History[len(st.History)-1]
		st.Phase, st.Reason, st.Message = last.Phase, last.Reason, last.Message
	}
	replicas := in.spec.Replicas()
	slots := in.spec.Slots()
	req := job.TotalRequests(in.spec).Totals()
	st.Requested = &req
	if t := u.Status.StartTime; t != nil {
		st.StartTime = t.UTC()
	}
	if t := u.Status.CompletionTime; t != nil {
		st.CompletionTime = t.UTC()
	}
	for _, c := range u.Status.Conditions {
		st.Conditions = append(st.Conditions, job.Condition{Type: string(c.Type), Status: string(c.Status), Reason: c.Reason, Message: c.Message, LastTransitionTime: c.LastTransitionTime.UTC()})
	}
	cond := func(t kubeflow.JobConditionType) *kubeflow.JobCondition {
		for i := range u.Status.Conditions {
			if c := &u.Status.Conditions[i]; c.Type == t && c.Status == corev1.ConditionTrue {
				return c
			}
		}
		return nil
	}

	// Pods: the newest launcher pod and one pod per worker index.
	var launchers []*corev1.Pod
	workers := map[int32]*corev1.Pod{}
	for _, p := range in.pods {
		switch p.Labels[kubeflow.JobRoleLabel] {
		case "launcher":
			launchers = append(launchers, p)
		case "worker":
			i, err := strconv.Atoi(p.Labels[kubeflow.ReplicaIndexLabel])
			if err != nil {
				continue
			}
			if old, ok := workers[int32(i)]; !ok || old.CreationTimestamp.Before(&p.CreationTimestamp) {
				workers[int32(i)] = p
			}
		}
	}
	sort.Slice(launchers, func(a, b int) bool {
		return launchers[a].CreationTimestamp.Before(&launchers[b].CreationTimestamp) ||
			(launchers[a].CreationTimestamp.Equal(&launchers[b].CreationTimestamp) && launchers[a].Name < launchers[b].Name)
	})
	rec.Attempts = max(rec.Attempts, int32(len(launchers)))
	if u.Status.ReplicaStatuses != nil {
		if ls := u.Status.ReplicaStatuses[kubeflow.MPIReplicaTypeLauncher]; ls != nil {
			rec.Attempts = max(rec.Attempts, ls.Failed+ls.Succeeded)
		}
	}
	st.Attempts = rec.Attempts

	succeeded := cond(kubeflow.JobSucceeded)
	failed := cond(kubeflow.JobFailed)
	terminal := succeeded != nil || failed != nil

	// Workers. A pod that is gone or being deleted was removed by the
	// operator (job ended, suspended) or by a deletion: its last live state
	// is kept, and its termination is not a failure.
	seen := make(map[int32]job.ReplicaStatus, len(in.lastSeen)+int(replicas))
	for k, v := range in.lastSeen {
		seen[k] = v
	}
	var problems []podProblem
	st.WorkerStatuses = make([]job.ReplicaStatus, 0, replicas)
	for i := range replicas {
		p := workers[i]
		live := p != nil && p.DeletionTimestamp == nil
		var rs job.ReplicaStatus
		switch last, ok := seen[i]; {
		case live:
			var prob *podProblem
			rs, prob = replicaStatus(p, i, workerContainer)
			if prob != nil {
				problems = append(problems, *prob)
			}
			seen[i] = rs
		case ok:
			rs = last
		case p != nil:
			rs, _ = replicaStatus(p, i, workerContainer)
			if rs.State == job.StateFailed {
				rs.State, rs.ExitCode, rs.Reason, rs.Message = job.StateUnknown, nil, "", ""
			}
		default:
			rs = job.ReplicaStatus{Name: job.WorkerName(i), Index: i, State: job.StatePending}
		}
		rs.Ranks = make([]int32, slots)
		for k := range slots {
			rs.Ranks[k] = i*slots + k
		}
		if !live {
			realFailure := rs.State == job.StateFailed && isFailureReason(rs.Reason)
			switch {
			case terminal && rs.State != job.StateSucceeded && !realFailure:
				if succeeded != nil {
					rs.State, rs.Reason, rs.Message = job.StateSucceeded, "", "stopped by "+in.controllerName()+" when the job succeeded"
				} else {
					rs.State, rs.Reason, rs.Message = job.StateFailed, "Stopped", "stopped by "+in.controllerName()+" when the job failed"
				}
			case !terminal && !realFailure && (rs.State == job.StateRunning || rs.State == job.StateUnknown):
				rs.State, rs.Reason, rs.Message = job.StatePending, "", "pod removed; "+in.controllerName()+" creates it again when the job runs"
				if p != nil {
					rs.Message = "pod stopping"
				}
			}
			rs.Ready = false
		}
		if live {
			if f := failureOf(p, i, &rs); f != nil && (rec.FirstFailure == nil || f.Time.Before(rec.FirstFailure.Time)) {
				rec.FirstFailure = f
			}
		}
		st.WorkerStatuses = append(st.WorkerStatuses, rs)
	}
	if ff := rec.FirstFailure; ff != nil && ff.Worker < replicas {
		st.FirstFailedWorker = new(ff.Worker)
		if slots == 1 {
			// One rank per worker: the rank is the worker's index.
			st.FirstFailedRank = new(ff.Worker)
		}
		ws := &st.WorkerStatuses[ff.Worker]
		if p := workers[ff.Worker]; p == nil || p.DeletionTimestamp != nil {
			// The pod is gone: keep what we saw when it failed.
			ws.State, ws.ExitCode, ws.Reason, ws.Message = job.StateFailed, ff.ExitCode, ff.Reason, ff.Message
			if ws.Node == "" {
				ws.Node = ff.Node
			}
		}
	}
	st.CountWorkers(replicas)

	// Launcher: the newest pod (each retry is a new pod).
	if n := len(launchers); n > 0 && launchers[n-1].DeletionTimestamp == nil {
		rs, prob := replicaStatus(launchers[n-1], -1, launcherContainer)
		st.Launcher = &rs
		seen[-1] = rs
		if prob != nil {
			problems = append(problems, *prob)
		}
	} else if last, ok := seen[-1]; ok {
		if !terminal && last.State != job.StateSucceeded && last.State != job.StateFailed {
			last.State, last.Ready, last.Message = job.StatePending, false, "pod removed; the launcher Job creates it again when the job runs"
		}
		st.Launcher = &last
	}
	if l := st.Launcher; l != nil && l.ExitCode != nil && (l.State == job.StateSucceeded || l.State == job.StateFailed) {
		st.ExitCode = copyPtr(l.ExitCode)
	}
	now := in.now
	set := func(p job.Phase, reason, msg string, at time.Time) {
		// Kubernetes timestamps have second precision: a recent one is
		// replaced by the time we saw the change, and history stays in
		// order.
		if at.IsZero() || (at.Equal(at.Truncate(time.Second)) && now.Sub(at) < 2*time.Second) {
			at = now
		}
		if n := len(st.History); n > 0 && at.Before(st.History[n-1].Time) {
			at = st.History[n-1].Time
		}
		st.SetPhase(p, reason, msg, at)
	}
	ffMsg := func() string {
		ff := rec.FirstFailure
		if ff == nil {
			return ""
		}
		return fmt.Sprintf("worker %d (pod %s%s) failed first: %s", ff.Worker, ff.Pod, onNode(ff.Node), describeExit(ff.ExitCode, ff.Reason, ff.Message))
	}

	switch {
	case u.DeletionTimestamp != nil:
		set(job.PhaseDeleting, job.ReasonDeleting, "deleting: waiting for the launcher Job, the worker pods, the Service, ConfigMap and Secret to be removed", u.DeletionTimestamp.Time)
	case succeeded != nil:
		msg := "the launcher exited with code 0"
		if st.CompletionTime.IsZero() {
			st.CompletionTime = succeeded.LastTransitionTime.UTC()
		}
		set(job.PhaseSucceeded, job.ReasonSucceeded, msg, succeeded.LastTransitionTime.Time)
	case failed != nil:
		if st.CompletionTime.IsZero() {
			st.CompletionTime = failed.LastTransitionTime.UTC()
		}
		reason, msg := failureReason(failed, rec.FirstFailure, st.Launcher, in.spec.BackoffLimit())
		if m := ffMsg(); m != "" && reason != job.ReasonWorkerFailed {
			msg += "; " + m
		}
		set(job.PhaseFailed, reason, msg, failed.LastTransitionTime.Time)
	case u.Spec.RunPolicy.Suspend != nil && *u.Spec.RunPolicy.Suspend:
		if q := u.Labels[LabelKueueQueue]; q != "" {
			where := fmt.Sprintf("queued in Kueue LocalQueue %q", q)
			if p := in.queuePos; p != nil {
				st.QueuePosition = p.local
				where += fmt.Sprintf(" (position %d; %d in its ClusterQueue)", p.local, p.cluster)
			}
			msg := where + ": Kueue starts the job when its ClusterQueue has quota for it"
			if w := kueuePending(in.warnings); w != nil {
				// Kueue's own reason, e.g. "couldn't assign flavors to pod
				// set worker: insufficient unused quota for cpu in flavor
				// default, 200m more needed".
				msg = where + ": " + strings.TrimSpace(w.Message)
			}
			if p := in.preemption; p != nil && p.Active {
				msg = p.describe() + "; re" + where + ": it starts again when its ClusterQueue has quota for it"
				set(job.PhaseQueued, job.ReasonPreempted, msg, p.Time)
			} else {
				set(job.PhaseQueued, job.ReasonQueued, msg, time.Time{})
			}
		} else {
			live := 0
			for _, p := range in.pods {
				if p.DeletionTimestamp == nil && !podTerminal(p) {
					live++
				}
			}
			if c := cond(kubeflow.JobSuspended); c != nil && live == 0 {
				set(job.PhaseSuspended, job.ReasonSuspended, "suspended: its pods are removed; resume it to start again", c.LastTransitionTime.Time)
			} else {
				set(job.PhaseSuspended, ReasonSuspending, fmt.Sprintf("suspending: waiting for %s to remove the pods (%d left)", in.controllerName(), live), time.Time{})
			}
		}
	case cond(kubeflow.JobCreated) == nil && len(workers) == 0 && len(launchers) == 0:
		// The operator has not (successfully) set the job up yet. It
		// records Created only when a whole sync succeeds, so a job whose
		// pods a quota refuses never gets it: look at its events first.
		age := now.Sub(u.CreationTimestamp.Time)
		switch w, qw, ow := operatorRejection(in.warnings), quotaWarning(in.warnings), operatorWarning(in.warnings); {
		case in.controller == controllerTrainer && managedElsewhere(u) != "":
			set(job.PhasePending, ReasonManagedElsewhere, fmt.Sprintf("spec.managedBy is %q: that controller, not Kubeflow Trainer, runs this job", managedElsewhere(u)), u.CreationTimestamp.Time)
		case in.controller == controllerTrainer && qw != nil:
			set(job.PhasePending, job.ReasonQuotaExceeded, "cannot create the pods: "+qw.Message, time.Time{})
		case in.controller == controllerTrainer && ow != nil:
			set(job.PhasePending, ReasonOperatorError, "Kubeflow Trainer cannot set the job up: "+ow.Message, time.Time{})
		case in.controller == controllerTrainer && in.operatorTimeout > 0 && age >= in.operatorTimeout:
			set(job.PhasePending, ReasonOperatorNotRunning, fmt.Sprintf("Kubeflow Trainer has not created the job's JobSet %s after it was created: check that the Trainer controller-manager and the JobSet controller run (odh-server /readyz; kubectl -n kubeflow-system get pods) and that the runtime %q exists", age.Round(time.Second), in.spec.Runtime), time.Time{})
		case in.controller == controllerTrainer:
			set(job.PhasePending, ReasonWaitingForOperator, "waiting for Kubeflow Trainer to create the JobSet", u.CreationTimestamp.Time)
		case managedElsewhere(u) != "":
			set(job.PhasePending, ReasonManagedElsewhere, fmt.Sprintf("spec.runPolicy.managedBy is %q: that controller, not the MPI operator, runs this job", managedElsewhere(u)), u.CreationTimestamp.Time)
		case w != nil:
			set(job.PhasePending, ReasonOperatorRejected, "the MPI operator rejected the job: "+w.Message, time.Time{})
		case qw != nil:
			set(job.PhasePending, job.ReasonQuotaExceeded, "cannot create the pods: "+qw.Message, time.Time{})
		case ow != nil:
			set(job.PhasePending, ReasonOperatorError, "the MPI operator cannot set the job up: "+ow.Message, time.Time{})
		case in.operatorTimeout > 0 && age >= in.operatorTimeout && in.operatorRunning != nil && *in.operatorRunning:
			set(job.PhasePending, ReasonOperatorBusy, fmt.Sprintf("the MPI operator runs but has not picked the job up %s after it was created: it is working through a backlog (v0.8.2 admits 10 events per second into its work queue by default; see \"Throughput\" in docs/admin/cluster.md)", age.Round(time.Second)), time.Time{})
		case in.operatorTimeout > 0 && age >= in.operatorTimeout:
			set(job.PhasePending, ReasonOperatorNotRunning, fmt.Sprintf("the MPI operator has not picked the job up %s after it was created: check that the operator is running (odh-server /readyz says why; kubectl -n mpi-operator get pods)", age.Round(time.Second)), time.Time{})
		default:
			set(job.PhasePending, ReasonWaitingForOperator, "waiting for the MPI operator to create the workers", u.CreationTimestamp.Time)
		}
	case cond(kubeflow.JobRunning) != nil:
		c := cond(kubeflow.JobRunning)
		if m := ffMsg(); m != "" {
			set(job.PhaseRunning, job.ReasonWorkerFailed, m+"; mpirun is still running and will likely fail", time.Time{})
		} else {
			set(job.PhaseRunning, job.ReasonRunning, fmt.Sprintf("%d workers and the launcher are running", replicas), c.LastTransitionTime.Time)
		}
	default:
		// Created, not running yet: say what it waits for.
		switch {
		case len(problems) > 0:
			p := firstProblem(problems)
			set(job.PhasePending, p.reason, p.message, time.Time{})
		case quotaWarning(in.warnings) != nil && (len(workers) < int(replicas) || (len(launchers) == 0 && st.Workers.Ready == replicas)):
			w := quotaWarning(in.warnings)
			set(job.PhasePending, job.ReasonQuotaExceeded, "cannot create all pods: "+w.Message, time.Time{})
		case rec.FirstFailure != nil:
			set(job.PhaseStarting, job.ReasonWorkerFailed, ffMsg()+"; the job cannot start until every worker runs: delete it, fix the cause and create it again", time.Time{})
		case len(workers) == 0 && len(launchers) == 0:
			set(job.PhasePending, job.ReasonCreated, "creating the worker pods", time.Time{})
		case st.Workers.Ready < replicas:
			set(job.PhaseStarting, ReasonWaitingForWorkers, fmt.Sprintf("%d of %d workers ready (sshd accepting connections); the launcher starts when all are", st.Workers.Ready, replicas), time.Time{})
		default:
			set(job.PhaseStarting, ReasonLauncherStarting, "all workers are ready; the launcher is starting", time.Time{})
		}
	}
	if p := in.preemption; p != nil {
		st.Preemptions = p.Count
		st.PreemptedBy = p.By
	}
	if len(st.History) > maxHistory {
		st.History = append(st.History[:1:1], st.History[len(st.History)-maxHistory+1:]...)
	}
	rec.History = st.History
	return st, rec, seen
}

func managedElsewhere(u *kubeflow.MPIJob) string {
	if m := u.Spec.RunPolicy.ManagedBy; m != nil && *m != "" && *m != kubeflow.KubeflowJobController {
		return *m
	}
	return ""
}

func isFailureReason(r string) bool {
	return r != "" && r != "Stopped" && r != "Completed"
}

// failureReason maps the MPIJob's Failed condition to our reason.
func failureReason(c *kubeflow.JobCondition, ff *workerFailure, launcher *job.ReplicaStatus, backoff int32) (string, string) {
	msg := c.Message
	switch {
	case strings.Contains(c.Reason, "DeadlineExceeded"):
		return job.ReasonDeadlineExceeded, "the job ran longer than spec.runPolicy.activeDeadlineSeconds: " + msg
	case strings.Contains(c.Reason, "Evict"):
		return job.ReasonEvicted, msg
	case ff != nil:
		m := fmt.Sprintf("worker %d (pod %s%s) failed first: %s", ff.Worker, ff.Pod, onNode(ff.Node), describeExit(ff.ExitCode, ff.Reason, ff.Message))
		if launcher != nil && launcher.ExitCode != nil {
			m += fmt.Sprintf("; then the launcher exited with code %d", *launcher.ExitCode)
		}
		return job.ReasonWorkerFailed, m
	case launcher != nil && launcher.Reason == job.ReasonOOMKilled:
		return job.ReasonOOMKilled, "the launcher was OOMKilled: raise spec.launcher.resources.memory; " + msg
	case strings.Contains(c.Reason, "BackoffLimitExceeded") && backoff > 0:
		return job.ReasonBackoffLimit, fmt.Sprintf("the launcher failed %d times (spec.runPolicy.backoffLimit %d)", backoff+1, backoff) + launcherExit(launcher)
	}
	return job.ReasonLauncherFailed, "the launcher failed" + launcherExit(launcher)
}

func launcherExit(l *job.ReplicaStatus) string {
	if l == nil || l.ExitCode == nil {
		return ""
	}
	return fmt.Sprintf(" with exit code %d (see its logs: odh training logs)", *l.ExitCode)
}
