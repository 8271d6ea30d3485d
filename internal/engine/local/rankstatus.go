package local

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/odh-training/odh-training/internal/job"
)

// Rank statuses: reading what the rank wrappers recorded, applying it to the
// job's per-worker status, and finding the first failing rank (also from the
// launcher's own report when ranks were not wrapped).

func describeRankFailure(s *rankStatus, slots int32) string {
	w := job.WorkerName(s.Rank / slots)
	switch {
	case s.Error != "":
		return fmt.Sprintf("rank %d on %s: %s", s.Rank, w, s.Message)
	case s.Signal != "":
		return fmt.Sprintf("rank %d on %s was killed by %s (exit code %d)", s.Rank, w, s.Signal, s.ExitCode)
	case !s.Exited:
		return fmt.Sprintf("rank %d on %s ended without reporting an exit status", s.Rank, w)
	}
	return fmt.Sprintf("rank %d on %s exited with code %d", s.Rank, w, s.ExitCode)
}

// firstFailure is the rank that failed first (by finish time, then rank).
func firstFailure(ranks []*rankStatus) *rankStatus {
	var first *rankStatus
	for _, s := range ranks {
		if s == nil || !s.Failed() {
			continue
		}
		if first == nil || s.Finished.Before(first.Finished) {
			first = s
		}
	}
	return first
}

// readRankStatuses reads the rank-<r>.json files of an attempt.
func (e *Engine) readRankStatuses(rec *record, attempt int32) []*rankStatus {
	n := rec.j.Spec.Ranks()
	out := make([]*rankStatus, n)
	if attempt <= 0 {
		return out
	}
	dir := filepath.Join(rec.dir, "attempts", strconv.Itoa(int(attempt)))
	for i := range n {
		b, err := os.ReadFile(filepath.Join(dir, "rank-"+strconv.Itoa(int(i))+".json"))
		if err != nil {
			continue
		}
		var s rankStatus
		if json.Unmarshal(b, &s) == nil && s.Rank == i {
			out[i] = &s
		}
	}
	return out
}

// applyRankStatuses derives the workers' status from their ranks. With
// over, ranks that never reported are over too.
func applyRankStatuses(j *job.MPIJob, ranks []*rankStatus, attempt int32, over bool) {
	slots := j.Spec.Slots()
	workers := j.Spec.Replicas()
	st := &j.Status
	if len(st.WorkerStatuses) != int(workers) {
		st.WorkerStatuses = make([]job.ReplicaStatus, workers)
		for w := range workers {
			st.WorkerStatuses[w] = job.ReplicaStatus{Name: job.WorkerName(w), Index: w, Restarts: max(attempt-1, 0), Ranks: workerRanks(w, slots)}
		}
	}
	anyKnown := false
	for _, s := range ranks {
		anyKnown = anyKnown || s != nil
	}
	for w := range workers {
		ws := &st.WorkerStatuses[w]
		if !anyKnown && ws.State != job.StatePending && ws.State != "" {
			// Unwrapped run: keep what the launcher told.
			if over && ws.State == job.StateRunning {
				ws.State = job.StateUnknown
			}
			continue
		}
		var started, exited, running int
		var fail *rankStatus
		ws.StartTime, ws.FinishTime = time.Time{}, time.Time{}
		for _, rk := range workerRanks(w, slots) {
			if int(rk) >= len(ranks) {
				continue
			}
			s := ranks[rk]
			if s == nil {
				continue
			}
			started++
			if ws.StartTime.IsZero() || s.Started.Before(ws.StartTime) {
				ws.StartTime = s.Started
			}
			if s.Exited {
				exited++
				if s.Finished.After(ws.FinishTime) {
					ws.FinishTime = s.Finished
				}
				if s.Failed() && (fail == nil || s.Finished.Before(fail.Finished)) {
					fail = s
				}
			} else {
				running++
			}
		}
		ws.Node = hostname()
		ws.Ready = running == int(slots)
		ws.Reason, ws.Message, ws.ExitCode = "", "", nil
		switch {
		case fail != nil:
			ws.State = job.StateFailed
			ws.ExitCode = new(fail.ExitCode)
			ws.Reason = job.ReasonRankFailed
			if fail.Error == rankErrNotFound {
				ws.Reason = job.ReasonExecutableNotFound
			}
			ws.Message = describeRankFailure(fail, slots)
		case exited == int(slots):
			ws.State = job.StateSucceeded
			ws.ExitCode = new(int32(0))
		case over && started > 0:
			ws.State = job.StateFailed
			ws.Reason = "Stopped"
			ws.Message = "the worker's ranks were stopped before they finished"
		case over:
			ws.State = job.StateFailed
			ws.Reason = "NotStarted"
			ws.Message = "no rank of this worker started"
		case started > 0:
			ws.State = job.StateRunning
		default:
			ws.State = job.StatePending
		}
		if !over && ws.State == job.StateRunning {
			ws.FinishTime = time.Time{}
		}
	}
	st.CountWorkers(workers)
}

// readTail returns the text of the last n lines of a log file.
func readTail(path string, n int) string {
	off, err := tailOffset(path, n)
	if err != nil {
		return ""
	}
	c := &logCursor{path: path, off: off}
	recs, _ := c.next(time.Time{}, 0)
	var b strings.Builder
	for _, r := range recs {
		b.WriteString(r.text)
		b.WriteByte('\n')
	}
	return b.String()
}

// summarize picks the informative lines of the launcher's output.
func summarize(tail string) string {
	var keep []string
	for _, l := range strings.Split(tail, "\n") {
		l = strings.TrimSpace(strings.Trim(l, "=-*"))
		if l == "" || strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]") {
			continue
		}
		keep = append(keep, l)
	}
	if len(keep) > 6 {
		keep = keep[:6]
	}
	return strings.Join(keep, " ")
}

var (
	reOpenMPIFail = regexp.MustCompile(`Process name: \[\[\d+,\d+\],(\d+)\]\s*\n\s*Exit code:\s*(\d+)`)
	reHydraFail   = regexp.MustCompile(`RANK (\d+) PID \d+ RUNNING AT \S+\s*\n[=\s]*(?:EXIT CODE|KILLED BY SIGNAL):\s*(\d+)`)
)

// parseLauncherFailure fills in the failing rank from the launcher's own
// report when ranks were not wrapped.
func parseLauncherFailure(tail string, ranks []*rankStatus) {
	for _, re := range []*regexp.Regexp{reOpenMPIFail, reHydraFail} {
		for _, m := range re.FindAllStringSubmatch(tail, -1) {
			rk, _ := strconv.Atoi(m[1])
			code, _ := strconv.Atoi(m[2])
			if rk < len(ranks) && ranks[rk] == nil {
				ranks[rk] = &rankStatus{Rank: int32(rk), Exited: true, ExitCode: int32(code), Finished: time.Now().UTC()}
			}
		}
	}
}
