package kubeauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/job"
)

// AccessReviewOptions tune an AccessReview. Zero values take the defaults
// in brackets.
type AccessReviewOptions struct {
	// TTL is how long an answer is remembered [10s].
	TTL time.Duration
	// Rate and Burst bound the reviews sent to the API server [50/s, 100];
	// InFlight bounds those waiting on it [32]; a review that cannot start
	// within Wait is refused [2s].
	Rate     float64
	Burst    int
	InFlight int
	Wait     time.Duration
	// RBAC, when set, starts informers on RoleBindings, Roles and
	// ClusterRoles (the identity needs list and watch on them), so that a
	// list or watch across namespaces asks about the namespaces where the
	// caller holds a RoleBinding only, instead of about every namespace.
	RBAC bool
	// Logger receives the index's problems; nil discards them.
	Logger *slog.Logger
}

// AccessReview decides every call with a SubjectAccessReview for the
// caller before the engine runs it — reads, which the engine serves from
// its shared caches, and writes, so that a caller without access learns
// nothing (not even whether a job exists) — and answers CanI. Writes then
// go to the API server with the caller's own token (PassThrough), so its
// RBAC, quotas and admission (the own-job rule) decide them once more.
//
// One review is asked per caller, verb, resource and namespace, never per
// object, and remembered for TTL; a list or watch across namespaces asks
// once at cluster scope, then (RBAC index) once per namespace where the
// caller holds a RoleBinding that allows it.
type AccessReview struct {
	client kubernetes.Interface
	opts   AccessReviewOptions
	cache  *ttlCache[sarResult]
	gate   *gate
	flight flight[sarResult]
	log    *slog.Logger

	rbacOnce sync.Once
	rbac     *rbacIndex
	rbacErr  error
}

type sarResult struct {
	allowed bool
	reason  string
}

var (
	_ auth.Authorizer      = (*AccessReview)(nil)
	_ auth.AccessReviewer  = (*AccessReview)(nil)
	_ auth.NamespaceFilter = (*AccessReview)(nil)
)

