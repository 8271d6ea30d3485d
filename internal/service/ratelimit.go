package service

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/odh-training/odh-training/internal/job"
)

// rateLimiter is a token bucket per user: each user may make Rate requests
// per second on average, with bursts of Burst. Streams count once, when
// they open.
type rateLimiter struct {
	rate, burst float64
	now         func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(rate float64, burst int) *rateLimiter {
	if rate <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = int(math.Max(1, 2*rate))
	}
	return &rateLimiter{rate: rate, burst: float64(burst), now: time.Now, buckets: map[string]*bucket{}}
}

// allow takes a token for user, or says how long to wait for one.
func (l *rateLimiter) allow(user string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[user]
	if !ok {
		if len(l.buckets) > 10000 {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[user] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// evict drops buckets that have refilled completely; they hold no state.
func (l *rateLimiter) evict(now time.Time) {
	for u, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, u)
		}
	}
}

func tooManyRequests(user string, wait time.Duration) *job.Error {
	return &job.Error{
		Kind:    job.KindTooManyRequests,
		Message: fmt.Sprintf("too many requests from %q: slow down and retry in %s", user, wait.Round(time.Millisecond)),
		Hint:    "The server limits requests per user (odh-server --rate-limit).",
	}
}
