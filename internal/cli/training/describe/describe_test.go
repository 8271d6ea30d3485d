package describe_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/odh-training/odh-training/internal/cli/clitest"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
	"github.com/odh-training/odh-training/internal/cli/training/describe"
	"github.com/odh-training/odh-training/internal/job"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestGolden(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 11, 0, 0, 0, time.UTC)
	j := &job.MPIJob{
		Metadata: job.ObjectMeta{Name: "mnist", Namespace: "team-a", Labels: map[string]string{"team": "nlp", "tier": "gold"}, Creator: "alice", UID: "u-1", CreationTimestamp: t0},
		Spec: job.Spec{Command: []string{"python3", "train.py"}, MPIImplementation: job.OpenMPI, Env: []job.EnvVar{{Name: "EPOCHS", Value: "3"}},
			Workers:   job.WorkerSpec{Replicas: job.Ptr(int32(2)), SlotsPerWorker: job.Ptr(int32(2)), Resources: job.Resources{CPU: "2", Memory: "4Gi", GPUs: 1}},
			RunPolicy: job.RunPolicy{BackoffLimit: job.Ptr(int32(0)), CleanPodPolicy: job.CleanPodPolicyRunning, ActiveDeadlineSeconds: job.Ptr(int32(600))}},
		Status: job.Status{Phase: job.PhaseFailed, Reason: job.ReasonRankFailed, Message: "rank 3 on worker-1 exited with code 2", StartTime: t0.Add(time.Second), CompletionTime: t0.Add(95 * time.Second),
			Attempts: 1, ExitCode: job.Ptr(int32(2)), FirstFailedWorker: job.Ptr(int32(1)), FirstFailedRank: job.Ptr(int32(3)),
			Launcher: &job.ReplicaStatus{Name: "launcher", Index: -1, State: "Failed", Node: "vm", ExitCode: job.Ptr(int32(2))},
			Workers:  job.WorkerCounts{Total: 2, Succeeded: 1, Failed: 1},
			WorkerStatuses: []job.ReplicaStatus{
				{Name: "worker-0", Index: 0, State: "Succeeded", Node: "vm", ExitCode: job.Ptr(int32(0)), Ranks: []int32{0, 1}},
				{Name: "worker-1", Index: 1, State: "Failed", Node: "vm", ExitCode: job.Ptr(int32(2)), Ranks: []int32{2, 3}, Reason: "Error"},
			},
			Progress: &job.Progress{Step: 420, TotalSteps: 1000, Epoch: 1.5, TotalEpochs: 3, Percent: job.Ptr(42.0), EstimatedRemainingSeconds: job.Ptr(int32(330)),
				Metrics: []job.MetricValue{{Name: "accuracy", Value: 0.91}, {Name: "loss", Value: 0.5312345678}}, UpdateTime: t0.Add(90 * time.Second)},
			History: []job.Transition{{Phase: job.PhasePending, Reason: "Created", Message: "created", Time: t0}, {Phase: job.PhaseFailed, Reason: job.ReasonRankFailed, Message: "rank 3 failed", Time: t0.Add(95 * time.Second)}},
		},
	}
	events := []job.Event{{Type: "Warning", Reason: "RankFailed", Message: "rank 3 exited with code 2", Object: "worker-1", LastTime: t0.Add(95 * time.Second), Count: 1}}
	ios, _, _, _ := iostreams.Test()
	var buf bytes.Buffer
	describe.Print(&buf, ios, j, events, t0.Add(10*time.Minute), describe.Workers{})
	const path = "testdata/failed.golden"
	if *update {
		_ = os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
		t.Errorf("describe (-want +got):\n%s", diff)
	}
}

// bigJob is a running job of 1,000 workers on 20 nodes: two failed, three
// pending for lack of room, one restarted, one not ready.
func bigJob(t0 time.Time) *job.MPIJob {
	j := &job.MPIJob{
		Metadata: job.ObjectMeta{Name: "big", Namespace: "team-a", UID: "u-2", CreationTimestamp: t0},
		Spec: job.Spec{Image: "img", Command: []string{"python3", "train.py"}, MPIImplementation: job.OpenMPI,
			Workers: job.WorkerSpec{Replicas: job.Ptr(int32(1000)), SlotsPerWorker: job.Ptr(int32(1)), Resources: job.Resources{CPU: "2", Memory: "20Mi"}}},
		Status: job.Status{Phase: job.PhaseRunning, Reason: "Running", StartTime: t0.Add(time.Second), Attempts: 1,
			Workers: job.WorkerCounts{Total: 1000, Running: 995, Ready: 994, Pending: 3, Failed: 2}},
	}
	for i := range 1000 {
		r := job.ReplicaStatus{Name: fmt.Sprintf("worker-%d", i), Index: int32(i), State: "Running", Ready: true, Node: fmt.Sprintf("node-%02d", i%20), Ranks: []int32{int32(i)}}
		switch i {
		case 17, 400:
			r.State, r.Ready, r.ExitCode, r.Reason = "Failed", false, job.Ptr(int32(137)), "OOMKilled"
		case 997, 998, 999:
			r.State, r.Ready, r.Node, r.Reason = "Pending", false, "", "Unschedulable"
		case 5:
			r.Restarts = 1
		case 6:
			r.Ready = false
		}
		j.Status.WorkerStatuses = append(j.Status.WorkerStatuses, r)
	}
	return j
}

