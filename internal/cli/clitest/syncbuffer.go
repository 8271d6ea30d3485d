package clitest

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// SyncBuffer is a bytes.Buffer safe for a command writing while the test
// reads (a --watch running in a goroutine).
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Poll is how long tests sleep between looks at a SyncBuffer.
const Poll = 25 * time.Millisecond

// WaitFor polls b until it holds n copies of s, or fails the test after
// 30 seconds.
func WaitFor(t *testing.T, b *SyncBuffer, s string, n int) {
	t.Helper()
	for i := 0; strings.Count(b.String(), s) < n; i++ {
		if i > int(30*time.Second/Poll) {
			t.Fatalf("never printed %q %d times:\n%s", s, n, b)
		}
		time.Sleep(Poll)
	}
}
