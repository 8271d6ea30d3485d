// Package kubeauth makes the Training Service act on a cluster as its
// callers: bearer tokens (OpenShift OAuth, ServiceAccount, OIDC — anything
// the API server accepts) are validated with a TokenReview, every write
// runs as the caller through impersonation, so the API server's RBAC,
// quotas and admission webhooks decide exactly as they do for kubectl; and
// every call — reads come from the engine's shared caches — is first
// checked with a SubjectAccessReview for the caller. Results are cached for
// a short time.
package kubeauth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/engine/kube"
	"github.com/odh-training/odh-training/internal/job"
)

// ttlCache is a small map with expiring entries.
type ttlCache[V any] struct {
	ttl time.Duration
	max int

	mu sync.Mutex
	m  map[string]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v  V
	at time.Time
}

func newCache[V any](ttl time.Duration, max int) *ttlCache[V] {
	return &ttlCache[V]{ttl: ttl, max: max, m: map[string]ttlEntry[V]{}}
}

func (c *ttlCache[V]) get(k string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || time.Since(e.at) > c.ttl {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *ttlCache[V]) put(k string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		now := time.Now()
		for key, e := range c.m {
			if now.Sub(e.at) > c.ttl {
				delete(c.m, key)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m)
		}
	}
	c.m[k] = ttlEntry[V]{v: v, at: time.Now()}
}

// TokenReview authenticates bearer tokens with the API server.
type TokenReview struct {
	client    kubernetes.Interface
	audiences []string
	ok        *ttlCache[auth.User]
	bad       *ttlCache[struct{}]
}

var _ auth.Authenticator = (*TokenReview)(nil)

// NewTokenReview validates tokens with client (the server's own identity,
// which needs create on tokenreviews). Valid tokens are remembered for ttl,
// invalid ones for a few seconds; only a hash of each token is kept.
// TokenHint says which tokens the server accepts (for 401 answers).
func (t *TokenReview) TokenHint() string {
	return "your cluster token: oc whoami -t, or kubectl create token SERVICEACCOUNT"
}

func NewTokenReview(client kubernetes.Interface, ttl time.Duration, audiences ...string) *TokenReview {
	return &TokenReview{client: client, audiences: audiences, ok: newCache[auth.User](ttl, 10000), bad: newCache[struct{}](5*time.Second, 10000)}
}

// Authenticate returns the token's user.
func (t *TokenReview) Authenticate(ctx context.Context, token string) (auth.User, error) {
	if token == "" {
		return auth.User{}, errors.New("no token")
	}
	sum := sha256.Sum256([]byte(token))
	k := string(sum[:])
	if u, ok := t.ok.get(k); ok {
		return u, nil
	}
	if _, bad := t.bad.get(k); bad {
		return auth.User{}, errors.New("invalid token")
	}
	r, err := t.client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token, Audiences: t.audiences}}, metav1.CreateOptions{})
	if err != nil {
		// Not the caller's fault: say so instead of "invalid token".
		return auth.User{}, &job.Error{Kind: job.KindUnavailable, Message: "cannot validate the token with the cluster's API server; try again", Err: err}
	}
	if !r.Status.Authenticated {
		t.bad.put(k, struct{}{})
		return auth.User{}, errors.New("invalid token")
	}
	ui := r.Status.User
	u := auth.User{Name: ui.Username, Groups: ui.Groups, UID: ui.UID}
	if len(ui.Extra) > 0 {
		u.Extra = map[string][]string{}
		for key, v := range ui.Extra {
			u.Extra[key] = v
		}
	}
	t.ok.put(k, u)
	return u, nil
}

// Impersonator builds API clients that act as the request's caller.
type Impersonator struct {
	base *rest.Config
	own  *kube.Clients
	c    *ttlCache[*kube.Clients]
}

// NewImpersonator impersonates on top of base (the server's identity, which
// needs impersonate on users, groups, uids and userextras). Requests without
// a caller (--auth=none) use own.
func NewImpersonator(base *rest.Config, own *kube.Clients) *Impersonator {
	return &Impersonator{base: base, own: own, c: newCache[*kube.Clients](5*time.Minute, 1000)}
}

func userKey(u auth.User) string {
	var b strings.Builder
	b.WriteString(u.Name + "\x00" + u.UID + "\x00" + strings.Join(u.Groups, "\x01"))
	keys := make([]string, 0, len(u.Extra))
	for k := range u.Extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteString("\x00" + k + "=" + strings.Join(u.Extra[k], "\x01"))
	}
	return b.String()
}

// ClientsFor returns the clients of the request's caller (kube.Options.ClientsFor).
func (i *Impersonator) ClientsFor(ctx context.Context) (*kube.Clients, error) {
	u, ok := auth.UserFrom(ctx)
	if !ok || u.Name == "" {
		return i.own, nil
	}
	k := userKey(u)
	if c, ok := i.c.get(k); ok {
		return c, nil
	}
	cfg := rest.CopyConfig(i.base)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: u.Name, UID: u.UID, Groups: u.Groups, Extra: u.Extra}
	c, err := kube.NewClients(cfg)
	if err != nil {
		return nil, err
	}
	i.c.put(k, c)
	return c, nil
}

