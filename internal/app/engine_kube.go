package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/engine/kube"
)

func init() { RegisterEngine("kubernetes", newKubeEngine) }

// newKubeEngine builds the kubernetes engine from --kubeconfig, the
// in-cluster config, or $KUBECONFIG (then ~/.kube/config), in that order.
// Logs of finished pods are archived in <state-dir>/kube-logs.
// $ODH_KUBE_NAMESPACE, when set, restricts the engine to one namespace.
func newKubeEngine(ctx context.Context, o *Options, log *slog.Logger) (engine.Engine, func(context.Context) error, error) {
	cfg, source, err := kubeRESTConfig(o.Kubeconfig)
	if err != nil {
		return nil, nil, err
	}
	log.Info("kubernetes engine: connecting", "apiserver", cfg.Host, "config", source)
	e, err := kube.New(ctx, kube.Options{
		RestConfig: cfg,
		Logger:     log,
		ArchiveDir: filepath.Join(o.StateDir, "kube-logs"),
		Namespace:  os.Getenv("ODH_KUBE_NAMESPACE"),
	})
	if err != nil {
		return nil, nil, err
	}
	return e, e.Close, nil
}

func kubeRESTConfig(kubeconfig string) (*rest.Config, string, error) {
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
