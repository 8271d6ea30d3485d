package cmdutil

import (
	"github.com/spf13/cobra"
)

// NamespaceFlags adds -n/--namespace and optionally -A/--all-namespaces.
func NamespaceFlags(cmd *cobra.Command, ns *string, all *bool) {
	cmd.Flags().StringVarP(ns, "namespace", "n", "", "Namespace (default: ODH_NAMESPACE, the context's namespace, or \"default\")")
	if all != nil {
		cmd.Flags().BoolVarP(all, "all-namespaces", "A", false, "Act on jobs in every namespace you can see")
	}
}

// MPIJobVerb builds `VERB mpijob NAME`, the shape of the one-job verbs
// (wait, suspend, resume, events): the verb's command and its mpijob
// subcommand (aliases mpijobs and mj, -n, job-name completion), which
// resolves the namespace into *ns and calls run with the name. Add the
// verb's flags to the returned subcommand.
func MPIJobVerb(f *Factory, verb, short, example string, ns *string, run func(cmd *cobra.Command, name string) error) (parent, sub *cobra.Command) {
	sub = &cobra.Command{
		Use:               "mpijob NAME",
		Aliases:           []string{"mpijobs", "mj"},
		Short:             short,
		Example:           example,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: f.CompleteJobNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			*ns = f.NamespaceOr(*ns)
			return run(cmd, args[0])
		},
	}
	NamespaceFlags(sub, ns, nil)
	parent = &cobra.Command{Use: verb, Short: short}
	parent.AddCommand(sub)
	return parent, sub
}
