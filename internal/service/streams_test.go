package service

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/odh-training/odh-training/internal/job"
)

// TestStreamGuard: a guarded stream ends when its access ends (the status
// keeps the kind and says why), after its maximum lifetime (Unavailable,
// so clients resume), and after repeated checks the cluster could not
// answer — but not after one such blip.
func TestStreamGuard(t *testing.T) {
	forbidden := &job.Error{Kind: job.KindForbidden, Message: "user \"bob\" may not watch mpijobs"}
	blip := &job.Error{Kind: job.KindUnavailable, Message: "cannot check your access"}
	for _, c := range []struct {
		name    string
		limits  StreamLimits
		recheck func(n int) error
		kind    job.ErrorKind
		msg     string
	}{
		{"access revoked", StreamLimits{Recheck: 10 * time.Millisecond}, func(n int) error {
			if n >= 3 {
				return forbidden
			}
			return nil
		}, job.KindForbidden, "ended because your access ended"},
		{"maximum lifetime", StreamLimits{Recheck: 10 * time.Millisecond, MaxDuration: 150 * time.Millisecond}, func(int) error { return nil }, job.KindUnavailable, "streams last at most"},
		{"cluster cannot answer", StreamLimits{Recheck: 10 * time.Millisecond}, func(int) error { return blip }, job.KindUnavailable, "could not be checked again"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &Service{streams: c.limits}
			n := 0
			ctx, stop := s.guard(t.Context(), "the watch", func(context.Context) error { n++; return c.recheck(n) })
			defer stop()
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("the stream was not ended")
			}
			err := endOf(ctx, errors.New("stream cancelled"))
			if !job.IsKind(err, c.kind) || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("ended with %v, want %s %q", err, c.kind, c.msg)
			}
		})
	}
	// One blip among good answers does not end the stream.
	s := &Service{streams: StreamLimits{Recheck: 5 * time.Millisecond}}
	n := 0
	ctx, stop := s.guard(t.Context(), "the watch", func(context.Context) error {
		n++
		if n%3 == 0 {
			return blip
		}
		return nil
	})
	defer stop()
	select {
	case <-ctx.Done():
		t.Fatalf("ended after isolated blips: %v", context.Cause(ctx))
	case <-time.After(200 * time.Millisecond):
	}
}
