package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// State is what .cluster/state.json records about a running harness.
type State struct {
	// Ports are the loopback ports of the components.
	Ports Ports `json:"ports"`
	// Processes maps component name to the process running it.
	Processes map[string]*Process `json:"processes"`
	// StartedAt is when the control plane was first started.
	StartedAt time.Time `json:"startedAt"`
	// GangScheduling is the MPI operator's gang-scheduling mode (see
	// Options.GangScheduling); empty means none.
	GangScheduling string `json:"gangScheduling,omitempty"`
}

func (st *State) gangScheduling() string {
	if st.GangScheduling == "" {
		return GangSchedulingNone
	}
	return st.GangScheduling
}

// newState picks free ports for a cold start.
func newState(gangScheduling string) (*State, error) {
	ports, err := freePorts(18)
	if err != nil {
		return nil, err
	}
	return &State{
		Ports: Ports{
			Etcd: ports[0], EtcdPeer: ports[1], APIServer: ports[2], ControllerManager: ports[3],
			Scheduler: ports[4], Kwok: ports[5], OperatorHealth: ports[6],
			KueueHealth: ports[7], KueueWebhook: ports[8], KueueVisibility: ports[9],
			JobSetHealth: ports[10], JobSetWebhook: ports[11], TrainerHealth: ports[12], TrainerWebhook: ports[13],
			Coscheduler: ports[14], PodGroupControllerHealth: ports[15], MetricsServer: ports[16], Webhook: ports[17],
		},
		Processes:      map[string]*Process{},
		StartedAt:      time.Now().UTC(),
		GangScheduling: gangScheduling,
	}, nil
}

// Ports of the harness's components, all on 127.0.0.1.
type Ports struct {
	Etcd              int `json:"etcd"`
	EtcdPeer          int `json:"etcdPeer"`
	APIServer         int `json:"apiServer"`
	ControllerManager int `json:"controllerManager"`
	Scheduler         int `json:"scheduler"`
	Kwok              int `json:"kwok"`
	OperatorHealth    int `json:"operatorHealth"`
	KueueHealth       int `json:"kueueHealth"`
	KueueWebhook      int `json:"kueueWebhook"`
	KueueVisibility   int `json:"kueueVisibility"`
	JobSetHealth      int `json:"jobSetHealth"`
	JobSetWebhook     int `json:"jobSetWebhook"`
	TrainerHealth     int `json:"trainerHealth"`
	TrainerWebhook    int `json:"trainerWebhook"`
	// Coscheduler is the scheduler-plugins scheduler's secure port
	// (health); PodGroupControllerHealth its controller's health port.
	Coscheduler              int `json:"coscheduler"`
	PodGroupControllerHealth int `json:"podGroupControllerHealth"`
	MetricsServer            int `json:"metricsServer"`
	// Webhook is odh-webhook's port.
	Webhook int `json:"webhook"`
}

// Process is one started component.
type Process struct {
	PID     int       `json:"pid"`
	Binary  string    `json:"binary"`
	Args    []string  `json:"args"`
	Log     string    `json:"log"`
	Started time.Time `json:"started"`
}

func loadState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if st.Processes == nil {
		st.Processes = map[string]*Process{}
	}
	return &st, nil
}

func saveState(path string, st *State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// freePorts returns n distinct free loopback ports. They are only probably
// free by the time a component binds them; a component that fails to bind
// reports it in its log.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// running is a component process this program started.
type running struct {
	proc *Process
	done chan struct{}
	err  error // valid after done is closed
}

var (
	startedMu sync.Mutex
	// started tracks processes started by this program so their exit status
	// can be reported (and they are reaped, not left as zombies).
	started = map[int]*running{}
)

// startProcess starts binary detached from this program (own session and
// process group, stdin from /dev/null, output appended to logFile), so it
// keeps running after this program exits.
func startProcess(name, binary string, args, env []string, logFile string) (*running, error) {
	if err := os.MkdirAll(filepath.Dir(logFile), 0o755); err != nil {
		return nil, err
	}
	lf, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log of %s: %w", name, err)
	}
	defer lf.Close()
	fmt.Fprintf(lf, "\n==== odh-cluster: starting %s at %s\n==== %s %s\n", name, time.Now().Format(time.RFC3339), binary, strings.Join(args, " "))
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = lf
	cmd.Stderr = lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	r := &running{
		proc: &Process{PID: cmd.Process.Pid, Binary: binary, Args: args, Log: logFile, Started: time.Now()},
		done: make(chan struct{}),
	}
	startedMu.Lock()
	started[r.proc.PID] = r
	startedMu.Unlock()
	go func() {
		r.err = cmd.Wait()
		if r.err == nil {
			r.err = errors.New("exited with status 0")
		}
		close(r.done)
	}()
	return r, nil
}