// AccessReview decides every call with a SubjectAccessReview for the
// caller before the engine runs it — reads, which the engine serves from
// its shared caches, and writes, so that a caller without access learns
// nothing (not even whether a job exists) — and answers CanI. Writes then
// run as the caller, so the API server's RBAC, quotas and admission (the
// own-job rule) decide them once more.
type AccessReview struct {
	client kubernetes.Interface
	cache  *ttlCache[sarResult]
}

type sarResult struct {
	allowed bool
	reason  string
}

var (
	_ auth.Authorizer     = (*AccessReview)(nil)
	_ auth.AccessReviewer = (*AccessReview)(nil)
)

// NewAccessReview asks with client (the server's identity, which needs
// create on subjectaccessreviews); answers are remembered for ttl.
func NewAccessReview(client kubernetes.Interface, ttl time.Duration) *AccessReview {
	return &AccessReview{client: client, cache: newCache[sarResult](ttl, 20000)}
}

// attributes maps a service action to what the API server checks.
func attributes(a auth.Action) *authorizationv1.ResourceAttributes {
	ra := &authorizationv1.ResourceAttributes{Namespace: a.Namespace, Verb: a.Verb, Group: "kubeflow.org", Resource: "mpijobs", Name: a.Name}
	switch a.Resource {
	case auth.ResourceLogs:
		ra.Group, ra.Resource, ra.Subresource, ra.Name = "", "pods", "log", ""
	case auth.ResourceEvents:
		ra.Group, ra.Resource, ra.Verb, ra.Name = "", "events", auth.VerbList, ""
	case auth.ResourceCapacity:
		ra.Group, ra.Resource, ra.Verb, ra.Name = "", "resourcequotas", auth.VerbList, ""
	case auth.ResourceTemplates:
		// Templates are the server's; using them needs the same access as
		// the jobs they make.
		ra.Name = ""
	}
	if a.Verb == auth.VerbUpdate {
		ra.Verb = "patch" // suspend and resume patch the MPIJob
	}
	return ra
}

func (r *AccessReview) review(ctx context.Context, u auth.User, ra *authorizationv1.ResourceAttributes) (sarResult, error) {
	k := userKey(u) + "\x00" + ra.Namespace + "\x00" + ra.Verb + "\x00" + ra.Group + "/" + ra.Resource + "/" + ra.Subresource + "\x00" + ra.Name
	if res, ok := r.cache.get(k); ok {
		return res, nil
	}
	extra := map[string]authorizationv1.ExtraValue{}
	for key, v := range u.Extra {
		extra[key] = v
	}
	sar, err := r.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: u.Name, Groups: u.Groups, UID: u.UID, Extra: extra, ResourceAttributes: ra,
	}}, metav1.CreateOptions{})
	if err != nil {
		return sarResult{}, &job.Error{Kind: job.KindUnavailable, Message: "cannot check your access with the cluster's API server; try again", Err: err}
	}
	res := sarResult{allowed: sar.Status.Allowed, reason: sar.Status.Reason}
	r.cache.put(k, res)
	return res, nil
}

// Allowed asks whether u may do what ra describes, with the same cache as
// every other review (the admission webhook asks it about manage-all).
// Errors are the API server's.
func (r *AccessReview) Allowed(ctx context.Context, u auth.User, ra *authorizationv1.ResourceAttributes) (bool, error) {
	res, err := r.review(ctx, u, ra)
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

// Authorize checks the action for the caller.
func (r *AccessReview) Authorize(ctx context.Context, u auth.User, a auth.Action) error {
	ra := attributes(a)
	res, err := r.review(ctx, u, ra)
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
	what := describe(ra)
	if ra.Name != "" {
		what += " " + ra.Name
	}
	return &job.Error{
		Kind:    job.KindForbidden,
		Message: fmt.Sprintf("user %q may not %s %s (the cluster's RBAC decided)", u.Name, what, where),
		Hint:    fmt.Sprintf("Ask an administrator of namespace %q for a role that allows it: odh-training-data-scientist or odh-training-mlops (deploy/rbac), or the built-in view/edit/admin. Check with: odh auth can-i %s %s", a.Namespace, a.Verb, a.Resource),
	}
}

// CanI answers for the caller as the API server and the admission webhook
// would: RBAC, and for updating or deleting one job the own-job rule
// (creator, or verb manage-all on mpijobs).
func (r *AccessReview) CanI(ctx context.Context, u auth.User, a auth.Action) (bool, string, error) {
	ra := attributes(a)
	res, err := r.review(ctx, u, ra)
	if err != nil {
		return false, "", err
	}
	if !res.allowed {
		return false, r.denied(u, a, ra).Error(), nil
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
	all, err := r.review(ctx, u, &authorizationv1.ResourceAttributes{Namespace: a.Namespace, Verb: "manage-all", Group: "kubeflow.org", Resource: "mpijobs"})
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
