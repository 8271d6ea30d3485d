//go:build integration

package kube_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/notify"
)

// Notifications on the kubernetes engine: the notifier runs on the
// engine's job watch (the informer cache), and a webhook receiver in the
// test gets each job's transitions in order, signed — a failure with the
// failing worker.
func TestNotificationsDelivered(t *testing.T) {
	t.Parallel()
	const secret = "kube-hook-secret-0123456789"
	var mu sync.Mutex
	got := map[string][]notify.CloudEvent{}
	bad := 0
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ce notify.CloudEvent
		mu.Lock()
		defer mu.Unlock()
		if json.Unmarshal(body, &ce) != nil || !notify.Verify(secret, body, r.Header.Get(notify.SignatureHeader)) {
			bad++
			return
		}
		if !slices.ContainsFunc(got[ce.Subject], func(e notify.CloudEvent) bool { return e.ID == ce.ID }) {
			got[ce.Subject] = append(got[ce.Subject], ce)
		}
	}))
	defer rcv.Close()
	n, err := notify.New(notify.Options{StateDir: t.TempDir(), AllowPrivateDestinations: true})
	if err != nil {
		t.Fatal(err)
	}
	ok, failing := uniqueName("nok"), uniqueName("nfail")
	for _, name := range []string{ok, failing} {
		if _, err := n.Store.Create(&notify.Subscription{Name: name, Namespace: ns, URL: rcv.URL, Secret: secret, Format: notify.FormatCloudEvents, JobName: name}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); n.Run(ctx, eng) }()
	defer func() { cancel(); <-done }()
	types := func(name string) []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, e := range got[name] {
			out = append(out, string(e.Data.Type))
		}
		return out
	}
	<-n.Ready() // jobs created from now on are notified from their creation

	create(t, simpleJob(t, ok, 2, job.OpenMPI))
	create(t, simpleJob(t, failing, 3, job.OpenMPI))
	awaitPhase(t, ok, job.PhaseRunning)
	awaitPhase(t, failing, job.PhaseRunning)
	exitPod(t, launcherPod(t, ok), 0)
	exitPod(t, failing+"-worker-2", 42)
	await(t, failing, awaitTimeout, "worker failure reported", func(j *job.MPIJob) bool { return j.Status.FirstFailedWorker != nil })
	exitPod(t, launcherPod(t, failing), 1)
	awaitPhase(t, ok, job.PhaseSucceeded)
	awaitPhase(t, failing, job.PhaseFailed)

	eventually(t, "succeeded delivered", func() bool { return strings.Join(types(ok), ",") == "created,running,succeeded" })
	eventually(t, "failed delivered", func() bool { return strings.Join(types(failing), ",") == "created,running,failed" })
	mu.Lock()
	defer mu.Unlock()
	f := got[failing][2]
	if f.Data.FirstFailedWorker == nil || *f.Data.FirstFailedWorker != 2 || f.Data.Reason != job.ReasonWorkerFailed || !strings.Contains(f.Data.Message, "worker 2") {
		t.Errorf("failed event: %+v", f.Data)
	}
	if bad != 0 {
		t.Errorf("%d deliveries were unsigned or malformed", bad)
	}
}
