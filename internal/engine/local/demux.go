package local

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// demuxer splits tagged launcher output into per-rank log files when the
// ranks are not wrapped.
type demuxer struct {
	dir     string
	fl      flavour
	mu      sync.Mutex
	writers map[int]*logWriter
	notify  func()
	// tap sees the whole stdout lines of the ranks (progress reports).
	tap *progressTap
}

// flushProgress sends a progress report still held back.
func (d *demuxer) flushProgress() {
	if d.tap != nil {
		d.tap.flush()
	}
}

func (d *demuxer) copy(r io.Reader, launcher *logWriter, stream string) {
	lr := newLineReader(r)
	for {
		line, partial, err := lr.next()
		if len(line) > 0 || err == nil {
			if rank, s, text, ok := untag(d.fl, stream, string(line)); ok {
				d.writer(rank).write(s, partial, []byte(text))
				if d.tap != nil && !partial && s == "stdout" {
					d.tap.line([]byte(text))
				}
			} else {
				launcher.write(stream, partial, line)
			}
		}
		if err != nil {
			return
		}
	}
}

func (d *demuxer) writer(rank int) *logWriter {
	d.mu.Lock()
	defer d.mu.Unlock()
	if w, ok := d.writers[rank]; ok {
		return w
	}
	w, err := openLogWriter(filepath.Join(d.dir, "rank-"+strconv.Itoa(rank)+".log"))
	if err != nil {
		w = &logWriter{f: os.NewFile(^uintptr(0), "discard")}
	}
	w.notify = d.notify
	d.writers[rank] = w
	return w
}

func (d *demuxer) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, w := range d.writers {
		w.Close()
	}
}
