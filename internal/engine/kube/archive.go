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

// FinalizerLogArchive is the finalizer earlier versions put on the pods of
// the jobs they created, to hold each pod until its logs were archived. It
// blocked the deletion of pods (and of their namespaces) whenever no server
// ran, so nothing adds it any more: every kubernetes engine removes it from
// the pods it sees, so an upgrade leaves no pod held (docs/admin/cluster.md
// says how to remove it by hand after an uninstall).
const FinalizerLogArchive = "training.opendatahub.io/log-archive"

// archiver copies pod logs to disk before the pods go away:
// <dir>/<namespace>/<job>/<job uid>/<pod>.log (and <pod>.previous.log for
// the container's previous run), with the kubelet's timestamps. Nothing of
// it ever holds a pod: a pod is copied when it terminates, when it starts
// being deleted (a kubelet's grace period leaves its logs readable), and —
// because the operator deletes a finished job's still-running workers
// (cleanPodPolicy Running) right after the launcher ends — every pod of a
// job is copied as soon as its launcher terminates, one step ahead of the
// job controller and the operator. A copy of a pod that is still running
// is replaced by a later, longer one while the pod can still be read.
type archiver struct {
	e   *Engine
	dir string // "" = no archive: only the finalizer of earlier versions is removed
	max int64
	q   workqueue.TypedDelayingInterface[string]
	wg  sync.WaitGroup

	mu   sync.Mutex
	done map[types.UID]bool // terminated pods whose final logs are saved
}

func newArchiver(e *Engine, dir string, max int64) *archiver {
	return &archiver{e: e, dir: dir, max: max, q: workqueue.NewTypedDelayingQueue[string](), done: map[types.UID]bool{}}
}

const archiveWorkers = 4

// snapshotParallel bounds the log copies of one job's pods when its
// launcher ends (a 1,000-worker job: 1,000 reads of pods/log).
const snapshotParallel = 16

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

func isLauncher(p *corev1.Pod) bool { return p.Labels[kubeflow.JobRoleLabel] == "launcher" }

// onPod decides from the informer's view whether a pod needs work.
func (a *archiver) onPod(p *corev1.Pod) {
	needs := false
	switch {
	case hasFinalizer(p):
		needs = true
	case a.dir == "":
	case p.DeletionTimestamp != nil:
		a.mu.Lock()
		needs = !a.done[p.UID]
		a.mu.Unlock()
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
	jobAlive := err == nil && ownedByJob(p, u) && u.DeletionTimestamp == nil
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if hasFinalizer(p) {
		// Left by an earlier version. Save first: that version relied
		// on it to do so.
		if a.dir != "" && jobAlive && p.DeletionTimestamp != nil {
			a.save(ctx, p, u.UID)
		}
		a.removeFinalizer(ctx, p)
		return // the update that removes it brings the pod back
	}
	a.mu.Lock()
	saved := a.done[p.UID]
	a.mu.Unlock()
	switch {
	case a.dir == "" || !jobAlive || saved:
	case p.DeletionTimestamp != nil:
		a.save(ctx, p, u.UID)
	case podTerminal(p):
		a.save(ctx, p, u.UID)
		if isLauncher(p) {
			a.snapshotJob(ctx, p, u.UID)
		}
	}
	if p.DeletionTimestamp != nil {
		// Its last chance has passed.
		a.mu.Lock()
		delete(a.done, p.UID)
		a.mu.Unlock()
	}
}

// snapshotJob copies the logs of every other pod of the launcher's job
// that is not saved yet, before the operator removes the workers.
func (a *archiver) snapshotJob(ctx context.Context, launcher *corev1.Pod, jobUID types.UID) {
	objs, _ := a.e.pods.GetIndexer().ByIndex(podJobIndex, key{launcher.Namespace, launcher.Labels[kubeflow.JobNameLabel]}.String())
	sem := make(chan struct{}, snapshotParallel)
	var wg sync.WaitGroup
	for _, o := range objs {
		p := o.(*corev1.Pod)
		a.mu.Lock()
		saved := a.done[p.UID]
		a.mu.Unlock()
		if p.UID == launcher.UID || saved {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			a.save(ctx, p, jobUID)
		}()
	}
	wg.Wait()
}

func (a *archiver) removeFinalizer(ctx context.Context, p *corev1.Pod) {
	patch := fmt.Sprintf(`{"metadata":{"$deleteFromPrimitiveList/finalizers":[%q]}}`, FinalizerLogArchive)
	_, err := a.e.own.Kube.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: fieldManager})
	switch {
	case err == nil, apierrors.IsNotFound(err):
	case apierrors.IsForbidden(err):
		a.e.log.Warn("cannot remove the log-archive finalizer of an earlier version; remove it by hand (docs/admin/cluster.md)", "pod", p.Namespace+"/"+p.Name, "error", err)
	default:
		a.e.log.Warn("remove the log-archive finalizer of an earlier version; retrying", "pod", p.Namespace+"/"+p.Name, "error", err)
		a.q.AddAfter(p.Namespace+"/"+p.Name, time.Second)
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
	if ok && podTerminal(p) {
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
	// Copies of one pod may overlap (its launcher ended as it did).
	f, err := os.CreateTemp(filepath.Dir(file), filepath.Base(file)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
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
func (a *archiver) file(k key, uid types.UID, pod string, previous bool) string {
	name := pod + ".log"
	if previous {
		name = pod + ".previous.log"
	}
	return filepath.Join(jobDir(a.dir, k, uid), name)
}

// has reports whether a pod's log (or its previous container's) is archived.
func (a *archiver) has(k key, uid types.UID, pod string, previous bool) bool {
	if a.dir == "" {
		return false
	}
	_, err := os.Stat(a.file(k, uid, pod, previous))
	return err == nil
}

// read sends an archived log's lines to f; false when it is not archived.
func (a *archiver) read(k key, uid types.UID, pod string, previous bool, f func(timedLine) error) bool {
	if a.dir == "" {
		return false
	}
	fh, err := os.Open(a.file(k, uid, pod, previous))
	if err != nil {
		return false
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if f(parseTimed(sc.Text())) != nil {
			break
		}
	}
	return true
}

// mainContainer is the name of the job's container in a pod: the first,
// which is the one the operator configures.
func mainContainer(p *corev1.Pod) string {
	if len(p.Spec.Containers) == 0 {
		return ""
	}
	return p.Spec.Containers[0].Name
}
