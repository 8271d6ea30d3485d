package service

import (
	"context"
	"fmt"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/templates"
)

// CreateTemplate saves a template.
func (s *Service) CreateTemplate(ctx context.Context, req *trainingv1.CreateTemplateRequest) (*trainingv1.JobTemplate, error) {
	p := req.GetTemplate()
	if p == nil {
		return nil, job.BadRequest("template", "", "the request has no template")
	}
	ns, err := namespaceOf(req.GetNamespace())
	if err != nil {
		return nil, err
	}
	if p.GetNamespace() != "" && p.GetNamespace() != ns {
		return nil, job.BadRequest("template.namespace", p.GetNamespace(), fmt.Sprintf("the template's namespace %q does not match the request's namespace %q", p.GetNamespace(), ns))
	}
	if err := s.authorize(ctx, auth.Action{Verb: auth.VerbCreate, Resource: auth.ResourceTemplates, Namespace: ns, Name: p.GetName()}); err != nil {
		return nil, err
	}
	t := &templates.Template{Name: p.GetName(), Namespace: ns, Description: p.GetDescription(), Job: *apiconv.FromProto(p.GetJob())}
	if u, ok := auth.UserFrom(ctx); ok {
		t.Creator = u.Name
	}
	saved, err := s.templates.Create(t)
	if err != nil {
		return nil, err
	}
	return templateToProto(saved), nil
}

// ListTemplates lists saved templates.
func (s *Service) ListTemplates(ctx context.Context, req *trainingv1.ListTemplatesRequest) (*trainingv1.ListTemplatesResponse, error) {
	see := func(string) bool { return true }
	if ns := req.GetNamespace(); ns != "" {
		if err := job.CheckNamespace(ns); err != nil {
			return nil, err
		}
		if err := s.authorize(ctx, auth.Action{Verb: auth.VerbList, Resource: auth.ResourceTemplates, Namespace: ns}); err != nil {
			return nil, err
		}
	} else if s.authz != nil {
		var err error
		if see, err = s.visible(ctx, auth.VerbList, auth.ResourceTemplates); err != nil {
			return nil, err
		}
	}
	ts, err := s.templates.List(req.GetNamespace())
	if err != nil {
		return nil, err
	}
	resp := &trainingv1.ListTemplatesResponse{}
	for _, t := range ts {
		if !see(t.Namespace) {
			continue
		}
		resp.Items = append(resp.Items, templateToProto(t))
	}
	return resp, nil
}

// GetTemplate returns one template.
func (s *Service) GetTemplate(ctx context.Context, req *trainingv1.GetTemplateRequest) (*trainingv1.JobTemplate, error) {
	ns, err := namespaceOf(req.GetNamespace())
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, auth.Action{Verb: auth.VerbGet, Resource: auth.ResourceTemplates, Namespace: ns, Name: req.GetName()}); err != nil {
		return nil, err
	}
	t, err := s.templates.Get(ns, req.GetName())
	if err != nil {
		return nil, err
	}
	return templateToProto(t), nil
}

// DeleteTemplate removes a template.
func (s *Service) DeleteTemplate(ctx context.Context, req *trainingv1.DeleteTemplateRequest) (*trainingv1.DeleteTemplateResponse, error) {
	ns, err := namespaceOf(req.GetNamespace())
	if err != nil {
		return nil, err
	}
	owner := func() (string, error) {
		t, err := s.templates.Get(ns, req.GetName())
		if err != nil {
			return "", err
		}
		return t.Creator, nil
	}
	if err := s.authorize(ctx, auth.Action{Verb: auth.VerbDelete, Resource: auth.ResourceTemplates, Namespace: ns, Name: req.GetName(), Owner: owner}); err != nil {
		return nil, err
	}
	if err := s.templates.Delete(ns, req.GetName()); err != nil {
		return nil, err
	}
	return &trainingv1.DeleteTemplateResponse{}, nil
}
