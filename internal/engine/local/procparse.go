package local

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Parsers for what macOS reports about processes. They are plain functions
// of bytes so they are tested on every platform; proc_darwin.go feeds them.

// parseProcArgs2 returns the environment (NUL-separated, as /proc/PID/environ
// has it) from a kern.procargs2 sysctl buffer: a native-endian int32 argc,
// the executable path, NUL padding, argc arguments, then the environment
// strings, each NUL-terminated, up to an empty string.
func parseProcArgs2(buf []byte) ([]byte, error) {
	if len(buf) < 4 {
		return nil, errors.New("procargs2: too short")
	}
	argc := int(int32(binary.NativeEndian.Uint32(buf)))
	if argc < 0 {
		return nil, errors.New("procargs2: negative argc")
	}
	rest := buf[4:]
	// The executable path, then padding NULs.
	i := bytes.IndexByte(rest, 0)
	if i < 0 {
		return nil, errors.New("procargs2: no executable path")
	}
	rest = rest[i:]
	for len(rest) > 0 && rest[0] == 0 {
		rest = rest[1:]
	}
	for range argc {
		i := bytes.IndexByte(rest, 0)
		if i < 0 {
			return nil, errors.New("procargs2: truncated arguments")
		}
		rest = rest[i+1:]
	}
	var env bytes.Buffer
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, 0)
		if i <= 0 {
			break // the empty string (or the end) closes the environment
		}
		env.Write(rest[:i])
		env.WriteByte(0)
		rest = rest[i+1:]
	}
	return env.Bytes(), nil
}

// parsePS reads `ps -A -o pid=,ppid=,stat=,time=,rss=` output: CPU time as
// [[dd-]hh:]mm:ss[.cc] and the resident set in KiB.
func parsePS(out []byte) []procInfo {
	var procs []procInfo
	for line := range strings.SplitSeq(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		pid, err1 := strconv.Atoi(f[0])
		ppid, err2 := strconv.Atoi(f[1])
		cpu, err3 := parsePSTime(f[3])
		kib, err4 := strconv.ParseUint(f[4], 10, 64)
		if errors.Join(err1, err2, err3, err4) != nil {
			continue
		}
		procs = append(procs, procInfo{pid: pid, ppid: ppid, state: f[2][0], cpu: cpu, rss: kib << 10})
	}
	return procs
}

// parsePSTime parses ps's cumulative CPU time: "0:01.23", "12:34.56",
// "1:02:03", "2-01:02:03".
func parsePSTime(s string) (time.Duration, error) {
	var days int
	if d, rest, ok := strings.Cut(s, "-"); ok {
		n, err := strconv.Atoi(d)
		if err != nil {
			return 0, err
		}
		days, s = n, rest
	}
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, errors.New("ps time: want [[dd-]hh:]mm:ss")
	}
	secs, err := strconv.ParseFloat(parts[len(parts)-1], 64)
	if err != nil {
		return 0, err
	}
	total := time.Duration(secs * float64(time.Second))
	mult := time.Minute
	for i := len(parts) - 2; i >= 0; i-- {
		n, err := strconv.Atoi(parts[i])
		if err != nil {
			return 0, err
		}
		total += time.Duration(n) * mult
		mult = time.Hour
	}
	return total + time.Duration(days)*24*time.Hour, nil
}
