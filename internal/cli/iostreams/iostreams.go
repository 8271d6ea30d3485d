// Package iostreams gives commands their input and output: data on Out,
// progress and status on ErrOut, with colour and spinners only on a terminal.
package iostreams

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// IOStreams are a command's standard streams and what they are connected to.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	inTTY, outTTY, errTTY bool
	colorEnabled          bool
	width                 int
}

// System returns the process's streams.
func System() *IOStreams {
	s := &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	s.inTTY = isTerminal(os.Stdin)
	s.outTTY = isTerminal(os.Stdout)
	s.errTTY = isTerminal(os.Stderr)
	s.colorEnabled = colorFromEnv(os.LookupEnv, s.outTTY)
	if s.outTTY {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
			s.width = w
		}
	}
	return s
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// Test returns streams backed by buffers: stdin, stdout, stderr.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

// SetTTY marks every stream as a terminal (or not), for tests.
func (s *IOStreams) SetTTY(tty bool) { s.inTTY, s.outTTY, s.errTTY = tty, tty, tty }

// SetColorEnabled turns colour on or off, for tests.
func (s *IOStreams) SetColorEnabled(on bool) { s.colorEnabled = on }

// IsStdinTTY reports whether input comes from a terminal.
func (s *IOStreams) IsStdinTTY() bool { return s.inTTY }

// IsStdoutTTY reports whether output goes to a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.outTTY }

// IsStderrTTY reports whether status output goes to a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.errTTY }

// CanPrompt reports whether the user can answer a question.
func (s *IOStreams) CanPrompt() bool { return s.inTTY && s.errTTY }

// ColorEnabled reports whether to colour output.
func (s *IOStreams) ColorEnabled() bool { return s.colorEnabled }

// TerminalWidth is the width of the output terminal (80 when unknown).
func (s *IOStreams) TerminalWidth() int {
	if s.width > 0 {
		return s.width
	}
	return 80
}

// Color codes.
const (
	reset   = "\x1b[0m"
	Red     = "\x1b[31m"
	Green   = "\x1b[32m"
	Yellow  = "\x1b[33m"
	Blue    = "\x1b[34m"
	Magenta = "\x1b[35m"
	Cyan    = "\x1b[36m"
	Gray    = "\x1b[90m"
	Bold    = "\x1b[1m"
)

// Colorize wraps text in a colour when colour is enabled.
func (s *IOStreams) Colorize(color, text string) string {
	if !s.colorEnabled || color == "" {
		return text
	}
	return color + text + reset
}

// Palette is the rotation of colours used for per-source log prefixes.
var Palette = []string{Cyan, Magenta, Yellow, Blue, Green, "\x1b[96m", "\x1b[95m", "\x1b[93m", "\x1b[94m", "\x1b[92m"}

// PhaseColor picks a colour for a job phase.
func PhaseColor(phase string) string {
	switch strings.ToLower(phase) {
	case "succeeded":
		return Green
	case "failed":
		return Red
	case "running":
		return Blue
	case "queued", "pending", "starting", "suspended":
		return Yellow
	}
	return ""
}

// colorFromEnv is the default colour choice: NO_COLOR (any value) turns it
// off, CLICOLOR_FORCE (not "0") on even when output is not a terminal,
// CLICOLOR=0 off; otherwise on for a terminal that is not "dumb".
func colorFromEnv(lookup func(string) (string, bool), tty bool) bool {
	if _, ok := lookup("NO_COLOR"); ok {
		return false
	}
	if v, ok := lookup("CLICOLOR_FORCE"); ok && v != "" && v != "0" {
		return true
	}
	if v, ok := lookup("CLICOLOR"); ok && v == "0" {
		return false
	}
	term, _ := lookup("TERM")
	return tty && term != "dumb"
}

// SetColorMode applies --color: "always", "never" or "auto" (the
// environment's choice, kept). Anything else is an error.
func (s *IOStreams) SetColorMode(mode string) error {
	switch mode {
	case "always":
		s.colorEnabled = true
	case "never":
		s.colorEnabled = false
	case "auto", "":
	default:
		return fmt.Errorf("--color %q: use auto, always or never", mode)
	}
	return nil
}
