package kubeauth

import (
	"context"
	"crypto/sha256"
	"time"

	"k8s.io/client-go/rest"

	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/engine/kube"
	"github.com/odh-training/odh-training/internal/job"
)

// PassThrough builds API clients that present the caller's own bearer
// token to the API server — no impersonation, no credentials of the
// server's: the API server authenticates the caller itself, and its RBAC,
// quotas and admission decide with the caller's identity, exactly as for
// kubectl. The server's ServiceAccount therefore needs no right to act for
// anyone.
type PassThrough struct {
	base *rest.Config
	c    *ttlCache[*kube.Clients]
}

// CallerQPS and CallerBurst bound what one caller's clients send to the
// API server (the API server's priority and fairness limits them too).
const (
	CallerQPS   = 20
	CallerBurst = 40
)

// NewPassThrough keeps base's address and TLS settings (the cluster's CA)
// and drops its credentials; each caller's clients carry the caller's
// token. Clients are reused for a few minutes per token (only a SHA-256 of
// the token is kept as the key; the clients hold the token itself).
func NewPassThrough(base *rest.Config) *PassThrough {
	cfg := rest.AnonymousClientConfig(base)
	cfg.QPS, cfg.Burst = CallerQPS, CallerBurst
	if cfg.UserAgent == "" {
		cfg.UserAgent = "odh-server (for its caller)"
	}
	return &PassThrough{base: cfg, c: newCache[*kube.Clients](5*time.Minute, 2000)}
}

// ClientsFor returns the clients of the request's caller
// (kube.Options.ClientsFor). A request without a bearer token has no
// clients: the engine never falls back to the server's own identity for a
// caller.
func (p *PassThrough) ClientsFor(ctx context.Context) (*kube.Clients, error) {
	tok := auth.BearerToken(ctx)
	if tok == "" {
		return nil, &job.Error{Kind: job.KindUnauthenticated, Message: "this call needs your bearer token: the server acts on the cluster with it"}
	}
	sum := sha256.Sum256([]byte(tok))
	k := string(sum[:])
	if c, ok := p.c.get(k); ok {
		return c, nil
	}
	cfg := rest.CopyConfig(p.base)
	cfg.BearerToken = tok
	c, err := kube.NewClients(cfg)
	if err != nil {
		return nil, err
	}
	p.c.put(k, c)
	return c, nil
}
