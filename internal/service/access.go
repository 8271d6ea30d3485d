package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"

	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/job"
)

// authorize runs the service's authorizer, if any.
func (s *Service) authorize(ctx context.Context, a auth.Action) error {
	if s.authz == nil {
		return nil
	}
	u, _ := auth.UserFrom(ctx)
	return s.authz.Authorize(ctx, u, a)
}

// visible returns a filter for lists and watches across namespaces: the
// namespaces the caller may act in. An authorizer that can answer for every
// namespace at once (a cluster's, auth.NamespaceFilter) does; others are
// asked once per namespace per call.
func (s *Service) visible(ctx context.Context, verb, resource string) (func(ns string) bool, error) {
	if s.authz == nil {
		return func(string) bool { return true }, nil
	}
	u, _ := auth.UserFrom(ctx)
	if f, ok := s.authz.(auth.NamespaceFilter); ok {
		return f.VisibleNamespaces(ctx, u, verb, resource)
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	return func(ns string) bool {
		mu.Lock()
		ok, done := seen[ns]
		mu.Unlock()
		if !done {
			ok = s.authz.Authorize(ctx, u, auth.Action{Verb: verb, Resource: resource, Namespace: ns}) == nil
			mu.Lock()
			seen[ns] = ok
			mu.Unlock()
		}
		return ok
	}, nil
}

// canI decides a CanI question: with an AccessReviewer (the cluster) it
// asks it; with an Authorizer (the policy file) it runs the decision the
// call itself would; with neither, the single local user may do anything.
func (s *Service) canI(ctx context.Context, a auth.Action) (bool, string, error) {
	u, _ := auth.UserFrom(ctx)
	if s.reviewer != nil {
		return s.reviewer.CanI(ctx, u, a)
	}
	if s.authz == nil {
		return true, "", nil
	}
	err := s.authz.Authorize(ctx, u, a)
	if err == nil {
		return true, "", nil
	}
	var je *job.Error
	if errors.As(err, &je) && je.Kind == job.KindForbidden {
		reason := je.Message
		if je.Hint != "" {
			reason += ". " + je.Hint
		}
		return false, reason, nil
	}
	return false, "", err
}

// CanI says whether the caller may do something.
func (s *Service) CanI(ctx context.Context, req *trainingv1.CanIRequest) (*trainingv1.CanIResponse, error) {
	verb, res := strings.ToLower(req.GetVerb()), strings.ToLower(req.GetResource())
	switch verb {
	case "suspend", "resume", "patch":
		verb = auth.VerbUpdate
	case "logs":
		verb, res = auth.VerbGet, auth.ResourceLogs
	}
	if res == "" || res == "mpijob" || res == "mpijobs.kubeflow.org" {
		res = auth.ResourceJobs
	}
	if !slices.Contains(auth.Verbs, verb) {
		return nil, job.BadRequest("verb", req.GetVerb(), fmt.Sprintf("unknown verb %q: use one of %s", req.GetVerb(), strings.Join(auth.Verbs, ", ")))
	}
	if !slices.Contains(auth.Resources, res) {
		return nil, job.BadRequest("resource", req.GetResource(), fmt.Sprintf("unknown resource %q: use one of %s", req.GetResource(), strings.Join(auth.Resources, ", ")))
	}
	ns, err := namespaceOf(req.GetNamespace())
	if err != nil {
		return nil, err
	}
	a := auth.Action{Verb: verb, Resource: res, Namespace: ns, Name: req.GetName()}
	if a.Name != "" && (verb == auth.VerbUpdate || verb == auth.VerbDelete) {
		switch res {
		case auth.ResourceJobs:
			a.Owner = s.jobOwner(ctx, ns, a.Name)
		case auth.ResourceTemplates:
			a.Owner = func() (string, error) {
				t, err := s.templates.Get(ns, a.Name)
				if err != nil {
					return "", err
				}
				return t.Creator, nil
			}
		}
	}
	ok, reason, err := s.canI(ctx, a)
	if err != nil {
		return nil, err
	}
	u, _ := auth.UserFrom(ctx)
	return &trainingv1.CanIResponse{Allowed: ok, Reason: reason, User: u.Name}, nil
}
