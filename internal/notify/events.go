// Package notify turns job state changes into notifications and delivers
// them to subscribers: a Detector reads the engine-neutral job watch (both
// engines) and derives events (created, queued, running, succeeded, failed,
// preempted, suspended, resumed, deadline exceeded, long pending); a Store
// keeps per-namespace subscriptions (and their secrets) in a 0600 file; a
// Dispatcher delivers matching events as signed HTTP webhooks (CloudEvents
// 1.0 structured JSON, or a Slack-compatible body), at least once, in order
// per subscription, with exponential backoff, a dead letter after the last
// attempt and a delivery history per subscription.
package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/odh-training/odh-training/internal/job"
)

// Type is the kind of a notification.
type Type string

// Event types subscribers can choose.
const (
	TypeCreated          Type = "created"
	TypeQueued           Type = "queued"
	TypeRunning          Type = "running"
	TypeSucceeded        Type = "succeeded"
	TypeFailed           Type = "failed"
	TypePreempted        Type = "preempted"
	TypeSuspended        Type = "suspended"
	TypeResumed          Type = "resumed"
	TypeDeadlineExceeded Type = "deadline_exceeded"
	TypeLongPending      Type = "long_pending"
)

// Types lists every event type.
var Types = []Type{TypeCreated, TypeQueued, TypeRunning, TypeSucceeded, TypeFailed, TypePreempted,
	TypeSuspended, TypeResumed, TypeDeadlineExceeded, TypeLongPending}

// CloudEventType is the CloudEvents "type" attribute of an event type.
func (t Type) CloudEventType() string { return "io.opendatahub.training.job." + string(t) }

// Event is one notification about one job.
type Event struct {
	// ID is stable for one transition of one job (the job's UID and the
	// transition's place in its history), so a receiver can drop
	// duplicates: it is the CloudEvent id and the idempotency key.
	ID        string
	Type      Type
	Time      time.Time
	Namespace string
	Job       string
	UID       string
	Labels    map[string]string
	Phase     job.Phase
	Reason    string
	Message   string
	// FirstFailedRank and FirstFailedWorker are set on failures when known.
	FirstFailedRank   *int32
	FirstFailedWorker *int32
	ExitCode          *int32
}

func eventID(uid, ns, name string, t Type, seq string) string {
	h := sha256.Sum256([]byte(strings.Join([]string{uid, ns, name, string(t), seq}, "\x00")))
	return hex.EncodeToString(h[:16])
}

// Detector derives events from the job watch. It is not safe for
// concurrent use: one watch loop owns it.
type Detector struct {
	// LongPending is how long a job may stay Pending or Queued before a
	// long_pending event (0: never).
	LongPending time.Duration
	jobs        map[string]*tracked
	synced      bool
	// restored: the jobs were loaded from a previous run, so the initial
	// listing is compared with them (what happened while the server was
	// down is notified) instead of being taken silently.
	restored bool
	// gen counts watch generations; a job the initial listing does not
	// show (deleted meanwhile) is forgotten at Synced.
	gen   int
	dirty bool
}

