package local

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/odh-training/odh-training/internal/job"
)

// The rank status socket: the rank wrapper (rankexec.go) sends one datagram
// per rank when it starts and when it exits (exit code or signal), so a
// job's status names the rank that failed first.

// listenNotify opens the datagram socket the rank wrappers report to.
func (e *Engine) listenNotify() error {
	var b [8]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		return err
	}
	addr := "@odh-local-" + fmt.Sprintf("%x", b)
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("listen for rank status: %w", err)
	}
	e.notify = c
	e.token = newUID()
	e.notifyEnv = addr + " " + e.token
	e.notifyDone = make(chan struct{})
	go e.readNotify()
	return nil
}

func (e *Engine) readNotify() {
	defer close(e.notifyDone)
	buf := make([]byte, 64<<10)
	for {
		n, _, err := e.notify.ReadFromUnix(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-e.quit:
				return
			default:
				continue
			}
		}
		var s rankStatus
		if json.Unmarshal(buf[:n], &s) != nil || s.Token != e.token {
			continue
		}
		s.Token = ""
		if s.Progress != nil {
			e.onProgress(s.UID, s.Attempt, *s.Progress)
			continue
		}
		e.onRankStatus(&s)
	}
}

// onRankStatus applies a rank's live report to its job.
func (e *Engine) onRankStatus(s *rankStatus) {
	t := e.lock()
	defer t.unlock()
	rec := e.byUID[s.UID]
	if rec == nil || rec.run == nil || rec.run.attempt != s.Attempt || s.Rank < 0 || s.Rank >= rec.run.ranks || rec.deleting {
		return
	}
	r := rec.run
	r.live[s.Rank] = s
	r.logs.fire()
	first := firstFailure(r.live)
	t.update(rec, false, func(j *job.MPIJob) {
		applyRankStatuses(j, r.live, r.attempt, false)
		if first != nil && j.Status.FirstFailedRank == nil {
			j.Status.FirstFailedRank = new(first.Rank)
			j.Status.FirstFailedWorker = new(first.Rank / r.slots)
			j.Status.ExitCode = new(first.ExitCode)
		}
	})
	if first == s {
		t.event(rec, "Warning", job.ReasonRankFailed, describeRankFailure(s, r.slots), job.WorkerName(s.Rank/r.slots))
		time.AfterFunc(failFastDelay, func() { e.stopRun(rec, r, stopFailFast) })
	}
}
