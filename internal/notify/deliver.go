package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Headers of every delivery.
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the
	// request body keyed with the subscription's secret.
	SignatureHeader = "X-Odh-Signature"
	// IdempotencyHeader carries the event id (the CloudEvent id): the same
	// event delivered twice has the same key.
	IdempotencyHeader = "Idempotency-Key"
	// AttemptHeader counts deliveries of this event to this subscription.
	AttemptHeader = "X-Odh-Delivery-Attempt"
)

// Outcomes of a delivery attempt.
const (
	OutcomeDelivered    = "delivered"
	OutcomeRetrying     = "retrying"
	OutcomeDeadLettered = "dead_lettered"
)

// Defaults of a Dispatcher.
const (
	DefaultMaxAttempts  = 8
	DefaultBaseBackoff  = time.Second
	DefaultMaxBackoff   = time.Minute
	DefaultTimeout      = 10 * time.Second
	DefaultQueueLimit   = 1000
	DefaultHistoryLimit = 50
)

// DispatcherOptions configures a Dispatcher; zero values take the defaults.
type DispatcherOptions struct {
	Store  *Store
	Guard  *Guard
	Logger *slog.Logger
	// MaxAttempts is how often an event is tried before it is dead-lettered.
	MaxAttempts int
	// BaseBackoff doubles after every failed attempt, up to MaxBackoff.
	BaseBackoff, MaxBackoff time.Duration
	// Timeout bounds one attempt.
	Timeout time.Duration
	// QueueLimit bounds the events waiting for one subscription; more are
	// dead-lettered at once.
	QueueLimit int
	// HistoryLimit is how many attempts and dead letters each
	// subscription's history keeps.
	HistoryLimit int
	// QueueFile, when set, keeps the events waiting for delivery (0600) so
	// a restarted server delivers them (Resume).
	QueueFile string
}

// Attempt is one try to deliver one event.
type Attempt struct {
	EventID    string        `json:"eventId"`
	EventType  Type          `json:"eventType"`
	Job        string        `json:"job"`
	Attempt    int           `json:"attempt"`
	Time       time.Time     `json:"time"`
	StatusCode int           `json:"statusCode,omitempty"`
	Error      string        `json:"error,omitempty"`
	Outcome    string        `json:"outcome"`
	Duration   time.Duration `json:"duration"`
}

// DeadLetter is an event given up on.
type DeadLetter struct {
	Event     Event     `json:"event"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"lastError"`
	Time      time.Time `json:"time"`
}

// History is what happened to a subscription's deliveries, newest first.
type History struct {
	Attempts     []Attempt    `json:"attempts"`
	DeadLetters  []DeadLetter `json:"deadLetters"`
	Delivered    int64        `json:"delivered"`
	Failed       int64        `json:"failed"`
	DeadLettered int64        `json:"deadLettered"`
	Pending      int          `json:"pending"`
}

// Dispatcher delivers events to the subscriptions they match: one ordered
// queue per subscription, worked by one goroutine while it holds events.
type Dispatcher struct {
	opts   DispatcherOptions
	client *http.Client
	log    *slog.Logger

	mu     sync.Mutex
	queues map[string]*queue
	wg     sync.WaitGroup
}

type queue struct {
	events  []Event
	running bool
	hist    History
}

