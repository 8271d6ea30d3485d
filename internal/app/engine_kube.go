package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/rest"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/engine/kube"
	"github.com/odh-training/odh-training/internal/kubeauth"
	"github.com/odh-training/odh-training/internal/kubeconfig"
)

func init() { RegisterEngine("kubernetes", newKubeEngine) }

// newKubeEngine builds the kubernetes engine from --kubeconfig, the
// in-cluster config, or $KUBECONFIG (then ~/.kube/config), in that order.
// Logs of finished pods are archived in <state-dir>/kube-logs.
// $ODH_KUBE_NAMESPACE, when set, restricts the engine to one namespace.
func newKubeEngine(ctx context.Context, o *Options, log *slog.Logger) (engine.Engine, func(context.Context) error, error) {
	cfg, source, err := kubeconfig.Load(o.Kubeconfig)
	if err != nil {
		return nil, nil, err
	}
	log.Info("kubernetes engine: connecting", "apiserver", cfg.Host, "config", source)
	kopts := kube.Options{
		RestConfig: cfg,
		Logger:     log,
		ArchiveDir: filepath.Join(o.StateDir, "kube-logs"),
		Namespace:  os.Getenv("ODH_KUBE_NAMESPACE"),

		JobNetworkPolicy: o.JobNetworkPolicy,
	}
	if o.Auth == "kubernetes" {
		// Callers' tokens are checked by the API server; every request
		// runs as the caller (impersonation) and reads from the shared
		// caches are checked with SubjectAccessReviews first.
		sec, clientsFor, err := clusterSecurity(cfg)
		if err != nil {
			return nil, nil, err
		}
		kopts.ClientsFor, o.security = clientsFor, sec
		if o.PolicyFile != "" {
			return nil, nil, fmt.Errorf("--policy-file is for --auth=token; with --auth=kubernetes the cluster's RBAC decides")
		}
	}
	e, err := kube.New(ctx, kopts)
	if err != nil {
		return nil, nil, err
	}
	return e, e.Close, nil
}

// clusterSecurity builds TokenReview authentication, impersonating clients
// and SubjectAccessReview checks on the server's own identity.
func clusterSecurity(cfg *rest.Config) (*Security, func(context.Context) (*kube.Clients, error), error) {
	own := rest.CopyConfig(cfg)
	if own.QPS == 0 {
		own.QPS, own.Burst = 50, 100
	}
	c, err := kube.NewClients(own)
	if err != nil {
		return nil, nil, err
	}
	review := kubeauth.NewAccessReview(c.Kube, 10*time.Second)
	imp := kubeauth.NewImpersonator(own, c)
	return &Security{Auth: kubeauth.NewTokenReview(c.Kube, 30*time.Second), Authz: review, Reviewer: review}, imp.ClientsFor, nil
}
