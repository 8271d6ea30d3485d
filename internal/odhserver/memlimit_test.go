package odhserver

import (
	"runtime/debug"
	"testing"
	"time"
)

func TestMemoryLimitFollowsTheLiveHeap(t *testing.T) {
	for _, tc := range []struct {
		live, nonHeap uint64
		want          int64
	}{
		{0, 0, memoryFloor},
		{30 << 20, 10 << 20, memoryFloor},
		{35 << 20, 10 << 20, memoryFloor},
		{41 << 20, 0, 82 << 20},
		{132 << 20, 50 << 20, 314 << 20}, // 5,000 watches: stacks outside the heap
	} {
		if got := memoryLimitFor(tc.live, tc.nonHeap); got != tc.want {
			t.Errorf("live %d MiB, %d MiB outside the heap: limit %d MiB, want %d MiB", tc.live>>20, tc.nonHeap>>20, got>>20, tc.want>>20)
		}
	}
}

// The limit rises above the floor once more than half of it is live.
func TestAdaptMemoryLimitRaisesTheLimit(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(old)
	keep := make([][]byte, 0, 64)
	for range 64 {
		keep = append(keep, make([]byte, 2<<20)) // 128 MiB live
	}
	adaptMemoryLimit(10 * time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for debug.SetMemoryLimit(-1) <= memoryFloor {
		if time.Now().After(deadline) {
			t.Fatalf("limit still %d MiB with 128 MiB live", debug.SetMemoryLimit(-1)>>20)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := debug.SetMemoryLimit(-1); got < 256<<20 {
		t.Errorf("limit %d MiB with 128 MiB live, want ≥ 256 MiB", got>>20)
	}
	_ = keep[63][0]
}
