// Package factory wires the CLI's Factory for the real process: the API
// client is a remote server's (flags > env > config > the local server),
// or — in direct mode — the Training Service run in this process against
// the kubeconfig's cluster. Commands only see cmdutil.Factory; this is the
// one place that knows how clients are made (gh's factory/default.go).
package factory

import (
	"context"
	"time"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/config"
	"github.com/odh-training/odh-training/internal/cli/direct"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
)

// New returns a factory for the real process.
func New(ios *iostreams.IOStreams) *cmdutil.Factory {
	f := &cmdutil.Factory{IOStreams: ios, Now: time.Now}
	var client *apiclient.Client
	f.Client = func() (*apiclient.Client, error) {
		if client != nil {
			return client, nil
		}
		c, err := dial(f)
		if err != nil {
			return nil, err
		}
		client = c
		return c, nil
	}
	return f
}

// DirectMode reports whether commands talk to a cluster in-process: asked
// for with --direct, --kubeconfig, --context or ODH_DIRECT.
func DirectMode(o config.Overrides) bool {
	return o.Direct || o.Kubeconfig != "" || o.KubeContext != "" || direct.Requested()
}

func dial(f *cmdutil.Factory) (*apiclient.Client, error) {
	if DirectMode(f.Overrides) {
		ns := f.Namespace()
		if f.AllNamespaces {
			ns = ""
		}
		c, closeFn, err := direct.Connect(context.Background(), direct.Options{Kubeconfig: f.Overrides.Kubeconfig, Context: f.Overrides.KubeContext, Namespace: ns})
		if err != nil {
			return nil, err
		}
		f.OnClose(closeFn)
		return c, nil
	}
	r, err := f.Resolve()
	if err != nil {
		return nil, err
	}
	return apiclient.Dial(apiclient.Options{Server: r.Server, Token: r.Token, InsecureSkipVerify: r.Insecure, CAFile: r.CAFile})
}
