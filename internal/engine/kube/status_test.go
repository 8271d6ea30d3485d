package kube

import (
	"strconv"
	"strings"
	"testing"
	"time"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/odh-training/odh-training/internal/job"
)

var t0 = time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)

func mpiJob(conds ...kubeflow.JobConditionType) *kubeflow.MPIJob {
	u := &kubeflow.MPIJob{ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "ns", UID: "uid-1", CreationTimestamp: metav1.NewTime(t0)}}
	for i, c := range conds {
		u.Status.Conditions = append(u.Status.Conditions, kubeflow.JobCondition{Type: c, Status: corev1.ConditionTrue, Reason: string(c), LastTransitionTime: metav1.NewTime(t0.Add(time.Duration(i+1) * time.Second))})
	}
	return u
}

type podOpt func(*corev1.Pod)

func pod(role string, index int, phase corev1.PodPhase, opts ...podOpt) *corev1.Pod {
	name := "j-launcher-abcde"
	if role == "worker" {
		name = "j-worker-" + strconv.Itoa(index)
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("pod-" + name), CreationTimestamp: metav1.NewTime(t0),
			Labels: map[string]string{kubeflow.JobRoleLabel: role, kubeflow.JobNameLabel: "j", kubeflow.ReplicaIndexLabel: strconv.Itoa(index)}},
		Spec:   corev1.PodSpec{NodeName: "node-" + strconv.Itoa(index), Containers: []corev1.Container{{Name: role, Image: "img"}}},
		Status: corev1.PodStatus{Phase: phase},
	}
	cs := corev1.ContainerStatus{Name: role}
	switch phase {
	case corev1.PodRunning:
		cs.State.Running = &corev1.ContainerStateRunning{}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	case corev1.PodSucceeded:
		cs.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", FinishedAt: metav1.NewTime(t0.Add(time.Minute))}
	case corev1.PodFailed:
		cs.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", FinishedAt: metav1.NewTime(t0.Add(time.Minute))}
	}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{cs}
	for _, o := range opts {
		o(p)
	}
	return p
}

func exit(code int32, reason string, at time.Duration) podOpt {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, FinishedAt: metav1.NewTime(t0.Add(at))}}
	}
}

func notReady(p *corev1.Pod) { p.Status.Conditions = nil }

func deleting(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: t0.Add(time.Hour)} }

func waiting(reason, msg string) podOpt {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}
	}
}

func unschedulable(msg string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.NodeName = ""
		p.Status.ContainerStatuses = nil
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: msg}}
	}
}

func restarted(n int32, code int32, reason string) podOpt {
	return func(p *corev1.Pod) {
		cs := &p.Status.ContainerStatuses[0]
		cs.RestartCount = n
		cs.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, FinishedAt: metav1.NewTime(t0.Add(30 * time.Second))}
	}
}

func warning(kind, name, reason, msg string) *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: name + ".1", Namespace: "ns"},
		InvolvedObject: corev1.ObjectReference{Kind: kind, Name: name, Namespace: "ns"},
		Type:           corev1.EventTypeWarning, Reason: reason, Message: msg,
		LastTimestamp: metav1.NewTime(t0.Add(2 * time.Second)),
	}
}

func spec(replicas int32) *job.Spec {
	j := &job.MPIJob{Spec: job.Spec{Image: "img", Command: []string{"a"}, Workers: job.WorkerSpec{Replicas: new(replicas)}}}
	job.SetDefaults(j)
	return &j.Spec
}

