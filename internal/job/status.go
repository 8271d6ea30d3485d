package job

import (
	"strconv"
	"time"
)

// Phase is the normalized lifecycle phase of a job, the same for every engine.
type Phase string

// Phases. Pending → (Queued) → Starting → Running → Succeeded | Failed;
// Suspended and Deleting can interrupt any non-terminal phase.
const (
	PhasePending   Phase = "Pending"
	PhaseQueued    Phase = "Queued"
	PhaseStarting  Phase = "Starting"
	PhaseRunning   Phase = "Running"
	PhaseSucceeded Phase = "Succeeded"
	PhaseFailed    Phase = "Failed"
	PhaseSuspended Phase = "Suspended"
	PhaseDeleting  Phase = "Deleting"
)

// Phases lists every phase in lifecycle order.
var Phases = []Phase{PhasePending, PhaseQueued, PhaseStarting, PhaseRunning, PhaseSucceeded, PhaseFailed, PhaseSuspended, PhaseDeleting}

// Terminal reports whether a job in this phase will not change any more.
func (p Phase) Terminal() bool { return p == PhaseSucceeded || p == PhaseFailed }

// Reasons the engines set. They are stable identifiers clients may match on.
const (
	ReasonCreated            = "Created"
	ReasonQueued             = "WaitingForCapacity"
	ReasonStarted            = "Started"
	ReasonRunning            = "Running"
	ReasonSucceeded          = "Succeeded"
	ReasonRankFailed         = "RankFailed"
	ReasonWorkerFailed       = "WorkerFailed"
	ReasonLauncherFailed     = "LauncherFailed"
	ReasonDeadlineExceeded   = "DeadlineExceeded"
	ReasonBackoffLimit       = "BackoffLimitExceeded"
	ReasonRetrying           = "Retrying"
	ReasonCancelled          = "Cancelled"
	ReasonExecutableNotFound = "ExecutableNotFound"
	ReasonMPINotInstalled    = "MPIImplementationNotInstalled"
	ReasonServerRestarted    = "ServerRestarted"
	ReasonSuspended          = "Suspended"
	ReasonResumed            = "Resumed"
	ReasonDeleting           = "Deleting"
	ReasonUnschedulable      = "Unschedulable"
	ReasonImagePull          = "ImagePullError"
	ReasonQuotaExceeded      = "QuotaExceeded"
	ReasonOOMKilled          = "OOMKilled"
	ReasonEvicted            = "Evicted"
	// ReasonPreempted: Kueue evicted the job for a higher-priority one
	// and requeued it.
	ReasonPreempted = "Preempted"
)

// Replica states.
const (
	StatePending   = "Pending"
	StateRunning   = "Running"
	StateSucceeded = "Succeeded"
	StateFailed    = "Failed"
	StateUnknown   = "Unknown"
)

// Status is the aggregated status of a job.
type Status struct {
	Phase             Phase           `json:"phase,omitempty"`
	Reason            string          `json:"reason,omitempty"`
	Message           string          `json:"message,omitempty"`
	StartTime         time.Time       `json:"startTime,omitzero"`
	CompletionTime    time.Time       `json:"completionTime,omitzero"`
	Workers           WorkerCounts    `json:"workers,omitzero"`
	Launcher          *ReplicaStatus  `json:"launcher,omitempty"`
	WorkerStatuses    []ReplicaStatus `json:"workerStatuses,omitempty"`
	FirstFailedWorker *int32          `json:"firstFailedWorker,omitempty"`
	FirstFailedRank   *int32          `json:"firstFailedRank,omitempty"`
	Attempts          int32           `json:"attempts,omitempty"`
	History           []Transition    `json:"history,omitempty"`
	Conditions        []Condition     `json:"conditions,omitempty"`
	Requested         *Totals         `json:"requested,omitempty"`
	QueuePosition     int32           `json:"queuePosition,omitempty"`
	// Preemptions counts the times Kueue preempted the job (evicted it
	// for a higher-priority workload); PreemptedBy names the job that
	// did it last when it is in the same namespace.
	Preemptions int32  `json:"preemptions,omitempty"`
	PreemptedBy string `json:"preemptedBy,omitempty"`
	ExitCode    *int32 `json:"exitCode,omitempty"`
	// Backend is the object that runs the job on the kubernetes engine:
	// BackendMPIJob or BackendTrainJob ("" on the local engine).
	Backend string `json:"backend,omitempty"`
	// ReadOnly marks jobs listed but not managed (TrainJobs of runtimes
	// without an MPI policy): status, logs and delete only.
	ReadOnly bool `json:"readOnly,omitempty"`
	// Progress is what the job's program last reported (ODH_PROGRESS
	// lines; on the Trainer backend Kubeflow Trainer's
	// status.trainerStatus); nil until it reports.
	Progress *Progress `json:"progress,omitempty"`
}

