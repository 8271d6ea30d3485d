package odhwebhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/odh-training/odh-training/internal/webhook"
)

// sarChecker asks the API server whether a user holds manage-all, with a
// short cache.
type sarChecker struct {
	client kubernetes.Interface
	ttl    time.Duration

	mu    sync.Mutex
	cache map[string]sarEntry
}

type sarEntry struct {
	allowed bool
	at      time.Time
}

func newSARChecker(c kubernetes.Interface, ttl time.Duration) *sarChecker {
	return &sarChecker{client: c, ttl: ttl, cache: map[string]sarEntry{}}
}

func (s *sarChecker) CanManageAll(ctx context.Context, u authenticationv1.UserInfo, ns string) (bool, error) {
	k := ns + "\x00" + u.Username + "\x00" + u.UID + "\x00" + strings.Join(u.Groups, ",")
	s.mu.Lock()
	e, ok := s.cache[k]
	s.mu.Unlock()
	if ok && time.Since(e.at) < s.ttl {
		return e.allowed, nil
	}
	extra := map[string]authorizationv1.ExtraValue{}
	for key, v := range u.Extra {
		extra[key] = authorizationv1.ExtraValue(v)
	}
	r, err := s.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: u.Username, Groups: u.Groups, UID: u.UID, Extra: extra,
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: webhook.ManageAllVerb, Group: webhook.ManageAllGroup, Resource: webhook.ManageAllResource},
	}}, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	if len(s.cache) > 10000 {
		clear(s.cache)
	}
	s.cache[k] = sarEntry{allowed: r.Status.Allowed, at: time.Now()}
	s.mu.Unlock()
	return r.Status.Allowed, nil
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
