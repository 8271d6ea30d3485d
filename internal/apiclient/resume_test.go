package apiclient_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/engine/local"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/service"
	"github.com/odh-training/odh-training/internal/templates"
)

func TestMain(m *testing.M) {
	local.MaybeRankExec() // the local engine re-executes this binary as its rank wrapper
	os.Exit(m.Run())
}

// rig is a real service on a loopback port over a real local engine; the
// port can be closed and served again (a server restart) while the engine
// and its jobs live on.
type rig struct {
	t    *testing.T
	eng  *local.Engine
	tpl  *templates.Store
	addr string
	srv  *service.Server
}

func newRig(t *testing.T) *rig {
	t.Helper()
	dir := t.TempDir()
	eng, err := local.New(local.Options{StateDir: dir + "/engine", Slots: 4, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := templates.NewStore(dir + "/templates")
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, eng: eng, tpl: tpl}
	r.start()
	t.Cleanup(func() {
		r.stop()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = eng.Close(ctx)
	})
	return r
}

func (r *rig) start() {
	r.t.Helper()
	addr := r.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var lis net.Listener
	var err error
	for i := 0; i < 50; i++ { // the old port may linger a moment
		if lis, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatal(err)
	}
	r.addr = lis.Addr().String()
	s, err := service.New(service.Options{Engine: r.eng, Templates: r.tpl, Auth: auth.Anonymous{User: auth.User{Name: "alice"}}, Heartbeat: 50 * time.Millisecond})
	if err != nil {
		r.t.Fatal(err)
	}
	r.srv = s
	go func() { _ = s.GRPC().Serve(lis) }()
}

// stop ends the server at once, as a killed process would: every open
// stream fails.
func (r *rig) stop() {
	if r.srv != nil {
		r.srv.GRPC().Stop()
		r.srv.Close()
		r.srv = nil
	}
}

func (r *rig) dial() *apiclient.Client {
	r.t.Helper()
	c, err := apiclient.Dial(apiclient.Options{Server: "http://" + r.addr})
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { _ = c.Close() })
	return c
}

func (r *rig) create(ctx context.Context, c *apiclient.Client, manifest string) *job.MPIJob {
	r.t.Helper()
	j, _, err := c.Create(ctx, apiclient.CreateRequest{Manifest: []byte(manifest)})
	if err != nil {
		r.t.Fatal(err)
	}
	return j
}