func TestGoldenThousandWorkers(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 11, 0, 0, 0, time.UTC)
	ios, _, _, _ := iostreams.Test()
	var buf bytes.Buffer
	describe.Print(&buf, ios, bigJob(t0), nil, t0.Add(10*time.Minute), describe.Workers{Select: "auto", Limit: describe.DefaultLimit})
	const path = "testdata/thousand.golden"
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
		t.Errorf("describe (-want +got):\n%s", diff)
	}
	if n := strings.Count(buf.String(), "\n"); n > 80 {
		t.Errorf("a 1,000-worker job takes %d lines; it must fit a screen or two", n)
	}
}

func TestWorkerSelection(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 11, 0, 0, 0, time.UTC)
	rows := func(v describe.Workers) []string {
		ios, _, _, _ := iostreams.Test()
		var buf bytes.Buffer
		describe.Print(&buf, ios, bigJob(t0), nil, t0, v)
		var names []string
		for _, l := range strings.Split(buf.String(), "\n") {
			if f := strings.Fields(l); len(f) > 1 && strings.HasPrefix(f[0], "worker-") {
				names = append(names, f[0])
			}
		}
		return names
	}
	for _, tc := range []struct {
		v    describe.Workers
		want []string
		n    int
	}{
		{v: describe.Workers{Select: "auto"}, want: []string{"worker-5", "worker-6", "worker-17", "worker-400", "worker-997", "worker-998", "worker-999"}},
		{v: describe.Workers{Select: "failed"}, want: []string{"worker-17", "worker-400"}},
		{v: describe.Workers{Select: "Failed,pending"}, want: []string{"worker-17", "worker-400", "worker-997", "worker-998", "worker-999"}},
		{v: describe.Workers{Select: "not-ready,restarted"}, want: []string{"worker-5", "worker-6"}},
		{v: describe.Workers{Select: "none"}, want: nil},
		{v: describe.Workers{Select: "all"}, n: 1000},
		{v: describe.Workers{Select: "all", Limit: 10}, n: 10},
		{v: describe.Workers{Select: "all", Node: "node-03"}, n: 50},
		{v: describe.Workers{Select: "failed", Node: "node-00"}, want: []string{"worker-400"}},
	} {
		got := rows(tc.v)
		if tc.want != nil || tc.n == 0 {
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%+v (-want +got):\n%s", tc.v, diff)
			}
		} else if len(got) != tc.n {
			t.Errorf("%+v: %d rows, want %d", tc.v, len(got), tc.n)
		}
	}
}

func TestWorkerFlags(t *testing.T) {
	env := clitest.New(t, false)
	run := func(args ...string) (*describe.Options, error) {
		var got *describe.Options
		cmd := describe.NewCmdDescribe(env.F, func(o *describe.Options) error { got = o; return nil })
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		cmd.SetArgs(args)
		return got, cmd.ExecuteContext(context.Background())
	}
	o, err := run("mpijob", "big", "--workers=failed,not-ready", "--node", "n1", "--limit", "0")
	if err != nil {
		t.Fatal(err)
	}
	if o.Workers != (describe.Workers{Select: "failed,not-ready", Node: "n1", Limit: 0}) {
		t.Errorf("workers %+v", o.Workers)
	}
	if o, _ := run("mpijob", "big"); o.Workers != (describe.Workers{Select: "auto", Limit: describe.DefaultLimit}) {
		t.Errorf("default workers %+v", o.Workers)
	}
	for _, bad := range [][]string{{"mpijob", "x", "--workers=broken"}, {"mpijob", "x", "--limit=-1"}} {
		if _, err := run(bad...); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

// A job Kueue preempted says so, by whom and how often.
func TestPreempted(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 11, 0, 0, 0, time.UTC)
	j := &job.MPIJob{
		Metadata: job.ObjectMeta{Name: "low", Namespace: "team-a", CreationTimestamp: t0},
		Spec:     job.Spec{Command: []string{"a"}, Scheduling: job.Scheduling{Queue: "lq", PriorityClass: "low"}},
		Status: job.Status{Phase: job.PhaseQueued, Reason: job.ReasonPreempted, QueuePosition: 1, Preemptions: 2, PreemptedBy: "high",
			Message: `preempted by job "high" (Kueue: prioritization in the ClusterQueue); requeued in Kueue LocalQueue "lq"`},
	}
	ios, _, _, _ := iostreams.Test()
	var buf bytes.Buffer
	describe.Print(&buf, ios, j, nil, t0.Add(time.Minute), describe.Workers{})
	for _, want := range []string{"Reason:", "Preempted", `preempted by job "high"`, "queue lq, priority class low", "Queue position:", "Preempted:", "2 time(s) by Kueue for higher-priority work, last by job high"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("describe lacks %q:\n%s", want, buf.String())
		}
	}
}
