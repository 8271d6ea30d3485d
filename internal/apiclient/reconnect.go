package apiclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/internal/job"
)

// Streams (Watch, Logs with Follow) survive what ends them in real
// deployments — a server rollout, a proxy's idle timeout, a maximum stream
// lifetime — by reopening the stream and resuming where it stopped. This
// file decides when to reopen and when to give up.

// DefaultReconnectTimeout is how long a stream may stay down (reconnects
// failing in a row) before the call gives up.
const DefaultReconnectTimeout = 5 * time.Minute

// StreamEvent tells an observer that a stream dropped or resumed, so a
// command can say so on its status output.
type StreamEvent struct {
	// Resumed is false when the stream dropped (a reconnect follows) and
	// true when it is following again.
	Resumed bool
	// Err is why it dropped (the first failure of an outage).
	Err error
	// Down is how long it was down (Resumed only).
	Down time.Duration
}

// SetReconnect sets how long a dropped stream keeps trying to reconnect
// (0: DefaultReconnectTimeout) and who is told of drops and resumes (nil:
// nobody).
func (c *Client) SetReconnect(timeout time.Duration, observe func(StreamEvent)) {
	c.reconnectTimeout, c.observe = timeout, observe
}

// errEnded marks a stream the server closed cleanly while the caller still
// wanted more (a watch, or a follow of a job that is not over).
var errEnded = errors.New("the server ended the stream")

// retryable reports whether err ends only this stream (reopen it) rather
// than the call.
func retryable(err error) bool {
	if errors.Is(err, errEnded) {
		return true
	}
	st, ok := status.FromError(err)
	if !ok {
		return false
	}
	switch st.Code() {
	case codes.Unavailable, codes.Aborted, codes.DeadlineExceeded:
		// Server shutting down, connection lost, a proxy's 502/503/504,
		// a watcher dropped for falling behind, a maximum lifetime.
		return true
	case codes.Canceled:
		// Our context is alive (checked by the caller): a proxy reset the
		// stream (RST_STREAM CANCEL on an idle timeout).
		return true
	case codes.ResourceExhausted:
		// Rate limited; not "message too large", which repeats.
		return apiconv.FromOurService(st) && apiconv.FromStatus(st).Kind == job.KindTooManyRequests
	case codes.Internal, codes.Unknown:
		// Transport failures (a reset stream, missing trailers, a proxy's
		// error page) — but not an error our service reported.
		return !apiconv.FromOurService(st)
	}
	return false
}

// reconnector paces reopening: at once after a stream that worked for a
// while (an idle cut), then 100 ms doubling to 1 s while the server is
// away (so a restarted server is followed again within a second of its
// return), until the outage lasts longer than the timeout.
type reconnector struct {
	c         *Client
	timeout   time.Duration
	downSince time.Time
	firstErr  error // what started the outage
	openedAt  time.Time
	attempt   int
	dropped   bool
}

func (c *Client) reconnector() *reconnector {
	t := c.reconnectTimeout
	if t <= 0 {
		t = DefaultReconnectTimeout
	}
	return &reconnector{c: c, timeout: t}
}

// opened records that a stream is established (the server answered).
func (r *reconnector) opened() {
	now := time.Now()
	r.openedAt = now
	if r.dropped && r.c.observe != nil {
		r.c.observe(StreamEvent{Resumed: true, Down: now.Sub(r.downSince)})
	}
	r.dropped = false
}

// wait sleeps before the next reopen, or returns the error that ends the
// call: ctx's, or a lost connection once the outage is longer than the
// timeout.
func (r *reconnector) wait(ctx context.Context, err error) error {
	now := time.Now()
	if !r.openedAt.IsZero() && now.Sub(r.openedAt) >= time.Second {
		// The last stream worked for a while: a new outage starts.
		r.downSince, r.attempt, r.firstErr = time.Time{}, 0, nil
	}
	r.openedAt = time.Time{}
	if r.downSince.IsZero() {
		r.downSince, r.firstErr = now, err
	} else if now.Sub(r.downSince) > r.timeout {
		return r.c.lost(r.timeout, err)
	}
	d := time.Duration(0)
	if r.attempt > 0 {
		d = min(100*time.Millisecond<<(r.attempt-1), time.Second)
	}
	if r.attempt == 1 && r.c.observe != nil {
		// Reopening at once did not work: the server is away. (A stream
		// cut by a proxy and reopened at once is not worth a word.)
		r.c.observe(StreamEvent{Err: r.c.reason(r.firstErr)})
		r.dropped = true
	}
	r.attempt++
	if r.c.conn != nil {
		// gRPC backs off reconnecting by itself (up to minutes); we pace.
		r.c.conn.ResetConnectBackoff()
	}
	if d == 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// reason is why a stream dropped, for people: errEnded as it is, anything
// else classified (a *job.Error).
func (c *Client) reason(err error) error {
	if errors.Is(err, errEnded) {
		return err
	}
	return c.classify(err)
}

// lost is the error of a stream that could not be reopened in time.
func (c *Client) lost(timeout time.Duration, err error) error {
	reason := "the server ended the stream"
	if !errors.Is(err, errEnded) {
		var je *job.Error
		if errors.As(c.classify(err), &je) {
			reason = je.Message
		}
	}
	return &job.Error{
		Kind:    job.KindUnavailable,
		Message: fmt.Sprintf("lost the stream from the Training Service at %s and could not reopen it for %s: %s", c.address, timeout, reason),
		Hint:    "Jobs keep running on the server. Run the command again once the server is reachable (--reconnect-timeout waits longer).",
		Err:     err,
	}
}
