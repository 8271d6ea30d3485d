package odhserver

import (
	"context"
	"log/slog"
	"path/filepath"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/notify"
)

// startNotifications opens the subscription store and runs the notifier
// on the engine's job watch until stop is called (nil notifier when
// notifications are off).
func startNotifications(ctx context.Context, o *Options, eng engine.Engine, log *slog.Logger) (*notify.Notifier, func(), error) {
	if !o.Notifications {
		return nil, func() {}, nil
	}
	n, err := notify.New(notify.Options{StateDir: filepath.Join(o.StateDir, "notify"), LongPending: o.NotifyLongPending,
		AllowPrivateDestinations: o.NotifyAllowPrivateDestinations, Logger: log.With("component", "notify")})
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.Run(ctx, eng)
	}()
	return n, func() { cancel(); <-done }, nil
}
