// Package cmdutil holds what every CLI command shares: the Factory that hands
// out streams and the API client, the one mapping from errors to exit codes,
// and error printing that tells the user what to do.
package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/odh-training/odh-training/internal/apiclient"
	"github.com/odh-training/odh-training/internal/cli/config"
	"github.com/odh-training/odh-training/internal/cli/direct"
	"github.com/odh-training/odh-training/internal/cli/iostreams"
	"github.com/odh-training/odh-training/internal/job"
)

// Factory gives commands their dependencies. Tests replace Client.
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
	client   *apiclient.Client
	closers  []func()
}

// DirectMode reports whether commands talk to a cluster in-process.
func (f *Factory) DirectMode() bool {
	o := f.Overrides
	return o.Direct || o.Kubeconfig != "" || o.KubeContext != "" || direct.Requested()
}

// Close releases what the factory started (a direct-mode engine).
func (f *Factory) Close() {
	for _, c := range f.closers {
		c()
	}
	f.closers = nil
}

// New returns a factory for the real process.
func New(ios *iostreams.IOStreams) *Factory {
	f := &Factory{IOStreams: ios, Now: time.Now}
	f.Client = f.dial
	return f
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

func (f *Factory) dial() (*apiclient.Client, error) {
	if f.client != nil {
		return f.client, nil
	}
	if f.DirectMode() {
		ns := f.Namespace()
		if f.AllNamespaces {
			ns = ""
		}
		c, closeFn, err := direct.Connect(context.Background(), direct.Options{Kubeconfig: f.Overrides.Kubeconfig, Context: f.Overrides.KubeContext, Namespace: ns})
		if err != nil {
			return nil, err
		}
		f.client = c
		f.closers = append(f.closers, closeFn)
		return c, nil
	}
	r, err := f.Resolve()
	if err != nil {
		return nil, err
	}
	c, err := apiclient.Dial(apiclient.Options{Server: r.Server, Token: r.Token, InsecureSkipVerify: r.Insecure, CAFile: r.CAFile})
	if err != nil {
		return nil, err
	}
	f.client = c
	return c, nil
}

// Exit codes. They are part of the CLI's contract and listed in `odh --help`.
const (
	ExitOK          = 0
	ExitGeneral     = 1
	ExitUsage       = 2
	ExitInvalid     = 3
	ExitNotFound    = 4
	ExitConflict    = 5
	ExitForbidden   = 6
	ExitQuota       = 7
	ExitUnavailable = 8
	ExitTimeout     = 9
	ExitJobFailed   = 10
	ExitInterrupted = 130
)

// ExitCodesHelp documents the exit codes.
const ExitCodesHelp = `Exit codes:
  0    success (with --wait: the job succeeded)
  1    unexpected error
  2    usage error (unknown flag, missing argument)
  3    invalid job spec or request (every field error is listed)
  4    not found
  5    conflict (already exists, or the job is not in a state that allows it)
  6    not authenticated or not allowed
  7    quota or capacity exceeded
  8    server unreachable or unavailable
  9    timed out (--timeout)
  10   the job failed (create --wait, wait --for=condition=Succeeded)
  130  interrupted (Ctrl-C); a job being waited for keeps running`

// ExitError carries an exit code, e.g. for a job that failed.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// ErrSilent ends a command with an exit code without printing anything more.
type ErrSilent struct{ Code int }

func (e ErrSilent) Error() string { return fmt.Sprintf("exit %d", e.Code) }

// UsageError marks errors in how the command was called.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef builds a UsageError.
func Usagef(format string, args ...any) error { return &UsageError{Msg: fmt.Sprintf(format, args...)} }

// ExitCode maps an error to the process exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var silent ErrSilent
	if errors.As(err, &silent) {
		return silent.Code
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	if isFlagError(err) {
		return ExitUsage
	}
	var je *job.Error
	if !errors.As(err, &je) {
		return ExitGeneral
	}
	switch je.Kind {
	case job.KindInvalid, job.KindBadRequest:
		return ExitInvalid
	case job.KindNotFound:
		return ExitNotFound
	case job.KindAlreadyExists, job.KindConflict:
		return ExitConflict
	case job.KindForbidden, job.KindUnauthenticated:
		return ExitForbidden
	case job.KindQuotaExceeded:
		return ExitQuota
	case job.KindUnavailable, job.KindTooManyRequests:
		return ExitUnavailable
	case job.KindTimeout:
		return ExitTimeout
	}
	return ExitGeneral
}

func isFlagError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument", "unknown command", "accepts ", "requires at least", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// PrintError writes err for a human: the message, every field error, quota
// details and a hint for what to do next.
func PrintError(ios *iostreams.IOStreams, err error) {
	var silent ErrSilent
	if errors.As(err, &silent) {
		return
	}
	w := ios.ErrOut
	var je *job.Error
	if !errors.As(err, &je) {
		fmt.Fprintf(w, "%s %s\n", ios.Colorize(iostreams.Red, "error:"), err)
		var ue *UsageError
		if errors.As(err, &ue) || isFlagError(err) {
			fmt.Fprintln(w, "Run with --help for usage.")
		}
		return
	}
	fmt.Fprintf(w, "%s %s\n", ios.Colorize(iostreams.Red, "error:"), je.Message)
	for _, f := range je.Fields {
		if f.Field == "" {
			fmt.Fprintf(w, "  * %s\n", f.Message)
			continue
		}
		fmt.Fprintf(w, "  * %s: %s\n", ios.Colorize(iostreams.Bold, f.Field), f.Message)
	}
	if len(je.Quota) > 0 {
		printQuota(w, je.Quota)
	}
	if je.Hint != "" {
		fmt.Fprintf(w, "%s\n", ios.Colorize(iostreams.Gray, je.Hint))
	}
}

func printQuota(w io.Writer, q []job.QuotaViolation) {
	fmt.Fprintf(w, "  %-18s %-12s %-12s %s\n", "RESOURCE", "REQUESTED", "AVAILABLE", "LIMIT")
	for _, v := range q {
		fmt.Fprintf(w, "  %-18s %-12s %-12s %s\n", v.Resource, v.Requested, v.Available, v.Limit)
	}
}

// NamespaceFlags adds -n/--namespace and optionally -A/--all-namespaces.
func NamespaceFlags(cmd *cobra.Command, ns *string, all *bool) {
	cmd.Flags().StringVarP(ns, "namespace", "n", "", "Namespace (default: ODH_NAMESPACE, the context's namespace, or \"default\")")
	if all != nil {
		cmd.Flags().BoolVarP(all, "all-namespaces", "A", false, "Act on jobs in every namespace you can see")
	}
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
		if strings.HasPrefix(n, toComplete) && !slicesContains(args, n) {
			out = append(out, n+"\t"+string(j.Status.Phase))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
