package local

import (
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// On macOS there is no /proc: the process table comes from the kern.proc.all
// sysctl (pid, parent, state — cheap enough for the kill loop), a process's
// environment from kern.procargs2 (only for processes of the same user,
// which job processes are), and CPU time and memory for the metrics sampler
// from ps(1), the one tool that reports them without cgo.

// procSource names where metrics come from, for users.
const procSource = "local engine: ps sampling of the job's processes (macOS)"

// szomb is a zombie's p_stat on macOS (sys/proc.h).
const szomb = 5

// listProcs reads every process's pid, parent and state from the kernel.
func listProcs() []procInfo {
	kps, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		return nil
	}
	out := make([]procInfo, 0, len(kps))
	for i := range kps {
		p := procInfo{pid: int(kps[i].Proc.P_pid), ppid: int(kps[i].Eproc.Ppid), state: 'R'}
		if kps[i].Proc.P_stat == szomb {
			p.state = 'Z'
		}
		out = append(out, p)
	}
	return out
}

// sampleProcs lists processes with their CPU time and resident memory.
func sampleProcs() []procInfo {
	out, err := exec.Command("/bin/ps", "-A", "-o", "pid=,ppid=,stat=,time=,rss=").Output()
	if err != nil {
		return nil
	}
	return parsePS(out)
}

// procEnviron returns a process's environment, NUL-separated.
func procEnviron(pid int) ([]byte, error) {
	buf, err := unix.SysctlRaw("kern.procargs2", pid)
	if err != nil {
		return nil, err
	}
	return parseProcArgs2(buf)
}

// fdDir lists this process's open descriptors.
const fdDir = "/dev/fd"

// childSysProcAttr starts a child in its own process group when setpgid is
// set. macOS has no parent-death signal: a crashed server's jobs are found
// by their environment marker and stopped when it starts again, and rank
// wrappers watch their launcher (bindToParent).
func childSysProcAttr(setpgid bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: setpgid}
}

// bindToParent makes the rank wrapper follow its launcher: when the
// launcher dies (the wrapper is reparented), the wrapper sends itself
// SIGTERM, which it forwards to the program before exiting.
func bindToParent() {
	parent := os.Getppid()
	go func() {
		for {
			time.Sleep(250 * time.Millisecond)
			if os.Getppid() != parent {
				_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
				return
			}
		}
	}()
}
