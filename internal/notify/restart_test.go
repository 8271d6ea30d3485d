package notify

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/odh-training/odh-training/internal/engine/local"
	"github.com/odh-training/odh-training/internal/job"
)

func TestMain(m *testing.M) {
	local.MaybeRankExec() // the local engine runs this binary as its rank wrapper
	os.Exit(m.Run())
}

// TestQueueSurvivesRestart: events waiting for a receiver that is down are
// delivered, in order, by the next run.
func TestQueueSurvivesRestart(t *testing.T) {
	var up atomic.Bool
	rcv := newReceiver(t, func(int) int {
		if up.Load() {
			return http.StatusOK
		}
		return http.StatusServiceUnavailable
	})
	dir := t.TempDir()
	st, err := OpenStore(filepath.Join(dir, "subscriptions.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := validSub()
	s.URL = rcv.URL
	if _, err := st.Create(s); err != nil {
		t.Fatal(err)
	}
	opts := DispatcherOptions{Store: st, Guard: &Guard{AllowLoopback: true}, QueueFile: filepath.Join(dir, "queue.json"), BaseBackoff: time.Hour}
	ctx, cancel := context.WithCancel(t.Context())
	d1 := NewDispatcher(opts)
	d1.Publish(ctx, testEvent("e1", TypeRunning))
	d1.Publish(ctx, testEvent("e2", TypeSucceeded))
	for len(rcv.requests()) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel() // the server stops while e1 waits for its retry
	d1.Wait()

	up.Store(true)
	st2, err := OpenStore(filepath.Join(dir, "subscriptions.json"))
	if err != nil {
		t.Fatal(err)
	}
	opts.Store = st2
	d2 := NewDispatcher(opts)
	if err := d2.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	d2.Wait()
	var keys []string
	for _, r := range rcv.requests() {
		keys = append(keys, r.header.Get(IdempotencyHeader))
	}
	if strings.Join(keys, ",") != "e1,e1,e2" {
		t.Errorf("deliveries across the restart: %v, want e1 (failed), e1, e2", keys)
	}
	if data, _ := os.ReadFile(opts.QueueFile); string(data) != "{}" {
		t.Errorf("queue file after delivery: %s", data)
	}
}

// TestNotifierAcrossRestart runs real jobs (real mpirun) on the local
// engine: the receiver gets every transition, including those of the time
// the notifier was down, each event id at least once and no other.
func TestNotifierAcrossRestart(t *testing.T) {
	type got struct{ ID, Type, Job string }
	var received []got
	rcv := newReceiver(t, func(int) int { return http.StatusOK })
	stateDir, engDir := t.TempDir(), t.TempDir()
	collect := func() []got {
		received = received[:0]
		for _, r := range rcv.requests() {
			var ce CloudEvent
			if err := json.Unmarshal(r.body, &ce); err != nil || !Verify(testSecret, r.body, r.header.Get(SignatureHeader)) {
				t.Fatalf("bad delivery %s", r.body)
			}
			received = append(received, got{ce.ID, string(ce.Data.Type), ce.Subject})
		}
		return received
	}
	start := func() (*local.Engine, *Notifier, func()) {
		eng, err := local.New(local.Options{StateDir: engDir, Slots: 4, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		n, err := New(Options{StateDir: stateDir, AllowPrivateDestinations: true})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); n.Run(ctx, eng) }()
		return eng, n, func() {
			cancel()
			<-done
			cctx, ccancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer ccancel()
			_ = eng.Close(cctx)
		}
	}
	createJob := func(eng *local.Engine, name string, cmd ...string) {
		j := &job.MPIJob{Metadata: job.ObjectMeta{Name: name, Namespace: "team-a"}, Spec: job.Spec{Command: cmd}}
		if err := job.Prepare(j); err != nil {
			t.Fatal(err)
		}
		if _, err := eng.Create(t.Context(), j); err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(want func([]got) bool) {
		deadline := time.Now().Add(60 * time.Second)
		for !want(collect()) {
			if time.Now().After(deadline) {
				t.Fatalf("received %v", received)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	has := func(job, typ string) func([]got) bool {
		return func(g []got) bool {
			return slices.ContainsFunc(g, func(e got) bool { return e.Job == job && e.Type == typ })
		}
	}

	eng, n, stop := start()
	s := validSub()
	s.Namespace, s.URL = "team-a", rcv.URL
	if _, err := n.Store.Create(s); err != nil {
		t.Fatal(err)
	}
	<-n.Ready() // the notifier's watch is established
	createJob(eng, "first", "true")
	waitFor(has("first", "succeeded"))
	stop()

	// While the notifier is down, a job is created and runs to its end.
	eng2, err := local.New(local.Options{StateDir: engDir, Slots: 4, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	createJob(eng2, "second", "true")
	deadline := time.Now().Add(60 * time.Second)
	for {
		j, err := eng2.Get(t.Context(), "team-a", "second")
		if err == nil && j.Status.Phase.Terminal() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("second job: %v %v", j, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 20*time.Second)
	_ = eng2.Close(cctx)
	ccancel()

	_, _, stop = start()
	defer stop()
	waitFor(has("second", "succeeded"))
	time.Sleep(300 * time.Millisecond) // anything repeated would be here by now
	g := collect()
	var types []string
	ids := map[string]got{}
	for _, e := range g {
		if prev, ok := ids[e.ID]; ok && prev != e {
			t.Errorf("id %s used for %v and %v", e.ID, prev, e)
		}
		ids[e.ID] = e
		types = append(types, e.Job+":"+e.Type)
	}
	want := []string{"first:created", "first:running", "first:succeeded", "second:created", "second:running", "second:succeeded"}
	var unique []string
	seen := map[string]bool{}
	for _, e := range g {
		if !seen[e.ID] {
			seen[e.ID] = true
			unique = append(unique, e.Job+":"+e.Type)
		}
	}
	if strings.Join(unique, ",") != strings.Join(want, ",") {
		t.Errorf("events across the restart: %v, want %v (all received: %v)", unique, want, types)
	}
}
