package job

import (
	"errors"
	"fmt"
	"strings"
)

// FieldError says what is wrong with one field and how to fix it.
type FieldError struct {
	// Field is the path in the submitted document, e.g. "spec.workers.replicas".
	Field string `json:"field"`
	// Type is Required, Invalid, NotSupported, Duplicate, Unknown or Forbidden.
	Type string `json:"type"`
	// Value is the offending value as text, when there is one.
	Value string `json:"value,omitempty"`
	// Message explains the problem and the fix, and names the value.
	Message string `json:"message"`
}

// Field error types.
const (
	FieldRequired     = "Required"
	FieldInvalid      = "Invalid"
	FieldNotSupported = "NotSupported"
	FieldDuplicate    = "Duplicate"
	FieldUnknown      = "Unknown"
	FieldForbidden    = "Forbidden"
)

func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// FieldErrors is a list of field errors; nil means valid.
type FieldErrors []FieldError

func (l FieldErrors) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// ErrorKind classifies errors so that every boundary (gRPC codes, HTTP status,
// CLI exit codes, SDK exceptions) translates them the same way.
type ErrorKind string

// Error kinds.
const (
	KindInvalid         ErrorKind = "Invalid"
	KindNotFound        ErrorKind = "NotFound"
	KindAlreadyExists   ErrorKind = "AlreadyExists"
	KindConflict        ErrorKind = "Conflict"
	KindForbidden       ErrorKind = "Forbidden"
	KindUnauthenticated ErrorKind = "Unauthenticated"
	KindQuotaExceeded   ErrorKind = "QuotaExceeded"
	KindUnavailable     ErrorKind = "Unavailable"
	KindTimeout         ErrorKind = "Timeout"
	KindInternal        ErrorKind = "Internal"
	KindBadRequest      ErrorKind = "BadRequest"
	KindTooManyRequests ErrorKind = "TooManyRequests"
)

// Error is a classified, user-facing error.
type Error struct {
	Kind    ErrorKind
	Message string
	// Reason refines the kind for callers that act on it, e.g.
	// ReasonMPINotInstalled: the spec is valid but this engine cannot run it.
	Reason string
	// Fields lists every field error (KindInvalid; also KindForbidden for
	// policy refusals).
	Fields FieldErrors
	// Quota lists requested vs available per resource (KindQuotaExceeded).
	Quota []QuotaViolation
	// Hint says what to do next, when there is something to say.
	Hint string
	// Err is the underlying cause, for logs; never shown to remote users.
	Err error
}

// QuotaViolation is one resource a job asks more of than is available.
type QuotaViolation struct {
	Resource  string `json:"resource"`
	Requested string `json:"requested"`
	Available string `json:"available"`
	Limit     string `json:"limit,omitempty"`
	Source    string `json:"source,omitempty"`
}

func (e *Error) Error() string {
	msg := e.Message
	if len(e.Fields) > 0 {
		var b strings.Builder
		b.WriteString(msg)
		for _, f := range e.Fields {
			b.WriteString("\n  * ")
			b.WriteString(f.Error())
		}
		msg = b.String()
	}
	if e.Hint != "" {
		msg += "\n" + e.Hint
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds a classified error.
func Errorf(kind ErrorKind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Invalid builds the error for a job that failed validation.
func Invalid(name string, fields FieldErrors) *Error {
	if name == "" {
		name = "<unnamed>"
	}
	n := len(fields)
	noun := "errors"
	if n == 1 {
		noun = "error"
	}
	return &Error{Kind: KindInvalid, Message: fmt.Sprintf("MPIJob %q is invalid (%d %s); nothing was created:", name, n, noun), Fields: fields}
}

// NotFound builds the error for a missing job.
func NotFound(namespace, name string) *Error {
	return &Error{
		Kind:    KindNotFound,
		Message: fmt.Sprintf("MPIJob %q not found in namespace %q", name, namespace),
		Hint:    "List the jobs you can see with: odh training list mpijob -n " + namespace,
	}
}

// BadRequest builds the error for one invalid request parameter: msg says
// what is wrong with value and what to send instead.
func BadRequest(field, value, msg string) *Error {
	return &Error{Kind: KindBadRequest, Message: msg, Fields: FieldErrors{{Field: field, Type: FieldInvalid, Value: value, Message: msg}}}
}

// KindOf returns the kind of err, KindInternal for unclassified errors.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// IsKind reports whether err is classified as kind.
func IsKind(err error, kind ErrorKind) bool { return err != nil && KindOf(err) == kind }
