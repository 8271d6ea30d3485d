package service

import (
	"runtime"
	"testing"
	"time"
	"weak"

	"google.golang.org/protobuf/proto"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/job"
)

func wireJob(name string) *job.MPIJob {
	j := &job.MPIJob{APIVersion: job.APIVersion, Kind: job.Kind}
	j.Metadata.Namespace, j.Metadata.Name, j.Metadata.ResourceVersion = "ns", name, "7"
	j.Spec.Command = []string{"true"}
	j.Status.Phase = job.PhaseRunning
	j.Status.WorkerStatuses = []job.ReplicaStatus{{Name: "worker-0", State: "Running", Node: "n1"}}
	return j
}

func TestWireEventProtoIsTheMessage(t *testing.T) {
	for _, ev := range []job.WatchEvent{
		{Type: job.Modified, Job: wireJob("a")},
		{Type: job.Synced},
		{Type: job.Deleted, Job: wireJob("b")},
	} {
		w := NewWireEvent(ev)
		data, err := newCodec().Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		var got trainingv1.WatchEvent
		if err := proto.Unmarshal(data.Materialize(), &got); err != nil {
			t.Fatalf("%s: decode: %v", ev.Type, err)
		}
		if want := w.Message(); !proto.Equal(want, &got) {
			t.Errorf("%s: decoded %v, want %v", ev.Type, &got, want)
		}
	}
}

func TestWireEncodesASnapshotOnce(t *testing.T) {
	j := wireJob("a")
	a, b := NewWireEvent(job.WatchEvent{Type: job.Added, Job: j}), NewWireEvent(job.WatchEvent{Type: job.Modified, Job: j})
	if a.wire != b.wire {
		t.Fatal("two events of one snapshot must share its encodings")
	}
	pa, _ := a.wire.proto(j)
	pb, _ := b.wire.proto(j)
	if &pa[0] != &pb[0] {
		t.Error("the job was encoded twice")
	}
	if c := NewWireEvent(job.WatchEvent{Type: job.Modified, Job: wireJob("a")}); c.wire == a.wire {
		t.Error("an equal but distinct snapshot must get its own encodings")
	}
}

func TestWireEncodingsGoWithTheSnapshot(t *testing.T) {
	j := wireJob("gone")
	wp := weak.Make(j)
	w := NewWireEvent(job.WatchEvent{Type: job.Added, Job: j})
	if _, err := w.wire.proto(j); err != nil {
		t.Fatal(err)
	}
	j, w = nil, nil
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		if _, ok := wires.Load(wp); !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the encodings of a collected snapshot are still held")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
