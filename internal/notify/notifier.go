package notify

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

// JobWatcher is what the notifier needs of an engine: its watch of every
// job (engine.Engine satisfies it).
type JobWatcher interface {
	Watch(ctx context.Context, opts engine.WatchOptions, emit func(job.WatchEvent) error) error
}

// Notifier runs notifications for a server: it watches every job, derives
// events and hands them to the dispatcher.
type Notifier struct {
	Store      *Store
	Dispatcher *Dispatcher
	Guard      *Guard
	// LongPending is how long a job may wait (Pending or Queued) before a
	// long_pending event; 0 disables them.
	LongPending time.Duration
	Logger      *slog.Logger
	// JobsFile, when set, keeps what the detector knows of every job
	// across restarts (persist.go).
	JobsFile string
	// onEvent, when set (tests), sees every derived event.
	onEvent func(Event)
	ready   chan struct{}
	once    sync.Once
}

// Ready is closed once the notifier's first job watch is established:
// every later change is notified.
func (n *Notifier) Ready() <-chan struct{} {
	n.once.Do(func() {
		if n.ready == nil {
			n.ready = make(chan struct{})
		}
	})
	return n.ready
}

// Options configures New.
type Options struct {
	// StateDir holds subscriptions.json (0600; secrets included).
	StateDir    string
	LongPending time.Duration
	// AllowPrivateDestinations lets webhooks reach loopback and link-local
	// addresses (receivers on the server's own machine); metadata services
	// stay refused.
	AllowPrivateDestinations bool
	Logger                   *slog.Logger
	Dispatch                 DispatcherOptions
}

// New opens the store and builds a notifier.
func New(o Options) (*Notifier, error) {
	st, err := OpenStore(o.StateDir + "/subscriptions.json")
	if err != nil {
		return nil, err
	}
	g := &Guard{AllowLoopback: o.AllowPrivateDestinations}
	d := o.Dispatch
	d.Store, d.Guard, d.Logger = st, g, o.Logger
	d.QueueFile = o.StateDir + "/queue.json"
	return &Notifier{Store: st, Dispatcher: NewDispatcher(d), Guard: g, LongPending: o.LongPending, Logger: o.Logger, JobsFile: o.StateDir + "/jobs.json"}, nil
}

// Run watches jobs until ctx ends, watching again after an error, and
// waits for deliveries to stop.
func (n *Notifier) Run(ctx context.Context, src JobWatcher) {
	log := n.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n.Ready()
	ready := n.ready
	det := NewDetector(n.LongPending)
	if n.JobsFile != "" {
		var known map[string]tracked
		if err := readJSON(n.JobsFile, &known); err != nil {
			log.Error("notifications: cannot read what the last run knew of jobs; changes made while the server was down are not notified", "error", err)
		} else if known != nil {
			det.Restore(known)
		}
	}
	save := func(force bool) {
		snap, changed := det.Snapshot()
		if n.JobsFile == "" || (!changed && !force) {
			return
		}
		if err := writeJSON(n.JobsFile, snap); err != nil {
			log.Error("notifications: cannot save job states", "error", err)
		}
	}
	if err := n.Dispatcher.Resume(ctx); err != nil {
		log.Error("notifications: cannot read the delivery queue of the last run", "error", err)
	}
	events := make(chan job.WatchEvent, 256)
	go func() {
		defer close(events)
		backoff := time.Second
		for ctx.Err() == nil {
			err := src.Watch(ctx, engine.WatchOptions{SendInitial: true}, func(ev job.WatchEvent) error {
				select {
				case events <- ev:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
			if ctx.Err() != nil {
				return
			}
			log.Warn("notifications: job watch ended; watching again", "error", err, "in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 30*time.Second)
		}
	}()
	tick := time.Second
	if n.LongPending > 0 {
		tick = min(max(n.LongPending/4, 50*time.Millisecond), 10*time.Second)
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	publish := func(evs []Event) {
		for _, e := range evs {
			if n.onEvent != nil {
				n.onEvent(e)
			}
			n.Dispatcher.Publish(ctx, e)
		}
		if len(evs) > 0 {
			// The events are queued (and saved): now the states that
			// produced them, so a restart neither loses nor repeats them.
			save(false)
		}
	}
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				n.Dispatcher.Wait()
				save(false)
				return
			}
			publish(det.Observe(ev))
			if ev.Type == job.Synced {
				select {
				case <-ready:
				default:
					close(ready)
				}
			}
		case now := <-t.C:
			publish(det.Tick(now))
			save(false)
		}
	}
}
