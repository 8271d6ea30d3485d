package kube

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
)

// FinalizerLogArchive holds a job's pod until the engine has copied its
// logs into the archive: the operator deletes worker pods when a job ends
// and the launcher with its Job after ttlSecondsAfterFinished, and a pod's
// logs go with it. The engine adds the finalizer to the pods of the jobs it
// created (label app.kubernetes.io/managed-by=odh-training on the MPIJob)
// and removes it as soon as the pod is being deleted and its logs are saved
// (at once when the whole job is being deleted). Every kubernetes engine,
// even one without an archive, removes it from pods being deleted, so a
// pod is never held by a server that is gone for good as long as another
// one runs; docs/admin/cluster.md says how to remove it by hand.
const FinalizerLogArchive = "training.opendatahub.io/log-archive"

// archiver copies the logs of terminated and deleted pods to disk:
// <dir>/<namespace>/<job>/<job uid>/<pod>.log (and <pod>.previous.log for
// the container's previous run), with the kubelet's timestamps.
type archiver struct {
	e   *Engine
	dir string // "" = no archive: only finalizers of deleted pods are removed
	max int64
	q   workqueue.TypedDelayingInterface[string]
	wg  sync.WaitGroup

	mu    sync.Mutex
	done  map[types.UID]bool // pods whose final logs are saved
	added map[types.UID]bool // pods given the finalizer, until the cache shows it
}

func newArchiver(e *Engine, dir string, max int64) *archiver {
	return &archiver{e: e, dir: dir, max: max, q: workqueue.NewTypedDelayingQueue[string](), done: map[types.UID]bool{}, added: map[types.UID]bool{}}
}

const archiveWorkers = 4

// orphanGrace is how long an engine without an archive leaves a deleted
// pod to the server that holds it with the log-archive finalizer before
// releasing it itself.
const orphanGrace = 30 * time.Second

func (a *archiver) start() {
	for range archiveWorkers {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			for {
				k, quit := a.q.Get()
				if quit {
					return
				}
				a.process(k)
				a.q.Done(k)
			}
		}()
	}
}

func (a *archiver) shutdown() {
	a.q.ShutDown()
	a.wg.Wait()
}

func hasFinalizer(p *corev1.Pod) bool {
	for _, f := range p.Finalizers {
		if f == FinalizerLogArchive {
			return true
		}
	}
	return false
}

func podTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// onPod decides from the informer's view whether a pod needs work.
func (a *archiver) onPod(p *corev1.Pod) {
	needs := false
	switch {
	case p.DeletionTimestamp != nil:
		needs = hasFinalizer(p)
		a.mu.Lock()
		delete(a.added, p.UID)
		a.mu.Unlock()
	case a.dir == "":
	case !hasFinalizer(p):
		needs = true
	case podTerminal(p):
		a.mu.Lock()
		needs = !a.done[p.UID]
		a.mu.Unlock()
	}
	if needs {
		a.q.Add(p.Namespace + "/" + p.Name)
	}
}

// process acts on the cached state of one pod.
func (a *archiver) process(k string) {
	obj, exists, err := a.e.pods.GetIndexer().GetByKey(k)
	if err != nil || !exists {
		return
	}
	p := obj.(*corev1.Pod)
	u, err := a.e.mpiLister.MPIJobs(p.Namespace).Get(p.Labels[kubeflow.JobNameLabel])
	owned := err == nil && ownedByJob(p, u)
	jobAlive := owned && u.DeletionTimestamp == nil
	managed := owned && u.Labels[LabelManagedBy] == ManagedBy
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a.mu.Lock()
	saved, added := a.done[p.UID], a.added[p.UID]
	if hasFinalizer(p) || p.DeletionTimestamp != nil {
		delete(a.added, p.UID)
	}
	a.mu.Unlock()
	switch {
	case p.DeletionTimestamp != nil:
		if a.dir == "" && hasFinalizer(p) {
			// Another server archives this pod's logs; release the pod
			// only if that server seems gone.
			if wait := orphanGrace - time.Since(p.DeletionTimestamp.Time); wait > 0 {
				a.q.AddAfter(k, wait)
				return
			}
		}
		if a.dir != "" && jobAlive && !saved {
			a.save(ctx, p, u.UID)
		}
		if hasFinalizer(p) {
			a.removeFinalizer(ctx, p)
		}
		a.mu.Lock()
		delete(a.done, p.UID)
		a.mu.Unlock()
	case a.dir == "":
	case podTerminal(p) && !saved && jobAlive:
		a.save(ctx, p, u.UID)
	case !hasFinalizer(p) && managed && !added:
		// Once per pod: other updates may arrive before the cache
		// shows the finalizer.
		if a.addFinalizer(ctx, p) {
			a.mu.Lock()
			a.added[p.UID] = true
			a.mu.Unlock()
		}
	}
}

func (a *archiver) addFinalizer(ctx context.Context, p *corev1.Pod) bool {
	patch := fmt.Sprintf(`{"metadata":{"uid":%q,"finalizers":[%q]}}`, p.UID, FinalizerLogArchive)
	_, err := a.e.own.Kube.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: fieldManager})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsInvalid(err) && !apierrors.IsConflict(err) && !apierrors.IsForbidden(err) {
		a.e.log.Warn("add the log-archive finalizer", "pod", p.Namespace+"/"+p.Name, "error", err)
	}
	return err == nil
}