func (r *rig) waitPhase(ctx context.Context, j *job.MPIJob, terminal bool) *job.MPIJob {
	r.t.Helper()
	for ctx.Err() == nil {
		got, err := r.eng.Get(ctx, j.Metadata.Namespace, j.Metadata.Name)
		if err == nil && got.Status.Phase.Terminal() == terminal {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatalf("mpijob/%s did not reach terminal=%v", j.Metadata.Name, terminal)
	return nil
}

// The reported bug: a wait whose stream dropped (server restart) reported
// the job's last seen phase as its outcome. Now the watch resumes, sees
// what happened while the server was away exactly once, and reports
// resumption to the observer.
func TestWatchResumesAcrossAServerRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := newRig(t)
	c := r.dial()
	var mu sync.Mutex
	var observed []apiclient.StreamEvent
	c.SetReconnect(30*time.Second, func(e apiclient.StreamEvent) { mu.Lock(); observed = append(observed, e); mu.Unlock() })
	j := r.create(ctx, c, "metadata: {name: waiter}\nspec: {command: [\"true\"], runPolicy: {suspend: true}}")

	synced := make(chan struct{})
	var got []string
	done := make(chan error, 1)
	go func() {
		done <- c.Watch(ctx, apiclient.WatchOptions{Namespace: j.Metadata.Namespace, Name: "waiter"}, func(t job.WatchEventType, j *job.MPIJob) error {
			if t == job.Synced {
				got = append(got, "SYNCED")
				close(synced)
				return nil
			}
			got = append(got, fmt.Sprintf("%s %s", t, j.Status.Phase))
			if j.Status.Phase.Terminal() {
				return apiclient.ErrStop
			}
			return nil
		})
	}()
	<-synced
	r.stop()
	// While the server is away the job runs to its end.
	if _, err := r.eng.Resume(ctx, j.Metadata.Namespace, "waiter"); err != nil {
		t.Fatal(err)
	}
	r.waitPhase(ctx, j, true)
	time.Sleep(300 * time.Millisecond) // a few failed reconnects
	r.start()
	if err := <-done; err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if want := "[ADDED Suspended SYNCED MODIFIED Succeeded]"; fmt.Sprint(got) != want {
		t.Errorf("events %v, want %s", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(observed) != 2 || observed[0].Resumed || observed[0].Err == nil || !observed[1].Resumed {
		t.Errorf("observer saw %+v, want a drop with its cause then a resume", observed)
	}
}

// A watch of a job the server never comes back for gives up after the
// reconnect timeout with an error that says so — never with an outcome.
func TestWatchGivesUpAfterTheReconnectTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := newRig(t)
	c := r.dial()
	c.SetReconnect(500*time.Millisecond, nil)
	j := r.create(ctx, c, "metadata: {name: gone}\nspec: {command: [\"true\"], runPolicy: {suspend: true}}")
	synced := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- c.Watch(ctx, apiclient.WatchOptions{Namespace: j.Metadata.Namespace, Name: "gone"}, func(t job.WatchEventType, _ *job.MPIJob) error {
			if t == job.Synced {
				close(synced)
			}
			return nil
		})
	}()
	<-synced
	r.stop()
	err := <-done
	var je *job.Error
	if !errors.As(err, &je) || je.Kind != job.KindUnavailable || !strings.Contains(je.Message, "could not reopen it for 500ms") {
		t.Fatalf("Watch ended with %v, want an Unavailable error naming the timeout", err)
	}
}

// A log follow cut by a server restart resumes from its last line: every
// line of the job arrives once and in order.
func TestLogFollowResumesWithoutLossOrDuplicates(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := newRig(t)
	c := r.dial()
	c.SetReconnect(30*time.Second, nil)
	const n = 40
	j := r.create(ctx, c, fmt.Sprintf("metadata: {name: talker}\nspec: {command: [sh, -c, 'i=1; while [ $i -le %d ]; do echo line-$i; i=$((i+1)); sleep 0.05; done']}", n))
	var mu sync.Mutex
	var lines []string
	done := make(chan error, 1)
	go func() {
		done <- c.Logs(ctx, apiclient.LogRequest{Namespace: j.Metadata.Namespace, Name: "talker", All: true, Follow: true}, func(l job.LogLine) error {
			mu.Lock()
			lines = append(lines, l.Text)
			mu.Unlock()
			return nil
		})
	}()
	for {
		mu.Lock()
		k := len(lines)
		mu.Unlock()
		if k >= 5 {
			break
		}
		select {
		case err := <-done:
			got, _ := r.eng.Get(ctx, j.Metadata.Namespace, "talker")
			t.Fatalf("Logs ended after %d lines: %v; job %+v", k, err, got.Status)
		case <-ctx.Done():
			t.Fatal("no lines")
		case <-time.After(10 * time.Millisecond):
		}
	}
	r.stop()
	time.Sleep(500 * time.Millisecond) // lines keep coming while the server is away
	r.start()
	if err := <-done; err != nil {
		t.Fatalf("Logs: %v", err)
	}
	var want []string
	for i := 1; i <= n; i++ {
		want = append(want, fmt.Sprintf("line-%d", i))
	}
	if fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Errorf("lines:\n%v\nwant\n%v", lines, want)
	}
}

// A quiet watch carries heartbeats (so proxies keep it open); Watch never
// hands them to the caller.
func TestQuietStreamsCarryHeartbeats(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := newRig(t)
	c := r.dial()
	stream, err := c.RPC().WatchJobs(ctx, &trainingv1.WatchJobsRequest{Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	beats := 0
	for beats < 3 {
		ev, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetType() == "HEARTBEAT" {
			if ev.GetJob() != nil {
				t.Fatal("a heartbeat carries a job")
			}
			beats++
		}
	}
	wctx, wcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer wcancel()
	var seen []job.WatchEventType
	_ = c.Watch(wctx, apiclient.WatchOptions{Namespace: "default"}, func(t job.WatchEventType, _ *job.MPIJob) error {
		seen = append(seen, t)
		return nil
	})
	if fmt.Sprint(seen) != "[SYNCED]" {
		t.Errorf("Watch delivered %v over 300ms of heartbeats, want only SYNCED", seen)
	}
}
