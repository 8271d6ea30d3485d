package job

import "time"

// What clients see of a job besides its spec and status: watch events, the
// job's events, its log lines, its resource use and its namespace's
// capacity. Engines produce
// them and the API client returns them, so both use these types.

// WatchEventType says what happened to a job.
type WatchEventType string

// Watch event types.
const (
	Added    WatchEventType = "ADDED"
	Modified WatchEventType = "MODIFIED"
	Deleted  WatchEventType = "DELETED"
	// Synced marks the end of the initial events of a watch.
	Synced WatchEventType = "SYNCED"
)

// WatchEvent is one change seen by a watch.
type WatchEvent struct {
	Type WatchEventType
	Job  *MPIJob
}

// Event is something that happened to a job, as in Kubernetes events.
type Event struct {
	Type      string // Normal or Warning
	Reason    string
	Message   string
	Object    string
	FirstTime time.Time
	LastTime  time.Time
	Count     int32
	Source    string
}

// LogLine is one line of output.
type LogLine struct {
	Source string // "launcher" or "worker-N"
	Worker int32  // -1 for the launcher
	Rank   int32  // -1 when not from an MPI rank
	Stream string // "stdout" or "stderr"
	Time   time.Time
	Text   string
}

// Capacity is what a namespace may still use.
type Capacity struct {
	Source    string
	Resources []ResourceCapacity
}

// ResourceCapacity is one resource's hard limit, usage and availability.
type ResourceCapacity struct {
	Name      string
	Hard      string
	Used      string
	Available string
}

// Metrics is a job's recent resource use, per replica.
type Metrics struct {
	Source   string
	Interval time.Duration
	Replicas []ReplicaMetrics
}

// ReplicaMetrics is the series of one replica (Index -1 is the launcher).
type ReplicaMetrics struct {
	Name    string
	Index   int32
	Samples []MetricSample
}

// MetricSample is one measurement.
type MetricSample struct {
	Time        time.Time
	CPUCores    float64
	MemoryBytes float64
}
