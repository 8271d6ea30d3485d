//go:build integration

package kube_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/odh-training/odh-training/internal/engine/kube"
	"github.com/odh-training/odh-training/internal/job"
)

// ourFinalizers records every finalizer of ours (a name under one of the
// project's domains) that a pod or MPIJob of the namespace ever carries,
// from before the first object exists.
type ourFinalizers struct {
	mu   sync.Mutex
	seen map[string]bool // "pod/name: finalizer"
}

func (o *ourFinalizers) record(kind string, m metav1.Object) {
	for _, f := range m.GetFinalizers() {
		if strings.Contains(f, "opendatahub.io") || strings.Contains(f, "odh") {
			o.mu.Lock()
			o.seen[fmt.Sprintf("%s/%s: %s", kind, m.GetName(), f)] = true
			o.mu.Unlock()
		}
	}
}

func (o *ourFinalizers) list() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for k := range o.seen {
		out = append(out, k)
	}
	return out
}

func watchFinalizers(t *testing.T, namespace string) *ourFinalizers {
	t.Helper()
	o := &ourFinalizers{seen: map[string]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	pods, err := admin.CoreV1().Pods(namespace).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := adminMPI.KubeflowV2beta1().MPIJobs(namespace).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for kind, w := range map[string]watch.Interface{"pod": pods, "mpijob": jobs} {
		go func() {
			defer w.Stop()
			for ev := range w.ResultChan() {
				if m, ok := ev.Object.(metav1.Object); ok {
					o.record(kind, m)
				}
			}
		}()
	}
	return o
}

// Nothing stuck: pods and MPIJobs never carry a finalizer of ours, so
// while odh-server is down (or uninstalled) kubectl deletes of jobs and of
// their namespace complete; and the logs of the workers the operator
// removes when a job ends are still archived (without holding them).
func TestDeletionNeverWaitsForTheServer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ns2 := "kit-gone-" + randHex(3)
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns2, Labels: map[string]string{"odh.test/suite": "kube-engine"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cleanupNamespace(ns2) })
	// The namespace lets odh-server read logs to archive (deploy/server/rbac.yaml).
	nsRole := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "odh-training-server"}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "odh-training-server-namespace"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "odh-server", Namespace: "odh-training"}}}
	if _, err := admin.RbacV1().RoleBindings(ns2).Create(ctx, nsRole, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ours := watchFinalizers(t, ns2)
	dir := t.TempDir()
	srv, err := kube.New(ctx, kube.Options{RestConfig: serverCfg, ClientsFor: asAdmin, Namespace: ns2, ArchiveDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			_ = srv.Close(context.Background())
		}
	}()
	submit := func(name string) *job.MPIJob {
		t.Helper()
		j := simpleJob(t, name, 2, job.OpenMPI)
		j.Metadata.Namespace = ns2
		if _, err := srv.Admit(ctx, j); err != nil {
			t.Fatal(err)
		}
		out, err := srv.Create(ctx, j)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	phase := func(name string, p job.Phase) {
		t.Helper()
		eventually(t, name+" "+string(p), func() bool {
			j, err := srv.Get(ctx, ns2, name)
			return err == nil && j.Status.Phase == p
		})
	}
	ended, held := uniqueName("ended"), uniqueName("held")
	for i := range 2 {
		if err := harness.SetPodLogs(ctx, ns2, fmt.Sprintf("%s-worker-%d", ended, i), fmt.Sprintf("worker %d done", i)); err != nil {
			t.Fatal(err)
		}
	}
	e := submit(ended)
	submit(held)
	phase(ended, job.PhaseRunning)
	phase(held, job.PhaseRunning)
	eventually(t, "pods of "+held+" running", func() bool {
		l, err := admin.CoreV1().Pods(ns2).List(ctx, metav1.ListOptions{LabelSelector: kubeflow.JobNameLabel + "=" + held})
		running := 0
		for _, p := range l.Items {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return err == nil && running == 3
	})
	if got := ours.list(); len(got) > 0 {
		t.Fatalf("objects carry finalizers of ours (they would hold deletion while no server runs): %v", got)
	}

	// The launcher ends; the operator deletes the running workers at
	// once. Their logs are in the archive all the same.
	var launcher string
	eventually(t, "launcher of "+ended, func() bool {
		l, err := admin.CoreV1().Pods(ns2).List(ctx, metav1.ListOptions{LabelSelector: kubeflow.JobNameLabel + "=" + ended + "," + kubeflow.JobRoleLabel + "=launcher"})
		if err == nil && len(l.Items) == 1 && l.Items[0].Status.Phase == corev1.PodRunning {
			launcher = l.Items[0].Name
		}
		return launcher != ""
	})
	if err := harness.SetPodExitCode(ctx, ns2, launcher, 0); err != nil {
		t.Fatal(err)
	}
	phase(ended, job.PhaseSucceeded)
	for i := range 2 {
		file := filepath.Join(dir, ns2, ended, e.Metadata.UID, fmt.Sprintf("%s-worker-%d.log", ended, i))
		eventually(t, "archived log of worker "+fmt.Sprint(i), func() bool {
			b, err := os.ReadFile(file)
			return err == nil && strings.Contains(string(b), fmt.Sprintf("worker %d done", i))
		})
	}

	// The server goes away; users delete with kubectl.
	if err := srv.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	closed = true
	if err := adminMPI.KubeflowV2beta1().MPIJobs(ns2).Delete(ctx, held, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(awaitTimeout)
	for {
		_, err := adminMPI.KubeflowV2beta1().MPIJobs(ns2).Get(ctx, held, metav1.GetOptions{})
		l, lerr := admin.CoreV1().Pods(ns2).List(ctx, metav1.ListOptions{LabelSelector: kubeflow.JobNameLabel + "=" + held})
		if apierrors.IsNotFound(err) && lerr == nil && len(l.Items) == 0 {
			break
		}
		if time.Now().After(deadline) {
			var left []string
			for _, p := range l.Items {
				left = append(left, fmt.Sprintf("%s (finalizers %v, deleting %v)", p.Name, p.Finalizers, p.DeletionTimestamp != nil))
			}
			t.Fatalf("MPIJob %s deleted while the server is down: still there after %s (job: %v; pods: %v)", held, awaitTimeout, err, left)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := harness.DeleteNamespace(ctx, ns2); err != nil {
		t.Errorf("namespace deleted while the server is down: %v", err)
	}
	if got := ours.list(); len(got) > 0 {
		t.Errorf("objects carried finalizers of ours (they hold deletion while no server runs): %v", got)
	}
}
