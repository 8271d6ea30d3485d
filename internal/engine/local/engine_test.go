package local

import (
	"context"
	"errors"
	"fmt"
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

func TestActiveDeadline(t *testing.T) {
	e := newTestEngine(t, nil)
	j := newJob("deadline", 2, 1, job.OpenMPI, "sh", "-c", "echo working; sleep 60")
	j.Spec.RunPolicy.ActiveDeadlineSeconds = job.Ptr(int32(1))
	create(t, e, j)
	start := time.Now()
	got := waitPhase(t, e, "deadline", 15*time.Second, job.PhaseSucceeded, job.PhaseFailed)
	if got.Status.Reason != job.ReasonDeadlineExceeded {
		t.Fatalf("want DeadlineExceeded, got %s", describe(got))
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("deadline enforced after %v", d)
	}
	if pids := MarkedProcesses(EnvJobUID, got.Metadata.UID); len(pids) > 0 {
		t.Errorf("processes left after the deadline: %v", pids)
	}
}

func TestDeleteKillsEveryProcess(t *testing.T) {
	e := newTestEngine(t, nil)
	for _, impl := range []job.MPIImplementation{job.OpenMPI, job.MPICH} {
		name := "delete-" + strings.ToLower(string(impl))
		t.Run(name, func(t *testing.T) {
			// Each rank starts a daemon that leaves the process tree
			// (setsid + double fork) and ignores SIGTERM.
			cmd := `setsid sh -c 'trap "" TERM; (sleep 300 &); sleep 300' & echo ready; sleep 300`
			created := create(t, e, newJob(name, 2, 1, impl, "sh", "-c", cmd))
			uid := created.Metadata.UID
			waitFor(t, e, name, 20*time.Second, "both ranks ready", func(*job.MPIJob) bool {
				return len(slices.DeleteFunc(texts(logs(t, e, name, engine.LogOptions{All: true})), func(s string) bool { return s != "ready" })) == 2
			})
			// The wrappers' reports make the workers Running while the job runs.
			running := waitFor(t, e, name, 5*time.Second, "workers running", func(j *job.MPIJob) bool { return j.Status.Workers.Running == 2 })
			if c := running.Status.Workers; c.Ready != 2 || c.Total != 2 || running.Status.Launcher.State != job.StateRunning {
				t.Errorf("while running: workers %+v launcher %+v", c, running.Status.Launcher)
			}
			if n := len(MarkedProcesses(EnvJobUID, uid)); n < 6 {
				t.Fatalf("expected the job's processes to be running, found %d", n)
			}
			dir := filepath.Join(e.jobsDir, uid)
			deleted, err := e.Delete(t.Context(), job.DefaultNamespace, name, engine.DeleteOptions{Wait: true})
			if err != nil {
				t.Fatal(err)
			}
			if deleted.Status.Phase != job.PhaseDeleting {
				t.Errorf("Delete returned phase %s", deleted.Status.Phase)
			}
			if pids := MarkedProcesses(EnvJobUID, uid); len(pids) > 0 {
				t.Errorf("processes survive the delete: %v", pids)
			}
			if _, err := e.Get(t.Context(), job.DefaultNamespace, name); !job.IsKind(err, job.KindNotFound) {
				t.Errorf("Get after delete: %v", err)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("job directory still exists: %v", err)
			}
			if err := e.Logs(t.Context(), job.DefaultNamespace, name, engine.LogOptions{}, func(engine.LogLine) error { return nil }); !job.IsKind(err, job.KindNotFound) {
				t.Errorf("Logs after delete: %v", err)
			}
		})
	}
}

func TestBackoffRetry(t *testing.T) {
	e := newTestEngine(t, nil)
	dir := t.TempDir()
	t.Run("succeeds on the second attempt", func(t *testing.T) {
		counter := filepath.Join(dir, "count")
		j := newJob("retry-ok", 1, 1, job.OpenMPI, "sh", "-c", fmt.Sprintf(`n=$(cat %[1]s 2>/dev/null || echo 0); n=$((n+1)); echo $n > %[1]s; echo attempt $n; [ $n -ge 2 ]`, counter))
		j.Spec.RunPolicy.BackoffLimit = job.Ptr(int32(2))
		create(t, e, j)
		got := waitPhase(t, e, "retry-ok", 30*time.Second, job.PhaseSucceeded, job.PhaseFailed)
		if got.Status.Phase != job.PhaseSucceeded || got.Status.Attempts != 2 {
			t.Fatalf("want Succeeded after 2 attempts, got attempts=%d %s", got.Status.Attempts, describe(got))
		}
		if !slices.ContainsFunc(got.Status.History, func(h job.Transition) bool { return h.Reason == job.ReasonRetrying }) {
			t.Errorf("history has no Retrying transition: %s", describe(got))
		}
		if diff := cmp.Diff([]string{"attempt 2"}, texts(logs(t, e, "retry-ok", engine.LogOptions{Worker: job.Ptr(int32(0))}))); diff != "" {
			t.Errorf("current attempt logs (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"attempt 1"}, texts(logs(t, e, "retry-ok", engine.LogOptions{Worker: job.Ptr(int32(0)), Previous: true}))); diff != "" {
			t.Errorf("previous attempt logs (-want +got):\n%s", diff)
		}
		if w := got.Status.WorkerStatuses[0]; w.Restarts != 1 {
			t.Errorf("worker restarts: %d", w.Restarts)
		}
	})
	t.Run("gives up after the limit", func(t *testing.T) {
		j := newJob("retry-fail", 1, 1, job.OpenMPI, "sh", "-c", "exit 4")
		j.Spec.RunPolicy.BackoffLimit = job.Ptr(int32(2))
		create(t, e, j)
		got := waitPhase(t, e, "retry-fail", 30*time.Second, job.PhaseSucceeded, job.PhaseFailed)
		if got.Status.Reason != job.ReasonBackoffLimit || got.Status.Attempts != 3 {
			t.Fatalf("want BackoffLimitExceeded after 3 attempts, got attempts=%d %s", got.Status.Attempts, describe(got))
		}
		if !strings.Contains(got.Status.Message, "exited with code 4") || got.Status.ExitCode == nil || *got.Status.ExitCode != 4 {
			t.Errorf("last failure not reported: %q exit=%v", got.Status.Message, got.Status.ExitCode)
		}
	})
	t.Run("no previous attempt", func(t *testing.T) {
		create(t, e, newJob("once", 1, 1, job.OpenMPI, "true"))
		waitPhase(t, e, "once", 30*time.Second, job.PhaseSucceeded, job.PhaseFailed)
		err := e.Logs(t.Context(), job.DefaultNamespace, "once", engine.LogOptions{Previous: true}, func(engine.LogLine) error { return nil })
		if !job.IsKind(err, job.KindBadRequest) {
			t.Errorf("Logs Previous without a previous attempt: %v", err)
		}
	})
}

func TestSuspendResume(t *testing.T) {
	e := newTestEngine(t, nil)
	ctx := t.Context()
	marker := filepath.Join(t.TempDir(), "marker")
	cmd := fmt.Sprintf(`if [ -f %[1]s ]; then echo second run; exit 0; fi; echo first run; touch %[1]s.$$; mv %[1]s.$$ %[1]s; sleep 300`, marker)
	created := create(t, e, newJob("susp", 1, 1, job.OpenMPI, "sh", "-c", cmd))
	waitFor(t, e, "susp", 20*time.Second, "first run", func(*job.MPIJob) bool {
		_, err := os.Stat(marker)
		return err == nil
	})
	j, err := e.Suspend(ctx, job.DefaultNamespace, "susp")
	if err != nil {
		t.Fatal(err)
	}
	if j.Status.Phase != job.PhaseSuspended || !j.Spec.RunPolicy.Suspend {
		t.Fatalf("after Suspend: suspend=%v %s", j.Spec.RunPolicy.Suspend, describe(j))
	}
	if pids := MarkedProcesses(EnvJobUID, created.Metadata.UID); len(pids) > 0 {
		t.Errorf("processes survive suspend: %v", pids)
	}
	if c, _ := e.Capacity(ctx, "default"); c.Resources[0].Used != "0" {
		t.Errorf("a suspended job holds slots: %+v", c.Resources)
	}
	if _, err := e.Resume(ctx, job.DefaultNamespace, "susp"); err != nil {
		t.Fatal(err)
	}
	got := waitPhase(t, e, "susp", 20*time.Second, job.PhaseSucceeded, job.PhaseFailed)
	if got.Status.Phase != job.PhaseSucceeded || got.Status.Attempts != 2 || got.Spec.RunPolicy.Suspend {
		t.Fatalf("after Resume: attempts=%d %s", got.Status.Attempts, describe(got))
	}
	if diff := cmp.Diff([]string{"first run"}, texts(logs(t, e, "susp", engine.LogOptions{Worker: job.Ptr(int32(0)), Previous: true}))); diff != "" {
		t.Errorf("logs of the suspended attempt (-want +got):\n%s", diff)
	}
	if _, err := e.Suspend(ctx, job.DefaultNamespace, "susp"); !job.IsKind(err, job.KindConflict) {
		t.Errorf("Suspend of a finished job: %v", err)
	}

	t.Run("created suspended", func(t *testing.T) {
		j := newJob("held", 1, 1, job.OpenMPI, "true")
		j.Spec.RunPolicy.Suspend = true
		got := create(t, e, j)
		if got.Status.Phase != job.PhaseSuspended || got.Status.Attempts != 0 {
			t.Fatalf("created suspended: %s", describe(got))
		}
		time.Sleep(200 * time.Millisecond)
		if got, _ := e.Get(ctx, job.DefaultNamespace, "held"); got.Status.Phase != job.PhaseSuspended {
			t.Fatalf("suspended job started: %s", describe(got))
		}
		if _, err := e.Resume(ctx, job.DefaultNamespace, "held"); err != nil {
			t.Fatal(err)
		}
		if got := waitPhase(t, e, "held", 20*time.Second, job.PhaseSucceeded, job.PhaseFailed); got.Status.Phase != job.PhaseSucceeded {
			t.Fatalf("resumed job: %s", describe(got))
		}
	})
}

func TestFIFOQueue(t *testing.T) {
	e := newTestEngine(t, func(o *Options) { o.Slots = 2 })
	ctx := t.Context()
	gate := filepath.Join(t.TempDir(), "gate")
	wait := fmt.Sprintf("while [ ! -f %s ]; do sleep 0.05; done", gate)
	create(t, e, newJob("a", 2, 1, job.OpenMPI, "sh", "-c", wait))
	waitPhase(t, e, "a", 20*time.Second, job.PhaseRunning)
	b := create(t, e, newJob("b", 2, 1, job.OpenMPI, "sh", "-c", wait))
	c := create(t, e, newJob("c", 1, 1, job.OpenMPI, "true"))
	if b.Status.Phase != job.PhaseQueued || b.Status.QueuePosition != 1 || c.Status.Phase != job.PhaseQueued || c.Status.QueuePosition != 2 {
		t.Fatalf("queue: b=%s pos %d, c=%s pos %d", b.Status.Phase, b.Status.QueuePosition, c.Status.Phase, c.Status.QueuePosition)
	}
	if !strings.Contains(b.Status.Message, "position 1") {
		t.Errorf("queued message: %q", b.Status.Message)
	}
	capa, err := e.Capacity(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]engine.ResourceCapacity{{Name: "slots", Hard: "2", Used: "2", Available: "0"}}, capa.Resources); diff != "" {
		t.Errorf("capacity (-want +got):\n%s", diff)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c"} {
		if j := waitPhase(t, e, n, 20*time.Second, job.PhaseSucceeded, job.PhaseFailed); j.Status.Phase != job.PhaseSucceeded {
			t.Fatalf("job %s: %s", n, describe(j))
		}
	}
	ja, _ := e.Get(ctx, "default", "a")
	jb, _ := e.Get(ctx, "default", "b")
	jc, _ := e.Get(ctx, "default", "c")
	if !(ja.Status.StartTime.Before(jb.Status.StartTime) && !jc.Status.StartTime.Before(jb.Status.StartTime)) {
		t.Errorf("not FIFO: a=%v b=%v c=%v", ja.Status.StartTime, jb.Status.StartTime, jc.Status.StartTime)
	}

	t.Run("larger than the capacity", func(t *testing.T) {
		_, err := e.Create(ctx, newJob("huge", 3, 1, job.OpenMPI, "true"))
		var je *job.Error
		if !errors.As(err, &je) || je.Kind != job.KindQuotaExceeded {
			t.Fatalf("want QuotaExceeded, got %v", err)
		}
		for _, want := range []string{"3 slots", "2 slots in total", "--slots 3"} {
			if !strings.Contains(je.Error(), want) {
				t.Errorf("error %q does not mention %q", je.Error(), want)
			}
		}
	})
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
		"Logs":    e.Logs(ctx, "default", "nope", engine.LogOptions{}, func(engine.LogLine) error { return nil }),
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

func TestWatchDeliversEveryTransition(t *testing.T) {
	e := newTestEngine(t, nil)
	pre := newJob("pre", 1, 1, job.OpenMPI, "true")
	pre.Spec.RunPolicy.Suspend = true
	create(t, e, pre)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	events := make(chan engine.Event, 100)
	errc := make(chan error, 1)
	go func() {
		errc <- e.Watch(ctx, engine.WatchOptions{SendInitial: true, ListOptions: engine.ListOptions{Namespace: "default"}}, func(ev engine.Event) error {
			events <- ev
			return nil
		})
	}()
	next := func() engine.Event {
		select {
		case ev := <-events:
			return ev
		case err := <-errc:
			t.Fatalf("watch ended: %v", err)
		case <-ctx.Done():
			t.Fatal("timed out waiting for a watch event")
		}
		return engine.Event{}
	}
	if ev := next(); ev.Type != engine.Added || ev.Job.Metadata.Name != "pre" {
		t.Fatalf("initial event: %v", ev.Type)
	}
	if ev := next(); ev.Type != engine.Synced {
		t.Fatalf("want Synced, got %v", ev.Type)
	}
	create(t, e, newJob("watched", 2, 1, job.OpenMPI, "true"))
	var phases []job.Phase
	lastRV := 0
	for {
		ev := next()
		if ev.Job.Metadata.Name != "watched" {
			continue
		}
		if rv := rvOf(ev.Job); rv <= lastRV {
			t.Errorf("resource version went from %d to %d", lastRV, rv)
		} else {
			lastRV = rv
		}
		if len(phases) == 0 || phases[len(phases)-1] != ev.Job.Status.Phase {
			phases = append(phases, ev.Job.Status.Phase)
		}
		if ev.Job.Status.Phase.Terminal() {
			break
		}
	}
	want := []job.Phase{job.PhasePending, job.PhaseStarting, job.PhaseRunning, job.PhaseSucceeded}
	if diff := cmp.Diff(want, phases); diff != "" {
		t.Errorf("phases seen (-want +got):\n%s", diff)
	}
	if _, err := e.Delete(ctx, "default", "watched", engine.DeleteOptions{Wait: true}); err != nil {
		t.Fatal(err)
	}
	for {
		ev := next()
		if ev.Type == engine.Deleted && ev.Job.Metadata.Name == "watched" {
			break
		}
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("watch returned %v", err)
	}
}

func TestSlowWatcherIsCutOff(t *testing.T) {
	e := newTestEngine(t, nil)
	j := newJob("noisy", 1, 1, job.OpenMPI, "true")
	j.Spec.RunPolicy.Suspend = true
	create(t, e, j)
	block := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- e.Watch(t.Context(), engine.WatchOptions{}, func(engine.Event) error { <-block; return nil })
	}()
	time.Sleep(50 * time.Millisecond)
	// Far more changes than a watcher may fall behind; the engine must not
	// wait for the blocked watcher.
	start := time.Now()
	t1 := e.lock()
	rec := e.jobs[key{"default", "noisy"}]
	for i := range watchBuffer + 10 {
		t1.update(rec, false, func(j *job.MPIJob) { j.Status.Message = fmt.Sprint(i) })
	}
	t1.unlock()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("broadcasting to a blocked watcher took %v", d)
	}
	close(block)
	select {
	case err := <-errc:
		if !job.IsKind(err, job.KindUnavailable) || !strings.Contains(err.Error(), "behind") {
			t.Errorf("watch error: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("slow watcher was not cut off")
	}
}

func TestTTLAfterFinished(t *testing.T) {
	e := newTestEngine(t, nil)
	j := newJob("ttl", 1, 1, job.OpenMPI, "true")
	j.Spec.RunPolicy.TTLSecondsAfterFinished = job.Ptr(int32(1))
	created := create(t, e, j)
	done := waitPhase(t, e, "ttl", 20*time.Second, job.PhaseSucceeded, job.PhaseFailed, job.PhaseDeleting)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := e.Get(t.Context(), "default", "ttl")
		if job.IsKind(err, job.KindNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job not removed after its TTL")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if gone := time.Since(done.Status.CompletionTime); gone < 900*time.Millisecond {
		t.Errorf("removed %v after completion, before the TTL", gone)
	}
	if _, err := os.Stat(filepath.Join(e.jobsDir, created.Metadata.UID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("job directory survives the TTL: %v", err)
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
