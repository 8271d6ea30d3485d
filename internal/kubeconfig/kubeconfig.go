// Package kubeconfig finds the cluster odh-server and odh-webhook talk to.
package kubeconfig

import (
	"context"
	"fmt"
	"os"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Load finds the cluster as the servers do: kubeconfig when given,
// then the in-cluster configuration, then $KUBECONFIG or ~/.kube/config. It
// also says which one it used.
func Load(kubeconfig string) (*rest.Config, string, error) {
	if kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, "", fmt.Errorf("--kubeconfig %s: %w", kubeconfig, err)
		}
		return cfg, kubeconfig, nil
	}
	if cfg, err := rest.InClusterConfig(); err == nil {
		return cfg, "in-cluster service account", nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		where := "$KUBECONFIG or ~/.kube/config"
		if v := os.Getenv("KUBECONFIG"); v != "" {
			where = "$KUBECONFIG (" + v + ")"
		}
		return nil, "", fmt.Errorf("no cluster configuration: not running in a cluster, no --kubeconfig, and %s: %w", where, err)
	}
	return cfg, "kubeconfig from $KUBECONFIG or ~/.kube/config", nil
}

// WhoAmI asks the API server who cfg's credentials belong to
// (SelfSubjectReview): the name a job's creator must carry, since the
// cluster's admission webhook records the same one.
func WhoAmI(ctx context.Context, cfg *rest.Config) (name string, groups []string, err error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	r, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", nil, err
	}
	if r.Status.UserInfo.Username == "" {
		return "", nil, fmt.Errorf("the API server at %s returned no user name for these credentials", cfg.Host)
	}
	return r.Status.UserInfo.Username, r.Status.UserInfo.Groups, nil
}
