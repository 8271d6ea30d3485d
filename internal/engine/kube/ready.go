package kube

import (
	"context"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

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
