package odhserver

import (
	"runtime/debug"
	"testing"
	"time"
)

func TestMemoryLimitFollowsTheLiveHeap(t *testing.T) {
	for _, tc := range []struct {
		live uint64
		want int64
	}{
		{0, memoryFloor},
		{30 << 20, memoryFloor},
		{40 << 20, memoryFloor},
		{41 << 20, 82 << 20},
		{200 << 20, 400 << 20},
	} {
		if got := memoryLimitFor(tc.live); got != tc.want {
			t.Errorf("live %d MiB: limit %d MiB, want %d MiB", tc.live>>20, got>>20, tc.want>>20)
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
