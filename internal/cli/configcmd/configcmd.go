// Package configcmd implements `odh config`: list, pick and remove the
// contexts that `odh login` saves in the CLI's config file (the same file
// and contexts the Python SDK reads). The verbs follow kubectl config.
package configcmd

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/config"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
)

// Options are the inputs of every config verb.
type Options struct {
	IO *iostreams.IOStreams
	// Verb is get-contexts, current-context, use-context or delete-context.
	Verb string
	// Name is the context (use-context, delete-context).
	Name string
	// NoHeaders drops get-contexts' header line.
	NoHeaders bool
}

// NewCmdConfig returns `config` with its verbs. runF replaces the run
// function in tests.
func NewCmdConfig(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "List, switch and delete the contexts saved by odh login",
		Long: `Contexts are named server connections saved by "odh login" in the config
file (ODH_CONFIG, default ~/.config/odh/config.json). The current context is
used when neither --server nor ODH_SERVER is given; ODH_CONTEXT picks another
for one shell. (--context is kubectl's: the kubeconfig context of direct
mode.)`,
	}
	verb := func(use, short string, args cobra.PositionalArgs, long string) (*cobra.Command, *Options) {
		opts := &Options{IO: f.IOStreams, Verb: strings.Fields(use)[0]}
		c := &cobra.Command{
			Use: use, Short: short, Long: long, Args: args,
			RunE: func(cmd *cobra.Command, a []string) error {
				if len(a) > 0 {
					opts.Name = a[0]
				}
				if runF != nil {
					return runF(opts)
				}
				return run(opts)
			},
		}
		return c, opts
	}
	get, getOpts := verb("get-contexts", "List the saved contexts (* marks the current one)", cobra.NoArgs, "")
	get.Flags().BoolVar(&getOpts.NoHeaders, "no-headers", false, "Do not print the header line")
	cur, _ := verb("current-context", "Print the name of the current context", cobra.NoArgs, "")
	use, _ := verb("use-context NAME", "Make a saved context the current one", cobra.ExactArgs(1), "")
	use.Example = "  odh config use-context prod"
	del, _ := verb("delete-context NAME", "Delete a saved context (and its token) from the config file", cobra.ExactArgs(1),
		"Delete a saved context and its token from the config file. Deleting the current\ncontext leaves none current.")
	for _, c := range []*cobra.Command{get, cur, use, del} {
		cmd.AddCommand(c)
	}
	return cmd
}

func run(o *Options) error {
	file, err := config.Load()
	if err != nil {
		return err
	}
	switch o.Verb {
	case "get-contexts":
		tw := tabwriter.NewWriter(o.IO.Out, 0, 4, 3, ' ', 0)
		if !o.NoHeaders {
			fmt.Fprintln(tw, "CURRENT\tNAME\tSERVER\tNAMESPACE\tTOKEN")
		}
		for _, c := range file.Contexts {
			mark, token := "", "none"
			if c.Name == file.CurrentContext {
				mark = "*"
			}
			if c.Token != "" {
				token = "saved"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", mark, c.Name, c.Server, orDash(c.Namespace), token)
		}
		if len(file.Contexts) == 0 {
			fmt.Fprintf(o.IO.ErrOut, "No contexts in %s. Save one with: odh login --server URL --token TOKEN\n", config.Path())
		}
		return tw.Flush()
	case "current-context":
		if file.CurrentContext == "" {
			return &cmdutil.ExitError{Code: cmdutil.ExitNotFound, Err: fmt.Errorf("no current context in %s (pick one with: odh config use-context NAME)", config.Path())}
		}
		_, err := fmt.Fprintln(o.IO.Out, file.CurrentContext)
		return err
	case "use-context":
		if file.Find(o.Name) == nil {
			return config.NotFound(o.Name)
		}
		file.CurrentContext = o.Name
		if err := file.Save(); err != nil {
			return err
		}
		_, err := fmt.Fprintf(o.IO.Out, "Switched to context %q.\n", o.Name)
		return err
	case "delete-context":
		if !file.Delete(o.Name) {
			return config.NotFound(o.Name)
		}
		if err := file.Save(); err != nil {
			return err
		}
		_, err := fmt.Fprintf(o.IO.Out, "Deleted context %q from %s.\n", o.Name, config.Path())
		return err
	}
	return fmt.Errorf("config: unknown verb %q", o.Verb)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
