package job_test

import (
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/odh-training/odh-training/internal/job"
)

// TestDeepCopySharesNothing fills every reference field and checks that the
// copy is equal but shares no pointer, slice or map with the original, so a
// field added to the model without a copy in DeepCopy fails here.
func TestDeepCopySharesNothing(t *testing.T) {
	j := &job.MPIJob{Metadata: job.ObjectMeta{Name: "c", Labels: map[string]string{"a": "b"}, Annotations: map[string]string{"a": "b"}}}
	s := &j.Spec
	s.Command = []string{"a"}
	s.Env = []job.EnvVar{{Name: "A", Value: "1"}}
	s.Workers.Replicas, s.Workers.SlotsPerWorker = job.Ptr(int32(2)), job.Ptr(int32(1))
	s.RunPolicy.ActiveDeadlineSeconds = job.Ptr(int32(5))
	s.RunPolicy.BackoffLimit = job.Ptr(int32(5))
	s.RunPolicy.TTLSecondsAfterFinished = job.Ptr(int32(5))
	s.Volumes = []job.Volume{{Name: "v", MountPath: "/m", HostPath: "/h"}}
	s.NodeSelector = map[string]string{"a": "b"}
	s.Tolerations = []job.Toleration{{Key: "k"}}
	s.ImagePullSecrets = []string{"s"}
	st := &j.Status
	st.Launcher = &job.ReplicaStatus{ExitCode: job.Ptr(int32(1)), Ranks: []int32{1}}
	st.WorkerStatuses = []job.ReplicaStatus{{ExitCode: job.Ptr(int32(1)), Ranks: []int32{1}}}
	st.FirstFailedRank = job.Ptr(int32(1))
	st.FirstFailedWorker = job.Ptr(int32(1))
	st.History = []job.Transition{{Phase: job.PhaseRunning}}
	st.Conditions = []job.Condition{{Type: "x"}}
	st.Requested = &job.Totals{Slots: 4}
	st.ExitCode = job.Ptr(int32(1))
	j.UpstreamTrainJob = map[string]any{"spec": map[string]any{"runtimeRef": map[string]any{"name": "r"}}}
	st.Progress = &job.Progress{Percent: job.Ptr(50.0), EstimatedRemainingSeconds: job.Ptr(int32(3)), Metrics: []job.MetricValue{{Name: "loss", Value: 1}}}
	c := j.DeepCopy()
	if diff := cmp.Diff(j, c); diff != "" {
		t.Fatalf("copy differs (-orig +copy):\n%s", diff)
	}
	walkShared(t, "MPIJob", reflect.ValueOf(j), reflect.ValueOf(c))
	if (*job.MPIJob)(nil).DeepCopy() != nil {
		t.Error("DeepCopy of nil is not nil")
	}
}

func walkShared(t *testing.T, path string, a, b reflect.Value) {
	t.Helper()
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() {
			if path != "MPIJob.Upstream" {
				t.Errorf("%s is nil in the test job: set it so the clone of it is checked", path)
			}
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s is shared between the job and its clone", path)
		}
		walkShared(t, path, a.Elem(), b.Elem())
	case reflect.Slice:
		if a.Len() == 0 {
			t.Errorf("%s is empty in the test job: set it so the clone of it is checked", path)
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s is shared between the job and its clone", path)
		}
		for i := range a.Len() {
			walkShared(t, path+"[]", a.Index(i), b.Index(i))
		}
	case reflect.Map:
		if a.Len() == 0 {
			t.Errorf("%s is empty in the test job: set it so the clone of it is checked", path)
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Errorf("%s is shared between the job and its clone", path)
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if !a.Type().Field(i).IsExported() {
				continue
			}
			walkShared(t, path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
		}
	}
}
