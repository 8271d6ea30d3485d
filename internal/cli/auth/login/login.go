// Package login implements `odh auth login` (also `odh login`): save a
// server connection as a context of the CLI's config file and make it
// current.
package login

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/config"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
	"github.com/odh-training/odh-training/internal/job"
)

// Options are the login command's inputs. The connection comes from the
// root command's flags (--server, --token, --insecure-skip-tls-verify,
// --certificate-authority).
type Options struct {
	IO     *iostreams.IOStreams
	Client func() (*apiclient.Client, error)
	// Connection is what gets saved.
	Connection config.Overrides
	// Name is the context's name ("" = $ODH_CONTEXT, then derived from the
	// server).
	Name string
	// Namespace is the context's default namespace.
	Namespace string
}

// NewCmdLogin returns `login`. runF replaces the run function in tests.
func NewCmdLogin(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:   "login --server URL --token TOKEN",
		Short: "Save a server connection as a context and make it current",
		Long: `Check that the server accepts the token (by listing jobs), then save the
connection as a context in the config file (` + "`ODH_CONFIG`" + `, default
~/.config/odh/config.json) and make it the current one. "odh login" and
"odh auth login" are the same command. Name the context with --name (as in
kubectl, --context is the kubeconfig context of direct mode); list, switch
and delete contexts with "odh config", forget a token with "odh logout".`,
		Example: `  odh login --server https://odh.example.com --token "$(oc whoami -t)"
  odh auth login --name local --server http://127.0.0.1:8080 --token "$(cat ~/.local/state/odh-training/local/token)"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Connection = f.Overrides
			if opts.Connection.KubeContext != "" {
				// As in kubectl, --context is the kubeconfig context (direct
				// mode), which login does not use: say what was meant.
				return cmdutil.Usagef("--context picks a kubeconfig context (direct mode, as in kubectl); name the saved context with --name %s", opts.Connection.KubeContext)
			}
			if opts.Connection.Server == "" {
				return cmdutil.Usagef("--server is required")
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Name, "name", "", "Context name (default: derived from the server)")
	cmd.Flags().StringVarP(&opts.Namespace, "namespace", "n", "", "Default namespace for this context")
	return cmd
}

func run(ctx context.Context, o *Options) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	ns := o.Namespace
	if ns == "" {
		ns = job.DefaultNamespace
	}
	if _, err := c.List(ctx, apiclient.ListOptions{Namespace: ns}); err != nil {
		return fmt.Errorf("login check against %s failed: %w", o.Connection.Server, err)
	}
	file, err := config.Load()
	if err != nil {
		return err
	}
	name := o.Name
	if name == "" {
		name = os.Getenv("ODH_CONTEXT")
	}
	if name == "" {
		name = contextName(o.Connection.Server)
	}
	conn := o.Connection
	file.Upsert(config.Context{Name: name, Server: conn.Server, Token: conn.Token, Namespace: o.Namespace, InsecureSkipTLSVerify: conn.Insecure, CertificateAuthority: conn.CAFile})
	if err := file.Save(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.IO.Out, "Logged in to %s; context %q saved in %s and made current.\n", conn.Server, name, config.Path())
	return err
}

// contextName derives a context name from a server URL:
// https://odh.example.com:8443 becomes odh-example-com-8443.
func contextName(server string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(server, "https://"), "http://")
	return strings.NewReplacer(":", "-", "/", "-", ".", "-").Replace(strings.TrimSuffix(s, "/"))
}
