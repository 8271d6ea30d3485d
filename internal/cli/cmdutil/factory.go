// Package cmdutil holds what every CLI command shares: the Factory that hands
// out streams and the API client (wired for the real process by
// internal/cli/factory, by tests with a test server), the one mapping from
// errors to exit codes, and error printing that tells the user what to do.
package cmdutil

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/config"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
	"github.com/odh-training/odh-training/internal/job"
)

// Factory gives commands their dependencies. It knows nothing of how the
// client is made: internal/cli/factory wires it for the real process, tests
// with a test server.
type Factory struct {
	IOStreams *iostreams.IOStreams
	// Overrides are filled from the root command's persistent flags.
	Overrides config.Overrides
	// Client returns the API client (dialled lazily, once).
	Client func() (*apiclient.Client, error)
	// Now is the clock (tests pin it).
	Now func() time.Time

	// AllNamespaces is set by commands run with -A, so a direct-mode engine
	// watches every namespace instead of one.
	AllNamespaces bool

	resolved *config.Resolved
	closers  []func()
}

// OnClose registers something to release when the command ends (a
// direct-mode engine).
func (f *Factory) OnClose(fn func()) { f.closers = append(f.closers, fn) }

// Close releases what the factory started (a direct-mode engine).
func (f *Factory) Close() {
	for _, c := range f.closers {
		c()
	}
	f.closers = nil
}

// Resolve returns the connection settings (flags > env > config > defaults).
func (f *Factory) Resolve() (config.Resolved, error) {
	if f.resolved != nil {
		return *f.resolved, nil
	}
	r, err := config.Resolve(f.Overrides)
	if err != nil {
		return r, err
	}
	f.resolved = &r
	return r, nil
}

// Namespace is the namespace commands act on.
func (f *Factory) Namespace() string {
	if f.Overrides.Namespace != "" {
		return f.Overrides.Namespace
	}
	r, err := f.Resolve()
	if err != nil || r.Namespace == "" {
		return job.DefaultNamespace
	}
	return r.Namespace
}

// NamespaceOr returns ns when set, else the factory's namespace. A command's
// -n also becomes the factory's namespace, which scopes a direct-mode engine.
func (f *Factory) NamespaceOr(ns string) string {
	if ns != "" {
		f.Overrides.Namespace = ns
		return ns
	}
	return f.Namespace()
}

// CompleteJobNames is a cobra ValidArgsFunction completing MPIJob names in
// the namespace given by -n (or the default one). It never blocks a shell
// for long: the lookup gives up after two seconds.
func (f *Factory) CompleteJobNames(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	ns, _ := cmd.Flags().GetString("namespace")
	ns = f.NamespaceOr(ns)
	c, err := f.Client()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Second)
	defer cancel()
	jobs, err := c.List(ctx, apiclient.ListOptions{Namespace: ns})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, j := range jobs {
		n := j.Metadata.Name
		if strings.HasPrefix(n, toComplete) && !slices.Contains(args, n) {
			out = append(out, n+"\t"+string(j.Status.Phase))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
