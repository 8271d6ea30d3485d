package notify

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is a real HTTP webhook receiver that records what it got.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	status func(n int) int // answer to the n-th request (1-based)
}

type received struct {
	body   []byte
	header http.Header
}

func newReceiver(t *testing.T, status func(n int) int) *receiver {
	r := &receiver{status: status}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{b, req.Header.Clone()})
		n := len(r.got)
		r.mu.Unlock()
		w.WriteHeader(r.status(n))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func newTestDispatcher(t *testing.T, url string, allowLoopback bool, o DispatcherOptions) (*Dispatcher, *Store) {
	t.Helper()
	st, err := OpenStore(filepath.Join(t.TempDir(), "subscriptions.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := validSub()
	s.URL = url
	if err := Validate(s, &Guard{AllowLoopback: allowLoopback}); err != nil && allowLoopback {
		t.Fatal(err)
	}
	if _, err := st.Create(s); err != nil {
		t.Fatal(err)
	}
	o.Store, o.Guard = st, &Guard{AllowLoopback: allowLoopback}
	if o.BaseBackoff == 0 {
		o.BaseBackoff, o.MaxBackoff = 5*time.Millisecond, 20*time.Millisecond
	}
	return NewDispatcher(o), st
}

func testEvent(id string, typ Type) Event {
	r := int32(2)
	return Event{ID: id, Type: typ, Time: time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC), Namespace: "team-a", Job: "train", UID: "u1",
		Phase: "Failed", Reason: "RankFailed", Message: "rank 2 exited with code 1", FirstFailedRank: &r}
}

func TestDeliverySignedCloudEventInOrder(t *testing.T) {
	rcv := newReceiver(t, func(int) int { return http.StatusNoContent })
	d, _ := newTestDispatcher(t, rcv.URL+"/hook", true, DispatcherOptions{})
	ctx := t.Context()
	d.Publish(ctx, testEvent("e1", TypeRunning))
	d.Publish(ctx, testEvent("e2", TypeFailed))
	d.Wait()
	got := rcv.requests()
	if len(got) != 2 {
		t.Fatalf("receiver got %d requests, want 2", len(got))
	}
	for i, want := range []string{"e1", "e2"} {
		r := got[i]
		if !Verify(testSecret, r.body, r.header.Get(SignatureHeader)) {
			t.Errorf("request %d: signature %q does not verify", i, r.header.Get(SignatureHeader))
		}
		if Verify("another-secret-0123", r.body, r.header.Get(SignatureHeader)) {
			t.Error("signature verifies with the wrong secret")
		}
		if r.header.Get(IdempotencyHeader) != want {
			t.Errorf("request %d: idempotency key %q, want %q", i, r.header.Get(IdempotencyHeader), want)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/cloudevents+json") {
			t.Errorf("content type %q", ct)
		}
		var ce map[string]any
		if err := json.Unmarshal(r.body, &ce); err != nil {
			t.Fatal(err)
		}
		for _, attr := range []string{"specversion", "id", "source", "type", "time", "subject", "datacontenttype", "data"} {
			if _, ok := ce[attr]; !ok {
				t.Errorf("CloudEvent lacks %q: %s", attr, r.body)
			}
		}
		if ce["specversion"] != "1.0" || ce["id"] != want {
			t.Errorf("CloudEvent attributes: %s", r.body)
		}
	}
	var ce CloudEvent
	_ = json.Unmarshal(got[1].body, &ce)
	if ce.Type != "io.opendatahub.training.job.failed" || ce.Data.FirstFailedRank == nil || *ce.Data.FirstFailedRank != 2 {
		t.Errorf("failed event: %+v", ce)
	}
	h := d.History("team-a/ops")
	if h.Delivered != 2 || len(h.Attempts) != 2 || h.Attempts[0].EventID != "e2" || h.Attempts[0].StatusCode != 204 {
		t.Errorf("history: %+v", h)
	}
}

func TestDeliveryRetriesThenDeadLetters(t *testing.T) {
	rcv := newReceiver(t, func(int) int { return http.StatusInternalServerError })
	d, _ := newTestDispatcher(t, rcv.URL, true, DispatcherOptions{MaxAttempts: 4})
	d.Publish(t.Context(), testEvent("e1", TypeFailed))
	d.Wait()
	got := rcv.requests()
	if len(got) != 4 {
		t.Fatalf("receiver got %d attempts, want 4", len(got))
	}
	for i, r := range got {
		if r.header.Get(IdempotencyHeader) != "e1" || r.header.Get(AttemptHeader) != string(rune('1'+i)) {
			t.Errorf("attempt %d headers: %v", i+1, r.header)
		}
		if string(r.body) != string(got[0].body) {
			t.Error("a retry changed the body")
		}
	}
	h := d.History("team-a/ops")
	if h.DeadLettered != 1 || len(h.DeadLetters) != 1 || h.DeadLetters[0].Event.ID != "e1" || h.DeadLetters[0].Attempts != 4 {
		t.Fatalf("dead letters: %+v", h)
	}
	if h.Attempts[0].Outcome != OutcomeDeadLettered || h.Attempts[1].Outcome != OutcomeRetrying || h.Attempts[0].StatusCode != 500 {
		t.Errorf("attempts: %+v", h.Attempts)
	}
}

func TestDeliveryRecoversAfterOutage(t *testing.T) {
	rcv := newReceiver(t, func(n int) int {
		if n <= 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	d, _ := newTestDispatcher(t, rcv.URL, true, DispatcherOptions{})
	d.Publish(t.Context(), testEvent("e1", TypeRunning))
	d.Publish(t.Context(), testEvent("e2", TypeSucceeded))
	d.Wait()
	var keys []string
	for _, r := range rcv.requests() {
		keys = append(keys, r.header.Get(IdempotencyHeader))
	}
	if strings.Join(keys, ",") != "e1,e1,e1,e2" {
		t.Errorf("delivery order across the outage: %v (events must stay in order)", keys)
	}
	if h := d.History("team-a/ops"); h.Delivered != 2 || h.DeadLettered != 0 {
		t.Errorf("history: %+v", h)
	}
}

func TestDeliveryPermanentClientErrorDeadLettersAtOnce(t *testing.T) {
	rcv := newReceiver(t, func(int) int { return http.StatusBadRequest })
	d, _ := newTestDispatcher(t, rcv.URL, true, DispatcherOptions{})
	d.Publish(t.Context(), testEvent("e1", TypeRunning))
	d.Wait()
	if n := len(rcv.requests()); n != 1 {
		t.Errorf("400 retried: %d attempts", n)
	}
	if h := d.History("team-a/ops"); h.DeadLettered != 1 {
		t.Errorf("history: %+v", h)
	}
}

// A destination that turns into loopback after the subscription was made
// (DNS, an edited file) is still refused when connecting, and a redirect
// is not followed.
func TestDeliveryGuardAtConnectTime(t *testing.T) {
	rcv := newReceiver(t, func(int) int { return http.StatusOK })
	d, _ := newTestDispatcher(t, rcv.URL, false, DispatcherOptions{MaxAttempts: 2})
	d.Publish(t.Context(), testEvent("e1", TypeRunning))
	d.Wait()
	if n := len(rcv.requests()); n != 0 {
		t.Fatalf("the guard let %d requests reach loopback", n)
	}
	h := d.History("team-a/ops")
	if h.DeadLettered != 1 || !strings.Contains(h.Attempts[0].Error, "loopback") {
		t.Errorf("history: %+v", h)
	}

	target := newReceiver(t, func(int) int { return http.StatusOK })
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	d2, _ := newTestDispatcher(t, redirect.URL, true, DispatcherOptions{MaxAttempts: 1})
	d2.Publish(t.Context(), testEvent("e1", TypeRunning))
	d2.Wait()
	if n := len(target.requests()); n != 0 {
		t.Errorf("a redirect was followed (%d requests)", n)
	}
}

func TestSlackBody(t *testing.T) {
	e := testEvent("e1", TypeFailed)
	b, ct, err := Body(FormatSlack, &e)
	if err != nil || ct != "application/json" {
		t.Fatal(err, ct)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m["text"], "team-a/train") || !strings.Contains(m["text"], "first failing rank 2") {
		t.Errorf("slack text: %q", m["text"])
	}
}

func TestDeletedSubscriptionStopsRetrying(t *testing.T) {
	rcv := newReceiver(t, func(int) int { return http.StatusInternalServerError })
	d, st := newTestDispatcher(t, rcv.URL, true, DispatcherOptions{MaxAttempts: 1000, BaseBackoff: 20 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	d.Publish(t.Context(), testEvent("e1", TypeRunning))
	time.Sleep(50 * time.Millisecond)
	if _, err := st.Delete("team-a", "ops"); err != nil {
		t.Fatal(err)
	}
	d.Forget("team-a/ops")
	done := make(chan struct{})
	go func() { d.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("deliveries continued after the subscription was deleted")
	}
}