// NewDispatcher returns a dispatcher.
func NewDispatcher(o DispatcherOptions) *Dispatcher {
	if o.Guard == nil {
		o.Guard = &Guard{}
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = DefaultBaseBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.QueueLimit <= 0 {
		o.QueueLimit = DefaultQueueLimit
	}
	if o.HistoryLimit <= 0 {
		o.HistoryLimit = DefaultHistoryLimit
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr := &http.Transport{
		// No proxy: a proxy would connect on our behalf, past the guard.
		Proxy:                 nil,
		DialContext:           o.Guard.dialer().DialContext,
		TLSHandshakeTimeout:   o.Timeout,
		ResponseHeaderTimeout: o.Timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
	}
	client := &http.Client{Transport: tr, Timeout: o.Timeout,
		// A redirect is an answer, not a new destination to trust.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &Dispatcher{opts: o, client: client, log: log, queues: map[string]*queue{}}
}

// Publish queues an event for every subscription it matches. Deliveries
// run until ctx ends.
func (d *Dispatcher) Publish(ctx context.Context, e Event) {
	for _, s := range d.opts.Store.matching(&e) {
		d.enqueue(ctx, s.Key(), e)
	}
}

func (d *Dispatcher) enqueue(ctx context.Context, key string, e Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	q := d.queues[key]
	if q == nil {
		q = &queue{}
		d.queues[key] = q
	}
	if len(q.events) >= d.opts.QueueLimit {
		d.deadLetterLocked(q, e, 0, fmt.Sprintf("%d events were already waiting for this subscription", len(q.events)))
		return
	}
	q.events = append(q.events, e)
	d.saveLocked()
	if !q.running {
		q.running = true
		d.wg.Add(1)
		go d.work(ctx, key, q)
	}
}

// Wait returns when every worker has stopped (after ctx of Publish ended,
// or every queue drained).
func (d *Dispatcher) Wait() { d.wg.Wait() }

// History returns a copy of a subscription's delivery history.
func (d *Dispatcher) History(key string) History {
	d.mu.Lock()
	defer d.mu.Unlock()
	q := d.queues[key]
	if q == nil {
		return History{}
	}
	h := q.hist
	h.Attempts = append([]Attempt(nil), h.Attempts...)
	h.DeadLetters = append([]DeadLetter(nil), h.DeadLetters...)
	h.Pending = len(q.events)
	return h
}

// Forget drops a deleted subscription's queue and history.
func (d *Dispatcher) Forget(key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if q := d.queues[key]; q != nil {
		q.events = nil
		delete(d.queues, key)
		d.saveLocked()
	}
}

func (d *Dispatcher) work(ctx context.Context, key string, q *queue) {
	defer d.wg.Done()
	for {
		d.mu.Lock()
		if len(q.events) == 0 || ctx.Err() != nil {
			q.running = false
			d.mu.Unlock()
			return
		}
		e := q.events[0]
		d.mu.Unlock()
		d.deliver(ctx, key, q, e)
		d.mu.Lock()
		if ctx.Err() == nil && len(q.events) > 0 && q.events[0].ID == e.ID {
			// Done with it (delivered, dead-lettered or its subscription
			// deleted); a stopping server keeps it for the next run.
			q.events = q.events[1:]
			d.saveLocked()
		}
		d.mu.Unlock()
	}
}

// deliver tries one event until it is delivered, dead-lettered, the
// subscription is deleted or ctx ends.
func (d *Dispatcher) deliver(ctx context.Context, key string, q *queue, e Event) {
	backoff := d.opts.BaseBackoff
	for attempt := 1; ; attempt++ {
		sub, ok := d.opts.Store.current(key)
		if !ok {
			return
		}
		start := time.Now()
		code, err := d.send(ctx, sub, e, attempt)
		if ctx.Err() != nil {
			return // not an outcome: the server is stopping
		}
		a := Attempt{EventID: e.ID, EventType: e.Type, Job: e.Job, Attempt: attempt, Time: start.UTC(), StatusCode: code, Duration: time.Since(start)}
		permanent := false
		switch {
		case err != nil:
			a.Error = err.Error()
		case code >= 200 && code < 300:
			a.Outcome = OutcomeDelivered
		default:
			a.Error = fmt.Sprintf("the receiver answered %d %s", code, http.StatusText(code))
			// Other 4xx answers will not change by asking again.
			permanent = code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests
		}
		d.mu.Lock()
		switch {
		case a.Outcome == OutcomeDelivered:
			q.hist.Delivered++
		case permanent || attempt >= d.opts.MaxAttempts:
			a.Outcome = OutcomeDeadLettered
			q.hist.Failed++
		default:
			a.Outcome = OutcomeRetrying
			q.hist.Failed++
		}
		q.hist.Attempts = prepend(q.hist.Attempts, a, d.opts.HistoryLimit)
		if a.Outcome == OutcomeDeadLettered {
			d.deadLetterLocked(q, e, attempt, a.Error)
		}
		d.mu.Unlock()
		if a.Outcome != OutcomeRetrying {
			if a.Outcome == OutcomeDeadLettered {
				d.log.Warn("notification dead-lettered", "subscription", key, "event", e.ID, "type", e.Type, "job", e.Namespace+"/"+e.Job, "attempts", attempt, "error", a.Error)
			}
			return
		}
		d.log.Debug("notification delivery failed; retrying", "subscription", key, "event", e.ID, "attempt", attempt, "backoff", backoff, "error", a.Error)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, d.opts.MaxBackoff)
	}
}

func (d *Dispatcher) deadLetterLocked(q *queue, e Event, attempts int, why string) {
	q.hist.DeadLettered++
	q.hist.DeadLetters = prepend(q.hist.DeadLetters, DeadLetter{Event: e, Attempts: attempts, LastError: why, Time: time.Now().UTC()}, d.opts.HistoryLimit)
}

func prepend[T any](list []T, v T, limit int) []T {
	list = append([]T{v}, list...)
	if len(list) > limit {
		list = list[:limit]
	}
	return list
}

// send makes one attempt; it returns the receiver's status code.
func (d *Dispatcher) send(ctx context.Context, s *Subscription, e Event, attempt int) (int, error) {
	body, ctype, err := Body(s.Format, &e)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("User-Agent", "odh-training-notify/1")
	req.Header.Set(IdempotencyHeader, e.ID)
	req.Header.Set(AttemptHeader, strconv.Itoa(attempt))
	if s.Secret != "" {
		req.Header.Set(SignatureHeader, Sign(s.Secret, body))
	}
	resp, err := d.client.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) {
			// The URL is the tenant's own; the cause is what helps.
			return 0, fmt.Errorf("post: %w", ue.Unwrap())
		}
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// Sign returns the signature header value of body: "sha256=" and the hex
// HMAC-SHA256 keyed with secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether a signature header value matches body: what a
// receiver does (in constant time).
func Verify(secret string, body []byte, header string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(header))
}

// CloudEvent is the CloudEvents 1.0 structured-mode JSON body.
type CloudEvent struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Type            string    `json:"type"`
	Subject         string    `json:"subject"`
	Time            time.Time `json:"time"`
	DataContentType string    `json:"datacontenttype"`
	Data            EventData `json:"data"`
}

