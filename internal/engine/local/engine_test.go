package local

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

// rankVar expands to the rank under either MPI.
const rankVar = "${OMPI_COMM_WORLD_RANK:-$PMI_RANK}"

const mpi4pyHello = `
from mpi4py import MPI
import sys
c = MPI.COMM_WORLD
total = c.allreduce(c.Get_rank() + 1)
print(f"hello from rank {c.Get_rank()} of {c.Get_size()} sum={total}", flush=True)
print(f"stderr of rank {c.Get_rank()}", file=sys.stderr, flush=True)
`

// mpichHello is a real MPICH program without a compiler: Debian's mpi4py
// is built for Open MPI, so call libmpich through ctypes (MPICH ABI
// handles).
const mpichHello = `
import ctypes, sys
m = ctypes.CDLL("libmpich.so.12")
W, INT, SUM = 0x44000000, 0x4c000405, 0x58000003
m.MPI_Init(None, None)
r, n, t = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
m.MPI_Comm_rank(W, ctypes.byref(r)); m.MPI_Comm_size(W, ctypes.byref(n))
s = ctypes.c_int(r.value + 1)
m.MPI_Allreduce(ctypes.byref(s), ctypes.byref(t), 1, INT, SUM, W)
print(f"hello from rank {r.value} of {n.value} sum={t.value}", flush=True)
print(f"stderr of rank {r.value}", file=sys.stderr, flush=True)
m.MPI_Finalize()
`

func TestRunSucceeds(t *testing.T) {
	cases := []struct {
		name    string
		impl    job.MPIImplementation
		workers int32
		slots   int32
		command []string
		// want[worker] is the sorted stdout text of that worker.
		want [][]string
	}{
		{
			name: "openmpi-mpi4py", impl: job.OpenMPI, workers: 2, slots: 1,
			command: []string{python, "-c", mpi4pyHello},
			want:    [][]string{{"hello from rank 0 of 2 sum=3", "stderr of rank 0"}, {"hello from rank 1 of 2 sum=3", "stderr of rank 1"}},
		},
		{
			name: "mpich-libmpich", impl: job.MPICH, workers: 2, slots: 1,
			command: []string{python, "-c", mpichHello},
			want:    [][]string{{"hello from rank 0 of 2 sum=3", "stderr of rank 0"}, {"hello from rank 1 of 2 sum=3", "stderr of rank 1"}},
		},
		{
			name: "openmpi-user-mpirun-two-slots", impl: job.OpenMPI, workers: 1, slots: 2,
			command: []string{"mpirun", "--bind-to", "none", "sh", "-c", "echo rank " + rankVar + " GREETING=$GREETING"},
			want:    [][]string{{"rank 0 GREETING=hi", "rank 1 GREETING=hi"}},
		},
		{
			name: "mpich-user-mpiexec-env", impl: job.MPICH, workers: 2, slots: 1,
			command: []string{"mpiexec", "-n", "2", "-genv", "OTHER", "x", "sh", "-c", "echo rank " + rankVar + " GREETING=$GREETING OTHER=$OTHER"},
			want:    [][]string{{"rank 0 GREETING=hi OTHER=x"}, {"rank 1 GREETING=hi OTHER=x"}},
		},
	}
	e := newTestEngine(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := newJob(tc.name, tc.workers, tc.slots, tc.impl, tc.command...)
			j.Spec.Env = []job.EnvVar{{Name: "GREETING", Value: "hi"}}
			created := create(t, e, j)
			if created.Metadata.UID == "" || created.Metadata.CreationTimestamp.IsZero() || created.Metadata.ResourceVersion == "" {
				t.Errorf("metadata not set: %+v", created.Metadata)
			}
			got := waitPhase(t, e, tc.name, 30*time.Second, job.PhaseSucceeded, job.PhaseFailed)
			if got.Status.Phase != job.PhaseSucceeded {
				t.Fatalf("job failed: %s\nlauncher log: %v", describe(got), texts(logs(t, e, tc.name, engine.LogOptions{})))
			}
			st := got.Status
			if st.ExitCode == nil || *st.ExitCode != 0 || st.Attempts != 1 || st.StartTime.IsZero() || st.CompletionTime.IsZero() {
				t.Errorf("status: exitCode=%v attempts=%d start=%v completion=%v", st.ExitCode, st.Attempts, st.StartTime, st.CompletionTime)
			}
			if diff := cmp.Diff(job.WorkerCounts{Total: tc.workers, Succeeded: tc.workers}, st.Workers); diff != "" {
				t.Errorf("worker counts (-want +got):\n%s", diff)
			}
			if st.Launcher == nil || st.Launcher.State != job.StateSucceeded || st.Launcher.ExitCode == nil || *st.Launcher.ExitCode != 0 {
				t.Errorf("launcher status: %+v", st.Launcher)
			}
			if st.Requested == nil || st.Requested.Slots != tc.workers*tc.slots {
				t.Errorf("requested: %+v", st.Requested)
			}
			for w := range tc.workers {
				ws := st.WorkerStatuses[w]
				if ws.State != job.StateSucceeded || ws.ExitCode == nil || *ws.ExitCode != 0 || len(ws.Ranks) != int(tc.slots) {
					t.Errorf("worker %d status: %+v", w, ws)
				}
				lines := logs(t, e, tc.name, engine.LogOptions{Worker: job.Ptr(w)})
				if diff := cmp.Diff(tc.want[w], sortedCopy(texts(lines))); diff != "" {
					t.Errorf("worker %d logs (-want +got):\n%s", w, diff)
				}
				for _, l := range lines {
					if l.Source != job.WorkerName(w) || l.Worker != w || l.Rank/tc.slots != w || l.Time.IsZero() {
						t.Errorf("worker %d line has wrong source: %+v", w, l)
					}
					if strings.HasPrefix(l.Text, "stderr") != (l.Stream == "stderr") {
						t.Errorf("wrong stream: %+v", l)
					}
				}
			}
			all := logs(t, e, tc.name, engine.LogOptions{All: true})
			var allWorkers []string
			for i, l := range all {
				if i > 0 && l.Time.Before(all[i-1].Time) {
					t.Errorf("merged logs out of time order at %d: %v after %v", i, l.Time, all[i-1].Time)
				}
				if l.Source != job.LauncherName {
					allWorkers = append(allWorkers, l.Text)
				}
			}
			if diff := cmp.Diff(sortedCopy(slices.Concat(tc.want...)), sortedCopy(allWorkers)); diff != "" {
				t.Errorf("merged worker logs (-want +got):\n%s", diff)
			}
			if pids := MarkedProcesses(EnvJobUID, got.Metadata.UID); len(pids) > 0 {
				t.Errorf("processes left after success: %v", pids)
			}
		})
	}
}

