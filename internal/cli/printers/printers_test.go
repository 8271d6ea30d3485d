package printers_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/odh-training/odh-training/internal/cli/iostreams"
	"github.com/odh-training/odh-training/internal/cli/printers"
	"github.com/odh-training/odh-training/internal/job"
)

var update = flag.Bool("update", false, "rewrite golden files")

var now = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func jobs() []*job.MPIJob {
	mk := func(ns, name string, phase job.Phase, age, ran time.Duration, ready, total int32) *job.MPIJob {
		j := &job.MPIJob{APIVersion: job.APIVersion, Kind: job.Kind,
			Metadata: job.ObjectMeta{Name: name, Namespace: ns, CreationTimestamp: now.Add(-age), Creator: "alice", Labels: map[string]string{"team": "nlp"}},
			Spec: job.Spec{Image: "quay.io/acme/train:1", Command: []string{"python3", "train.py"}, MPIImplementation: job.OpenMPI,
				Workers: job.WorkerSpec{Replicas: job.Ptr(total), SlotsPerWorker: job.Ptr(int32(2)), Resources: job.Resources{GPUs: 1}}},
			Status: job.Status{Phase: phase, Workers: job.WorkerCounts{Total: total, Ready: ready, Running: ready}},
		}
		if ran > 0 {
			j.Status.StartTime = now.Add(-age + time.Second)
			if phase.Terminal() {
				j.Status.CompletionTime = j.Status.StartTime.Add(ran)
				j.Status.Reason = string(phase)
				j.Status.Workers.Succeeded = total
			}
		}
		return j
	}
	mnist := mk("team-a", "mnist", job.PhaseRunning, 5*time.Minute, time.Minute, 4, 4)
	mnist.Status.Progress = &job.Progress{Step: 420, TotalSteps: 1000, Percent: job.Ptr(42.0), EstimatedRemainingSeconds: job.Ptr(int32(330))}
	resnet := mk("team-a", "resnet", job.PhaseSucceeded, 3*time.Hour, 2*time.Hour+13*time.Minute, 0, 8)
	resnet.Status.Progress = &job.Progress{Step: 9000}
	return []*job.MPIJob{mnist, resnet, mk("team-b", "bert", job.PhaseQueued, 40*time.Second, 0, 0, 2)}
}

func TestGolden(t *testing.T) {
	for _, c := range []struct {
		name, format string
		all          bool
	}{
		{"table", "", false},
		{"table-all-namespaces", "", true},
		{"wide", "wide", true},
		{"json", "json", false},
		{"yaml", "yaml", false},
		{"name", "name", false},
		{"jsonpath", "jsonpath={range .items[*]}{.metadata.name}={.status.phase}{\"\\n\"}{end}", false},
		{"custom-columns", "custom-columns=NAME:.metadata.name,PHASE:.status.phase,GPUS:.spec.workers.resources.gpus", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := printers.ParseFormat(c.format)
			if err != nil {
				t.Fatal(err)
			}
			ios, _, _, _ := iostreams.Test()
			var buf bytes.Buffer
			if err := printers.PrintJobs(&buf, jobs(), f, false, printers.Options{AllNamespaces: c.all, Now: now, IO: ios}); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff := cmp.Diff(string(want), buf.String()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", c.name, diff)
			}
		})
	}
}

func TestParseFormatErrors(t *testing.T) {
	for _, f := range []string{"xml", "jsonpath=", "custom-columns="} {
		if _, err := printers.ParseFormat(f); err == nil {
			t.Errorf("ParseFormat(%q) accepted", f)
		}
	}
	var buf bytes.Buffer
	f, _ := printers.ParseFormat("custom-columns=NAME")
	if err := printers.PrintJobs(&buf, jobs(), f, false, printers.Options{}); err == nil || !strings.Contains(err.Error(), "HEADER:JSONPATH") {
		t.Errorf("bad custom-columns spec: %v", err)
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		5 * time.Second: "5s", 119 * time.Second: "119s", 5*time.Minute + 3*time.Second: "5m3s", 90 * time.Minute: "90m",
		4*time.Hour + 30*time.Minute: "4h30m", 30 * time.Hour: "30h", 50 * time.Hour: "2d2h", 10 * 24 * time.Hour: "10d",
		1095 * 24 * time.Hour: "3y", 500 * 24 * time.Hour: "500d", -time.Minute: "0s",
	} {
		if got := printers.HumanDuration(d); got != want {
			t.Errorf("HumanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// A job Kueue preempted and requeued says so in the STATUS column.
func TestPhasePreempted(t *testing.T) {
	j := &job.MPIJob{Status: job.Status{Phase: job.PhaseQueued, Reason: job.ReasonPreempted}}
	if got := printers.Phase(nil, j); got != "Queued/Preempted" {
		t.Errorf("Phase = %q", got)
	}
	j.Status.Reason = job.ReasonQueued
	if got := printers.Phase(nil, j); got != "Queued" {
		t.Errorf("Phase = %q", got)
	}
}
