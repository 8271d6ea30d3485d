package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/odh-training/odh-training/internal/progress"
)

// RankExecArg is the first argument that turns the server binary into the
// rank wrapper. The engine launches
//
//	mpirun -np N <server binary> __odh-rank-exec --dir <attempt dir> -- <program...>
//
// so every MPI rank is a wrapper that runs the user's program, captures its
// stdout and stderr line by line into rank-<r>.log, and records its exit
// code and time in rank-<r>.json.
const RankExecArg = "__odh-rank-exec"

// MaybeRankExec runs the rank wrapper and exits when os.Args[1] is
// RankExecArg; otherwise it returns at once. Every binary that embeds the
// local engine (odh-server, odh in direct mode, this package's test binary)
// must call it first thing in main (or TestMain), before flags are parsed or
// any goroutine is started.
func MaybeRankExec() {
	if len(os.Args) < 2 || os.Args[1] != RankExecArg {
		return
	}
	os.Exit(rankExec(os.Args[2:]))
}

// rankStatus is what the wrapper records for one rank, in rank-<r>.json and
// in the datagram it sends the engine.
type rankStatus struct {
	UID      string    `json:"uid,omitempty"`
	Attempt  int32     `json:"attempt,omitempty"`
	Token    string    `json:"token,omitempty"`
	Rank     int32     `json:"rank"`
	PID      int       `json:"pid,omitempty"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	Exited   bool      `json:"exited,omitempty"`
	ExitCode int32     `json:"exitCode"`
	Signal   string    `json:"signal,omitempty"`
	// Error is a reason (ExecutableNotFound, StartFailed) when the program
	// could not be started; Message explains it.
	Error   string `json:"error,omitempty"`
	Message string `json:"message,omitempty"`
	// Progress, when set, makes the datagram a progress report of the
	// rank's program (the other status fields are not set).
	Progress *progress.Report `json:"progress,omitempty"`
}

// Failed reports whether the rank ended badly.
func (s *rankStatus) Failed() bool { return s.Exited && (s.ExitCode != 0 || s.Error != "") }

const (
	rankErrNotFound    = "ExecutableNotFound"
	rankErrStartFailed = "StartFailed"
)

func rankFromEnv() int32 {
	for _, k := range []string{"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "PALS_RANKID", "SLURM_PROCID", "MPI_LOCALRANKID"} {
		if v, ok := os.LookupEnv(k); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				return int32(n)
			}
		}
	}
	return -1
}

// inheritedFDs returns the descriptors above stderr that the wrapper got
// from its parent: MPI launchers pass some to their ranks (Hydra's PMI_FD,
// for one), and the program must get them at the same numbers. Every
// descriptor Go opens is close-on-exec, so an inherited one is one
// without the flag.
func inheritedFDs() []int {
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		return nil
	}
	var fds []int
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd <= 2 {
			continue
		}
		flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFD, 0)
		if errno != 0 || flags&syscall.FD_CLOEXEC != 0 {
			continue
		}
		fds = append(fds, fd)
	}
	return fds
}

func rankExec(args []string) int {
	// Pdeathsig is tied to the thread that forks: keep this goroutine on
	// one thread for the wrapper's whole life.
	runtime.LockOSThread()
	inherited := inheritedFDs()
	// If the launcher dies, stop too (and take the program down with us).
	bindToParent()

	var dir string
	i := 0
	for ; i < len(args); i++ {
		switch args[i] {
		case "--dir":
			if i+1 < len(args) {
				dir = args[i+1]
				i++
			}
			continue
		case "--":
			i++
		default:
			fmt.Fprintf(os.Stderr, "odh rank wrapper: unexpected argument %q\n", args[i])
			return 2
		}
		break
	}
	prog := args[min(i, len(args)):]
	if dir == "" || len(prog) == 0 {
		fmt.Fprintln(os.Stderr, "odh rank wrapper: usage: "+RankExecArg+" --dir DIR -- PROGRAM [ARGS...]")
		return 2
	}

	notify := os.Getenv(envNotify)
	os.Unsetenv(envNotify)
	st := rankStatus{Rank: rankFromEnv(), PID: os.Getpid(), Started: time.Now().UTC()}
	st.UID = os.Getenv(EnvJobUID)
	if a, err := strconv.Atoi(filepath.Base(dir)); err == nil {
		st.Attempt = int32(a)
	}
	name := "rank-" + strconv.Itoa(int(st.Rank))
	if st.Rank < 0 {
		name = "rank-unknown-" + strconv.Itoa(os.Getpid())
	}
	statusPath := filepath.Join(dir, name+".json")
	report := func() {
		b, _ := json.Marshal(&st)
		_ = writeFileAtomic(statusPath, b, false)
		sendNotify(notify, st)
	}
	lw, err := openLogWriter(filepath.Join(dir, name+".log"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "odh rank wrapper: %v\n", err)
		return 1
	}
	defer lw.Close()
	report()

	finish := func(code int32, reason, msg string) int {
		st.Exited, st.ExitCode, st.Finished, st.Error, st.Message = true, code, time.Now().UTC(), reason, msg
		if msg != "" {
			lw.write("stderr", false, []byte("odh: "+msg))
		}
		report()
		return int(code)
	}

	path, err := exec.LookPath(prog[0])
	if err != nil && !errors.Is(err, exec.ErrDot) {
		switch {
		case errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist):
			where := "PATH=" + os.Getenv("PATH")
			if strings.Contains(prog[0], "/") {
				wd, _ := os.Getwd()
				where = "working directory " + wd
			}
			return finish(127, rankErrNotFound, fmt.Sprintf("executable %q not found (looked in %s)", prog[0], where))
		default:
			return finish(126, rankErrStartFailed, fmt.Sprintf("cannot run %q: %v", prog[0], err))
		}
	}
	if errors.Is(err, exec.ErrDot) {
		path, _ = filepath.Abs(path)
	}

	outR, outW, err := os.Pipe()
	if err != nil {
		return finish(1, rankErrStartFailed, fmt.Sprintf("cannot run %q: %v", prog[0], err))
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return finish(1, rankErrStartFailed, fmt.Sprintf("cannot run %q: %v", prog[0], err))
	}
	files := []*os.File{os.Stdin, outW, errW}
	for _, fd := range inherited {
		for len(files) <= fd {
			files = append(files, nil)
		}
		files[fd] = os.NewFile(uintptr(fd), "inherited-"+strconv.Itoa(fd))
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGCONT)
	proc, err := os.StartProcess(path, prog, &os.ProcAttr{
		Env:   os.Environ(),
		Files: files,
		Sys:   childSysProcAttr(false),
	})
	outW.Close()
	errW.Close()
	if err != nil {
		reason := rankErrStartFailed
		if errors.Is(err, fs.ErrNotExist) {
			reason = rankErrNotFound
		}
		return finish(127, reason, fmt.Sprintf("cannot run %q: %v", prog[0], err))
	}
	st.PID = proc.Pid
	report()

	copied := make(chan struct{}, 2)
	tap := newProgressTap(progressInterval, func(r progress.Report) {
		sendNotify(notify, rankStatus{UID: st.UID, Attempt: st.Attempt, Rank: st.Rank, Progress: &r})
	})
	go func() { copyLines(outR, lw, "stdout", tap.line); copied <- struct{}{} }()
	go func() { copyLines(errR, lw, "stderr", nil); copied <- struct{}{} }()

	// Reap every child (the program and orphans reparented to us); report
	// the program's status as soon as it ends.
	mainDone := make(chan syscall.WaitStatus, 1)
	allDone := make(chan struct{})
	go func() {
		defer close(allDone)
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, 0, nil)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if err != nil {
				return // ECHILD: nothing left to reap
			}
			if pid == proc.Pid {
				mainDone <- ws
			}
		}
	}()
	var ws syscall.WaitStatus
	forwarding := true
	for forwarding {
		select {
		case s := <-sigs:
			_ = proc.Signal(s)
		case ws = <-mainDone:
			forwarding = false
		}
	}
	signal.Stop(sigs)

	// Whatever the program left running dies with it.
	killLeftovers(allDone)
	for range 2 {
		select {
		case <-copied:
		case <-time.After(2 * time.Second):
		}
	}
	tap.flush()
	code := int32(ws.ExitStatus())
	if ws.Signaled() {
		code = 128 + int32(ws.Signal())
		st.Signal = signalName(ws.Signal())
	}
	return finish(code, "", "")
}

// killLeftovers stops the wrapper's remaining descendants: SIGTERM, then
// SIGKILL after a second.
func killLeftovers(allDone <-chan struct{}) {
	self := os.Getpid()
	deadline := time.Now().Add(time.Second)
	for {
		left := descendants(listProcs(), self)
		if len(left) == 0 {
			return
		}
		sig := syscall.SIGTERM
		if time.Now().After(deadline) {
			sig = syscall.SIGKILL
		}
		signalPIDs(left, sig)
		select {
		case <-allDone:
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func signalName(s syscall.Signal) string {
	names := map[syscall.Signal]string{
		syscall.SIGHUP: "SIGHUP", syscall.SIGINT: "SIGINT", syscall.SIGQUIT: "SIGQUIT", syscall.SIGILL: "SIGILL",
		syscall.SIGABRT: "SIGABRT", syscall.SIGBUS: "SIGBUS", syscall.SIGFPE: "SIGFPE", syscall.SIGKILL: "SIGKILL",
		syscall.SIGSEGV: "SIGSEGV", syscall.SIGPIPE: "SIGPIPE", syscall.SIGTERM: "SIGTERM", syscall.SIGUSR1: "SIGUSR1",
		syscall.SIGUSR2: "SIGUSR2", syscall.SIGXCPU: "SIGXCPU",
	}
	if n, ok := names[s]; ok {
		return n
	}
	return "signal " + strconv.Itoa(int(s))
}

// sendNotify sends the status as one datagram to the engine; "addr token".
// A lost datagram costs only latency: the engine reads the status files
// when the launcher exits.
func sendNotify(notify string, st rankStatus) {
	addr, token, ok := strings.Cut(notify, " ")
	if !ok || addr == "" {
		return
	}
	st.Token = token
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return
	}
	defer c.Close()
	b, _ := json.Marshal(&st)
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Write(b)
}
