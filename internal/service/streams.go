package service

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/job"
)

// StreamLimits bound long-lived streams (watches, followed logs): access is
// checked again every Recheck — the caller's token (it may have expired or
// been revoked) and their right to what they stream (RBAC may have changed)
// — and a stream ends after MaxDuration. Either way it ends with a status
// that says why; a stream that simply ran long ends Unavailable, which
// clients answer by watching again from the last resource version (logs:
// from the last line's time).
type StreamLimits struct {
	Recheck     time.Duration
	MaxDuration time.Duration
}

// Defaults for StreamLimits.
const (
	DefaultStreamRecheck     = 30 * time.Second
	DefaultMaxStreamDuration = time.Hour
)

// recheckTolerance is how many rechecks in a row may fail because the
// cluster could not answer (not because access ended) before the stream is
// closed anyway: a blip of the API server must not end every stream at
// once, a long outage must not keep streams running unchecked.
const recheckTolerance = 3

func (l StreamLimits) withDefaults() StreamLimits {
	if l.Recheck <= 0 {
		l.Recheck = DefaultStreamRecheck
	}
	if l.MaxDuration < 0 {
		l.MaxDuration = 0
	}
	return l
}

// guard returns a context for a stream that ends when the caller's access
// ends or the stream has lasted too long; recheck re-decides the stream's
// own authorization. stop releases it. Streams return endOf(ctx, err).
func (s *Service) guard(ctx context.Context, what string, recheck func(context.Context) error) (context.Context, func()) {
	lim := s.streams.withDefaults()
	gctx, cancel := context.WithCancelCause(ctx)
	go func() {
		tick := time.NewTicker(lim.Recheck)
		defer tick.Stop()
		var deadline <-chan time.Time
		if lim.MaxDuration > 0 {
			t := time.NewTimer(lim.MaxDuration)
			defer t.Stop()
			deadline = t.C
		}
		failures := 0
		for {
			select {
			case <-gctx.Done():
				return
			case <-deadline:
				cancel(&job.Error{Kind: job.KindUnavailable,
					Message: fmt.Sprintf("%s ended: streams last at most %s on this server; start it again (watches resume from their last resourceVersion)", what, lim.MaxDuration),
					Hint:    "odh-server --max-stream-duration sets the limit; the CLI, SDK and dashboard resume by themselves."})
				return
			case <-tick.C:
			}
			err := s.reauthenticate(gctx)
			if err == nil {
				err = recheck(gctx)
			}
			switch {
			case err == nil:
				failures = 0
			case job.IsKind(err, job.KindUnauthenticated), job.IsKind(err, job.KindForbidden):
				cancel(accessEnded(what, err))
				return
			default:
				if failures++; failures >= recheckTolerance {
					cancel(&job.Error{Kind: job.KindUnavailable, Message: fmt.Sprintf("%s ended: your access could not be checked again (%v); start it again", what, err)})
					return
				}
			}
		}
	}()
	return gctx, func() { cancel(nil) }
}

// accessEnded is the status of a stream closed because the caller may no
// longer read it: it keeps the kind (Unauthenticated, Forbidden), so
// clients do not retry blindly.
func accessEnded(what string, err error) *job.Error {
	var je *job.Error
	if !errors.As(err, &je) {
		je = &job.Error{Kind: job.KindForbidden, Message: err.Error()}
	}
	out := *je
	out.Message = fmt.Sprintf("%s ended because your access ended: %s", what, je.Message)
	return &out
}

// reauthenticate checks the caller's token again (an authenticator caches
// valid tokens for a short time, so this is cheap, and an expired or
// revoked token is noticed within that time).
func (s *Service) reauthenticate(ctx context.Context) error {
	if s.authn == nil {
		return nil
	}
	_, err := auth.Authenticate(ctx, s.authn)
	return err
}

// endOf is what a guarded stream returns: the reason the guard ended it,
// or the stream's own error.
func endOf(ctx context.Context, err error) error {
	var je *job.Error
	if cause := context.Cause(ctx); cause != nil && errors.As(cause, &je) {
		return je
	}
	return err
}

// namespaceFilter is a visible() filter that a stream's rechecks replace.
type namespaceFilter struct {
	f atomic.Pointer[func(string) bool]
}

func (n *namespaceFilter) set(f func(string) bool) { n.f.Store(&f) }
func (n *namespaceFilter) allows(ns string) bool   { return (*n.f.Load())(ns) }
