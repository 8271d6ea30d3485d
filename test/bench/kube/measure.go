package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// counter counts the engine's API requests by verb.
type counter struct {
	mu     sync.Mutex
	byVerb map[string]int
	total  atomic.Int64
	// createDur records the round trip of every MPIJob or TrainJob create.
	createDur []time.Duration
}

func (c *counter) wrap(rt http.RoundTripper) http.RoundTripper {
	return rtFunc(func(r *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := rt.RoundTrip(r)
		verb := r.Method
		q := r.URL.Query()
		switch {
		case r.Method == http.MethodGet && q.Get("watch") == "true":
			verb = "WATCH"
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/log"):
			verb = "GET log"
		case r.Method == http.MethodGet && isCollection(r.URL.Path):
			verb = "LIST"
		}
		c.total.Add(1)
		c.mu.Lock()
		c.byVerb[verb]++
		if r.Method == http.MethodPost && (strings.HasSuffix(r.URL.Path, "/mpijobs") || strings.HasSuffix(r.URL.Path, "/trainjobs")) && q.Get("dryRun") == "" {
			c.createDur = append(c.createDur, time.Since(start))
		}
		c.mu.Unlock()
		return resp, err
	})
}

// isCollection tells a list (/api/v1/namespaces/x/pods) from a get
// (/api/v1/namespaces/x/pods/p).
func isCollection(path string) bool {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(seg) >= 2 && seg[0] == "api":
		seg = seg[2:]
	case len(seg) >= 3 && seg[0] == "apis":
		seg = seg[3:]
	default:
		return false
	}
	if len(seg) >= 2 && seg[0] == "namespaces" {
		if len(seg) == 2 {
			return false // the namespace itself
		}
		seg = seg[2:]
	}
	return len(seg) == 1
}

func (c *counter) snapshot() (int64, map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string]int{}
	for k, v := range c.byVerb {
		m[k] = v
	}
	return c.total.Load(), m
}

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func (b *bench) sampleHeap(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h := heapInUse()
		for {
			p := b.peak.Load()
			if h <= p || b.peak.CompareAndSwap(p, h) {
				break
			}
		}
	}
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func rss() string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	var cur, hwm string
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			cur = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			hwm = strings.TrimSpace(v)
		}
	}
	return cur + " (peak " + hwm + ")"
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p)
	return s[i]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
