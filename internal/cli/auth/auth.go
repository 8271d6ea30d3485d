// Package auth implements `odh auth`: questions about the caller's access.
package auth

import (
	"github.com/spf13/cobra"

	"github.com/odh-training/odh-training/internal/cli/auth/cani"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
)

// NewCmdAuth returns `auth` with its subcommands.
func NewCmdAuth(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "auth", Short: "Inspect your access to the Training Service"}
	cmd.AddCommand(cani.NewCmdCanI(f, nil))
	return cmd
}