func TestRankFailure(t *testing.T) {
	e := newTestEngine(t, nil)
	for _, impl := range []job.MPIImplementation{job.OpenMPI, job.MPICH} {
		name := "fail-" + strings.ToLower(string(impl))
		t.Run(name, func(t *testing.T) {
			// Rank 1 fails at once; rank 0 would sleep, so the launcher
			// kills it later: rank 1 must be reported as the first.
			create(t, e, newJob(name, 2, 1, impl, "sh", "-c", `r=`+rankVar+`; if [ $r = 1 ]; then echo bad input >&2; exit 3; fi; sleep 30`))
			j := waitPhase(t, e, name, 30*time.Second, job.PhaseSucceeded, job.PhaseFailed)
			st := j.Status
			if st.Phase != job.PhaseFailed || st.Reason != job.ReasonRankFailed {
				t.Fatalf("want Failed/RankFailed, got %s", describe(j))
			}
			if st.FirstFailedRank == nil || *st.FirstFailedRank != 1 || st.FirstFailedWorker == nil || *st.FirstFailedWorker != 1 || st.ExitCode == nil || *st.ExitCode != 3 {
				t.Errorf("first failed rank/worker/exit code: %v %v %v", st.FirstFailedRank, st.FirstFailedWorker, st.ExitCode)
			}
			if want := "rank 1 on worker-1 exited with code 3"; !strings.Contains(st.Message, want) {
				t.Errorf("message %q does not contain %q", st.Message, want)
			}
			if w := st.WorkerStatuses[1]; w.State != job.StateFailed || w.ExitCode == nil || *w.ExitCode != 3 {
				t.Errorf("worker-1 status: %+v", w)
			}
			if st.Workers.Failed < 1 {
				t.Errorf("worker counts: %+v", st.Workers)
			}
			if got := texts(logs(t, e, name, engine.LogOptions{Worker: job.Ptr(int32(1))})); !slices.Contains(got, "bad input") {
				t.Errorf("worker-1 logs: %q", got)
			}
			if pids := MarkedProcesses(EnvJobUID, j.Metadata.UID); len(pids) > 0 {
				t.Errorf("processes left: %v", pids)
			}
		})
	}
}

func TestExecutableNotFound(t *testing.T) {
	e := newTestEngine(t, nil)
	create(t, e, newJob("missing", 2, 1, job.OpenMPI, "no-such-program-odh", "--flag"))
	j := waitPhase(t, e, "missing", 30*time.Second, job.PhaseSucceeded, job.PhaseFailed)
	if j.Status.Phase != job.PhaseFailed || j.Status.Reason != job.ReasonExecutableNotFound {
		t.Fatalf("want Failed/ExecutableNotFound, got %s", describe(j))
	}
	for _, want := range []string{`"no-such-program-odh"`, "PATH="} {
		if !strings.Contains(j.Status.Message, want) {
			t.Errorf("message %q does not mention %s", j.Status.Message, want)
		}
	}
	if j.Status.ExitCode == nil || *j.Status.ExitCode != 127 {
		t.Errorf("exit code: %v", j.Status.ExitCode)
	}
}

