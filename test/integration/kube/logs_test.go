//go:build integration

package kube_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/engine/kube"
	"github.com/odh-training/odh-training/internal/job"
)

func collect(t *testing.T, name string, opts engine.LogOptions) []job.LogLine {
	t.Helper()
	var out []job.LogLine
	if err := eng.Logs(t.Context(), ns, name, opts, func(l job.LogLine) error { out = append(out, l); return nil }); err != nil {
		t.Fatalf("logs %+v: %v", opts, err)
	}
	return out
}

func texts(ls []job.LogLine) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Source+": "+l.Text)
	}
	return out
}

// Launcher, one worker and all merged; tail; follow until the job ends;
// the logs stay readable after the operator removed the pods (archive).
func TestLogs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	name := uniqueName("logs")
	j := simpleJob(t, name, 2, job.OpenMPI)
	for i := range 2 {
		if err := harness.SetPodLogs(ctx, ns, fmt.Sprintf("%s-worker-%d", name, i), fmt.Sprintf("sshd %d listening\nworker %d done", i, i)); err != nil {
			t.Fatal(err)
		}
	}
	create(t, j)
	awaitPhase(t, name, job.PhaseRunning)
	lp := launcherPod(t, name)
	if err := harness.SetPodLogs(ctx, ns, lp, "rank 0: step 1 loss=0.9\nrank 0: step 2 loss=0.5\nrank 0: done"); err != nil {
		t.Fatal(err)
	}
	if got := texts(collect(t, name, engine.LogOptions{})); !slices.Equal(got, []string{"launcher: rank 0: step 1 loss=0.9", "launcher: rank 0: step 2 loss=0.5", "launcher: rank 0: done"}) {
		t.Errorf("launcher logs: %q", got)
	}
	one := collect(t, name, engine.LogOptions{Worker: new(int32(1))})
	if got := texts(one); !slices.Equal(got, []string{"worker-1: sshd 1 listening", "worker-1: worker 1 done"}) {
		t.Errorf("worker 1 logs: %q", got)
	}
	if one[0].Worker != 1 || one[0].Time.IsZero() {
		t.Errorf("worker line %+v", one[0])
	}
	all := texts(collect(t, name, engine.LogOptions{All: true}))
	if len(all) != 7 {
		t.Errorf("all logs: %q", all)
	}
	for _, want := range []string{"launcher: rank 0: done", "worker-0: sshd 0 listening", "worker-1: worker 1 done"} {
		if !slices.Contains(all, want) {
			t.Errorf("all logs lack %q: %q", want, all)
		}
	}
	if got := texts(collect(t, name, engine.LogOptions{All: true, TailLines: new(int32(1))})); len(got) != 3 {
		t.Errorf("all, tail 1: %q", got)
	}
	if got := collect(t, name, engine.LogOptions{All: true, Since: time.Now().Add(time.Hour)}); len(got) != 0 {
		t.Errorf("since an hour from now: %q", texts(got))
	}
	if got := collect(t, name, engine.LogOptions{Since: time.Now().Add(-time.Hour)}); len(got) != 3 {
		t.Errorf("since an hour ago: %q", texts(got))
	}
	if err := eng.Logs(ctx, ns, name, engine.LogOptions{Worker: new(int32(5))}, func(job.LogLine) error { return nil }); !job.IsKind(err, job.KindBadRequest) {
		t.Errorf("worker 5 of 2: %v", err)
	}

	// Follow the launcher and every worker; finishing the job ends it.
	var mu sync.Mutex
	var followed []job.LogLine
	done := make(chan error, 1)
	go func() {
		fctx, cancel := context.WithTimeout(ctx, 2*awaitTimeout)
		defer cancel()
		done <- eng.Logs(fctx, ns, name, engine.LogOptions{All: true, Follow: true}, func(l job.LogLine) error {
			mu.Lock()
			followed = append(followed, l)
			mu.Unlock()
			return nil
		})
	}()
	eventually(t, "followed lines", func() bool { mu.Lock(); defer mu.Unlock(); return len(followed) >= 7 })
	exitPod(t, lp, 0)
	awaitPhase(t, name, job.PhaseSucceeded)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("follow: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("follow did not return after the job ended")
	}

	// The operator removed the workers (cleanPodPolicy Running); remove the
	// launcher Job as the TTL controller would (a short real TTL races the
	// operator, see Admit): the logs come from the archive.
	fg := metav1.DeletePropagationForeground
	if err := admin.BatchV1().Jobs(ns).Delete(ctx, name+"-launcher", metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "pods removed", func() bool { return len(podsOf(t, name, "")) == 0 })
	if got := texts(collect(t, name, engine.LogOptions{Worker: new(int32(0))})); !slices.Equal(got, []string{"worker-0: sshd 0 listening", "worker-0: worker 0 done"}) {
		t.Errorf("archived worker 0 logs: %q", got)
	}
	if got := texts(collect(t, name, engine.LogOptions{})); len(got) != 3 || got[2] != "launcher: rank 0: done" {
		t.Errorf("archived launcher logs: %q", got)
	}
	if got := collect(t, name, engine.LogOptions{All: true}); len(got) != 7 {
		t.Errorf("archived, all: %q", texts(got))
	}
	if got := texts(collect(t, name, engine.LogOptions{TailLines: new(int32(1))})); !slices.Equal(got, []string{"launcher: rank 0: done"}) {
		t.Errorf("archived launcher, tail 1: %q", got)
	}
	if got := collect(t, name, engine.LogOptions{All: true, Since: time.Now().Add(time.Hour)}); len(got) != 0 {
		t.Errorf("archived, since an hour from now: %q", texts(got))
	}
	// A follow of a finished job returns what is there.
	var after []job.LogLine
	if err := eng.Logs(ctx, ns, name, engine.LogOptions{Follow: true}, func(l job.LogLine) error { after = append(after, l); return nil }); err != nil || len(after) != 3 {
		t.Errorf("follow a finished job: %v %q", err, texts(after))
	}
	// Deleting the job removes its archive.
	files, _ := filepath.Glob(filepath.Join(archiveDir, ns, name, "*", "*.log"))
	if len(files) != 3 {
		t.Errorf("archive files %v", files)
	}
	if _, err := eng.Delete(ctx, ns, name, engine.DeleteOptions{Wait: true}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "archive removed", func() bool {
		_, err := os.Stat(filepath.Join(archiveDir, ns, name))
		return os.IsNotExist(err)
	})
}

