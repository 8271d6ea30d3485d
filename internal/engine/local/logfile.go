package local

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

// Log files use the Kubernetes CRI logging format, one record a line:
//
//	2025-01-02T15:04:05.123456789Z stdout F hello from rank 1
//
// a fixed-width UTC timestamp, the stream, F for a full line or P for a
// part of a line longer than maxLineChunk (the parts are joined when read),
// and the text. The file name says the source: launcher.log or
// rank-<r>.log.
const (
	tsLayout     = "2006-01-02T15:04:05.000000000Z"
	maxLineChunk = 16 << 10
)

// logWriter appends records to one log file. Every record is one write
// call, so readers never see half a record except while it is being
// written.
type logWriter struct {
	mu     sync.Mutex
	f      *os.File
	buf    []byte
	notify func() // called after each write, for in-process followers
}

func openLogWriter(path string) (*logWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &logWriter{f: f}, nil
}

func (w *logWriter) write(stream string, partial bool, text []byte) {
	w.mu.Lock()
	b := time.Now().UTC().AppendFormat(w.buf[:0], tsLayout)
	b = append(b, ' ')
	b = append(b, stream...)
	if partial {
		b = append(b, " P "...)
	} else {
		b = append(b, " F "...)
	}
	b = append(b, text...)
	b = append(b, '\n')
	_, _ = w.f.Write(b)
	if cap(b) <= 64<<10 {
		w.buf = b
	}
	n := w.notify
	w.mu.Unlock()
	if n != nil {
		n()
	}
}

func (w *logWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.f.Close()
}

// lineReader splits a stream into lines; lines longer than maxLineChunk
// come in parts.
type lineReader struct{ br *bufio.Reader }

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, maxLineChunk)}
}

// next returns the next line without its end of line; partial is true for
// a part of a longer line. At the end it returns the last unterminated
// line, if any, with the error.
func (l *lineReader) next() (line []byte, partial bool, err error) {
	line, err = l.br.ReadSlice('\n')
	switch {
	case err == nil:
		return trimEOL(line), false, nil
	case errors.Is(err, bufio.ErrBufferFull):
		return line, true, nil
	}
	return line, false, err
}

// copyLines reads r until EOF and writes each line as a record. tap, when
// set, sees every whole line (progress reports); the parts of a long line
// are not whole lines.
func copyLines(r io.Reader, w *logWriter, stream string, tap func([]byte)) {
	lr := newLineReader(r)
	inLong := false
	for {
		line, partial, err := lr.next()
		if err != nil {
			if len(line) > 0 {
				w.write(stream, false, line)
				if tap != nil && !inLong {
					tap(line)
				}
			}
			return
		}
		w.write(stream, partial, line)
		if tap != nil && !partial && !inLong {
			tap(line)
		}
		inLong = partial
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}

// logRecord is one parsed (and joined) log line.
type logRecord struct {
	t      time.Time
	stream string
	text   string
}

// parseRecord parses one line without its newline.
func parseRecord(line []byte) (t time.Time, stream string, partial bool, text []byte, ok bool) {
	if len(line) < len(tsLayout)+4 {
		return t, "", false, nil, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(line[:len(tsLayout)]))
	if err != nil {
		return t, "", false, nil, false
	}
	rest := line[len(tsLayout)+1:]
	sp := bytes.IndexByte(rest, ' ')
	if sp < 0 || len(rest) < sp+3 {
		return t, "", false, nil, false
	}
	stream = string(rest[:sp])
	partial = rest[sp+1] == 'P'
	return t, stream, partial, rest[sp+3:], true
}

// logCursor reads a log file incrementally, joining partial lines.
type logCursor struct {
	path    string
	off     int64
	pending []byte // text of P records not yet closed by an F record
	pendT   time.Time
}

// next reads the complete records appended since the last call. A record
// still being written (no newline yet) is left for the next call.
func (c *logCursor) next(since time.Time, limit int) ([]logRecord, error) {
	f, err := os.Open(c.path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(c.off, io.SeekStart); err != nil {
		return nil, err
	}
	var out []logRecord
	br := bufio.NewReaderSize(f, 64<<10)
	for limit <= 0 || len(out) < limit {
		line, err := br.ReadBytes('\n')
		if err != nil {
			break // EOF or a record still being written
		}
		c.off += int64(len(line))
		t, stream, partial, text, ok := parseRecord(line[:len(line)-1])
		if !ok {
			continue
		}
		if partial {
			if c.pending == nil {
				c.pendT = t
			}
			c.pending = append(c.pending, text...)
			continue
		}
		if c.pending != nil {
			text = append(c.pending, text...)
			t = c.pendT
			c.pending = nil
		}
		if !since.IsZero() && t.Before(since) {
			continue
		}
		out = append(out, logRecord{t: t, stream: stream, text: string(text)})
	}
	return out, nil
}

// tailOffset returns the offset of the n-th last full record of the file,
// reading backwards in growing chunks so a tail of a large file stays cheap.
func tailOffset(path string, n int) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, nil
		}
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	if n <= 0 {
		return size, nil
	}
	for chunk := int64(64 << 10); ; chunk *= 4 {
		start := max(size-chunk, 0)
		buf := make([]byte, size-start)
		if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		// Line starts within buf: after each '\n', and at 0 when start is 0.
		var starts []int64
		if start == 0 {
			starts = append(starts, 0)
		}
		for i, c := range buf {
			if c == '\n' && int64(i)+1 < int64(len(buf)) {
				starts = append(starts, start+int64(i)+1)
			}
		}
		// Walk back over full records only; P records belong to the F
		// record after them.
		count := 0
		for i := len(starts) - 1; i >= 0; i-- {
			rel := starts[i] - start
			end := int64(len(buf))
			if i+1 < len(starts) {
				end = starts[i+1] - start
			}
			_, _, partial, _, ok := parseRecord(trimEOL(buf[rel:end]))
			if !ok || partial {
				continue
			}
			count++
			if count == n {
				// Include the P records that precede this F record.
				j := i
				for j > 0 {
					prel := starts[j-1] - start
					_, _, p, _, ok := parseRecord(trimEOL(buf[prel : starts[j]-start]))
					if !ok || !p {
						break
					}
					j--
				}
				if j == 0 && start > 0 {
					break // the run of P records may continue before the chunk
				}
				return starts[j], nil
			}
		}
		if start == 0 {
			return 0, nil
		}
	}
}
