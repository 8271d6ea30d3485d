package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
)

// What survives a restart: the events waiting for delivery (the
// dispatcher's queue file) and what the detector knew of every job (the
// notifier's jobs file). An event is removed from the queue file only once
// it is done, and the detector's state is saved after the events it
// produced were queued, so a crash repeats deliveries (same event ids:
// at least once) but loses none that were queued.

// saveLocked writes the waiting events (d.mu held). A failure is logged:
// deliveries go on, only a restart could lose them.
func (d *Dispatcher) saveLocked() {
	if d.opts.QueueFile == "" {
		return
	}
	pending := map[string][]Event{}
	for k, q := range d.queues {
		if len(q.events) > 0 {
			pending[k] = q.events
		}
	}
	if err := writeJSON(d.opts.QueueFile, pending); err != nil {
		d.log.Error("notifications: cannot save the delivery queue", "error", err)
	}
}

// Resume queues again the events a previous run left undelivered, for
// the subscriptions that still exist, and delivers them until ctx ends.
func (d *Dispatcher) Resume(ctx context.Context) error {
	if d.opts.QueueFile == "" {
		return nil
	}
	var pending map[string][]Event
	if err := readJSON(d.opts.QueueFile, &pending); err != nil {
		return err
	}
	keys := make([]string, 0, len(pending))
	for k := range pending {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := d.opts.Store.current(k); !ok {
			continue
		}
		for _, e := range pending[k] {
			d.enqueue(ctx, k, e)
		}
	}
	return nil
}

func writeJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}
