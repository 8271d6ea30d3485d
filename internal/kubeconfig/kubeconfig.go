// Package kubeconfig finds the cluster odh-server and odh-webhook talk to.
package kubeconfig

import (
	"fmt"
	"os"

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
