// Package logout implements `odh auth logout` (also `odh logout`): forget
// the token of a saved context, keeping its server and namespace so that
// `odh login --name NAME --server URL --token TOKEN` restores it.
package logout

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/config"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
)

// Options are the logout command's inputs.
type Options struct {
	IO *iostreams.IOStreams
	// Name is the context ("" = $ODH_CONTEXT, then the current one).
	Name string
}

// NewCmdLogout returns `logout`. runF replaces the run function in tests.
func NewCmdLogout(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "logout [NAME]",
		Short: "Remove the token of a saved context (default: the current one)",
		Long: `Remove the token saved by "odh login" from a context of the config file
(ODH_CONFIG, default ~/.config/odh/config.json): the current context, or
ODH_CONTEXT's, or NAME. The context keeps its server and namespace. The token
itself stays valid on the server until it expires or is revoked there (on
OpenShift: oc logout, or deleting the OAuth token). "odh logout" and
"odh auth logout" are the same command; "odh config delete-context NAME"
removes the context altogether.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Name = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return run(opts)
		},
	}
	return cmd
}

func run(o *Options) error {
	file, err := config.Load()
	if err != nil {
		return err
	}
	name := o.Name
	if name == "" {
		name = os.Getenv("ODH_CONTEXT")
	}
	if name == "" {
		name = file.CurrentContext
	}
	if name == "" {
		return &cmdutil.ExitError{Code: cmdutil.ExitNotFound, Err: fmt.Errorf("not logged in: no current context in %s (name one: odh logout NAME)", config.Path())}
	}
	c := file.Find(name)
	if c == nil {
		return config.NotFound(name)
	}
	if c.Token == "" {
		_, err := fmt.Fprintf(o.IO.ErrOut, "Context %q has no saved token; nothing to do.\n", name)
		return err
	}
	c.Token = ""
	if err := file.Save(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.IO.Out, "Logged out of context %q: its token was removed from %s.\n", name, config.Path())
	return err
}