// EventData is the CloudEvent's data: the job and its transition.
type EventData struct {
	Type              Type              `json:"type"`
	Namespace         string            `json:"namespace"`
	Name              string            `json:"name"`
	UID               string            `json:"uid,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	Phase             string            `json:"phase,omitempty"`
	Reason            string            `json:"reason,omitempty"`
	Message           string            `json:"message,omitempty"`
	FirstFailedRank   *int32            `json:"firstFailedRank,omitempty"`
	FirstFailedWorker *int32            `json:"firstFailedWorker,omitempty"`
	ExitCode          *int32            `json:"exitCode,omitempty"`
}

// ToCloudEvent wraps an event.
func ToCloudEvent(e *Event) CloudEvent {
	return CloudEvent{SpecVersion: "1.0", ID: e.ID, Source: "/apis/training.opendatahub.io/v1/namespaces/" + e.Namespace + "/jobs/" + e.Job,
		Type: e.Type.CloudEventType(), Subject: e.Job, Time: e.Time, DataContentType: "application/json",
		Data: EventData{Type: e.Type, Namespace: e.Namespace, Name: e.Job, UID: e.UID, Labels: e.Labels, Phase: string(e.Phase), Reason: e.Reason,
			Message: e.Message, FirstFailedRank: e.FirstFailedRank, FirstFailedWorker: e.FirstFailedWorker, ExitCode: e.ExitCode}}
}

// Body renders an event in a subscription's format, with its content type.
func Body(format string, e *Event) ([]byte, string, error) {
	if format == FormatSlack {
		b, err := json.Marshal(map[string]string{"text": SlackText(e)})
		return b, "application/json", err
	}
	b, err := json.Marshal(ToCloudEvent(e))
	return b, "application/cloudevents+json; charset=utf-8", err
}

var slackIcons = map[Type]string{TypeCreated: ":new:", TypeQueued: ":hourglass:", TypeRunning: ":arrow_forward:", TypeSucceeded: ":white_check_mark:",
	TypeFailed: ":x:", TypePreempted: ":warning:", TypeSuspended: ":double_vertical_bar:", TypeResumed: ":arrow_forward:",
	TypeDeadlineExceeded: ":alarm_clock:", TypeLongPending: ":hourglass_flowing_sand:"}

// SlackText is the one-line message of a Slack-compatible body.
func SlackText(e *Event) string {
	t := fmt.Sprintf("%s Training job *%s/%s* %s", slackIcons[e.Type], e.Namespace, e.Job, slackVerb(e.Type))
	if e.FirstFailedRank != nil {
		t += fmt.Sprintf(" (first failing rank %d)", *e.FirstFailedRank)
	}
	if e.Reason != "" && e.Type != TypeCreated {
		t += " — " + e.Reason
	}
	if e.Message != "" {
		t += ": " + truncate(e.Message, 300)
	}
	return t
}

func slackVerb(t Type) string {
	switch t {
	case TypeDeadlineExceeded:
		return "exceeded its deadline"
	case TypeLongPending:
		return "is still waiting to start"
	case TypeQueued:
		return "is queued"
	case TypeRunning:
		return "is running"
	}
	return string(t)
}