func TestAggregate(t *testing.T) {
	suspended := func(u *kubeflow.MPIJob) *kubeflow.MPIJob { u.Spec.RunPolicy.Suspend = new(true); return u }
	kueue := func(u *kubeflow.MPIJob) *kubeflow.MPIJob {
		u.Labels = map[string]string{LabelKueueQueue: "lq"}
		return suspended(u)
	}
	failedCond := func(reason, msg string) *kubeflow.MPIJob {
		u := mpiJob(kubeflow.JobCreated, kubeflow.JobRunning)
		u.Status.Conditions = append(u.Status.Conditions, kubeflow.JobCondition{Type: kubeflow.JobFailed, Status: corev1.ConditionTrue, Reason: reason, Message: msg, LastTransitionTime: metav1.NewTime(t0.Add(time.Hour))})
		return u
	}
	cases := []struct {
		name     string
		u        *kubeflow.MPIJob
		pods     []*corev1.Pod
		warnings []*corev1.Event
		record   statusRecord
		age      time.Duration
		running  *bool
		phase    job.Phase
		reason   string
		msg      []string // substrings of the message
		check    func(t *testing.T, st job.Status)
	}{
		{name: "waiting for the operator", u: mpiJob(), age: time.Second, phase: job.PhasePending, reason: ReasonWaitingForOperator},
		{name: "operator not running", u: mpiJob(), age: time.Minute, phase: job.PhasePending, reason: ReasonOperatorNotRunning, msg: []string{"operator", "1m0s"}},
		{name: "operator busy", u: mpiJob(), age: time.Minute, running: new(true), phase: job.PhasePending, reason: ReasonOperatorBusy, msg: []string{"backlog"}},
		{name: "operator rejected", u: mpiJob(), warnings: []*corev1.Event{warning("MPIJob", "j", "ValidationError", "Found validation errors: x")},
			phase: job.PhasePending, reason: ReasonOperatorRejected, msg: []string{"Found validation errors"}},
		{name: "created, no pods", u: mpiJob(kubeflow.JobCreated), phase: job.PhasePending, reason: job.ReasonCreated},
		{name: "unschedulable GPUs", u: mpiJob(kubeflow.JobCreated),
			pods:  []*corev1.Pod{pod("worker", 0, corev1.PodRunning), pod("worker", 1, corev1.PodPending, unschedulable("0/4 nodes are available: 4 Insufficient nvidia.com/gpu. preemption: 0/4 nodes are available"))},
			phase: job.PhasePending, reason: job.ReasonUnschedulable, msg: []string{"worker-1", "nvidia.com/gpu"},
			check: func(t *testing.T, st job.Status) {
				if w := st.WorkerStatuses[1]; w.Reason != job.ReasonUnschedulable {
					t.Errorf("worker-1 reason %q", w.Reason)
				}
			}},
		{name: "insufficient cpu and memory", u: mpiJob(kubeflow.JobCreated),
			pods:  []*corev1.Pod{pod("worker", 0, corev1.PodPending, unschedulable("0/4 nodes are available: 2 Insufficient cpu, 4 Insufficient memory."))},
			phase: job.PhasePending, reason: job.ReasonUnschedulable, msg: []string{"cpu, memory"}},
		{name: "image pull", u: mpiJob(kubeflow.JobCreated),
			pods:  []*corev1.Pod{pod("worker", 0, corev1.PodPending, waiting("ImagePullBackOff", "Back-off pulling image \"img\""))},
			phase: job.PhasePending, reason: job.ReasonImagePull, msg: []string{"cannot pull image img", "ImagePullBackOff"}},
		{name: "quota", u: mpiJob(kubeflow.JobCreated),
			pods:     []*corev1.Pod{pod("worker", 0, corev1.PodRunning)},
			warnings: []*corev1.Event{warning("MPIJob", "j", "MPIJobFailed", `worker pod created failed: pods "j-worker-1" is forbidden: exceeded quota: q, requested: requests.cpu=4, used: requests.cpu=8, limited: requests.cpu=10`)},
			phase:    job.PhasePending, reason: job.ReasonQuotaExceeded, msg: []string{"exceeded quota"}},
		{name: "quota refuses every pod (no Created condition yet)", u: mpiJob(),
			warnings: []*corev1.Event{warning("MPIJob", "j", "MPIJobFailed", `worker pod created failed: pods "j-worker-0" is forbidden: exceeded quota: q`)},
			phase:    job.PhasePending, reason: job.ReasonQuotaExceeded, msg: []string{"exceeded quota"}},
		{name: "operator error", u: mpiJob(),
			warnings: []*corev1.Event{warning("MPIJob", "j", "ErrResourceExists", `Resource "j" of Kind "Service" already exists and is not managed by MPIJob`)},
			phase:    job.PhasePending, reason: ReasonOperatorError, msg: []string{"already exists"}},
		{name: "managed elsewhere", u: func() *kubeflow.MPIJob {
			u := mpiJob()
			u.Spec.RunPolicy.ManagedBy = new("kueue.x-k8s.io/multikueue")
			return u
		}(),
			phase: job.PhasePending, reason: ReasonManagedElsewhere, msg: []string{"multikueue"}},
		{name: "suspending", u: suspended(mpiJob(kubeflow.JobCreated, kubeflow.JobRunning)), pods: []*corev1.Pod{pod("worker", 0, corev1.PodRunning)},
			phase: job.PhaseSuspended, reason: ReasonSuspending, msg: []string{"1 left"}},
		{name: "workers starting", u: mpiJob(kubeflow.JobCreated),
			pods:  []*corev1.Pod{pod("worker", 0, corev1.PodRunning), pod("worker", 1, corev1.PodRunning, notReady)},
			phase: job.PhaseStarting, reason: ReasonWaitingForWorkers, msg: []string{"1 of 2 workers ready"}},
		{name: "launcher starting", u: mpiJob(kubeflow.JobCreated),
			pods:  []*corev1.Pod{pod("worker", 0, corev1.PodRunning), pod("worker", 1, corev1.PodRunning), pod("launcher", 0, corev1.PodPending)},
			phase: job.PhaseStarting, reason: ReasonLauncherStarting},
		{name: "running", u: mpiJob(kubeflow.JobCreated, kubeflow.JobRunning),
			pods:  []*corev1.Pod{pod("worker", 0, corev1.PodRunning), pod("worker", 1, corev1.PodRunning), pod("launcher", 0, corev1.PodRunning)},
			phase: job.PhaseRunning, reason: job.ReasonRunning,
			check: func(t *testing.T, st job.Status) {
				if st.Workers != (job.WorkerCounts{Total: 2, Running: 2, Ready: 2}) {
					t.Errorf("workers %+v", st.Workers)
				}
				if st.Launcher == nil || st.Launcher.State != job.StateRunning || st.Launcher.Index != -1 || st.Launcher.Name != job.LauncherName {
					t.Errorf("launcher %+v", st.Launcher)
				}
				if st.WorkerStatuses[1].Node != "node-1" || st.WorkerStatuses[1].Pod != "j-worker-1" {
					t.Errorf("worker-1 %+v", st.WorkerStatuses[1])
				}
			}},
		{name: "worker OOMKilled while mpirun runs", u: mpiJob(kubeflow.JobCreated, kubeflow.JobRunning),
			pods: []*corev1.Pod{pod("worker", 0, corev1.PodRunning), pod("worker", 1, corev1.PodFailed, exit(137, "OOMKilled", time.Minute)),
				pod("worker", 2, corev1.PodFailed, exit(1, "Error", 2*time.Minute)), pod("launcher", 0, corev1.PodRunning)},
			phase: job.PhaseRunning, reason: job.ReasonWorkerFailed, msg: []string{"worker 1", "exit code 137", "OOMKilled", "mpirun is still running"},
			check: func(t *testing.T, st job.Status) {
				if st.FirstFailedWorker == nil || *st.FirstFailedWorker != 1 {
					t.Errorf("first failed worker %v", st.FirstFailedWorker)
				}
				w := st.WorkerStatuses[1]
				if w.State != job.StateFailed || w.ExitCode == nil || *w.ExitCode != 137 || w.Reason != job.ReasonOOMKilled {
					t.Errorf("worker-1 %+v", w)
				}
				if st.Workers.Failed != 1 || st.Workers.Running != 1 { // worker-2 is beyond spec.workers.replicas
					t.Errorf("counts %+v", st.Workers)
				}
			}},
		{name: "worker restarted", u: mpiJob(kubeflow.JobCreated, kubeflow.JobRunning),
			pods:  []*corev1.Pod{pod("worker", 0, corev1.PodRunning, restarted(2, 139, "Error")), pod("launcher", 0, corev1.PodRunning)},
			phase: job.PhaseRunning, reason: job.ReasonWorkerFailed, msg: []string{"worker 0", "exit code 139", "restarted 2 times"},
			check: func(t *testing.T, st job.Status) {
				if w := st.WorkerStatuses[0]; w.Restarts != 2 || w.State != job.StateRunning {
					t.Errorf("worker-0 %+v", w)
				}
			}},
		{name: "evicted worker", u: mpiJob(kubeflow.JobCreated, kubeflow.JobRunning),
			pods: []*corev1.Pod{pod("worker", 0, corev1.PodFailed, func(p *corev1.Pod) {
				p.Status.Reason, p.Status.Message = "Evicted", "The node was low on resource: memory."
			})},
			phase: job.PhaseRunning, reason: job.ReasonWorkerFailed, msg: []string{"Evicted", "low on resource"}},
		{name: "succeeded, workers cleaned up", u: mpiJob(kubeflow.JobCreated, kubeflow.JobRunning, kubeflow.JobSucceeded),
			pods:  []*corev1.Pod{pod("launcher", 0, corev1.PodSucceeded)},
			phase: job.PhaseSucceeded, reason: job.ReasonSucceeded,
			check: func(t *testing.T, st job.Status) {
				if st.Workers.Succeeded != 2 || st.ExitCode == nil || *st.ExitCode != 0 {
					t.Errorf("workers %+v exit %v", st.Workers, st.ExitCode)
				}
				if st.CompletionTime.IsZero() {
					t.Error("no completion time")
				}
			}},
		{name: "succeeded, workers being deleted", u: mpiJob(kubeflow.JobCreated, kubeflow.JobRunning, kubeflow.JobSucceeded),
			pods:  []*corev1.Pod{pod("launcher", 0, corev1.PodSucceeded), pod("worker", 0, corev1.PodFailed, deleting, exit(137, "Error", time.Hour)), pod("worker", 1, corev1.PodRunning, deleting)},
			phase: job.PhaseSucceeded, reason: job.ReasonSucceeded,
			check: func(t *testing.T, st job.Status) {
				if st.Workers.Succeeded != 2 || st.FirstFailedWorker != nil {
					t.Errorf("workers %+v first failed %v", st.Workers, st.FirstFailedWorker)
				}
			}},
		{name: "failed after a worker failed (pods gone)", u: failedCond("BackoffLimitExceeded", "Job has reached the specified backoff limit"),
			pods:   []*corev1.Pod{pod("launcher", 0, corev1.PodFailed, exit(1, "Error", time.Hour))},
			record: statusRecord{FirstFailure: &workerFailure{Worker: 1, Pod: "j-worker-1", Node: "node-1", ExitCode: new(int32(3)), Reason: "Error", Time: t0.Add(time.Minute)}},
			phase:  job.PhaseFailed, reason: job.ReasonWorkerFailed, msg: []string{"worker 1 (pod j-worker-1 on node node-1) failed first: exit code 3", "launcher exited with code 1"},
			check: func(t *testing.T, st job.Status) {
				w := st.WorkerStatuses[1]
				if w.State != job.StateFailed || w.ExitCode == nil || *w.ExitCode != 3 || w.Node != "node-1" {
					t.Errorf("worker-1 %+v", w)
				}
				if *st.FirstFailedWorker != 1 || *st.ExitCode != 1 {
					t.Errorf("first failed %v exit %v", *st.FirstFailedWorker, *st.ExitCode)
				}
			}},
		{name: "launcher failed", u: failedCond("BackoffLimitExceeded", "x"),
			pods:  []*corev1.Pod{pod("launcher", 0, corev1.PodFailed, exit(2, "Error", time.Hour))},
			phase: job.PhaseFailed, reason: job.ReasonLauncherFailed, msg: []string{"exit code 2"}},
		{name: "deadline", u: failedCond("DeadlineExceeded", "Job was active longer than specified deadline"),
			phase: job.PhaseFailed, reason: job.ReasonDeadlineExceeded, msg: []string{"activeDeadlineSeconds"}},
		{name: "suspended", u: suspended(mpiJob(kubeflow.JobCreated, kubeflow.JobSuspended)), phase: job.PhaseSuspended, reason: job.ReasonSuspended},
		{name: "queued by kueue", u: kueue(mpiJob(kubeflow.JobCreated, kubeflow.JobSuspended)), phase: job.PhaseQueued, reason: job.ReasonQueued, msg: []string{`"lq"`}},
		{name: "deleting", u: func() *kubeflow.MPIJob {
			u := mpiJob(kubeflow.JobCreated, kubeflow.JobRunning)
			u.DeletionTimestamp = &metav1.Time{Time: t0.Add(time.Hour)}
			return u
		}(), phase: job.PhaseDeleting, reason: job.ReasonDeleting},
		{name: "history continues", u: mpiJob(kubeflow.JobCreated, kubeflow.JobRunning),
			record: statusRecord{History: []job.Transition{{Phase: job.PhasePending, Reason: job.ReasonCreated, Time: t0}, {Phase: job.PhaseStarting, Reason: ReasonWaitingForWorkers, Time: t0.Add(time.Second)}}},
			pods:   []*corev1.Pod{pod("worker", 0, corev1.PodRunning), pod("worker", 1, corev1.PodRunning), pod("launcher", 0, corev1.PodRunning)},
			phase:  job.PhaseRunning, reason: job.ReasonRunning,
			check: func(t *testing.T, st job.Status) {
				if len(st.History) != 3 || st.History[2].Phase != job.PhaseRunning {
					t.Errorf("history %+v", st.History)
				}
				for i := 1; i < len(st.History); i++ {
					if st.History[i].Time.Before(st.History[i-1].Time) {
						t.Errorf("history out of order: %+v", st.History)
					}
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			age := tc.age
			if age == 0 {
				age = 2 * time.Hour
			}
			if tc.u.Status.Conditions == nil && tc.age == 0 {
				age = time.Second
			}
			st, rec, _ := aggregate(observed{
				mpiJob: tc.u, spec: spec(2), pods: tc.pods, warnings: tc.warnings, record: tc.record,
				now: t0.Add(age), operatorTimeout: 45 * time.Second, operatorRunning: tc.running,
			})
			if st.Phase != tc.phase || st.Reason != tc.reason {
				t.Fatalf("phase %s/%s, want %s/%s (message %q)", st.Phase, st.Reason, tc.phase, tc.reason, st.Message)
			}
			for _, m := range tc.msg {
				if !strings.Contains(st.Message, m) {
					t.Errorf("message %q does not mention %q", st.Message, m)
				}
			}
			if n := len(st.History); n == 0 || st.History[n-1].Phase != tc.phase {
				t.Errorf("history %+v does not end in %s", st.History, tc.phase)
			}
			if len(rec.History) != len(st.History) {
				t.Errorf("record history %d entries, status %d", len(rec.History), len(st.History))
			}
			if st.Requested == nil {
				t.Error("no requested totals")
			}
			if tc.check != nil {
				tc.check(t, st)
			}
		})
	}
}

// The first failure is kept in the record, so it survives the pods.
func TestAggregateRemembersFirstFailure(t *testing.T) {
	u := mpiJob(kubeflow.JobCreated, kubeflow.JobRunning)
	pods := []*corev1.Pod{pod("worker", 0, corev1.PodRunning), pod("worker", 1, corev1.PodFailed, exit(9, "Error", time.Minute)), pod("launcher", 0, corev1.PodRunning)}
	_, rec, seen := aggregate(observed{mpiJob: u, spec: spec(2), pods: pods, now: t0.Add(time.Hour)})
	if rec.FirstFailure == nil || rec.FirstFailure.Worker != 1 || *rec.FirstFailure.ExitCode != 9 {
		t.Fatalf("record %+v", rec.FirstFailure)
	}
	// A later failure of another worker does not replace it.
	pods[0] = pod("worker", 0, corev1.PodFailed, exit(1, "Error", 2*time.Minute))
	_, rec, seen = aggregate(observed{mpiJob: u, spec: spec(2), pods: pods, record: rec, lastSeen: seen, now: t0.Add(time.Hour)})
	if rec.FirstFailure.Worker != 1 {
		t.Fatalf("first failure moved to %+v", rec.FirstFailure)
	}
	// Round trip through the annotation.
	back := parseRecord(rec.encode())
	if back.FirstFailure == nil || back.FirstFailure.Worker != 1 || len(back.History) != len(rec.History) {
		t.Fatalf("record round trip: %+v", back)
	}
	_ = seen
}

func TestMaxResourceVersion(t *testing.T) {
	p := pod("worker", 0, corev1.PodRunning)
	p.ResourceVersion = "120"
	ev := warning("Pod", "j-worker-0", "x", "y")
	ev.ResourceVersion = "99"
	if got := maxResourceVersion("100", []*corev1.Pod{p}, []*corev1.Event{ev}); got != "120" {
		t.Errorf("got %s", got)
	}
	if got := maxResourceVersion("abc", []*corev1.Pod{p}, nil); got != "abc" {
		t.Errorf("non-numeric: got %s", got)
	}
}
