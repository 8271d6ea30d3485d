// Package ratelimit is a token bucket per key (a user, a client address):
// each key may make Rate requests per second on average, with bursts of
// Burst. The number of keys remembered is bounded, so a caller inventing
// keys (random tokens, spoofed names) cannot grow it without limit: buckets
// that have refilled carry no state and are dropped first, and when every
// bucket is still draining the oldest are dropped.
package ratelimit

import (
	"math"
	"sync"
	"time"
)

// DefaultMaxKeys bounds the buckets a Limiter keeps.
const DefaultMaxKeys = 10000

// Limiter is a set of token buckets. A nil *Limiter allows everything.
type Limiter struct {
	rate, burst float64
	maxKeys     int
	now         func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New returns a limiter of rate requests per second per key with bursts of
// burst (0: twice the rate, at least 1). A rate of 0 or less returns nil:
// no limit.
func New(rate float64, burst int) *Limiter {
	if rate <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = int(math.Max(1, 2*rate))
	}
	return &Limiter{rate: rate, burst: float64(burst), maxKeys: DefaultMaxKeys, now: time.Now, buckets: map[string]*bucket{}}
}

// WithClock replaces the clock (tests).
func (l *Limiter) WithClock(now func() time.Time) *Limiter {
	l.now = now
	return l
}

// WithMaxKeys bounds the number of buckets kept.
func (l *Limiter) WithMaxKeys(n int) *Limiter {
	l.maxKeys = n
	return l
}

// Allow takes a token for key, or says how long to wait for one.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxKeys {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// Len is the number of buckets kept (tests).
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// evict drops buckets that have refilled completely (they hold no state
// and a new bucket starts full), then, if that freed nothing, a random
// tenth: a caller is inventing keys faster than they refill, and the keys
// dropped start again with a full burst — which is why callers put a
// global limit behind a per-key one.
func (l *Limiter) evict(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
	drop := len(l.buckets) - l.maxKeys + max(1, l.maxKeys/10)
	for k := range l.buckets {
		if drop <= 0 {
			break
		}
		delete(l.buckets, k)
		drop--
	}
}

// Peek says whether key could take a token now, without taking it.
func (l *Limiter) Peek(key string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		return true, 0
	}
	tokens := math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	if tokens >= 1 {
		return true, 0
	}
	return false, time.Duration((1 - tokens) / l.rate * float64(time.Second))
}
