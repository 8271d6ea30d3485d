package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Unix(1_700_000_000, 0)} }
func allowN(l *Limiter, key string, n int) (ok int) {
	for range n {
		if a, _ := l.Allow(key); a {
			ok++
		}
	}
	return ok
}

func TestBurstThenRate(t *testing.T) {
	c := newClock()
	l := New(10, 20).WithClock(c.now)
	if got := allowN(l, "a", 50); got != 20 {
		t.Fatalf("burst: %d allowed, want 20", got)
	}
	ok, wait := l.Allow("a")
	if ok || wait != 100*time.Millisecond {
		t.Errorf("over the burst: %v, wait %s; want refused, 100ms", ok, wait)
	}
	if got := allowN(l, "b", 25); got != 20 {
		t.Errorf("another key has its own bucket: %d allowed", got)
	}
	c.add(time.Second)
	if got := allowN(l, "a", 50); got != 10 {
		t.Errorf("after 1s at 10/s: %d allowed, want 10", got)
	}
}

func TestNilAndDefaults(t *testing.T) {
	var l *Limiter
	if ok, _ := l.Allow("x"); !ok {
		t.Error("a nil limiter refused")
	}
	if New(0, 5) != nil || New(-1, 5) != nil {
		t.Error("rate <= 0 should mean no limit")
	}
	if got := allowN(New(3, 0).WithClock(newClock().now), "a", 100); got != 6 {
		t.Errorf("default burst: %d, want 2 x rate", got)
	}
}

// Inventing keys cannot grow the limiter without bound, and a key that is
// drained stays drained while others come and go, as long as there is room.
func TestKeysAreBounded(t *testing.T) {
	c := newClock()
	l := New(1, 2).WithClock(c.now).WithMaxKeys(100)
	allowN(l, "victim", 2)
	for i := range 10_000 {
		l.Allow(fmt.Sprintf("random-%d", i))
		if n := l.Len(); n > 100 {
			t.Fatalf("%d keys kept, max 100", n)
		}
	}
	// Refilled buckets go first: after they refill, the flood's keys
	// leave room without touching anyone else.
	l2 := New(1, 2).WithClock(c.now).WithMaxKeys(100)
	for i := range 99 {
		l2.Allow(fmt.Sprintf("old-%d", i))
	}
	allowN(l2, "drained", 3)
	c.add(5 * time.Second) // the old keys refill; "drained" too
	allowN(l2, "drained", 2)
	l2.Allow("new")
	if ok, _ := l2.Allow("drained"); ok {
		t.Error("a drained key got a fresh bucket although refilled ones could be dropped")
	}
}