// --previous: the previous run of a restarted worker container.
func TestLogsPrevious(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	name := uniqueName("prev")
	if err := harness.SetPodLogs(ctx, ns, name+"-worker-0", "crashed once"); err != nil {
		t.Fatal(err)
	}
	create(t, simpleJob(t, name, 1, job.OpenMPI))
	awaitPhase(t, name, job.PhaseRunning)
	if err := eng.Logs(ctx, ns, name, engine.LogOptions{Worker: new(int32(0)), Previous: true}, func(job.LogLine) error { return nil }); !job.IsKind(err, job.KindBadRequest) {
		t.Errorf("previous without a restart: %v", err)
	}
	if err := harness.SetPodRestarts(ctx, ns, name+"-worker-0", 1, 1, "Error"); err != nil {
		t.Fatal(err)
	}
	await(t, name, awaitTimeout, "restart seen", func(j *job.MPIJob) bool { return j.Status.WorkerStatuses[0].Restarts == 1 })
	got := texts(collect(t, name, engine.LogOptions{Worker: new(int32(0)), Previous: true}))
	if !slices.Equal(got, []string{"worker-0: crashed once"}) {
		t.Errorf("previous: %q", got)
	}
}

// A merged read holds at most its budget: a chatty worker's older lines
// are left out with a notice saying how to read them, the others whole.
func TestMergedLogsAreBounded(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	small, err := kube.New(ctx, kube.Options{RestConfig: serverCfg, ClientsFor: asAdmin, Namespace: ns, MergedLogBytes: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = small.Close(context.Background()) })
	name := uniqueName("chatty")
	var chatty strings.Builder
	for i := range 400 { // 400 KiB: beyond the 64 KiB share of each replica
		fmt.Fprintf(&chatty, "step %04d %s\n", i, strings.Repeat("x", 1013))
	}
	if err := harness.SetPodLogs(ctx, ns, name+"-worker-0", strings.TrimSuffix(chatty.String(), "\n")); err != nil {
		t.Fatal(err)
	}
	if err := harness.SetPodLogs(ctx, ns, name+"-worker-1", "quiet worker done"); err != nil {
		t.Fatal(err)
	}
	create(t, simpleJob(t, name, 2, job.OpenMPI))
	awaitPhase(t, name, job.PhaseRunning)
	var all []job.LogLine
	if err := small.Logs(ctx, ns, name, engine.LogOptions{All: true}, func(l job.LogLine) error { all = append(all, l); return nil }); err != nil {
		t.Fatal(err)
	}
	var notices, kept int
	last := ""
	for _, l := range all {
		switch {
		case strings.HasPrefix(l.Text, "[odh-training]"):
			notices++
			if l.Source != "worker-0" || !strings.Contains(l.Text, "--worker 0") {
				t.Errorf("notice %+v", l)
			}
		case l.Source == "worker-0":
			kept++
			last = l.Text
		}
	}
	if notices != 1 || kept == 0 || kept*1024 > 64<<10 || !strings.HasPrefix(last, "step 0399") {
		t.Errorf("merged read: %d notices, %d of 400 chatty lines kept, last %.9q", notices, kept, last)
	}
	if !slices.ContainsFunc(all, func(l job.LogLine) bool { return l.Source == "worker-1" && l.Text == "quiet worker done" }) {
		t.Errorf("the quiet worker's line is missing")
	}
	// Read alone, the worker's log is whole (streamed, not held).
	if got := collect(t, name, engine.LogOptions{Worker: new(int32(0))}); len(got) != 400 {
		t.Errorf("worker 0 alone: %d lines, want 400", len(got))
	}
}
