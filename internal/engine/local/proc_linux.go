package local

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// On Linux, processes are read from /proc: cheap enough to list every 50 ms
// while a job is being stopped, and complete (CPU time, memory,
// environment) for the metrics sampler.

// procSource names where metrics come from, for users.
const procSource = "local engine: /proc sampling of the job's processes"

// clockTick is one USER_HZ tick (100 per second on every Linux Go supports).
const clockTick = 10 * time.Millisecond

var pageSize = uint64(os.Getpagesize())

// listProcs reads every process's pid, parent, state, CPU time and
// resident memory from /proc.
func listProcs() []procInfo {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	out := make([]procInfo, 0, len(names))
	buf := make([]byte, 512)
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		p, ok := readStat(pid, buf)
		if ok {
			out = append(out, p)
		}
	}
	return out
}

// sampleProcs lists processes with their CPU time and memory (the metrics
// sampler's view): on Linux, the same as listProcs.
func sampleProcs() []procInfo { return listProcs() }

func readStat(pid int, buf []byte) (procInfo, bool) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procInfo{}, false
	}
	n, _ := f.Read(buf)
	f.Close()
	b := buf[:n]
	// The command name is in parentheses and may contain anything, so
	// parse from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+4 >= len(b) {
		return procInfo{}, false
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 2 {
		return procInfo{}, false
	}
	ppid, _ := strconv.Atoi(fields[1])
	p := procInfo{pid: pid, ppid: ppid, state: fields[0][0]}
	// After the command: state(0) ppid(1) … utime(11) stime(12) … rss(21).
	if len(fields) > 21 {
		ut, _ := strconv.ParseUint(fields[11], 10, 64)
		st, _ := strconv.ParseUint(fields[12], 10, 64)
		p.cpu = time.Duration(ut+st) * clockTick
		pages, _ := strconv.ParseUint(fields[21], 10, 64)
		p.rss = pages * pageSize
	}
	return p, true
}

// procEnviron returns a process's environment, NUL-separated (empty for a
// zombie; an error for a process of another user).
func procEnviron(pid int) ([]byte, error) {
	return os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
}

// fdDir lists this process's open descriptors.
const fdDir = "/proc/self/fd"

// childSysProcAttr starts a child that the kernel kills when the thread
// that started it exits (so nothing outlives a crashed parent), in its own
// process group when setpgid is set.
func childSysProcAttr(setpgid bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: setpgid, Pdeathsig: syscall.SIGKILL}
}

const (
	prSetPdeathsig      = 1
	prSetChildSubreaper = 36
)

func prctl(option, arg uintptr) {
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, option, arg, 0)
}

// bindToParent makes the rank wrapper follow its launcher: it gets SIGTERM
// when the launcher dies, and orphaned descendants of the program are
// reparented to it (so it can reap them and kill what is left when the
// program ends). Pdeathsig is tied to the thread that forks: the caller
// keeps its goroutine on one thread.
func bindToParent() {
	prctl(prSetPdeathsig, uintptr(syscall.SIGTERM))
	prctl(prSetChildSubreaper, 1)
}
