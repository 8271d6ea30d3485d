package kube

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/odh-training/odh-training/internal/job"
)

// The TrainJob backend's writes, with the request's identity (a dynamic
// client for the caller, as the typed clients are for MPIJobs).

func (e *Engine) dynFor(ctx context.Context) (dynamic.Interface, error) {
	c, err := e.clients(ctx)
	if err != nil {
		return nil, err
	}
	if c.Dynamic == nil {
		// Never fall back to the engine's own identity for a caller.
		return nil, job.Errorf(job.KindInternal, "no client for TrainJobs for this request")
	}
	return c.Dynamic, nil
}

// admitTrainJob checks a TrainJob with a server-side dry run (Trainer's
// and our webhooks answer as for a real create).
func (e *Engine) admitTrainJob(ctx context.Context, j *job.MPIJob, rt *unstructured.Unstructured) ([]string, error) {
	u, warnings, err := trainJobFor(j, rt, e.opts.Translate)
	if err != nil {
		return nil, err
	}
	dc, err := e.dynFor(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := dc.Resource(trainJobGVR).Namespace(u.GetNamespace()).Create(ctx, u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: fieldManager}); err != nil {
		return nil, apiError(err, "check TrainJob")
	}
	qw, err := e.checkQuota(ctx, j)
	if err != nil {
		return nil, err
	}
	return append(warnings, qw...), nil
}

// createTrainJob submits a TrainJob and returns it once the cache has it.
func (e *Engine) createTrainJob(ctx context.Context, j *job.MPIJob, rt *unstructured.Unstructured) (*job.MPIJob, error) {
	u, _, err := trainJobFor(j, rt, e.opts.Translate)
	if err != nil {
		return nil, err
	}
	if _, err := e.checkQuota(ctx, j); err != nil {
		return nil, err
	}
	if _, err := e.mpiLister.MPIJobs(u.GetNamespace()).Get(u.GetName()); err == nil {
		return nil, job.Errorf(job.KindAlreadyExists, "an MPIJob named %q already exists in namespace %q; choose another name", u.GetName(), u.GetNamespace())
	}
	dc, err := e.dynFor(ctx)
	if err != nil {
		return nil, err
	}
	created, err := dc.Resource(trainJobGVR).Namespace(u.GetNamespace()).Create(ctx, u, metav1.CreateOptions{FieldManager: fieldManager})
	if err != nil {
		return nil, apiError(err, "create TrainJob")
	}
	return e.afterTrainWrite(ctx, created), nil
}

// afterTrainWrite is afterWrite for a TrainJob.
func (e *Engine) afterTrainWrite(ctx context.Context, u *unstructured.Unstructured) *job.MPIJob {
	k := key{u.GetNamespace(), u.GetName()}
	var want uint64
	fmt.Sscan(u.GetResourceVersion(), &want)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var out *job.MPIJob
	_ = e.waitFor(wctx, func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		st := e.jobs[k]
		if st == nil || st.snap == nil || st.uid != u.GetUID() || st.mpiRV < want {
			return false
		}
		out = st.snap
		return true
	})
	if out != nil {
		return out.DeepCopy()
	}
	j, _, _ := e.computeTrain(u, statusRecord{}, nil)
	return j
}

// getTrainJobLive reads a TrainJob the cache has not seen yet.
func (e *Engine) getTrainJobLive(ctx context.Context, namespace, name string) (*job.MPIJob, error) {
	if e.train == nil {
		return nil, job.NotFound(namespace, name)
	}
	dc, err := e.dynFor(ctx)
	if err != nil {
		return nil, err
	}
	u, err := dc.Resource(trainJobGVR).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, job.NotFound(namespace, name)
	}
	if err != nil {
		return nil, apiError(err, "get TrainJob")
	}
	j, _, _ := e.computeTrain(u, statusRecord{}, nil)
	return j, nil
}

// deleteTrainJob deletes a TrainJob in the foreground (its JobSet, Jobs,
// pods, Secret and ConfigMap go first).
func (e *Engine) deleteTrainJob(ctx context.Context, cur *job.MPIJob) error {
	dc, err := e.dynFor(ctx)
	if err != nil {
		return err
	}
	fg := metav1.DeletePropagationForeground
	uid := types.UID(cur.Metadata.UID)
	err = dc.Resource(trainJobGVR).Namespace(cur.Metadata.Namespace).Delete(ctx, cur.Metadata.Name, metav1.DeleteOptions{PropagationPolicy: &fg, Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) {
		return job.NotFound(cur.Metadata.Namespace, cur.Metadata.Name)
	}
	if err != nil {
		return apiError(err, "delete TrainJob")
	}
	return nil
}

// suspendTrainJob sets or clears spec.suspend: Trainer suspends the JobSet
// (its pods are removed) or resumes it.
func (e *Engine) suspendTrainJob(ctx context.Context, cur *job.MPIJob, suspend bool) (*job.MPIJob, error) {
	dc, err := e.dynFor(ctx)
	if err != nil {
		return nil, err
	}
	patch := fmt.Sprintf(`{"metadata":{"uid":%q},"spec":{"suspend":%t}}`, cur.Metadata.UID, suspend)
	u, err := dc.Resource(trainJobGVR).Namespace(cur.Metadata.Namespace).Patch(ctx, cur.Metadata.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: fieldManager})
	if apierrors.IsNotFound(err) {
		return nil, job.NotFound(cur.Metadata.Namespace, cur.Metadata.Name)
	}
	if err != nil {
		return nil, apiError(err, "update TrainJob")
	}
	return e.afterTrainWrite(ctx, u), nil
}
