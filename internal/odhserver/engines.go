package odhserver

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/auth/kubeauth"
	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/engine/kube"
	"github.com/odh-training/odh-training/internal/engine/local"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/kubeconfig"
	"github.com/odh-training/odh-training/internal/podpolicy/kubepolicy"
)

// engineNames are the values --engine accepts.
var engineNames = []string{"local", "kubernetes"}

// runningEngine is the engine --engine chose, how to stop it, and — for an
// engine whose cluster authenticates and authorizes callers itself (the
// kubernetes engine with --auth=kubernetes) — the security it brings.
type runningEngine struct {
	engine.Engine
	close    func(context.Context) error
	security *security
	// manifest renders the kubeflow.org/v2beta1 MPIJob a job becomes on a
	// cluster, for dry runs.
	manifest func(*job.MPIJob) ([]byte, error)
	// identity is who the engine acts as on the cluster when callers are
	// not authenticated by it (--auth token or none): jobs record it as
	// their creator, which the cluster's admission webhook checks.
	identity string
}

// security is how a cluster authenticates callers and decides access.
type security struct {
	Auth     auth.Authenticator
	Authz    auth.Authorizer
	Reviewer auth.AccessReviewer
	stop     func()
}

// startEngine builds the engine named by --engine.
func startEngine(ctx context.Context, o *Options, log *slog.Logger) (*runningEngine, error) {
	switch o.Engine {
	case "local":
		e, err := local.New(local.Options{StateDir: filepath.Join(o.StateDir, "engine"), Slots: o.Slots, Logger: log})
		if err != nil {
			return nil, err
		}
		// Users try jobs on their laptop before a cluster: a dry run here
		// also shows what the kubernetes engine (with its default options)
		// would submit, for jobs a cluster can run.
		upstream := func(j *job.MPIJob) ([]byte, error) { return kube.Manifest(j, kube.TranslateOptions{}) }
		return &runningEngine{Engine: e, close: e.Close, manifest: upstream}, nil
	case "kubernetes":
		return startKubeEngine(ctx, o, log)
	}
	return nil, fmt.Errorf("unknown engine %q", o.Engine)
}

