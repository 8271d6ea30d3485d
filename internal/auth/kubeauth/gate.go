package kubeauth

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/odh-training/odh-training/internal/job"
)

// gate bounds what one kind of review may ask of the API server: a rate
// (with a burst) and a number of reviews in flight. A review that cannot
// get through within wait is refused at once — Unavailable, "try again" —
// instead of queueing behind a flood: callers whose answers are cached are
// never behind the gate, so they keep being served.
type gate struct {
	lim  *rate.Limiter
	sem  chan struct{}
	wait time.Duration
	busy string
}

func newGate(perSecond float64, burst, inFlight int, wait time.Duration, busy string) *gate {
	if burst < 1 {
		burst = 1
	}
	if inFlight < 1 {
		inFlight = 1
	}
	return &gate{lim: rate.NewLimiter(rate.Limit(perSecond), burst), sem: make(chan struct{}, inFlight), wait: wait, busy: busy}
}

// enter waits for the gate; call the returned func when the review is done.
func (g *gate) enter(ctx context.Context) (func(), error) {
	wctx, cancel := context.WithTimeout(ctx, g.wait)
	defer cancel()
	if err := g.lim.Wait(wctx); err != nil {
		return nil, g.refuse(ctx)
	}
	select {
	case g.sem <- struct{}{}:
		return func() { <-g.sem }, nil
	case <-wctx.Done():
		return nil, g.refuse(ctx)
	}
}

func (g *gate) refuse(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return &job.Error{Kind: job.KindUnavailable, Message: g.busy, Hint: "Retry in a few seconds."}
}

// flight runs one call per key at a time: concurrent callers with the same
// key (the same token, the same question) share its answer.
type flight[V any] struct {
	mu sync.Mutex
	m  map[string]*flightCall[V]
}

type flightCall[V any] struct {
	done chan struct{}
	v    V
	err  error
}

func (f *flight[V]) do(ctx context.Context, key string, fn func() (V, error)) (V, error) {
	f.mu.Lock()
	if f.m == nil {
		f.m = map[string]*flightCall[V]{}
	}
	if c, ok := f.m[key]; ok {
		f.mu.Unlock()
		select {
		case <-c.done:
			return c.v, c.err
		case <-ctx.Done():
			var zero V
			return zero, ctx.Err()
		}
	}
	c := &flightCall[V]{done: make(chan struct{})}
	f.m[key] = c
	f.mu.Unlock()
	c.v, c.err = fn()
	f.mu.Lock()
	delete(f.m, key)
	f.mu.Unlock()
	close(c.done)
	return c.v, c.err
}
