package local

import (
	"testing"
	"time"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
)

func TestSmoke(t *testing.T) {
	e := newTestEngine(t, nil)
	create(t, e, newJob("smoke", 2, 1, job.OpenMPI, "sh", "-c", "echo rank $OMPI_COMM_WORLD_RANK; echo err >&2"))
	j := waitPhase(t, e, "smoke", 20*time.Second, job.PhaseSucceeded, job.PhaseFailed)
	t.Log(describe(j))
	for _, l := range logs(t, e, "smoke", engine.LogOptions{All: true}) {
		t.Logf("%+v", l)
	}
}
