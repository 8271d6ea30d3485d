package odhwebhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/auth/kubeauth"
	"github.com/odh-training/odh-training/internal/webhook"
)

// manageAll answers the webhook's question — may this user change and
// delete every MPIJob of the namespace? — with a SubjectAccessReview.
type manageAll struct{ review *kubeauth.AccessReview }

func (m manageAll) CanManageAll(ctx context.Context, u authenticationv1.UserInfo, ns string) (bool, error) {
	user := auth.User{Name: u.Username, Groups: u.Groups, UID: u.UID}
	if len(u.Extra) > 0 {
		user.Extra = map[string][]string{}
		for k, v := range u.Extra {
			user.Extra[k] = v
		}
	}
	return m.review.Allowed(ctx, user, &authorizationv1.ResourceAttributes{Namespace: ns, Verb: webhook.ManageAllVerb, Group: webhook.ManageAllGroup, Resource: webhook.ManageAllResource})
}

// bundlePatcher writes the CA bundle into the webhook configurations.
type bundlePatcher struct {
	client     kubernetes.Interface
	mutating   []string
	validating []string
}

// patch sets caBundle on every webhook of the named configurations that do
// not have it yet. A configuration that does not exist is skipped (it may
// be applied after the webhook starts; the next round patches it).
func (p *bundlePatcher) patch(ctx context.Context, bundle []byte) error {
	var errs []error
	for _, name := range p.mutating {
		c, err := p.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		changed := false
		for i := range c.Webhooks {
			if !bytes.Equal(c.Webhooks[i].ClientConfig.CABundle, bundle) {
				c.Webhooks[i].ClientConfig.CABundle, changed = bundle, true
			}
		}
		if changed {
			if _, err := p.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Update(ctx, c, metav1.UpdateOptions{}); err != nil {
				errs = append(errs, fmt.Errorf("update MutatingWebhookConfiguration %s: %w", name, err))
			}
		}
	}
	for _, name := range p.validating {
		c, err := p.client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		changed := false
		for i := range c.Webhooks {
			if !bytes.Equal(c.Webhooks[i].ClientConfig.CABundle, bundle) {
				c.Webhooks[i].ClientConfig.CABundle, changed = bundle, true
			}
		}
		if changed {
			if _, err := p.client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Update(ctx, c, metav1.UpdateOptions{}); err != nil {
				errs = append(errs, fmt.Errorf("update ValidatingWebhookConfiguration %s: %w", name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// kubeNamespaces reads namespace annotations from the API server, cached
// for a short time.
type kubeNamespaces struct {
	client kubernetes.Interface
	ttl    time.Duration

	mu    sync.Mutex
	cache map[string]nsEntry
}

type nsEntry struct {
	annotations map[string]string
	at          time.Time
}

func newKubeNamespaces(c kubernetes.Interface, ttl time.Duration) *kubeNamespaces {
	return &kubeNamespaces{client: c, ttl: ttl, cache: map[string]nsEntry{}}
}

func (k *kubeNamespaces) Annotations(ctx context.Context, ns string) (map[string]string, error) {
	k.mu.Lock()
	e, ok := k.cache[ns]
	k.mu.Unlock()
	if ok && time.Since(e.at) < k.ttl {
		return e.annotations, nil
	}
	n, err := k.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read namespace %s: %w", ns, err)
	}
	k.mu.Lock()
	k.cache[ns] = nsEntry{annotations: n.Annotations, at: time.Now()}
	k.mu.Unlock()
	return n.Annotations, nil
}
