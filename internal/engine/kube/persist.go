package kube

import (
	"os"
	"path/filepath"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	"k8s.io/apimachinery/pkg/types"
)

// Status persistence: what the caches cannot rebuild (the transition
// history, the first failing worker, the attempt count) is kept in one small
// record per job under ArchiveDir, written off the sync path.

// persistLoop saves changed status records next to the job's archived
// logs. They are not written to the MPIJob: every write to it would make
// the operator's next status update conflict and back off.
func (e *Engine) persistLoop() {
	defer e.wg.Done()
	for {
		ks, quit := e.persistQ.Get()
		if quit {
			return
		}
		e.persist(ks)
		e.persistQ.Done(ks)
	}
}

const recordFile = "status.json"

func (e *Engine) persist(ks string) {
	k := parseKey(ks)
	e.mu.Lock()
	st := e.jobs[k]
	if st == nil {
		e.mu.Unlock()
		return
	}
	enc, uid := st.rec.encode(), st.uid
	if enc == st.persisted {
		e.mu.Unlock()
		return
	}
	e.mu.Unlock()
	dir := jobDir(e.opts.ArchiveDir, k, uid)
	err := ensureDir(dir)
	if err == nil {
		err = writeFileAtomic(filepath.Join(dir, recordFile), []byte(enc))
	}
	if err != nil {
		e.log.Warn("save job status history", "job", ks, "error", err)
		return
	}
	e.mu.Lock()
	if st := e.jobs[k]; st != nil && st.uid == uid {
		st.persisted = enc
	} else {
		// Deleted meanwhile: do not leave the record behind.
		_ = os.RemoveAll(dir)
	}
	e.mu.Unlock()
}

// loadRecord reads a job's saved record, or rebuilds what it can from the
// MPIJob's conditions.
// A job first seen while the engine runs starts with an empty history: it
// is new, and the engine sees every transition.
func (e *Engine) loadRecord(u *kubeflow.MPIJob, rebuild bool) (statusRecord, string) {
	if e.opts.ArchiveDir != "" {
		if b, err := os.ReadFile(filepath.Join(jobDir(e.opts.ArchiveDir, key{u.Namespace, u.Name}, u.UID), recordFile)); err == nil {
			return parseRecord(string(b)), string(b)
		}
	}
	if !rebuild {
		return statusRecord{}, ""
	}
	return recordFromConditions(u), ""
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ensureDir creates a directory for the archive.
func ensureDir(dir string) error { return os.MkdirAll(dir, 0o700) }

func jobDir(base string, k key, uid types.UID) string {
	return filepath.Join(base, k.namespace, k.name, string(uid))
}