func (a *archiver) removeFinalizer(ctx context.Context, p *corev1.Pod) {
	patch := fmt.Sprintf(`{"metadata":{"$deleteFromPrimitiveList/finalizers":[%q]}}`, FinalizerLogArchive)
	_, err := a.e.own.Kube.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: fieldManager})
	if err != nil && !apierrors.IsNotFound(err) {
		a.e.log.Warn("remove the log-archive finalizer; retrying", "pod", p.Namespace+"/"+p.Name, "error", err)
		k := p.Namespace + "/" + p.Name
		a.q.AddAfter(k, time.Second)
	}
}

// save copies the pod's logs (and its previous container's) into the
// archive.
func (a *archiver) save(ctx context.Context, p *corev1.Pod, jobUID types.UID) {
	container := mainContainer(p)
	if container == "" {
		return
	}
	dir := jobDir(a.dir, key{p.Namespace, p.Labels[kubeflow.JobNameLabel]}, jobUID)
	if err := ensureDir(dir); err != nil {
		a.e.log.Error("create log archive directory", "dir", dir, "error", err)
		return
	}
	ok := a.copyLog(ctx, p, container, false, filepath.Join(dir, p.Name+".log"))
	if cs := mainStatus(p, container); cs != nil && cs.RestartCount > 0 {
		a.copyLog(ctx, p, container, true, filepath.Join(dir, p.Name+".previous.log"))
	}
	if ok {
		a.mu.Lock()
		a.done[p.UID] = true
		a.mu.Unlock()
	}
}

func (a *archiver) copyLog(ctx context.Context, p *corev1.Pod, container string, previous bool, file string) bool {
	rc, err := a.e.own.Kube.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: container, Timestamps: true, Previous: previous}).Stream(ctx)
	if err != nil {
		if !apierrors.IsNotFound(err) && !apierrors.IsBadRequest(err) {
			a.e.log.Warn("archive pod logs", "pod", p.Namespace+"/"+p.Name, "error", err)
		}
		return false
	}
	defer rc.Close()
	if err := writeCapped(file, rc, a.max); err != nil {
		a.e.log.Warn("archive pod logs", "pod", p.Namespace+"/"+p.Name, "error", err)
		return false
	}
	return true
}

// writeCapped writes r to file atomically, keeping at most max bytes: the
// end of the log, from a line start.
func writeCapped(file string, r io.Reader, max int64) error {
	tmp := file + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	n, err := io.Copy(f, r)
	if err != nil {
		f.Close()
		return err
	}
	if n > max {
		buf := make([]byte, max)
		if _, err := f.ReadAt(buf, n-max); err != nil && err != io.EOF {
			f.Close()
			return err
		}
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
		if err := f.Truncate(0); err != nil {
			f.Close()
			return err
		}
		if _, err := f.WriteAt(buf, 0); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// forget removes the archive of a job that was deleted.
func (a *archiver) forget(k key, uid types.UID) {
	if a.dir == "" {
		return
	}
	dir := jobDir(a.dir, k, uid)
	go func() {
		if err := os.RemoveAll(dir); err != nil {
			a.e.log.Warn("remove log archive", "dir", dir, "error", err)
		}
		_ = os.Remove(filepath.Dir(dir)) // the job's directory, when empty
	}()
}

// cleanup removes archives of jobs deleted while the server was down.
func (a *archiver) cleanup(live []*kubeflow.MPIJob) {
	keep := map[string]bool{}
	for _, u := range live {
		keep[jobDir(a.dir, key{u.Namespace, u.Name}, u.UID)] = true
	}
	dirs, _ := filepath.Glob(filepath.Join(a.dir, "*", "*", "*"))
	for _, d := range dirs {
		if !keep[d] {
			_ = os.RemoveAll(d)
			_ = os.Remove(filepath.Dir(d))
		}
	}
}

// archived lists a job's archived pod logs, by pod name.
func (a *archiver) files(k key, uid types.UID) map[string]os.FileInfo {
	out := map[string]os.FileInfo{}
	if a.dir == "" {
		return out
	}
	ents, err := os.ReadDir(jobDir(a.dir, k, uid))
	if err != nil {
		return out
	}
	for _, ent := range ents {
		n := ent.Name()
		if !strings.HasSuffix(n, ".log") || strings.HasSuffix(n, ".previous.log") {
			continue
		}
		if info, err := ent.Info(); err == nil {
			out[strings.TrimSuffix(n, ".log")] = info
		}
	}
	return out
}

// read returns the archived lines of a pod, or nil when there are none.
func (a *archiver) read(k key, uid types.UID, pod string, previous bool) ([]timedLine, bool) {
	if a.dir == "" {
		return nil, false
	}
	name := pod + ".log"
	if previous {
		name = pod + ".previous.log"
	}
	f, err := os.Open(filepath.Join(jobDir(a.dir, k, uid), name))
	if err != nil {
		return nil, false
	}
	defer f.Close()
	var out []timedLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		out = append(out, parseTimed(sc.Text()))
	}
	return out, true
}

// mainContainer is the name of the job's container in a pod: the first,
// which is the one the operator configures.
func mainContainer(p *corev1.Pod) string {
	if len(p.Spec.Containers) == 0 {
		return ""
	}
	return p.Spec.Containers[0].Name
}
