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
