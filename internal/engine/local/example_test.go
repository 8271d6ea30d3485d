package local

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

// TestBundledExample runs examples/sgd-allreduce as `make run` does: the
// server's working directory is the repository, and the command names the
// script by a path relative to it. The example reports its progress.
func TestBundledExample(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "examples", "sgd-allreduce", "mpijob.yaml"))
	if err != nil {
		t.Skipf("example not present: %v", err)
	}
	j, _, err := job.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Prepare(j); err != nil {
		t.Fatal(err)
	}
	e := newTestEngine(t, func(o *Options) { o.WorkDir = root })
	if _, err := e.Admit(t.Context(), j); err != nil {
		t.Fatal(err)
	}
	create(t, e, j)
	got := waitPhase(t, e, j.Metadata.Name, 60*time.Second, job.PhaseSucceeded, job.PhaseFailed)
	if got.Status.Phase != job.PhaseSucceeded {
		t.Fatalf("%s\nlogs: %q", describe(got), texts(logs(t, e, j.Metadata.Name, allLogs)))
	}
	// The example reports its progress with the SDK's helper: every epoch,
	// the last one at 100 %.
	p := got.Status.Progress
	if f, ok := p.Fraction(); !ok || f != 1 || p.TotalEpochs != 8 || p.Epoch != 8 {
		t.Errorf("progress of the finished example: %+v", p)
	}
	if _, ok := p.Metric("loss"); !ok {
		t.Errorf("progress has no loss: %+v", p)
	}
	for w := range got.Spec.Replicas() {
		lines := texts(logs(t, e, j.Metadata.Name, engine.LogOptions{Worker: job.Ptr(w)}))
		if !slices.ContainsFunc(lines, func(s string) bool { return strings.Contains(s, "epoch") }) {
			t.Errorf("worker %d logs: %q", w, lines)
		}
	}
}