// tracked is what the detector remembers of a job (persisted across
// restarts, see Snapshot).
type tracked struct {
	UID          string    `json:"uid"`
	Phase        job.Phase `json:"phase,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	History      int       `json:"history"`
	PendingSince time.Time `json:"pendingSince,omitzero"`
	Warned       bool      `json:"warned,omitempty"`
	seen         int
	last         *job.MPIJob
}

// NewDetector returns a detector.
func NewDetector(longPending time.Duration) *Detector {
	return &Detector{LongPending: longPending, jobs: map[string]*tracked{}}
}

func key(j *job.MPIJob) string { return j.Metadata.Namespace + "/" + j.Metadata.Name }

// Observe takes one watch event and returns the notifications it implies.
// Jobs of the initial listing (before Synced) are recorded without events:
// what happened before the watch started was notified by whoever watched
// then.
func (d *Detector) Observe(ev job.WatchEvent) []Event {
	switch ev.Type {
	case job.Synced:
		for k, t := range d.jobs {
			if t.seen != d.gen {
				delete(d.jobs, k)
				d.dirty = true
			}
		}
		d.synced = true
		d.gen++
		return nil
	case job.Deleted:
		if ev.Job != nil {
			delete(d.jobs, key(ev.Job))
			d.dirty = true
		}
		return nil
	}
	j := ev.Job
	if j == nil {
		return nil
	}
	k := key(j)
	t, known := d.jobs[k]
	if known && t.UID != j.Metadata.UID {
		known = false // deleted and created again between two events
	}
	d.dirty = true
	if !known {
		t = &tracked{UID: j.Metadata.UID}
		d.jobs[k] = t
		if !d.synced && !d.restored {
			t.seen = d.gen
			t.record(j)
			return nil
		}
	}
	t.seen = d.gen
	var out []Event
	if !known {
		out = append(out, d.event(j, TypeCreated, "0", job.Transition{Phase: job.PhasePending, Reason: job.ReasonCreated, Time: j.Metadata.CreationTimestamp}))
	}
	hist := j.Status.History
	switch {
	case len(hist) > t.History:
		prev := t.Phase
		for i := t.History; i < len(hist); i++ {
			tr := hist[i]
			if i == 0 && tr.Phase == job.PhasePending {
				prev = tr.Phase
				continue
			}
			for _, typ := range transitionTypes(prev, tr) {
				out = append(out, d.event(j, typ, fmt.Sprint(i), tr))
			}
			prev = tr.Phase
		}
	case j.Status.Phase != t.Phase || j.Status.Reason != t.Reason:
		// An engine that keeps no history: the phase change itself.
		tr := job.Transition{Phase: j.Status.Phase, Reason: j.Status.Reason, Message: j.Status.Message, Time: time.Now().UTC()}
		for _, typ := range transitionTypes(t.Phase, tr) {
			out = append(out, d.event(j, typ, string(tr.Phase)+"/"+tr.Reason+"/"+j.Metadata.ResourceVersion, tr))
		}
	}
	t.record(j)
	return out
}

func (t *tracked) record(j *job.MPIJob) {
	if j.Status.Phase != t.Phase || (t.PendingSince.IsZero() && waiting(j.Status.Phase) && !t.Warned) {
		t.Warned = false
		t.PendingSince = time.Time{}
		if waiting(j.Status.Phase) {
			t.PendingSince = time.Now()
			if n := len(j.Status.History); n > 0 && !j.Status.History[n-1].Time.IsZero() {
				t.PendingSince = j.Status.History[n-1].Time
			} else if !j.Metadata.CreationTimestamp.IsZero() {
				t.PendingSince = j.Metadata.CreationTimestamp
			}
		}
	}
	t.Phase, t.Reason, t.History, t.last = j.Status.Phase, j.Status.Reason, len(j.Status.History), j
}

func waiting(p job.Phase) bool { return p == job.PhasePending || p == job.PhaseQueued || p == "" }

// preemption reports whether a reason says the platform took the job's
// resources away (an eviction, or a queue's preemption).
func preemption(reason string) bool {
	return reason == job.ReasonEvicted || strings.Contains(strings.ToLower(reason), "preempt")
}

// transitionTypes maps one phase transition to event types.
func transitionTypes(prev job.Phase, tr job.Transition) []Type {
	if prev == tr.Phase {
		// A new reason within a phase (a worker failed while mpirun
		// still runs) is not a state change subscribers asked for.
		return nil
	}
	var out []Type
	if prev == job.PhaseSuspended && tr.Phase != job.PhaseSuspended && !tr.Phase.Terminal() && tr.Phase != job.PhaseDeleting {
		out = append(out, TypeResumed)
	}
	switch tr.Phase {
	case job.PhaseQueued:
		if preemption(tr.Reason) {
			// Kueue preempted it and put it back in its queue.
			out = append(out, TypePreempted)
		} else {
			out = append(out, TypeQueued)
		}
	case job.PhaseRunning:
		out = append(out, TypeRunning)
	case job.PhaseSucceeded:
		out = append(out, TypeSucceeded)
	case job.PhaseFailed:
		if tr.Reason == job.ReasonDeadlineExceeded {
			out = append(out, TypeDeadlineExceeded)
		} else {
			out = append(out, TypeFailed)
		}
	case job.PhaseSuspended:
		if preemption(tr.Reason) {
			out = append(out, TypePreempted)
		} else {
			out = append(out, TypeSuspended)
		}
	case job.PhasePending, job.PhaseStarting:
		if preemption(tr.Reason) && prev != "" && prev != job.PhasePending {
			out = append(out, TypePreempted)
		}
	}
	return out
}

func (d *Detector) event(j *job.MPIJob, t Type, seq string, tr job.Transition) Event {
	at := tr.Time
	if at.IsZero() {
		at = time.Now().UTC()
	}
	e := Event{ID: eventID(j.Metadata.UID, j.Metadata.Namespace, j.Metadata.Name, t, seq), Type: t, Time: at.UTC(),
		Namespace: j.Metadata.Namespace, Job: j.Metadata.Name, UID: j.Metadata.UID, Labels: j.Metadata.Labels,
		Phase: tr.Phase, Reason: tr.Reason, Message: tr.Message}
	if t == TypeCreated {
		e.Phase, e.Reason, e.Message = job.PhasePending, job.ReasonCreated, ""
	}
	if tr.Phase == job.PhaseFailed {
		e.FirstFailedRank, e.FirstFailedWorker, e.ExitCode = j.Status.FirstFailedRank, j.Status.FirstFailedWorker, j.Status.ExitCode
	}
	return e
}

// Tick returns long_pending events for jobs waiting longer than
// LongPending at now, once per waiting stretch.
func (d *Detector) Tick(now time.Time) []Event {
	if d.LongPending <= 0 {
		return nil
	}
	var out []Event
	for _, t := range d.jobs {
		if t.Warned || !waiting(t.Phase) || t.PendingSince.IsZero() || now.Sub(t.PendingSince) < d.LongPending || t.last == nil {
			continue
		}
		t.Warned, d.dirty = true, true
		tr := job.Transition{Phase: t.Phase, Reason: t.Reason, Time: now.UTC(),
			Message: fmt.Sprintf("the job has been %s for %s (since %s)", t.Phase, now.Sub(t.PendingSince).Round(time.Second), t.PendingSince.UTC().Format(time.RFC3339))}
		if t.last != nil {
			if m := t.last.Status.Message; m != "" {
				tr.Message += "; " + m
			}
			out = append(out, d.event(t.last, TypeLongPending, fmt.Sprint(t.History), tr))
		}
	}
	return out
}

// Snapshot returns what the detector remembers, to persist, and whether it
// changed since the last snapshot.
func (d *Detector) Snapshot() (map[string]tracked, bool) {
	out := make(map[string]tracked, len(d.jobs))
	for k, t := range d.jobs {
		out[k] = *t
	}
	changed := d.dirty
	d.dirty = false
	return out, changed
}

// Restore loads what a previous run remembered: the first watch's initial
// listing is then compared with it, so transitions (and new jobs) of the
// time the server was down are notified.
func (d *Detector) Restore(jobs map[string]tracked) {
	for k, t := range jobs {
		t := t
		t.seen = -1 // forgotten at Synced unless the listing shows it
		d.jobs[k] = &t
	}
	d.restored = true
}
