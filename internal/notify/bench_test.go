package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/odh-training/odh-training/internal/engine/local"
	"github.com/odh-training/odh-training/internal/job"
)

// BenchmarkStateChangeToWebhook: real jobs (real mpirun, local engine);
// for each running and succeeded event, the time from the engine's
// transition (the event's time) to the receiver holding the signed
// CloudEvent. Reports p50/p95/max in ms.
//
//	go test ./internal/notify -run XXX -bench StateChangeToWebhook -benchtime 20x
func BenchmarkStateChangeToWebhook(b *testing.B) {
	var mu sync.Mutex
	var lat []time.Duration
	done := map[string]chan struct{}{}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		now := time.Now()
		var ce CloudEvent
		if json.Unmarshal(body, &ce) != nil || !Verify(testSecret, body, r.Header.Get(SignatureHeader)) {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		if ce.Data.Type == TypeRunning || ce.Data.Type == TypeSucceeded {
			lat = append(lat, now.Sub(ce.Time))
		}
		if ce.Data.Type == TypeSucceeded {
			if ch := done[ce.Subject]; ch != nil {
				close(ch)
				delete(done, ce.Subject)
			}
		}
		mu.Unlock()
	}))
	defer rcv.Close()
	eng, err := local.New(local.Options{StateDir: b.TempDir(), Slots: 4, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	n, err := New(Options{StateDir: b.TempDir(), AllowPrivateDestinations: true})
	if err != nil {
		b.Fatal(err)
	}
	s := validSub()
	s.Namespace, s.URL, s.EventTypes = "bench", rcv.URL, []Type{TypeRunning, TypeSucceeded}
	if _, err := n.Store.Create(s); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); n.Run(ctx, eng) }()
	defer func() {
		cancel()
		<-stopped
		cctx, ccancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer ccancel()
		_ = eng.Close(cctx)
	}()
	<-n.Ready()
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("j%d", i)
		ch := make(chan struct{})
		mu.Lock()
		done[name] = ch
		mu.Unlock()
		j := &job.MPIJob{Metadata: job.ObjectMeta{Name: name, Namespace: "bench"}, Spec: job.Spec{Command: []string{"true"}}}
		if err := job.Prepare(j); err != nil {
			b.Fatal(err)
		}
		if _, err := eng.Create(ctx, j); err != nil {
			b.Fatal(err)
		}
		select {
		case <-ch:
		case <-time.After(60 * time.Second):
			b.Fatalf("job %s: no succeeded delivery", name)
		}
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	if len(lat) == 0 {
		return
	}
	q := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.95), "p95-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(len(lat)), "events")
}
