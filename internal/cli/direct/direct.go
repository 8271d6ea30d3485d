// Package direct runs the Training Service in the CLI's own process against
// a cluster, with the caller's kubeconfig (as Argo's CLI does without a
// server): the same service code, validation and errors as a remote
// odh-server, reached through the same client.
package direct

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/discovery"
	"github.com/odh-training/odh-training/internal/engine/kube"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/kubeconfig"
	"github.com/odh-training/odh-training/internal/service"
	"github.com/odh-training/odh-training/internal/templates"
)

// Options select the cluster and the namespace the engine watches.
type Options struct {
	// Kubeconfig is a kubeconfig file ("" = $KUBECONFIG, then ~/.kube/config).
	Kubeconfig string
	// Context is a kubeconfig context ("" = the current one).
	Context string
	// Namespace restricts the in-process engine to one namespace, so a user
	// with namespace-scoped RBAC can use it; "" watches every namespace.
	Namespace string
}

// RESTConfig loads the kubeconfig like kubectl does.
func RESTConfig(o Options) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if o.Kubeconfig != "" {
		rules.ExplicitPath = o.Kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: o.Context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("direct mode: load kubeconfig: %w (point --kubeconfig at a kubeconfig file, or use a Training Service with --server)", err)
	}
	raw, _ := cc.RawConfig()
	name := o.Context
	if name == "" {
		name = raw.CurrentContext
	}
	return cfg, name, nil
}

// Connect starts the engine and the service in this process and returns a
// client for them; close releases both.
func Connect(ctx context.Context, o Options) (*apiclient.Client, func(), error) {
	cfg, contextName, err := RESTConfig(o)
	if err != nil {
		return nil, nil, err
	}
	cfg.UserAgent = "odh/direct"
	// client-go logs through klog to stderr; the CLI reports errors itself.
	klog.SetOutput(io.Discard)
	klog.LogToStderr(false)
	if err := checkAccess(ctx, cfg, o.Namespace); err != nil {
		return nil, nil, err
	}
	who := whoAmI(ctx, cfg)
	ctx, cancel := context.WithCancel(ctx)
	type result struct {
		eng *kube.Engine
		err error
	}
	started := make(chan result, 1)
	go func() {
		e, err := kube.New(ctx, kube.Options{RestConfig: cfg, Logger: slog.New(slog.DiscardHandler), Namespace: o.Namespace})
		started <- result{e, err}
	}()
	var eng *kube.Engine
	select {
	case r := <-started:
		if r.err != nil {
			cancel()
			return nil, nil, r.err
		}
		eng = r.eng
	case <-time.After(startTimeout):
		cancel()
		return nil, nil, &job.Error{Kind: job.KindUnavailable, Message: fmt.Sprintf("direct mode: the cluster at %s did not answer within %s", cfg.Host, startTimeout), Hint: "Check the cluster (kubectl get mpijobs), or use a Training Service with --server."}
	}
	tpl, err := templates.NewStore(filepath.Join(filepath.Dir(discovery.DefaultStateDir()), "direct", "templates"))
	if err != nil {
		cancel()
		_ = eng.Close(context.Background())
		return nil, nil, err
	}
	srv, err := service.New(service.Options{Engine: eng, Manifest: eng.Manifest, Templates: tpl, Auth: auth.Anonymous{User: who}})
	if err != nil {
		cancel()
		_ = eng.Close(context.Background())
		return nil, nil, err
	}
	where := fmt.Sprintf("%s (direct, kubeconfig context %q)", cfg.Host, contextName)
	closeAll := func() {
		srv.Close()
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		_ = eng.Close(cctx)
		cancel()
	}
	return apiclient.New(srv.Client(), where), closeAll, nil
}

// whoAmI is the cluster identity of the kubeconfig's credentials, so jobs
// record it as their creator (the local user name when the API server
// cannot say).
func whoAmI(ctx context.Context, cfg *rest.Config) auth.User {
	name, groups, err := kubeconfig.WhoAmI(ctx, cfg)
	if err != nil {
		name, groups = "kubeconfig-user", nil
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	return auth.User{Name: name, Groups: groups}
}

// startTimeout bounds how long the in-process engine may take to load the
// cluster's jobs and pods.
const startTimeout = 60 * time.Second

// checkAccess asks the API server (SelfSubjectAccessReview) whether the
// kubeconfig's user may read what the engine watches, so a missing
// RoleBinding is a clear error instead of an engine that never syncs.
func checkAccess(ctx context.Context, cfg *rest.Config, namespace string) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	where := fmt.Sprintf("namespace %q", namespace)
	if namespace == "" {
		where = "all namespaces (-A)"
	}
	for _, r := range []struct{ group, resource string }{{"kubeflow.org", "mpijobs"}, {"", "pods"}, {"", "events"}} {
		review, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: namespace, Verb: "list", Group: r.group, Resource: r.resource,
			}},
		}, metav1.CreateOptions{})
		if err != nil {
			return &job.Error{Kind: job.KindUnavailable, Message: fmt.Sprintf("direct mode: cannot reach the cluster at %s: %v", cfg.Host, err), Err: err}
		}
		if !review.Status.Allowed {
			return &job.Error{
				Kind:    job.KindForbidden,
				Message: fmt.Sprintf("direct mode: your kubeconfig user may not list %s in %s", r.resource, where),
				Hint:    "Pick a namespace you can use with -n, or ask an administrator for a RoleBinding to the odh data-scientist role (deploy/rbac).",
			}
		}
	}
	return nil
}

// Requested reports whether the environment asks for direct mode.
func Requested() bool { return os.Getenv("ODH_DIRECT") == "1" || os.Getenv("ODH_DIRECT") == "true" }
