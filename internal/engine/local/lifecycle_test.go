package local

import (
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
			if err := e.Logs(t.Context(), job.DefaultNamespace, name, engine.LogOptions{}, func(job.LogLine) error { return nil }); !job.IsKind(err, job.KindNotFound) {
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
		err := e.Logs(t.Context(), job.DefaultNamespace, "once", engine.LogOptions{Previous: true}, func(job.LogLine) error { return nil })
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
	if diff := cmp.Diff([]job.ResourceCapacity{{Name: "slots", Hard: "2", Used: "2", Available: "0"}}, capa.Resources); diff != "" {
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