// Backends of the kubernetes engine (Status.Backend).
const (
	BackendMPIJob   = "MPIJob"
	BackendTrainJob = "TrainJob"
)

// WorkerCounts counts workers by state.
type WorkerCounts struct {
	Total     int32 `json:"total,omitempty"`
	Pending   int32 `json:"pending,omitempty"`
	Running   int32 `json:"running,omitempty"`
	Ready     int32 `json:"ready,omitempty"`
	Succeeded int32 `json:"succeeded,omitempty"`
	Failed    int32 `json:"failed,omitempty"`
}

// ReplicaStatus is the state of the launcher (Index -1) or of one worker.
type ReplicaStatus struct {
	Name       string    `json:"name"`
	Index      int32     `json:"index,omitempty"`
	State      string    `json:"state,omitempty"`
	Ready      bool      `json:"ready,omitempty"`
	Node       string    `json:"node,omitempty"`
	Restarts   int32     `json:"restarts,omitempty"`
	ExitCode   *int32    `json:"exitCode,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Message    string    `json:"message,omitempty"`
	StartTime  time.Time `json:"startTime,omitzero"`
	FinishTime time.Time `json:"finishTime,omitzero"`
	Ranks      []int32   `json:"ranks,omitempty"`
	Pod        string    `json:"pod,omitempty"`
}

// Transition is one entry of a job's phase history.
type Transition struct {
	Phase   Phase     `json:"phase"`
	Reason  string    `json:"reason,omitempty"`
	Message string    `json:"message,omitempty"`
	Time    time.Time `json:"time"`
}

// Condition mirrors a Kubernetes-style condition.
type Condition struct {
	Type               string    `json:"type"`
	Status             string    `json:"status"`
	Reason             string    `json:"reason,omitempty"`
	Message            string    `json:"message,omitempty"`
	LastTransitionTime time.Time `json:"lastTransitionTime,omitzero"`
}

// SetPhase moves the job to phase with reason and message and records the
// transition in the history. Calling it again with the same phase and reason
// only updates the message.
func (s *Status) SetPhase(p Phase, reason, message string, now time.Time) {
	if s.Phase == p && s.Reason == reason {
		s.Message = message
		return
	}
	s.Phase, s.Reason, s.Message = p, reason, message
	s.History = append(s.History, Transition{Phase: p, Reason: reason, Message: message, Time: now.UTC()})
}

// WorkerName is the name of worker i, as the MPI operator names its pods'
// replica: "worker-<i>".
func WorkerName(i int32) string { return "worker-" + strconv.Itoa(int(i)) }

// LauncherName is the launcher's source name.
const LauncherName = "launcher"

// CountWorkers recomputes Workers from WorkerStatuses.
func (s *Status) CountWorkers(total int32) {
	c := WorkerCounts{Total: total}
	for _, w := range s.WorkerStatuses {
		switch w.State {
		case StateRunning:
			c.Running++
		case StateSucceeded:
			c.Succeeded++
		case StateFailed:
			c.Failed++
		default:
			c.Pending++
		}
		if w.Ready {
			c.Ready++
		}
	}
	if missing := total - int32(len(s.WorkerStatuses)); missing > 0 {
		c.Pending += missing
	}
	s.Workers = c
}
