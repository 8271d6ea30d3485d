// Package auth implements `odh auth`: the caller's connection and access.
// Each verb is its own package (login, logout, cani); contexts are listed
// and switched by `odh config` (internal/cli/configcmd).
package auth

import (
	"github.com/spf13/cobra"

	"github.com/odh-training/odh-training/internal/cli/auth/cani"
	"github.com/odh-training/odh-training/internal/cli/auth/login"
	"github.com/odh-training/odh-training/internal/cli/auth/logout"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
)

// NewCmdAuth returns `auth` with its subcommands.
func NewCmdAuth(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "auth", Short: "Log in to a Training Service and inspect your access"}
	cmd.AddCommand(login.NewCmdLogin(f, nil), logout.NewCmdLogout(f, nil), cani.NewCmdCanI(f, nil))
	return cmd
}
