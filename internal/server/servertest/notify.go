package servertest

import (
	"context"
	"testing"
	"time"

	"github.com/odh-training/odh-training/internal/notify"
	"github.com/odh-training/odh-training/internal/server"
)

// WithNotifications runs a notifier on the test server's engine, as
// odh-server does (allowPrivate: webhooks may reach loopback receivers).
// When got is not nil it receives the notifier.
func WithNotifications(t testing.TB, allowPrivate bool, d notify.DispatcherOptions, got **notify.Notifier) func(*server.Options) {
	return func(o *server.Options) {
		n, err := notify.New(notify.Options{StateDir: t.TempDir(), AllowPrivateDestinations: allowPrivate, Dispatch: d})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); n.Run(ctx, o.Engine) }()
		t.Cleanup(func() { cancel(); <-done })
		// Jobs the test creates are notified from their creation.
		select {
		case <-n.Ready():
		case <-time.After(30 * time.Second):
			t.Fatal("the notifier's job watch did not start")
		}
		o.Notifications = n
		if got != nil {
			*got = n
		}
	}
}
