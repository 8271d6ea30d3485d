package local

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/odh-training/odh-training/internal/job"
)

// State directory layout (see docs/dev/local-engine.md):
//
//	<state>/lock                      flock held by the running engine
//	<state>/engine.json               resource-version high-water mark
//	<state>/jobs/<uid>/job.json       the record: job, events, queue order
//	<state>/jobs/<uid>/attempts/<n>/  launcher.log, rank-<r>.log, rank-<r>.json, command.json
//	<state>/corrupt/<uid>-<time>/     records that could not be read, kept aside
const (
	recordFile     = "job.json"
	recordVersion  = 1
	rvReserveBlock = 1000
)

// diskRecord is the on-disk form of one job.
type diskRecord struct {
	Version int         `json:"version"`
	Job     *job.MPIJob `json:"job"`
	Events  []job.Event `json:"events,omitempty"`
	// Seq orders the FIFO queue; it survives restarts so queued jobs keep
	// their order.
	Seq uint64 `json:"seq,omitempty"`
}

type engineState struct {
	// ResourceVersion is a high-water mark: every version handed out is
	// below it, so versions keep increasing across restarts.
	ResourceVersion uint64 `json:"resourceVersion"`
	Seq             uint64 `json:"seq"`
}

// writeFileAtomic writes data to path through a temporary file and a
// rename, so readers and a crash see the old or the new content, never a
// mix. With sync the data and the directory entry reach the disk before it
// returns.
func writeFileAtomic(path string, data []byte, sync bool) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if sync {
		syncDir(dir)
	}
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// lockStateDir takes an exclusive lock so that two servers never share a
// state directory.
func lockStateDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("state directory %s is in use by another odh-server (pid %s): %w", dir, readPID(f), err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}

func readPID(f *os.File) string {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	s := string(b[:n])
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == ' ') {
		s = s[:len(s)-1]
	}
	if s == "" {
		return "unknown"
	}
	return s
}

// loadRecord reads one job directory.
func loadRecord(dir string) (*diskRecord, error) {
	b, err := os.ReadFile(filepath.Join(dir, recordFile))
	if err != nil {
		return nil, err
	}
	var r diskRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, recordFile), err)
	}
	if r.Job == nil || r.Job.Metadata.Name == "" || r.Job.Metadata.Namespace == "" || r.Job.Metadata.UID == "" {
		return nil, fmt.Errorf("%s: record has no job name, namespace or uid", filepath.Join(dir, recordFile))
	}
	if r.Job.Metadata.UID != filepath.Base(dir) {
		return nil, fmt.Errorf("%s: record uid %q does not match its directory", filepath.Join(dir, recordFile), r.Job.Metadata.UID)
	}
	return &r, nil
}

// setAside moves a job directory that cannot be loaded to <state>/corrupt.
func setAside(stateDir, jobDir string) (string, error) {
	dst := filepath.Join(stateDir, "corrupt", filepath.Base(jobDir)+"-"+time.Now().UTC().Format("20060102T150405.000000000"))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	return dst, os.Rename(jobDir, dst)
}
