package local

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

// TestMain lets the test binary act as the rank wrapper (the engine
// launches os.Executable() under mpirun) and as a crashing server for the
// restart test.
func TestMain(m *testing.M) {
	MaybeRankExec()
	if os.Getenv(crashHelperEnv) != "" {
		crashHelper()
		return
	}
	os.Exit(m.Run())
}

const python = "/usr/bin/python3"

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newTestEngine(t testing.TB, mod func(*Options)) *Engine {
	t.Helper()
	opts := Options{StateDir: t.TempDir(), Slots: 4, KillGrace: time.Second, Logger: testLogger(t)}
	if mod != nil {
		mod(&opts)
	}
	e, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := e.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// newJob builds a defaulted job with workers × slots ranks.
func newJob(name string, workers, slots int32, impl job.MPIImplementation, command ...string) *job.MPIJob {
	j := &job.MPIJob{Metadata: job.ObjectMeta{Name: name}}
	j.Spec.Command = command
	j.Spec.Workers.Replicas = job.Ptr(workers)
	j.Spec.Workers.SlotsPerWorker = job.Ptr(slots)
	j.Spec.MPIImplementation = impl
	job.SetDefaults(j)
	return j
}

func create(t testing.TB, e *Engine, j *job.MPIJob) *job.MPIJob {
	t.Helper()
	got, err := e.Create(context.Background(), j)
	if err != nil {
		t.Fatalf("Create %s: %v", j.Metadata.Name, err)
	}
	return got
}

// waitFor polls the job until cond holds.
func waitFor(t testing.TB, e *Engine, name string, timeout time.Duration, what string, cond func(*job.MPIJob) bool) *job.MPIJob {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var j *job.MPIJob
	for time.Now().Before(deadline) {
		var err error
		j, err = e.Get(context.Background(), job.DefaultNamespace, name)
		if err != nil {
			t.Fatalf("Get %s: %v", name, err)
		}
		if cond(j) {
			return j
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("job %s: timed out waiting for %s; status: %s", name, what, describe(j))
	return nil
}

func waitPhase(t testing.TB, e *Engine, name string, timeout time.Duration, phases ...job.Phase) *job.MPIJob {
	t.Helper()
	return waitFor(t, e, name, timeout, fmt.Sprint("phase ", phases), func(j *job.MPIJob) bool { return slices.Contains(phases, j.Status.Phase) })
}

func describe(j *job.MPIJob) string {
	if j == nil {
		return "<nil>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s: %s", j.Status.Phase, j.Status.Reason, j.Status.Message)
	for _, h := range j.Status.History {
		fmt.Fprintf(&b, "\n  %s %s %s", h.Phase, h.Reason, h.Message)
	}
	return b.String()
}

func logs(t testing.TB, e *Engine, name string, opts engine.LogOptions) []job.LogLine {
	t.Helper()
	var out []job.LogLine
	err := e.Logs(context.Background(), job.DefaultNamespace, name, opts, func(l job.LogLine) error {
		out = append(out, l)
		return nil
	})
	if err != nil {
		t.Fatalf("Logs %s %+v: %v", name, opts, err)
	}
	return out
}

func texts(lines []job.LogLine) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.Text
	}
	return out
}

var allLogs = engine.LogOptions{All: true}
