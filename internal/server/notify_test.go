package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/notify"
	"github.com/odh-training/odh-training/internal/server"
	"github.com/odh-training/odh-training/internal/server/servertest"
)

const hookSecret = "hook-secret-0123456789"

// hookReceiver is a real webhook receiver: it checks every signature and
// records the CloudEvents it got.
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	events []notify.CloudEvent
	bad    int
	calls  int
	status int
}

func newHookReceiver(t *testing.T, status int) *hookReceiver {
	r := &hookReceiver{status: status}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.calls++
		var ce notify.CloudEvent
		if !notify.Verify(hookSecret, body, req.Header.Get(notify.SignatureHeader)) || json.Unmarshal(body, &ce) != nil || ce.ID != req.Header.Get(notify.IdempotencyHeader) {
			r.bad++
		} else {
			r.events = append(r.events, ce)
		}
		w.WriteHeader(r.status)
	}))
	t.Cleanup(r.Close)
	return r
}

// types returns the event types received for a job, duplicates (same id,
// at-least-once) dropped.
func (r *hookReceiver) types(jobName string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, e := range r.events {
		if e.Subject == jobName && !seen[e.ID] {
			seen[e.ID] = true
			out = append(out, string(e.Data.Type))
		}
	}
	return out
}

// TestNotificationsDeliverARealJobsTransitions: a subscription made over
// REST gets a real mpirun job's created, running and succeeded events, in
// order, signed, and the history shows the deliveries.
func TestNotificationsDeliverARealJobsTransitions(t *testing.T) {
	rcv := newHookReceiver(t, http.StatusOK)
	s := startServer(t, servertest.WithNotifications(t, true, notify.DispatcherOptions{}, nil))
	code, body := s.rest(t, "POST", "/api/v1/namespaces/default/notificationsubscriptions",
		`{"subscription": {"name": "ops", "url": "`+rcv.URL+`/hook", "secret": "`+hookSecret+`"}}`)
	if code != http.StatusOK {
		t.Fatalf("create subscription: %d %s", code, body)
	}
	if strings.Contains(string(body), hookSecret) || !strings.Contains(strings.ReplaceAll(string(body), " ", ""), `"hasSecret":true`) {
		t.Errorf("create response leaks or lacks the secret flag: %s", body)
	}
	ctx := authed(t.Context())
	if _, err := s.rpc.CreateJob(ctx, &trainingv1.CreateJobRequest{Namespace: "default", Manifest: "metadata: {name: hello}\nspec: {command: [\"true\"], workers: {replicas: 2}}"}); err != nil {
		t.Fatal(err)
	}
	want := "created,running,succeeded"
	deadline := time.Now().Add(90 * time.Second)
	for strings.Join(rcv.types("hello"), ",") != want {
		if time.Now().After(deadline) {
			t.Fatalf("receiver got %v, want %s", rcv.types("hello"), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rcv.mu.Lock()
	bad := rcv.bad
	rcv.mu.Unlock()
	if bad != 0 {
		t.Errorf("%d deliveries had a bad signature or body", bad)
	}
	// The receiver has the last request a moment before the notifier has
	// its answer in the history.
	var h trainingv1.NotificationHistory
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		code, body = s.rest(t, "GET", "/api/v1/namespaces/default/notificationsubscriptions/ops/history", "")
		if code != http.StatusOK || protojson.Unmarshal(body, &h) != nil {
			t.Fatalf("history: %d %s", code, body)
		}
		if h.GetDelivered() >= 3 || time.Now().After(deadline) {
			break
		}
	}
	if h.GetDelivered() < 3 || len(h.GetAttempts()) < 3 || h.GetAttempts()[0].GetStatusCode() != 200 || h.GetAttempts()[0].GetOutcome() != notify.OutcomeDelivered || h.GetAttempts()[0].GetEventType() != "succeeded" {
		t.Errorf("history: %s", body)
	}
	code, body = s.rest(t, "GET", "/api/v1/namespaces/default/notificationsubscriptions", "")
	if code != http.StatusOK || strings.Contains(string(body), hookSecret) || !strings.Contains(string(body), `"ops"`) {
		t.Errorf("list: %d %s", code, body)
	}
}

// TestNotificationsDeadLetterAfterRetries: a receiver answering 500 gets
// every attempt, then the event is dead-lettered and shown as such.
func TestNotificationsDeadLetterAfterRetries(t *testing.T) {
	rcv := newHookReceiver(t, http.StatusInternalServerError)
	s := startServer(t, servertest.WithNotifications(t, true, notify.DispatcherOptions{MaxAttempts: 3, BaseBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond}, nil))
	ctx := authed(t.Context())
	if _, err := s.rpc.CreateNotificationSubscription(ctx, &trainingv1.CreateNotificationSubscriptionRequest{Namespace: "default",
		Subscription: &trainingv1.NotificationSubscription{Name: "ops", Url: rcv.URL, Secret: hookSecret, EventTypes: []string{"created"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.rpc.CreateJob(ctx, &trainingv1.CreateJobRequest{Namespace: "default", Manifest: "metadata: {name: held}\nspec: {command: [\"true\"], runPolicy: {suspend: true}}"}); err != nil {
		t.Fatal(err)
	}
	var h *trainingv1.NotificationHistory
	deadline := time.Now().Add(30 * time.Second)
	for h.GetDeadLettered() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no dead letter: %v", h)
		}
		time.Sleep(20 * time.Millisecond)
		var err error
		if h, err = s.rpc.GetNotificationHistory(ctx, &trainingv1.GetNotificationHistoryRequest{Namespace: "default", Name: "ops"}); err != nil {
			t.Fatal(err)
		}
	}
	if len(h.GetAttempts()) != 3 || h.GetAttempts()[0].GetOutcome() != notify.OutcomeDeadLettered || h.GetAttempts()[0].GetStatusCode() != 500 ||
		len(h.GetDeadLetters()) != 1 || h.GetDeadLetters()[0].GetJob() != "held" || h.GetDeadLetters()[0].GetEventType() != "created" {
		t.Errorf("history: %v", h)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if rcv.calls != 3 || rcv.bad != 0 {
		t.Errorf("receiver: %d calls (%d bad), want 3 signed attempts", rcv.calls, rcv.bad)
	}
}

// TestNotificationSubscriptionMisuse: only who may create jobs in a
// namespace manages its subscriptions; hostile URLs and oversize input
// are refused; nothing is created on refusal and no secret leaves.
func TestNotificationSubscriptionMisuse(t *testing.T) {
	p, err := auth.ParsePolicy([]byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	audit := &syncBuf{}
	var n *notify.Notifier
	s := startServer(t, func(o *server.Options) { o.Auth, o.Authorizer, o.Audit = p, p, audit }, servertest.WithNotifications(t, false, notify.DispatcherOptions{}, &n))
	n.Store.MaxPerNamespace = 2
	ctx := t.Context()
	sub := func(name, url string) *trainingv1.NotificationSubscription {
		return &trainingv1.NotificationSubscription{Name: name, Url: url, Secret: hookSecret}
	}
	create := func(user, ns string, sb *trainingv1.NotificationSubscription) error {
		_, err := s.rpc.CreateNotificationSubscription(as(ctx, user), &trainingv1.CreateNotificationSubscriptionRequest{Namespace: ns, Subscription: sb})
		return err
	}
	refusals := []struct {
		name, user, ns string
		sub            *trainingv1.NotificationSubscription
		code           codes.Code
	}{
		{"another namespace", "alice", "team-b", sub("x", "https://hooks.example.com/"), codes.PermissionDenied},
		{"viewer", "viv", "team-a", sub("x", "https://hooks.example.com/"), codes.PermissionDenied},
		{"nobody", "nobody", "team-a", sub("x", "https://hooks.example.com/"), codes.PermissionDenied},
		{"file scheme", "alice", "team-a", sub("x", "file:///etc/passwd"), codes.InvalidArgument},
		{"loopback", "alice", "team-a", sub("x", "http://127.0.0.1:8080/"), codes.InvalidArgument},
		{"metadata", "alice", "team-a", sub("x", "http://169.254.169.254/latest/meta-data/"), codes.InvalidArgument},
		{"forged namespace", "alice", "team-a", &trainingv1.NotificationSubscription{Name: "x", Namespace: "team-b", Url: "https://hooks.example.com/", Secret: hookSecret}, codes.InvalidArgument},
		{"huge url", "alice", "team-a", sub("x", "https://hooks.example.com/"+strings.Repeat("a", 5000)), codes.InvalidArgument},
		{"bad namespace", "root", "../etc", sub("x", "https://hooks.example.com/"), codes.InvalidArgument},
	}
	for _, r := range refusals {
		if err := create(r.user, r.ns, r.sub); status.Code(err) != r.code {
			t.Errorf("%s: want %v, got %v", r.name, r.code, err)
		}
	}
	if got := n.Store.List(""); len(got) != 0 {
		t.Fatalf("refused subscriptions were saved: %+v", got)
	}
	for _, name := range []string{"a", "b"} {
		if err := create("alice", "team-a", sub(name, "https://hooks.example.com/"+name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := create("alice", "team-a", sub("c", "https://hooks.example.com/c")); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("over the namespace limit: %v", err)
	}
	// Bob sees, deletes and reads the history of nothing in team-a.
	if _, err := s.rpc.ListNotificationSubscriptions(as(ctx, "bob"), &trainingv1.ListNotificationSubscriptionsRequest{Namespace: "team-a"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("bob lists team-a: %v", err)
	}
	if _, err := s.rpc.DeleteNotificationSubscription(as(ctx, "bob"), &trainingv1.DeleteNotificationSubscriptionRequest{Namespace: "team-a", Name: "a"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("bob deletes in team-a: %v", err)
	}
	if _, err := s.rpc.GetNotificationHistory(as(ctx, "bob"), &trainingv1.GetNotificationHistoryRequest{Namespace: "team-a", Name: "a"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("bob reads team-a's history: %v", err)
	}
	list, err := s.rpc.ListNotificationSubscriptions(as(ctx, "alice"), &trainingv1.ListNotificationSubscriptionsRequest{Namespace: "team-a"})
	if err != nil || len(list.GetItems()) != 2 {
		t.Fatalf("alice lists: %v %v", list, err)
	}
	for _, it := range list.GetItems() {
		if it.GetSecret() != "" || !it.GetHasSecret() || it.GetCreator() != "alice" {
			t.Errorf("listed subscription: %v", it)
		}
	}
	if strings.Contains(audit.String(), hookSecret) {
		t.Error("the audit log holds a subscription secret")
	}
	if !strings.Contains(audit.String(), `"resource":"notificationsubscriptions"`) {
		t.Error("subscription changes are not audited")
	}
}
