package local

import (
	"bytes"
	"os"
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

// procInfo is one process as the engine sees it: its place in the tree,
// whether it is a zombie, and (when the platform's listing has them) the
// CPU time and resident memory it used.
type procInfo struct {
	pid, ppid int
	state     byte          // 'Z' for a zombie
	cpu       time.Duration // user + system CPU time so far
	rss       uint64        // resident set, in bytes
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
		env, err := procEnviron(p.pid)
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
