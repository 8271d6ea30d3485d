package odhserver

import (
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The Go runtime's soft memory limit makes it return memory after bursts (a
// full list of thousands of jobs) instead of keeping the peak resident. A
// fixed limit below what the server really holds — thousands of open
// watches hold a few hundred MiB of goroutine stacks and connection buffers
// — makes the collector run without pause (measured: half of the server's
// CPU with 5,000 watchers under an 80 MiB limit). So the limit follows what
// the server holds: the runtime's memory outside the heap (stacks, runtime
// metadata) plus twice the heap that survived the last collection, and
// never less than the floor.

// memoryFloor is the lowest soft limit; the server needs ~40 MiB with
// thousands of jobs.
const memoryFloor = 80 << 20

// memoryLimitFor is the soft limit for a live heap and the runtime's
// memory outside the heap.
func memoryLimitFor(live, nonHeap uint64) int64 {
	return max(int64(memoryFloor), int64(nonHeap)+2*int64(live))
}

var memorySamples = []string{
	"/gc/heap/live:bytes",
	"/memory/classes/total:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/released:bytes",
}

// adaptMemoryLimit sets the soft limit now and then every interval.
func adaptMemoryLimit(interval time.Duration) {
	samples := make([]metrics.Sample, len(memorySamples))
	for i, n := range memorySamples {
		samples[i].Name = n
	}
	set := func() {
		metrics.Read(samples)
		v := make([]uint64, len(samples))
		for i, s := range samples {
			if s.Value.Kind() != metrics.KindUint64 {
				return
			}
			v[i] = s.Value.Uint64()
		}
		heap := v[2] + v[3] + v[4] + v[5]
		debug.SetMemoryLimit(memoryLimitFor(v[0], v[1]-min(heap, v[1])))
	}
	debug.SetMemoryLimit(memoryFloor)
	go func() {
		for range time.Tick(interval) {
			set()
		}
	}()
}
