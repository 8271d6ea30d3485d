package cmdutil

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/odh-training/odh-training/internal/cli/iostreams"
	"github.com/odh-training/odh-training/internal/job"
)

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
