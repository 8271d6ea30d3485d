// Package kubeauth makes the Training Service act on a cluster as its
// callers, with no power of its own to act for them: bearer tokens
// (OpenShift OAuth, ServiceAccount, OIDC — anything the API server
// accepts) are validated with a TokenReview, optionally bound to an
// audience; every call that reaches the API server for a caller carries
// the caller's own token (PassThrough — no impersonation), so the API
// server's RBAC, quotas and admission webhooks decide exactly as they do
// for kubectl; and every call — reads come from the engine's shared caches
// — is first checked with a SubjectAccessReview for the caller. Answers
// are cached for a short time, and the reviews sent to the API server are
// bounded (a rate and a number in flight, per kind of review), so a flood
// of made-up tokens cannot starve the callers already known.
package kubeauth

import (
	"slices"
	"strings"

	"github.com/odh-training/odh-training/internal/auth"
)

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
