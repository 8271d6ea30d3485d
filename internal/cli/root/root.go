// Package root assembles the odh command tree and runs it.
package root

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/auth"
	"github.com/odh-training/odh-training/internal/cli/auth/login"
	"github.com/odh-training/odh-training/internal/cli/auth/logout"
	"github.com/odh-training/odh-training/internal/cli/cmdutil"
	"github.com/odh-training/odh-training/internal/cli/config"
	"github.com/odh-training/odh-training/internal/cli/configcmd"
	"github.com/odh-training/odh-training/internal/cli/factory"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
	"github.com/odh-training/odh-training/internal/cli/training/create"
	"github.com/odh-training/odh-training/internal/cli/training/delete"
	"github.com/odh-training/odh-training/internal/cli/training/describe"
	"github.com/odh-training/odh-training/internal/cli/training/events"
	"github.com/odh-training/odh-training/internal/cli/training/list"
	"github.com/odh-training/odh-training/internal/cli/training/logs"
	"github.com/odh-training/odh-training/internal/cli/training/notify"
	"github.com/odh-training/odh-training/internal/cli/training/resume"
	"github.com/odh-training/odh-training/internal/cli/training/suspend"
	"github.com/odh-training/odh-training/internal/cli/training/top"
	"github.com/odh-training/odh-training/internal/cli/training/wait"
	"github.com/odh-training/odh-training/internal/version"
)

// NewCmdRoot builds the whole command tree.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "odh",
		Short: "Launch, watch, debug and govern MPI distributed-training jobs",
		Long: `odh runs MPI distributed-training jobs (Open MPI, Intel MPI, MPICH) on this
machine or on a Kubernetes/OpenShift cluster through the Training Service.

Connection: --server/--token, or ODH_SERVER/ODH_TOKEN, or the current context
saved by "odh login" (ODH_CONTEXT picks another); by default the local server
at ` + config.DefaultServer + `, whose token is found automatically.
Direct mode (--direct, --kubeconfig or --context, like kubectl) runs the same
service code inside odh against a Kubernetes cluster, with your own
credentials, when no Training Service is deployed.

` + cmdutil.ExitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	var colorMode string
	cmd.PersistentPreRunE = func(*cobra.Command, []string) error {
		if err := f.IOStreams.SetColorMode(colorMode); err != nil {
			return cmdutil.Usagef("%v", err)
		}
		return nil
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&colorMode, "color", "auto", "Colour output: auto (on a terminal, unless NO_COLOR is set; CLICOLOR_FORCE=1 forces it), always or never")
	pf.StringVar(&f.Overrides.Server, "server", "", "Training Service URL (env ODH_SERVER; default "+config.DefaultServer+")")
	pf.StringVar(&f.Overrides.Token, "token", "", "Bearer token (env ODH_TOKEN)")
	pf.BoolVar(&f.Overrides.Direct, "direct", false, "Direct mode: run the Training Service inside odh against the cluster of your kubeconfig (no server needed; env ODH_DIRECT=1)")
	pf.StringVar(&f.Overrides.Kubeconfig, "kubeconfig", "", "Kubeconfig for direct mode (implies --direct)")
	pf.StringVar(&f.Overrides.KubeContext, "context", "", "Kubeconfig context for direct mode (implies --direct)")
	pf.BoolVar(&f.Overrides.Insecure, "insecure-skip-tls-verify", false, "Do not verify the server's TLS certificate")
	pf.StringVar(&f.Overrides.CAFile, "certificate-authority", "", "PEM file with the CA (or self-signed certificate) to trust for an https server")
	pf.DurationVar(&f.Overrides.ReconnectTimeout, "reconnect-timeout", apiclient.DefaultReconnectTimeout, "How long a dropped stream (--wait, --watch, --follow) keeps reconnecting before the command gives up; the job keeps running either way")

	training := &cobra.Command{
		Use:     "training",
		Aliases: []string{"train", "t"},
		Short:   "Manage training jobs (MPIJobs)",
	}
	training.AddCommand(
		create.NewCmdCreate(f, nil),
		list.NewCmdList(f, nil),
		newCmdGet(f),
		describe.NewCmdDescribe(f, nil),
		logs.NewCmdLogs(f, nil),
		delete.NewCmdDelete(f, nil),
		wait.NewCmdWait(f, nil),
		suspend.NewCmdSuspend(f, nil),
		resume.NewCmdResume(f, nil),
		events.NewCmdEvents(f, nil),
		top.NewCmdTop(f, nil),
		notify.NewCmdNotify(f),
	)
	// `odh login` predates `odh auth login` and is in users' fingers and
	// docs: the same command, at the top level too.
	cmd.AddCommand(training, auth.NewCmdAuth(f), login.NewCmdLogin(f, nil), logout.NewCmdLogout(f, nil), configcmd.NewCmdConfig(f, nil), newCmdVersion(f), newCmdCompletion(f))
	cmd.CompletionOptions.DisableDefaultCmd = true
	return cmd
}

// newCmdGet is `get mpijob [NAME...]`: list in kubectl's sense.
func newCmdGet(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "get", Short: "Display one or many training jobs (like kubectl get)"}
	cmd.AddCommand(list.NewCmdMPIJob(f, nil, "mpijob"))
	return cmd
}

func newCmdCompletion(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script",
		Long: `Print a completion script for your shell. Job names complete dynamically
from the server (in the namespace given with -n).

  bash:        source <(odh completion bash)
  zsh:         odh completion zsh > "${fpath[1]}/_odh"
  fish:        odh completion fish > ~/.config/fish/completions/odh.fish
  powershell:  odh completion powershell | Out-String | Invoke-Expression`,
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, root := f.IOStreams.Out, cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			default:
				return root.GenPowerShellCompletionWithDesc(out)
			}
		},
	}
}

func newCmdVersion(f *cmdutil.Factory) *cobra.Command {
	var clientOnly bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the client and server versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version.Get()
			out := f.IOStreams.Out
			fmt.Fprintf(out, "Client: %s (commit %s, built %s, %s)\n", v.Version, v.GitCommit, v.BuildDate, v.GoVersion)
			if clientOnly {
				return nil
			}
			c, err := f.Client()
			if err != nil {
				return err
			}
			sv, err := c.Version(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "Server: %s (commit %s, built %s, %s) at %s\n", sv.GetVersion(), sv.GetGitCommit(), sv.GetBuildDate(), sv.GetGoVersion(), c.Address())
			fmt.Fprintf(out, "Engine: %s (%s)\n", sv.GetEngine(), sv.GetEngineVersion())
			return nil
		},
	}
	cmd.Flags().BoolVar(&clientOnly, "client", false, "Print only the client version")
	return cmd
}

// Main runs the CLI and returns the process exit code.
func Main() int {
	ios := iostreams.System()
	f := factory.New(ios)
	cmd := NewCmdRoot(f)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := cmd.ExecuteContext(ctx)
	f.Close()
	if err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return cmdutil.ExitInterrupted
		}
		cmdutil.PrintError(ios, err)
	}
	return cmdutil.ExitCode(err)
}
