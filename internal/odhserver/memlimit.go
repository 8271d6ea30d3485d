package odhserver

import (
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The Go runtime's soft memory limit makes it return memory after bursts (a
// full list of thousands of jobs) instead of keeping the peak resident. A
// fixed limit below what the server really holds — thousands of open
// watches hold a few hundred MiB of connection buffers — makes the
// collector run without pause (measured: 60 % of the server's CPU with 5,000
// watchers under an 80 MiB limit). So the limit follows the live heap: twice
// what survived the last collection, and never below the floor.

// memoryFloor is the lowest soft limit; the server needs ~40 MiB with
// thousands of jobs.
const memoryFloor = 80 << 20

// memoryLimitFor is the soft limit for a live heap.
func memoryLimitFor(live uint64) int64 {
	return max(int64(memoryFloor), 2*int64(live))
}

// adaptMemoryLimit sets the soft limit now and then every interval.
func adaptMemoryLimit(interval time.Duration) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	set := func() {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			debug.SetMemoryLimit(memoryLimitFor(sample[0].Value.Uint64()))
		}
	}
	debug.SetMemoryLimit(memoryFloor)
	go func() {
		for range time.Tick(interval) {
			set()
		}
	}()
}
