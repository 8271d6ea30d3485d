package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/odh-training/odh-training/test/bench/watchload"
)

var (
	nWatchers   = flag.Int("watchers", 5000, "watchers of the watch fan-out scenario")
	grpcShare   = flag.Float64("grpc-share", 0.5, "share of the watchers that are gRPC streams (the rest watch over REST)")
	watchEvents = flag.Int("watch-events", 20, "jobs created, one at a time, while the watchers listen")
)

// watchFanout opens *nWatchers watches (REST and gRPC, one connection
// each), then creates jobs one at a time and times each job's ADDED event
// at every watcher from just before the create request.
func watchFanout(s *srv) {
	ctx := context.Background()
	runtimeGC := func() { time.Sleep(300 * time.Millisecond) }
	runtimeGC()
	before := s.rssMiB()
	peak := newPeak(s)
	defer peak.stop()
	t0 := time.Now()
	load, err := watchload.Start(ctx, watchload.Options{URL: s.url, Token: s.token, Namespace: "fanout", Watchers: *nWatchers, GRPC: int(float64(*nWatchers) * *grpcShare)})
	must(err)
	defer load.Close()
	setup := time.Since(t0)
	time.Sleep(time.Second)
	established := s.rssMiB()
	cpu0 := s.cpuSeconds()
	var all []time.Duration
	missing := 0
	for i := range *watchEvents {
		name := fmt.Sprintf("fan-%d", i)
		start := time.Now()
		load.Expect(name, start)
		code, body, err := s.do("POST", "/api/v1/namespaces/fanout/mpijobs", jobBody(name, true, "true"))
		must(err)
		if code != 200 {
			must(fmt.Errorf("create: %d %s", code, body))
		}
		lat, miss := load.Await(name, 30*time.Second)
		all = append(all, lat...)
		missing += miss
		time.Sleep(100 * time.Millisecond)
	}
	cpu := s.cpuSeconds() - cpu0
	fmt.Printf("\n| %d watchers (%d gRPC, %d REST; one connection each), %d creates | Result | Target |\n|---|---|---|\n",
		*nWatchers, int(float64(*nWatchers)**grpcShare), *nWatchers-int(float64(*nWatchers)**grpcShare), *watchEvents)
	fmt.Printf("| create → ADDED event at every watcher (n=%d) | p50 %s, **p95 %s**, p99 %s, max %s | p95 < 100 ms |\n", len(all), ms(pct(all, .5)), ms(pct(all, .95)), ms(pct(all, .99)), ms(pct(all, 1)))
	fmt.Printf("| events not delivered; watches ended early | %d; %d | 0 |\n", missing, load.Broken())
	fmt.Printf("| server RSS: before, with every watch open, peak | %.0f MiB, %.0f MiB, **%.0f MiB** | < 300 MiB |\n", before, established, peak.stop())
	fmt.Printf("| server CPU during the creates | %.2f s for %d events (%.1f ms per event fanned out) | — |\n", cpu, *watchEvents, cpu*1000/float64(*watchEvents))
	fmt.Printf("| time to open every watch | %s | — |\n", setup.Round(time.Millisecond))
	for _, e := range load.Errors() {
		fmt.Fprintln(os.Stderr, "watch error:", e)
	}
}

// peakRSS samples a process's RSS until stopped.
type peakRSS struct {
	mu   sync.Mutex
	max  float64
	done chan struct{}
	once sync.Once
}

func newPeak(s *srv) *peakRSS {
	p := &peakRSS{done: make(chan struct{})}
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-t.C:
				v := s.rssMiB()
				p.mu.Lock()
				p.max = max(p.max, v)
				p.mu.Unlock()
			}
		}
	}()
	return p
}

func (p *peakRSS) stop() float64 {
	p.once.Do(func() { close(p.done) })
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.max
}

// cpuSeconds is the server's user + system CPU time so far.
func (s *srv) cpuSeconds() float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}