// NewAccessReview asks with client (the server's identity, which needs
// create on subjectaccessreviews; give it a client of its own).
func NewAccessReview(client kubernetes.Interface, opts AccessReviewOptions) *AccessReview {
	if opts.TTL <= 0 {
		opts.TTL = 10 * time.Second
	}
	if opts.Rate <= 0 {
		opts.Rate = 50
	}
	if opts.Burst <= 0 {
		opts.Burst = 100
	}
	if opts.InFlight <= 0 {
		opts.InFlight = 32
	}
	if opts.Wait <= 0 {
		opts.Wait = 2 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &AccessReview{client: client, opts: opts, log: log, cache: newCache[sarResult](opts.TTL, 50000),
		gate: newGate(opts.Rate, opts.Burst, opts.InFlight, opts.Wait, "the server cannot check your access with the cluster right now (too many checks); try again")}
}

// Start starts the RBAC index (with Options.RBAC); without it, or if it
// cannot start, lists across namespaces ask about each namespace.
func (r *AccessReview) Start(ctx context.Context) error {
	if !r.opts.RBAC {
		return nil
	}
	r.rbacOnce.Do(func() {
		r.rbac, r.rbacErr = startRBACIndex(ctx, r.client, time.Minute)
	})
	return r.rbacErr
}

// attributes maps a service action to what the API server checks: always
// a whole resource in a namespace, never one object, so that one answer
// serves every object (an "own job" is the admission webhook's rule).
func attributes(a auth.Action) *authorizationv1.ResourceAttributes {
	ra := &authorizationv1.ResourceAttributes{Namespace: a.Namespace, Verb: a.Verb, Group: "kubeflow.org", Resource: "mpijobs"}
	switch a.Resource {
	case auth.ResourceLogs:
		ra.Group, ra.Resource, ra.Subresource, ra.Verb = "", "pods", "log", auth.VerbGet
	case auth.ResourceEvents:
		ra.Group, ra.Resource, ra.Verb = "", "events", auth.VerbList
	case auth.ResourceCapacity:
		ra.Group, ra.Resource, ra.Verb = "", "resourcequotas", auth.VerbList
	}
	// Templates are the server's; using them needs the same access as the
	// jobs they make.
	if a.Verb == auth.VerbUpdate {
		ra.Verb = "patch" // suspend and resume patch the MPIJob
	}
	return ra
}

func reviewKey(u auth.User, ra *authorizationv1.ResourceAttributes, nr *authorizationv1.NonResourceAttributes) string {
	if nr != nil {
		return userKey(u) + "\x00nonresource\x00" + nr.Verb + "\x00" + nr.Path
	}
	return userKey(u) + "\x00" + ra.Namespace + "\x00" + ra.Verb + "\x00" + ra.Group + "/" + ra.Resource + "/" + ra.Subresource + "\x00" + ra.Name
}

func (r *AccessReview) review(ctx context.Context, u auth.User, ra *authorizationv1.ResourceAttributes, nr *authorizationv1.NonResourceAttributes) (sarResult, error) {
	k := reviewKey(u, ra, nr)
	if res, ok := r.cache.get(k); ok {
		return res, nil
	}
	return r.flight.do(ctx, k, func() (sarResult, error) {
		leave, err := r.gate.enter(ctx)
		if err != nil {
			return sarResult{}, err
		}
		defer leave()
		extra := map[string]authorizationv1.ExtraValue{}
		for key, v := range u.Extra {
			extra[key] = v
		}
		sar, err := r.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: u.Name, Groups: u.Groups, UID: u.UID, Extra: extra, ResourceAttributes: ra, NonResourceAttributes: nr,
		}}, metav1.CreateOptions{})
		if err != nil {
			return sarResult{}, &job.Error{Kind: job.KindUnavailable, Message: "cannot check your access with the cluster's API server; try again", Err: err}
		}
		res := sarResult{allowed: sar.Status.Allowed && !sar.Status.Denied, reason: sar.Status.Reason}
		r.cache.put(k, res)
		return res, nil
	})
}

// Allowed asks whether u may do what ra describes, with the same cache as
// every other review (the admission webhook asks it about manage-all).
// Errors are the API server's.
func (r *AccessReview) Allowed(ctx context.Context, u auth.User, ra *authorizationv1.ResourceAttributes) (bool, error) {
	res, err := r.review(ctx, u, ra, nil)
	if err != nil {
		var je *job.Error
		if errors.As(err, &je) && je.Err != nil {
			return false, je.Err
		}
		return false, err
	}
	return res.allowed, nil
}

func describe(ra *authorizationv1.ResourceAttributes) string {
	res := ra.Resource
	if ra.Group != "" {
		res += "." + ra.Group
	}
	if ra.Subresource != "" {
		res += "/" + ra.Subresource
	}
	return ra.Verb + " " + res
}

// Authorize checks the action for the caller. The server's metrics
// (resource "metrics") are checked as the non-resource URL /metrics, as
// kube-rbac-proxy does for scrapers.
func (r *AccessReview) Authorize(ctx context.Context, u auth.User, a auth.Action) error {
	if a.Resource == auth.ResourceMetrics {
		nr := &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: auth.VerbGet}
		res, err := r.review(ctx, u, nil, nr)
		if err != nil {
			return err
		}
		if res.allowed {
			return nil
		}
		return &job.Error{Kind: job.KindForbidden, Message: fmt.Sprintf("user %q may not get /metrics (the cluster's RBAC decided)", u.Name),
			Hint: "Bind the scraper's identity to a ClusterRole allowing get on nonResourceURLs [/metrics] (deploy/monitoring)."}
	}
	ra := attributes(a)
	res, err := r.review(ctx, u, ra, nil)
	if err != nil {
		return err
	}
	if res.allowed {
		return nil
	}
	return r.denied(u, a, ra)
}