// startKubeEngine builds the kubernetes engine from --kubeconfig, the
// in-cluster config, or $KUBECONFIG (then ~/.kube/config), in that order.
// Logs of finished pods are archived in <state-dir>/kube-logs.
// $ODH_KUBE_NAMESPACE, when set, restricts the engine to one namespace.
func startKubeEngine(ctx context.Context, o *Options, log *slog.Logger) (*runningEngine, error) {
	cfg, source, err := kubeconfig.Load(o.Kubeconfig)
	if err != nil {
		return nil, err
	}
	log.Info("kubernetes engine: connecting", "apiserver", cfg.Host, "config", source)
	kopts := kube.Options{
		RestConfig: cfg,
		Logger:     log,
		ArchiveDir: filepath.Join(o.StateDir, "kube-logs"),
		Namespace:  os.Getenv("ODH_KUBE_NAMESPACE"),

		JobNetworkPolicy: o.JobNetworkPolicy,
		Backend:          o.Backend,
		DefaultRuntime:   o.DefaultRuntime,
	}
	var sec *security
	if o.Auth == "kubernetes" {
		if o.PolicyFile != "" {
			return nil, fmt.Errorf("--policy-file is for --auth=token; with --auth=kubernetes the cluster's RBAC decides")
		}
		// Callers' tokens are checked by the API server; every call to it
		// for a caller carries the caller's own token, and reads from the
		// shared caches are checked with SubjectAccessReviews first.
		var clientsFor func(context.Context) (*kube.Clients, error)
		sec, clientsFor, err = clusterSecurity(ctx, cfg, o, log)
		if err != nil {
			return nil, err
		}
		kopts.ClientsFor = clientsFor
	}
	pp, err := podPolicies(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if pp != nil {
		kopts.PodPolicies = pp
	}
	e, err := kube.New(ctx, kopts)
	if err != nil {
		return nil, err
	}
	closeAll := e.Close
	if sec != nil {
		closeAll = func(ctx context.Context) error { sec.stop(); return e.Close(ctx) }
	}
	re := &runningEngine{Engine: e, close: closeAll, security: sec, manifest: e.Manifest}
	if sec == nil {
		if name, _, err := kubeconfig.WhoAmI(ctx, cfg); err == nil {
			re.identity = name
		} else {
			log.Warn("kubernetes engine: the API server did not say who these credentials are; jobs record the local user as creator", "err", err)
		}
	}
	return re, nil
}

// podPolicies reads the cluster's pod policy (TrainingPolicies) into
// informer caches with the server's own identity, so that dry runs and
// creates are refused with odh-webhook's messages before anything is sent.
func podPolicies(ctx context.Context, cfg *rest.Config, log *slog.Logger) (*kubepolicy.Source, error) {
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	// Direct mode runs this server with the user's own credentials, which
	// rarely may list namespaces and priority classes cluster-wide: then the
	// pre-check is off and odh-webhook's admission alone enforces the policy.
	for _, ra := range []authorizationv1.ResourceAttributes{
		{Verb: "watch", Resource: "namespaces"},
		{Verb: "watch", Group: "scheduling.k8s.io", Resource: "priorityclasses"},
	} {
		r, err := kc.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &ra}}, metav1.CreateOptions{})
		if err != nil {
			// This is the first request to the cluster: a transport error
			// means the API server is unreachable, and says so like kube.New.
			if _, isStatus := err.(apierrors.APIStatus); !isStatus {
				return nil, fmt.Errorf("kubernetes engine: reach the API server at %s: %w", cfg.Host, err)
			}
			return nil, fmt.Errorf("kubernetes engine: may this identity read the pod policy's inputs: %w", err)
		}
		if !r.Status.Allowed {
			log.Warn("pod policy pre-check off: this identity cannot read its inputs cluster-wide; odh-webhook still enforces the policy at admission", "verb", ra.Verb, "group", ra.Group, "resource", ra.Resource)
			return nil, nil
		}
	}
	src := kubepolicy.New(kc, dyn, log)
	if err := src.Start(ctx); err != nil {
		return nil, fmt.Errorf("kubernetes engine: %w", err)
	}
	return src, nil
}

// clusterSecurity builds TokenReview authentication and
// SubjectAccessReview checks on the server's own identity — each with a
// client of its own, so a flood of one kind of review cannot starve the
// other or the engine's informers — and clients that carry each caller's
// own token to the API server (no impersonation).
func clusterSecurity(ctx context.Context, cfg *rest.Config, o *Options, log *slog.Logger) (*security, func(context.Context) (*kube.Clients, error), error) {
	reviewClient := func(agent string, qps float32, burst int) (*kubernetes.Clientset, error) {
		c := rest.CopyConfig(cfg)
		c.QPS, c.Burst, c.UserAgent = qps, burst, "odh-server/"+agent
		return kubernetes.NewForConfig(c)
	}
	// The gates in kubeauth shape the load; these limits are a backstop.
	trc, err := reviewClient("tokenreviews", 100, 200)
	if err != nil {
		return nil, nil, err
	}
	sarc, err := reviewClient("accessreviews", 100, 200)
	if err != nil {
		return nil, nil, err
	}
	review := kubeauth.NewAccessReview(sarc, kubeauth.AccessReviewOptions{RBAC: true, Logger: log})
	if err := review.Start(ctx); err != nil {
		// Lists across namespaces then ask about each namespace.
		log.Warn("RBAC index unavailable: lists across namespaces check each namespace", "error", err)
	}
	authn := kubeauth.NewTokenReview(trc, kubeauth.TokenReviewOptions{Audiences: o.TokenAudiences, TTL: o.TokenCacheTTL})
	return &security{Auth: authn, Authz: review, Reviewer: review, stop: review.Stop}, kubeauth.NewPassThrough(cfg).ClientsFor, nil
}
