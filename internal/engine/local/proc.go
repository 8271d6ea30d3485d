package local

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Environment markers every process of a job carries. They let the engine
// find processes that escaped the launcher's process tree (MPI launchers
// put each rank in its own process group or session, so a group signal to
// mpirun never reaches them) and processes left behind by a previous server
// instance.
const (
	// EnvJobUID holds the UID of the job a process belongs to.
	EnvJobUID = "ODH_JOB_UID"
	// EnvStateMarker identifies the engine instance's state directory.
	EnvStateMarker = "ODH_LOCAL_STATE"
	// envNotify carries the address and token for rank status datagrams;
	// the rank wrapper removes it before running the user's program.
	envNotify = "ODH_RANK_NOTIFY"
)

type procInfo struct {
	pid, ppid int
	state     byte
	cpuTicks  uint64 // utime + stime, in clock ticks
	rssPages  uint64 // resident set, in pages
}

// listProcs reads every process's pid, parent and state from /proc.
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
		p.cpuTicks = ut + st
		p.rssPages, _ = strconv.ParseUint(fields[21], 10, 64)
	}
	return p, true
}

// descendants returns every live (non-zombie) descendant of root.
func descendants(procs []procInfo, root int) []int {
	children := map[int][]int{}
	alive := map[int]bool{}
	for _, p := range procs {
		children[p.ppid] = append(children[p.ppid], p.pid)
		alive[p.pid] = p.state != 'Z'
	}
	var out []int
	stack := []int{root}
	seen := map[int]bool{root: true}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range children[p] {
			if seen[c] {
				continue
			}
			seen[c] = true
			if alive[c] {
				out = append(out, c)
			}
			stack = append(stack, c)
		}
	}
	return out
}

// markedProcs returns the live processes whose environment contains
// key=value. Zombies have an empty environ and are skipped: they hold no
// resources and vanish when reaped.
func markedProcs(procs []procInfo, key, value string) []int {
	needle := []byte(key + "=" + value + "\x00")
	self := os.Getpid()
	var out []int
	for _, p := range procs {
		if p.state == 'Z' || p.pid == self {
			continue
		}
		env, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/environ")
		if err != nil || len(env) == 0 {
			continue
		}
		if bytes.HasPrefix(env, needle) || bytes.Contains(env, append([]byte{0}, needle...)) {
			out = append(out, p.pid)
		}
	}
	return out
}

// MarkedProcesses lists the live processes carrying the marker
// key=value in their environment. Tests use it to prove nothing of a job
// survives.
func MarkedProcesses(key, value string) []int { return markedProcs(listProcs(), key, value) }

func signalPIDs(pids []int, sig syscall.Signal) {
	for _, p := range pids {
		_ = syscall.Kill(p, sig)
	}
}

// killTree stops every process of the run: the launcher's process group
// and descendants while it lives, and every process carrying the job's
// marker. SIGTERM first, SIGKILL after the grace period; it returns when
// the launcher has exited and no marked process is left.
func (e *Engine) killTree(r *run) {
	deadline := time.Now().Add(e.grace)
	e.mu.Lock()
	pid := r.pid
	e.mu.Unlock()
	for {
		exited := false
		select {
		case <-r.exited:
			exited = true
		default:
		}
		procs := listProcs()
		pids := markedProcs(procs, EnvJobUID, r.uid)
		sig := syscall.SIGTERM
		if time.Now().After(deadline) {
			sig = syscall.SIGKILL
		}
		if !exited && pid > 0 {
			// Only while the launcher is unreaped are its pid and group
			// surely still ours.
			pids = append(pids, descendants(procs, pid)...)
			_ = syscall.Kill(-pid, sig)
			_ = syscall.Kill(pid, sig)
		}
		if exited && len(pids) == 0 {
			return
		}
		signalPIDs(pids, sig)
		select {
		case <-r.exited:
			if !exited {
				continue
			}
			time.Sleep(20 * time.Millisecond)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// killMarked kills every process whose environment has key=value: SIGTERM,
// then SIGKILL after the grace period, until none is left. It returns how
// many processes it found.
func (e *Engine) killMarked(k, value string) int {
	deadline := time.Now().Add(e.grace)
	seen := map[int]bool{}
	for {
		pids := markedProcs(listProcs(), k, value)
		if len(pids) == 0 {
			return len(seen)
		}
		for _, p := range pids {
			seen[p] = true
		}
		sig := syscall.SIGTERM
		if time.Now().After(deadline) {
			sig = syscall.SIGKILL
		}
		signalPIDs(pids, sig)
		time.Sleep(20 * time.Millisecond)
	}
}