func (r *AccessReview) denied(u auth.User, a auth.Action, ra *authorizationv1.ResourceAttributes) *job.Error {
	where := fmt.Sprintf("in namespace %q", a.Namespace)
	if a.Namespace == "" {
		where = "in all namespaces"
	}
	return &job.Error{
		Kind:    job.KindForbidden,
		Message: fmt.Sprintf("user %q may not %s %s (the cluster's RBAC decided)", u.Name, describe(ra), where),
		Hint:    fmt.Sprintf("Ask an administrator of namespace %q for a role that allows it: odh-training-data-scientist or odh-training-mlops (deploy/rbac), or the built-in view/edit/admin. Check with: odh auth can-i %s %s", a.Namespace, a.Verb, a.Resource),
	}
}

// VisibleNamespaces decides at once in which namespaces u may do verb on
// resource: everywhere if the API server allows it at cluster scope (one
// review); otherwise in the namespaces where the RBAC index finds a
// RoleBinding allowing it, each confirmed by a (cached) review. Without
// the index, each namespace asked about is reviewed (and cached).
func (r *AccessReview) VisibleNamespaces(ctx context.Context, u auth.User, verb, resource string) (func(string) bool, error) {
	a := auth.Action{Verb: verb, Resource: resource}
	ra := attributes(a)
	res, err := r.review(ctx, u, ra, nil)
	if err != nil {
		return nil, err
	}
	if res.allowed {
		return func(string) bool { return true }, nil
	}
	if r.rbac == nil {
		var mu sync.Mutex
		memo := map[string]bool{}
		return func(ns string) bool {
			mu.Lock()
			ok, done := memo[ns]
			mu.Unlock()
			if !done {
				a.Namespace = ns
				ok = r.Authorize(ctx, u, a) == nil
				mu.Lock()
				memo[ns] = ok
				mu.Unlock()
			}
			return ok
		}, nil
	}
	allowed := map[string]bool{}
	for _, ns := range r.rbac.namespaces(u, ra.Verb, ra.Group, ra.Resource, ra.Subresource) {
		a.Namespace = ns
		if err := r.Authorize(ctx, u, a); err == nil {
			allowed[ns] = true
		} else if !job.IsKind(err, job.KindForbidden) {
			return nil, err
		}
	}
	return func(ns string) bool { return allowed[ns] }, nil
}

// CanI answers for the caller as the API server and the admission webhook
// would: RBAC, and for updating or deleting one job the own-job rule
// (creator, or verb manage-all on mpijobs).
func (r *AccessReview) CanI(ctx context.Context, u auth.User, a auth.Action) (bool, string, error) {
	if err := r.Authorize(ctx, u, a); err != nil {
		var je *job.Error
		if errors.As(err, &je) && je.Kind == job.KindForbidden {
			return false, je.Error(), nil
		}
		return false, "", err
	}
	if a.Resource != auth.ResourceJobs || a.Owner == nil || (a.Verb != auth.VerbUpdate && a.Verb != auth.VerbDelete) {
		return true, "", nil
	}
	owner, err := a.Owner()
	if err != nil {
		return false, "", err
	}
	if owner == u.Name || slices.Contains(u.Groups, "system:masters") {
		return true, "", nil
	}
	all, err := r.review(ctx, u, &authorizationv1.ResourceAttributes{Namespace: a.Namespace, Verb: "manage-all", Group: "kubeflow.org", Resource: "mpijobs"}, nil)
	if err != nil {
		return false, "", err
	}
	if all.allowed {
		return true, "", nil
	}
	by := "someone else"
	if owner != "" {
		by = fmt.Sprintf("%q", owner)
	}
	return false, fmt.Sprintf("user %q may not %s MPIJob %q in namespace %q: it was created by %s; only its creator and holders of verb manage-all on mpijobs.kubeflow.org (odh-training-mlops) may", u.Name, a.Verb, a.Name, a.Namespace, by), nil
}

// Stop stops the RBAC index.
func (r *AccessReview) Stop() {
	if r.rbac != nil {
		r.rbac.stop()
	}
}
