package kube

import (
	"context"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	kubeflow "github.com/kubeflow/mpi-operator/pkg/apis/kubeflow/v2beta1"

	"github.com/odh-training/odh-training/internal/job"
)

// operatorLease is the name of the Lease the MPI operator holds while it
// leads (cmd/mpi-operator: controllerName).
const operatorLease = "mpi-operator"

// leaseStale is how long after its last renewal a lease counts as
// abandoned: the operator renews every 2s with a 15s lease duration.
const leaseStale = 30 * time.Second

// leaseCheck tells whether the MPI operator runs, from the freshness of
// its leader-election Lease. Results are cached briefly so /readyz and
// Admit stay cheap.
type leaseCheck struct {
	client    kubernetes.Interface
	namespace string

	mu         sync.Mutex
	at         time.Time
	lastErr    error
	refreshing bool
}

// peek returns the last result without calling the API: running is nil
// when it is unknown or older than a minute. A stale result is refreshed
// in the background.
func (l *leaseCheck) peek() (running *bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if age := time.Since(l.at); l.at.IsZero() || age > 10*time.Second {
		if !l.refreshing {
			l.refreshing = true
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				err := l.fetch(ctx)
				l.mu.Lock()
				l.lastErr, l.at, l.refreshing = err, time.Now(), false
				l.mu.Unlock()
			}()
		}
		if l.at.IsZero() || age > time.Minute {
			return nil
		}
	}
	return new(l.lastErr == nil)
}

func (l *leaseCheck) check(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.at.IsZero() && time.Since(l.at) < 2*time.Second {
		return l.lastErr
	}
	l.lastErr = l.fetch(ctx)
	l.at = time.Now()
	return l.lastErr
}

func (l *leaseCheck) fetch(ctx context.Context) error {
	lease, err := l.client.CoordinationV1().Leases(l.namespace).Get(ctx, operatorLease, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return &job.Error{
			Kind:    job.KindUnavailable,
			Message: fmt.Sprintf("the MPI operator is not running: it has never held its leader lease %s/%s", l.namespace, operatorLease),
			Hint:    "Deploy it (kubectl apply --server-side -k deploy/, see docs/admin/cluster.md), or point odh-server at the namespace it runs in.",
		}
	case apierrors.IsForbidden(err):
		// Without the right to read the lease we cannot tell; do not
		// claim the operator is down.
		return nil
	case err != nil:
		return apiError(err, "read the MPI operator's lease")
	}
	var renewed time.Time
	if lease.Spec.RenewTime != nil {
		renewed = lease.Spec.RenewTime.Time
	} else if lease.Spec.AcquireTime != nil {
		renewed = lease.Spec.AcquireTime.Time
	}
	if age := time.Since(renewed); renewed.IsZero() || age > leaseStale {
		return &job.Error{
			Kind:    job.KindUnavailable,
			Message: fmt.Sprintf("the MPI operator is not running: its leader lease %s/%s was last renewed %s ago", l.namespace, operatorLease, age.Round(time.Second)),
			Hint:    "Check the operator: kubectl -n " + l.namespace + " get pods; kubectl -n " + l.namespace + " logs deploy/mpi-operator",
		}
	}
	return nil
}

// checkCRD reports whether the cluster serves kubeflow.org/v2beta1 mpijobs.
func (e *Engine) checkCRD() error {
	rl, err := e.own.Kube.Discovery().ServerResourcesForGroupVersion(kubeflow.SchemeGroupVersion.String())
	if err != nil {
		if apierrors.IsNotFound(err) {
			return crdMissing(err)
		}
		return err
	}
	for _, r := range rl.APIResources {
		if r.Name == "mpijobs" {
			return nil
		}
	}
	return crdMissing(nil)
}

func (e *Engine) setCRDErr(err error) {
	e.readyMu.Lock()
	e.crdErr = err
	e.readyMu.Unlock()
}

// waitForCRD checks for the CRD every few seconds until it appears.
func (e *Engine) waitForCRD() {
	defer e.wg.Done()
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
		if err := e.checkCRD(); err != nil {
			continue
		}
		e.log.Info("MPIJob CRD installed; starting")
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-e.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		err := e.startMPIJobs(ctx)
		cancel()
		if err != nil {
			e.log.Error("start after the CRD appeared", "error", err)
			return
		}
		e.setCRDErr(nil)
		return
	}
}

// usable returns nil once the engine serves, or the reason it cannot: the
// CRD is missing, or the caches are still syncing after a short wait.
func (e *Engine) usable(ctx context.Context) error {
	e.readyMu.Lock()
	crdErr := e.crdErr
	e.readyMu.Unlock()
	if crdErr != nil {
		return crdErr
	}
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-e.synced:
		return nil
	case <-ctx.Done():
		return job.Errorf(job.KindUnavailable, "the kubernetes engine is still loading the cluster's jobs: %v", ctx.Err())
	case <-t.C:
		return job.Errorf(job.KindUnavailable, "the kubernetes engine is still loading the cluster's jobs; try again in a moment")
	}
}

// Ready reports whether the engine can serve (for /readyz): the API server
// answers, the MPIJob CRD is installed, the caches have synced and the MPI
// operator is running (its leader Lease is fresh). See docs/admin/cluster.md.
func (e *Engine) Ready(ctx context.Context) error {
	if err := e.usableNow(); err != nil {
		return err
	}
	if _, err := e.own.Kube.Discovery().ServerVersion(); err != nil {
		return apiError(err, "reach the API server")
	}
	if e.trainOnly {
		return nil // no MPI operator to check on a Trainer-only cluster
	}
	return e.lease.check(ctx)
}

func (e *Engine) usableNow() error {
	e.readyMu.Lock()
	crdErr := e.crdErr
	e.readyMu.Unlock()
	if crdErr != nil {
		return crdErr
	}
	select {
	case <-e.synced:
		return nil
	default:
		return job.Errorf(job.KindUnavailable, "the kubernetes engine is still loading the cluster's jobs")
	}
}