// processAlive reports whether p still runs the binary it was started with
// (so a recycled pid is not mistaken for it).
func processAlive(p *Process) bool {
	if p == nil || p.PID <= 0 {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID))
	if err != nil {
		return false
	}
	// Fields after the parenthesised command: state is the first one.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && (stat[i+2] == 'Z' || stat[i+2] == 'X') {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.PID))
	if err != nil {
		return false
	}
	argv0, _, _ := bytes.Cut(cmdline, []byte{0})
	return string(argv0) == p.Binary
}

// restartLoop runs binary with args in a /bin/sh loop that starts it again
// a second after it exits, saying so in the log.
func restartLoop(binary string, args ...string) (string, []string) {
	script := `while :; do "$0" "$@"; echo "odh-cluster: ` + filepath.Base(binary) + ` exited with status $?; restarting in 1s"; sleep 1; done`
	return loopShell, append([]string{"-c", script, binary}, args...)
}

// loopShell runs restart loops.
const loopShell = "/bin/sh"

// loopedBinary returns the binary a restart loop runs.
func loopedBinary(p *Process) (string, bool) {
	if p.Binary != loopShell || len(p.Args) < 3 || p.Args[0] != "-c" {
		return "", false
	}
	return p.Args[2], true
}

// stopProcess sends SIGTERM to the process group of p, waits up to grace for
// the whole group to end (a restart loop's child may outlive the shell and
// hold its ports), then sends SIGKILL.
func stopProcess(p *Process, grace time.Duration) error {
	if !processAlive(p) {
		return nil
	}
	// Setsid made the process the leader of its own group: signal the group.
	if err := syscall.Kill(-p.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop pid %d: %w", p.PID, err)
	}
	gone := func() bool {
		// The group is gone when no member is left to signal; a leader
		// that is a zombie of someone else's counts as gone.
		return !processAlive(p) && errors.Is(syscall.Kill(-p.PID, 0), syscall.ESRCH)
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if gone() {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(-p.PID, syscall.SIGKILL)
	for range 50 {
		if gone() {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("process group %d (%s) did not exit after SIGKILL", p.PID, filepath.Base(p.Binary))
}

// waitHealthy polls check until it succeeds, the process exits, or timeout.
func waitHealthy(ctx context.Context, name string, r *running, timeout time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
		last = check(cctx)
		ccancel()
		if last == nil {
			return nil
		}
		var done <-chan struct{}
		if r != nil {
			done = r.done
		}
		select {
		case <-done:
			return componentError(name, r.proc.Log, fmt.Errorf("exited: %w", r.err))
		case <-ctx.Done():
			if r != nil && !processAlive(r.proc) {
				return componentError(name, r.proc.Log, errors.New("exited"))
			}
			return componentError(name, logOf(r), fmt.Errorf("not healthy after %s: %w", timeout, last))
		case <-tick.C:
		}
	}
}

func logOf(r *running) string {
	if r == nil {
		return ""
	}
	return r.proc.Log
}

// componentError points at the component's log and quotes its last lines.
func componentError(name, logFile string, err error) error {
	if logFile == "" {
		return fmt.Errorf("%s: %w", name, err)
	}
	return fmt.Errorf("%s: %w\n  log: %s\n  last lines:\n%s", name, err, logFile, indent(tailFile(logFile, 20), "    "))
}

func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	defer f.Close()
	const max = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > max {
		_, _ = f.Seek(st.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n")
}

func itoa(i int) string { return strconv.Itoa(i) }

// lockFile takes an exclusive flock on path, so concurrent `up`/`down` calls
// (e.g. several test packages calling Ensure at once) take turns.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
