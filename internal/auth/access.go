package auth

import (
	"context"
	"fmt"

	"github.com/odh-training/odh-training/internal/job"
)

// Verbs the service asks an Authorizer about. They follow Kubernetes RBAC
// where one exists; suspend and resume are updates of the job.
const (
	VerbGet    = "get"
	VerbList   = "list"
	VerbWatch  = "watch"
	VerbCreate = "create"
	VerbUpdate = "update"
	VerbDelete = "delete"
)

// Resources the service asks about.
const (
	ResourceJobs      = "mpijobs"
	ResourceLogs      = "mpijobs/log"
	ResourceEvents    = "events"
	ResourceCapacity  = "capacity"
	ResourceTemplates = "templates"
	// ResourceMetrics is the server's Prometheus metrics (GET /metrics).
	ResourceMetrics = "metrics"
)

// Action is one thing a caller wants to do.
type Action struct {
	Verb      string
	Resource  string
	Namespace string
	Name      string
	// Owner looks up the creator of the object acted on (update, delete),
	// for "own job" rules; nil when not applicable. Authorizers call it
	// only when the decision depends on it.
	Owner func() (string, error)
}

func (a Action) describe() string {
	what := a.Resource
	switch a.Resource {
	case ResourceJobs:
		what = "MPIJobs"
		if a.Name != "" {
			what = fmt.Sprintf("MPIJob %q", a.Name)
		}
	case ResourceLogs:
		what = fmt.Sprintf("the logs of MPIJob %q", a.Name)
	case ResourceEvents:
		what = fmt.Sprintf("the events of MPIJob %q", a.Name)
	case ResourceTemplates:
		what = "templates"
		if a.Name != "" {
			what = fmt.Sprintf("template %q", a.Name)
		}
	}
	return a.Verb + " " + what
}

// Authorizer decides whether a caller may do something. It returns nil or
// a *job.Error of kind Forbidden that says who, what, where and how to get
// access. The service consults it on every call; engines that enforce
// access themselves (the API server, with the caller's own token) run
// without one.
type Authorizer interface {
	Authorize(ctx context.Context, u User, a Action) error
}

// AccessReviewer answers "can I" questions for engines that enforce access
// themselves (the kubernetes engine asks the API server).
type AccessReviewer interface {
	CanI(ctx context.Context, u User, a Action) (allowed bool, reason string, err error)
}

// forbidden builds the denial users see.
func forbidden(u User, a Action, why, hint string) *job.Error {
	ns := a.Namespace
	where := fmt.Sprintf("in namespace %q", ns)
	if ns == "" {
		where = "in all namespaces"
	}
	msg := fmt.Sprintf("user %q may not %s %s", u.Name, a.describe(), where)
	if why != "" {
		msg += ": " + why
	}
	return &job.Error{Kind: job.KindForbidden, Message: msg, Hint: hint}
}

// Verbs lists what CanI answers about.
var Verbs = []string{VerbGet, VerbList, VerbWatch, VerbCreate, VerbUpdate, VerbDelete}

// Resources lists what CanI answers about.
var Resources = []string{ResourceJobs, ResourceLogs, ResourceEvents, ResourceCapacity, ResourceTemplates}

// NamespaceFilter is implemented by authorizers that can decide at once in
// which namespaces a caller may do something (a list or watch across
// namespaces), instead of being asked once per namespace. The function
// returned answers from what was decided when it was made.
type NamespaceFilter interface {
	VisibleNamespaces(ctx context.Context, u User, verb, resource string) (func(ns string) bool, error)
}
