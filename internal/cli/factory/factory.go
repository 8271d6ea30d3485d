// Package factory wires the CLI's Factory for the real process: the API
// client is a remote server's (flags > env > config > the local server),
// or — in direct mode — the Training Service run in this process against
// the kubeconfig's cluster. Commands only see cmdutil.Factory; this is the
// one place that knows how clients are made (gh's factory/default.go).
package factory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/config"
	"github.com/odh-training/odh-training/internal/cli/direct"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
	"github.com/odh-training/odh-training/internal/job"
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
		c.SetReconnect(f.Overrides.ReconnectTimeout, streamNotices(ios))
		client = c
		return c, nil
	}
	return f
}

// streamNotices tells the user on stderr that a stream dropped and when it
// resumed, so a quiet terminal is never mistaken for a quiet job.
func streamNotices(ios *iostreams.IOStreams) func(apiclient.StreamEvent) {
	return func(e apiclient.StreamEvent) {
		if e.Resumed {
			fmt.Fprintf(ios.ErrOut, "reconnected after %s; resuming.\n", e.Down.Round(100*time.Millisecond))
			return
		}
		why := e.Err.Error()
		var je *job.Error
		if errors.As(e.Err, &je) {
			why = je.Message
		}
		fmt.Fprintf(ios.ErrOut, "lost the stream from the server (%s); reconnecting…\n", why)
	}
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
