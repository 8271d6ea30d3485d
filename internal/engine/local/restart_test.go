package local

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

const crashHelperEnv = "ODH_LOCAL_TEST_CRASH_HELPER"

// crashHelper runs in a child process: it starts an engine on the given
// state directory with a running and a queued job, says READY, and waits
// to be killed.
func crashHelper() {
	dir := os.Getenv(crashHelperEnv)
	e, err := New(Options{StateDir: dir, Slots: 2, KillGrace: time.Second})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	ctx := context.Background()
	run := newJob("running", 2, 1, job.OpenMPI, "sh", "-c", "echo started $OMPI_COMM_WORLD_RANK; exec sleep 300")
	queued := newJob("queued", 2, 1, job.OpenMPI, "sh", "-c", "echo queued job ran")
	for _, j := range []*job.MPIJob{run, queued} {
		if _, err := e.Create(ctx, j); err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
	}
	for {
		var n int
		_ = e.Logs(ctx, job.DefaultNamespace, "running", engine.LogOptions{All: true}, func(l job.LogLine) error {
			if strings.HasPrefix(l.Text, "started") {
				n++
			}
			return nil
		})
		if n == 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Println("READY")
	select {}
}

func TestRestartRecovery(t *testing.T) {
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "READY" {
		_ = cmd.Process.Kill()
		t.Fatalf("helper: %q %v", line, err)
	}
	// The server dies without any chance to clean up.
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()

	e := newTestEngine(t, func(o *Options) { o.StateDir = dir; o.Slots = 2 })
	j, err := e.Get(t.Context(), job.DefaultNamespace, "running")
	if err != nil {
		t.Fatal(err)
	}
	if j.Status.Phase != job.PhaseFailed || j.Status.Reason != job.ReasonServerRestarted {
		t.Fatalf("running job after restart: %s", describe(j))
	}
	if !strings.Contains(j.Status.Message, "stopped unexpectedly") {
		t.Errorf("message does not explain the restart: %q", j.Status.Message)
	}
	got := texts(logs(t, e, "running", engine.LogOptions{All: true}))
	want := []string{"started 0", "started 1"}
	if diff := cmp.Diff(want, sortedCopy(got)); diff != "" {
		t.Errorf("logs of the interrupted job (-want +got):\n%s", diff)
	}
	if pids := MarkedProcesses(EnvJobUID, j.Metadata.UID); len(pids) > 0 {
		t.Errorf("processes of the interrupted job survive the restart: %v", pids)
	}
	// The queued job is queued again and runs now that slots are free.
	q := waitPhase(t, e, "queued", 20*time.Second, job.PhaseSucceeded, job.PhaseFailed)
	if q.Status.Phase != job.PhaseSucceeded {
		t.Fatalf("queued job: %s", describe(q))
	}
	var phases []job.Phase
	for _, h := range q.Status.History {
		phases = append(phases, h.Phase)
	}
	wantPhases := []job.Phase{job.PhasePending, job.PhaseQueued, job.PhaseStarting, job.PhaseRunning, job.PhaseSucceeded}
	if diff := cmp.Diff(wantPhases, phases); diff != "" {
		t.Errorf("queued job history (-want +got):\n%s", diff)
	}
	// Resource versions keep increasing across the restart.
	if rvOf(q) <= rvOf(j) {
		t.Errorf("resource version did not increase: %s then %s", j.Metadata.ResourceVersion, q.Metadata.ResourceVersion)
	}
	_ = filepath.Join
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for k := i + 1; k < len(out); k++ {
			if out[k] < out[i] {
				out[i], out[k] = out[k], out[i]
			}
		}
	}
	return out
}

func rvOf(j *job.MPIJob) int {
	var n int
	fmt.Sscan(j.Metadata.ResourceVersion, &n)
	return n
}