func TestAlreadyExistsAndNotFound(t *testing.T) {
	e := newTestEngine(t, nil)
	ctx := t.Context()
	j := newJob("dup", 1, 1, job.OpenMPI, "true")
	j.Spec.RunPolicy.Suspend = true
	create(t, e, j)
	if _, err := e.Create(ctx, j); !job.IsKind(err, job.KindAlreadyExists) {
		t.Errorf("second Create: %v", err)
	}
	other := newJob("dup", 1, 1, job.OpenMPI, "true")
	other.Metadata.Namespace = "team-b"
	other.Spec.RunPolicy.Suspend = true
	if _, err := e.Create(ctx, other); err != nil {
		t.Errorf("same name in another namespace: %v", err)
	}
	for name, err := range map[string]error{
		"Get":     func() error { _, err := e.Get(ctx, "default", "nope"); return err }(),
		"Delete":  func() error { _, err := e.Delete(ctx, "default", "nope", engine.DeleteOptions{}); return err }(),
		"Suspend": func() error { _, err := e.Suspend(ctx, "default", "nope"); return err }(),
		"Resume":  func() error { _, err := e.Resume(ctx, "default", "nope"); return err }(),
		"Events":  func() error { _, err := e.Events(ctx, "default", "nope"); return err }(),
		"Logs":    e.Logs(ctx, "default", "nope", engine.LogOptions{}, func(job.LogLine) error { return nil }),
	} {
		if !job.IsKind(err, job.KindNotFound) {
			t.Errorf("%s of a missing job: %v", name, err)
		}
	}
	list, _ := e.List(ctx, engine.ListOptions{})
	var names []string
	for _, j := range list {
		names = append(names, j.Metadata.Namespace+"/"+j.Metadata.Name)
	}
	if diff := cmp.Diff([]string{"default/dup", "team-b/dup"}, names); diff != "" {
		t.Errorf("List order (-want +got):\n%s", diff)
	}
}

func TestCorruptRecordTolerated(t *testing.T) {
	dir := t.TempDir()
	e1 := newTestEngine(t, func(o *Options) { o.StateDir = dir })
	good := newJob("good", 1, 1, job.OpenMPI, "true")
	good.Spec.RunPolicy.Suspend = true
	create(t, e1, good)
	if err := e1.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "jobs", "0badc0de-0000-4000-8000-000000000000")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "job.json"), []byte(`{"version":1,"job":{"metadata":{"name":`), 0o644); err != nil {
		t.Fatal(err)
	}
	e2 := newTestEngine(t, func(o *Options) { o.StateDir = dir })
	if _, err := e2.Get(t.Context(), "default", "good"); err != nil {
		t.Errorf("good job lost: %v", err)
	}
	if _, err := os.Stat(bad); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("corrupt record still in jobs/: %v", err)
	}
	aside, _ := filepath.Glob(filepath.Join(dir, "corrupt", "0badc0de-*", "job.json"))
	if len(aside) != 1 {
		t.Errorf("corrupt record not kept aside: %v", aside)
	}
}

func TestStateDirLocked(t *testing.T) {
	dir := t.TempDir()
	newTestEngine(t, func(o *Options) { o.StateDir = dir })
	if _, err := New(Options{StateDir: dir}); err == nil || !strings.Contains(err.Error(), "in use by another odh-server") {
		t.Errorf("second engine on the same state dir: %v", err)
	}
}

func TestEventsRecorded(t *testing.T) {
	e := newTestEngine(t, nil)
	create(t, e, newJob("ev", 2, 1, job.OpenMPI, "sh", "-c", "exit "+rankVar))
	waitPhase(t, e, "ev", 20*time.Second, job.PhaseFailed, job.PhaseSucceeded)
	evs, err := e.Events(t.Context(), "default", "ev")
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, ev := range evs {
		reasons = append(reasons, ev.Reason)
		if ev.Count < 1 || ev.FirstTime.IsZero() || ev.Source == "" || ev.Object == "" {
			t.Errorf("incomplete event: %+v", ev)
		}
	}
	for _, want := range []string{job.ReasonCreated, job.ReasonStarted, job.ReasonRankFailed} {
		if !slices.Contains(reasons, want) {
			t.Errorf("events %v lack %s", reasons, want)
		}
	}
}
