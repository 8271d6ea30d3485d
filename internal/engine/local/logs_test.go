package local

import (
	"context"
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

func TestLogs(t *testing.T) {
	e := newTestEngine(t, nil)
	// Each rank prints five numbered lines, with a pause between the
	// third and the fourth so Since can split them.
	cmd := `r=` + rankVar + `; for i in 1 2 3; do echo r$r-$i; done; sleep 0.3; echo r$r-4; echo r$r-5`
	create(t, e, newJob("logs", 2, 2, job.OpenMPI, "sh", "-c", cmd))
	j := waitPhase(t, e, "logs", 20*time.Second, job.PhaseSucceeded, job.PhaseFailed)
	if j.Status.Phase != job.PhaseSucceeded {
		t.Fatal(describe(j))
	}
	all := logs(t, e, "logs", allLogs)
	if len(all) != 20 {
		t.Fatalf("want 20 lines, got %d: %q", len(all), texts(all))
	}
	t.Run("tail per source", func(t *testing.T) {
		got := logs(t, e, "logs", engine.LogOptions{All: true, TailLines: job.Ptr(int32(2))})
		count := map[string]int{}
		for _, l := range got {
			count[l.Source]++
			if !strings.HasSuffix(l.Text, "-4") && !strings.HasSuffix(l.Text, "-5") {
				t.Errorf("tail returned an old line: %+v", l)
			}
		}
		if diff := cmp.Diff(map[string]int{"worker-0": 2, "worker-1": 2}, count); diff != "" {
			t.Errorf("lines per source (-want +got):\n%s", diff)
		}
		got = logs(t, e, "logs", engine.LogOptions{Worker: job.Ptr(int32(1)), TailLines: job.Ptr(int32(3))})
		if len(got) != 3 {
			t.Errorf("worker tail: %q", texts(got))
		}
	})
	t.Run("since", func(t *testing.T) {
		var since time.Time
		for _, l := range all {
			if strings.HasSuffix(l.Text, "-4") && (since.IsZero() || l.Time.Before(since)) {
				since = l.Time
			}
		}
		got := logs(t, e, "logs", engine.LogOptions{All: true, Since: since})
		if len(got) != 8 {
			t.Errorf("since %v: %q", since, texts(got))
		}
	})
	t.Run("worker out of range", func(t *testing.T) {
		err := e.Logs(t.Context(), "default", "logs", engine.LogOptions{Worker: job.Ptr(int32(2))}, func(job.LogLine) error { return nil })
		if !job.IsKind(err, job.KindBadRequest) || !strings.Contains(err.Error(), "has 2 workers (0 to 1)") {
			t.Errorf("got %v", err)
		}
	})
}

func TestLogsFollow(t *testing.T) {
	e := newTestEngine(t, nil)
	gate := filepath.Join(t.TempDir(), "gate")
	cmd := fmt.Sprintf(`echo before; while [ ! -f %s ]; do sleep 0.02; done; echo after`, gate)
	create(t, e, newJob("follow", 2, 1, job.OpenMPI, "sh", "-c", cmd))
	lines := make(chan job.LogLine, 100)
	errc := make(chan error, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	go func() {
		errc <- e.Logs(ctx, "default", "follow", engine.LogOptions{All: true, Follow: true}, func(l job.LogLine) error {
			lines <- l
			return nil
		})
	}()
	var got []string
	for len(got) < 2 {
		select {
		case l := <-lines:
			got = append(got, l.Text)
		case <-ctx.Done():
			t.Fatalf("lines of the running job did not arrive: %q", got)
		}
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var finished time.Time
	select {
	case err := <-errc:
		finished = time.Now()
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("follow did not return when the job finished")
	}
	close(lines)
	for l := range lines {
		got = append(got, l.Text)
	}
	if diff := cmp.Diff([]string{"after", "after", "before", "before"}, sortedCopy(got)); diff != "" {
		t.Errorf("followed lines (-want +got):\n%s", diff)
	}
	j, _ := e.Get(t.Context(), "default", "follow")
	if !j.Status.Phase.Terminal() {
		t.Errorf("follow returned while the job is %s", j.Status.Phase)
	}
	if d := finished.Sub(j.Status.CompletionTime); d > time.Second {
		t.Errorf("follow returned %v after the job finished", d)
	}
}

func TestFollowQueuedJobAcrossRetry(t *testing.T) {
	e := newTestEngine(t, func(o *Options) { o.Slots = 1 })
	gate := filepath.Join(t.TempDir(), "gate")
	create(t, e, newJob("blocker", 1, 1, job.OpenMPI, "sh", "-c", fmt.Sprintf("while [ ! -f %s ]; do sleep 0.02; done", gate)))
	counter := filepath.Join(t.TempDir(), "n")
	j := newJob("follow-retry", 1, 1, job.OpenMPI, "sh", "-c", fmt.Sprintf(`n=$(cat %[1]s 2>/dev/null || echo 0); n=$((n+1)); echo $n > %[1]s; echo attempt $n; [ $n -ge 2 ]`, counter))
	j.Spec.RunPolicy.BackoffLimit = job.Ptr(int32(1))
	if got := create(t, e, j); got.Status.Phase != job.PhaseQueued {
		t.Fatalf("want Queued, got %s", describe(got))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var got []string
	errc := make(chan error, 1)
	go func() {
		errc <- e.Logs(ctx, "default", "follow-retry", engine.LogOptions{Worker: job.Ptr(int32(0)), Follow: true}, func(l job.LogLine) error {
			got = append(got, l.Text)
			return nil
		})
	}()
	time.Sleep(100 * time.Millisecond)
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"attempt 1", "attempt 2"}, got); diff != "" {
		t.Errorf("followed lines (-want +got):\n%s", diff)
	}
	if j, _ := e.Get(ctx, "default", "follow-retry"); j.Status.Phase != job.PhaseSucceeded || j.Status.Attempts != 2 {
		t.Errorf("job: %s", describe(j))
	}
}

func TestUnparsedLauncherCommandIsDemultiplexed(t *testing.T) {
	e := newTestEngine(t, nil)
	// --report-state-on-timeout is a real Open MPI flag the engine's option
	// table does not know, so it cannot insert the rank wrapper.
	j := newJob("tagged", 2, 1, job.OpenMPI, "mpirun", "--report-state-on-timeout", "-np", "2", "sh", "-c", `echo hi from $OMPI_COMM_WORLD_RANK; exit $OMPI_COMM_WORLD_RANK`)
	w, err := e.Admit(t.Context(), j)
	if err != nil || len(w) == 0 {
		t.Fatalf("Admit: %v %q", err, w)
	}
	create(t, e, j)
	got := waitPhase(t, e, "tagged", 20*time.Second, job.PhaseSucceeded, job.PhaseFailed)
	// Open MPI names the failing rank in its report most of the time (not
	// always: the report is skipped in some exit orders); when it does,
	// the engine must use it.
	if got.Status.Phase != job.PhaseFailed {
		t.Errorf("want Failed, got %s", describe(got))
	}
	if r := got.Status.FirstFailedRank; r != nil && (*r != 1 || *got.Status.ExitCode != 1) {
		t.Errorf("failure attributed to rank %d, want 1: %s", *r, describe(got))
	}
	for w := range int32(2) {
		if diff := cmp.Diff([]string{fmt.Sprintf("hi from %d", w)}, texts(logs(t, e, "tagged", engine.LogOptions{Worker: job.Ptr(w)}))); diff != "" {
			t.Errorf("worker %d (-want +got):\n%s", w, diff)
		}
	}
}

func TestGracefulClose(t *testing.T) {
	dir := t.TempDir()
	e := newTestEngine(t, func(o *Options) { o.StateDir = dir; o.Slots = 2 })
	running := create(t, e, newJob("long", 2, 1, job.OpenMPI, "sh", "-c", "echo up; sleep 300"))
	create(t, e, newJob("waiting", 1, 1, job.OpenMPI, "true"))
	waitFor(t, e, "long", 20*time.Second, "output", func(*job.MPIJob) bool { return len(logs(t, e, "long", allLogs)) == 2 })
	if err := e.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if pids := MarkedProcesses(EnvJobUID, running.Metadata.UID); len(pids) > 0 {
		t.Errorf("processes survive Close: %v", pids)
	}
	if _, err := e.Create(t.Context(), newJob("late", 1, 1, job.OpenMPI, "true")); !job.IsKind(err, job.KindUnavailable) {
		t.Errorf("Create after Close: %v", err)
	}
	e2 := newTestEngine(t, func(o *Options) { o.StateDir = dir; o.Slots = 2 })
	j, err := e2.Get(t.Context(), "default", "long")
	if err != nil {
		t.Fatal(err)
	}
	if j.Status.Phase != job.PhaseFailed || j.Status.Reason != job.ReasonServerRestarted || !strings.Contains(j.Status.Message, "shut down") {
		t.Errorf("after a graceful shutdown: %s", describe(j))
	}
	// Both ranks' lines survive; Open MPI may add its own lines when it is
	// stopped (a signal report), which are output too, not a loss.
	if got := texts(logs(t, e2, "long", allLogs)); len(slices.DeleteFunc(slices.Clone(got), func(s string) bool { return s != "up" })) != 2 {
		t.Errorf("logs lost: %q", got)
	}
	if w := waitPhase(t, e2, "waiting", 20*time.Second, job.PhaseSucceeded, job.PhaseFailed); w.Status.Phase != job.PhaseSucceeded {
		t.Errorf("queued job after restart: %s", describe(w))
	}
}

func TestLongLinesAreJoined(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rank-0.log")
	w, err := openLogWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 3*maxLineChunk+10)
	input := "short\n" + long + "\nlast without newline"
	copyLines(strings.NewReader(input), w, "stdout", nil)
	w.Close()
	c := &logCursor{path: path}
	recs, err := c.next(time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.text)
	}
	if diff := cmp.Diff([]string{"short", long, "last without newline"}, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	for n, want := range map[int]string{1: "last without newline", 2: long} {
		off, err := tailOffset(path, n)
		if err != nil {
			t.Fatal(err)
		}
		c := &logCursor{path: path, off: off}
		recs, _ := c.next(time.Time{}, 0)
		if len(recs) != n || recs[0].text != want {
			t.Errorf("tail %d: got %d records starting with %.20q", n, len(recs), recs[0].text)
		}
	}
}
