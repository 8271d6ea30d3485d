package kubeauth

import (
	"container/list"
	"sync"
	"time"
)

// ttlCache is a bounded map with expiring entries: entries live for at
// most their TTL, and when the cache is full the least recently used one
// goes, so a caller inventing keys can push out only the oldest entries,
// never make the cache forget everything at once.
type ttlCache[V any] struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu sync.Mutex
	m  map[string]*list.Element
	l  *list.List // front = most recently used
}

type ttlEntry[V any] struct {
	k       string
	v       V
	expires time.Time
}

func newCache[V any](ttl time.Duration, max int) *ttlCache[V] {
	return &ttlCache[V]{ttl: ttl, max: max, now: time.Now, m: map[string]*list.Element{}, l: list.New()}
}

func (c *ttlCache[V]) get(k string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[k]
	if !ok {
		var zero V
		return zero, false
	}
	e := el.Value.(*ttlEntry[V])
	if !c.now().Before(e.expires) {
		c.l.Remove(el)
		delete(c.m, k)
		var zero V
		return zero, false
	}
	c.l.MoveToFront(el)
	return e.v, true
}

// put stores v for the cache's TTL.
func (c *ttlCache[V]) put(k string, v V) { c.putFor(k, v, c.ttl) }

// putFor stores v for at most ttl (capped at the cache's TTL).
func (c *ttlCache[V]) putFor(k string, v V, ttl time.Duration) {
	if ttl > c.ttl {
		ttl = c.ttl
	}
	if ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	exp := c.now().Add(ttl)
	if el, ok := c.m[k]; ok {
		e := el.Value.(*ttlEntry[V])
		e.v, e.expires = v, exp
		c.l.MoveToFront(el)
		return
	}
	for c.l.Len() >= c.max {
		last := c.l.Back()
		c.l.Remove(last)
		delete(c.m, last.Value.(*ttlEntry[V]).k)
	}
	c.m[k] = c.l.PushFront(&ttlEntry[V]{k: k, v: v, expires: exp})
}

func (c *ttlCache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.l.Len()
}
