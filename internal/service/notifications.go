package service

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/types/known/timestamppb"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/notify"
)

// Notification subscriptions are managed by whoever may create jobs in
// their namespace: a subscription reveals the namespace's job names and
// states to a URL of the caller's choosing, which is what creating (and so
// naming and watching) jobs there already allows.

// notifications authorizes a subscription call in a namespace and returns
// the namespace.
func (s *Service) notifications(ctx context.Context, namespace string) (string, error) {
	if s.notify == nil {
		return "", &job.Error{Kind: job.KindUnavailable, Message: "notifications are not enabled on this server",
			Hint: "Ask the server's admin to start odh-server with notifications on (--notifications, the default)."}
	}
	ns, err := namespaceOf(namespace)
	if err != nil {
		return "", err
	}
	// The cluster's engine enforces access itself (no authorizer): ask it
	// (SubjectAccessReview) as CanI does, since nothing else would.
	if s.authz == nil && s.reviewer != nil {
		ok, reason, err := s.canI(ctx, auth.Action{Verb: auth.VerbCreate, Resource: auth.ResourceJobs, Namespace: ns})
		if err != nil {
			return "", err
		}
		if !ok {
			return "", &job.Error{Kind: job.KindForbidden, Message: fmt.Sprintf("you may not manage notification subscriptions in namespace %q: that needs the right to create MPIJobs there (%s)", ns, reason)}
		}
		return ns, nil
	}
	return ns, s.authorize(ctx, auth.Action{Verb: auth.VerbCreate, Resource: auth.ResourceJobs, Namespace: ns})
}

// CreateNotificationSubscription validates and saves a subscription.
func (s *Service) CreateNotificationSubscription(ctx context.Context, req *trainingv1.CreateNotificationSubscriptionRequest) (*trainingv1.NotificationSubscription, error) {
	ns, err := s.notifications(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	p := req.GetSubscription()
	if p == nil {
		return nil, job.BadRequest("subscription", "", "the request has no subscription")
	}
	if p.GetNamespace() != "" && p.GetNamespace() != ns {
		return nil, job.BadRequest("subscription.namespace", p.GetNamespace(), fmt.Sprintf("the subscription's namespace %q does not match the request's namespace %q", p.GetNamespace(), ns))
	}
	sub := &notify.Subscription{Name: p.GetName(), Namespace: ns, URL: p.GetUrl(), Secret: p.GetSecret(), Format: p.GetFormat(),
		JobName: p.GetJobName(), LabelSelector: p.GetLabelSelector()}
	for _, t := range p.GetEventTypes() {
		sub.EventTypes = append(sub.EventTypes, notify.Type(t))
	}
	if u, ok := auth.UserFrom(ctx); ok {
		sub.Creator = u.Name
	}
	if err := notify.Validate(sub, s.notify.Guard); err != nil {
		return nil, err
	}
	saved, err := s.notify.Store.Create(sub)
	if err != nil {
		return nil, err
	}
	return subscriptionToProto(saved, sub.Secret != ""), nil
}

// ListNotificationSubscriptions lists a namespace's subscriptions.
func (s *Service) ListNotificationSubscriptions(ctx context.Context, req *trainingv1.ListNotificationSubscriptionsRequest) (*trainingv1.ListNotificationSubscriptionsResponse, error) {
	ns, err := s.notifications(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	resp := &trainingv1.ListNotificationSubscriptionsResponse{Items: []*trainingv1.NotificationSubscription{}}
	for _, sub := range s.notify.Store.List(ns) {
		resp.Items = append(resp.Items, subscriptionToProto(sub, s.notify.Store.Signed(sub.Key())))
	}
	return resp, nil
}

// DeleteNotificationSubscription removes a subscription and stops its
// deliveries.
func (s *Service) DeleteNotificationSubscription(ctx context.Context, req *trainingv1.DeleteNotificationSubscriptionRequest) (*trainingv1.NotificationSubscription, error) {
	ns, err := s.notifications(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	signed := s.notify.Store.Signed(ns + "/" + req.GetName())
	sub, err := s.notify.Store.Delete(ns, req.GetName())
	if err != nil {
		return nil, err
	}
	s.notify.Dispatcher.Forget(sub.Key())
	return subscriptionToProto(sub, signed), nil
}

// GetNotificationHistory returns a subscription's delivery history.
func (s *Service) GetNotificationHistory(ctx context.Context, req *trainingv1.GetNotificationHistoryRequest) (*trainingv1.NotificationHistory, error) {
	ns, err := s.notifications(ctx, req.GetNamespace())
	if err != nil {
		return nil, err
	}
	sub, err := s.notify.Store.Get(ns, req.GetName())
	if err != nil {
		return nil, err
	}
	h := s.notify.Dispatcher.History(sub.Key())
	out := &trainingv1.NotificationHistory{Delivered: h.Delivered, FailedAttempts: h.Failed, DeadLettered: h.DeadLettered, Pending: int32(h.Pending),
		Attempts: []*trainingv1.NotificationAttempt{}, DeadLetters: []*trainingv1.NotificationDeadLetter{}}
	for _, a := range h.Attempts {
		out.Attempts = append(out.Attempts, &trainingv1.NotificationAttempt{EventId: a.EventID, EventType: string(a.EventType), Job: a.Job, Attempt: int32(a.Attempt),
			Time: timestamppb.New(a.Time), StatusCode: int32(a.StatusCode), Error: a.Error, Outcome: a.Outcome, DurationMs: a.Duration.Milliseconds()})
	}
	for _, d := range h.DeadLetters {
		out.DeadLetters = append(out.DeadLetters, &trainingv1.NotificationDeadLetter{EventId: d.Event.ID, EventType: string(d.Event.Type), Job: d.Event.Job,
			Attempts: int32(d.Attempts), LastError: d.LastError, Time: timestamppb.New(d.Time)})
	}
	return out, nil
}

func subscriptionToProto(s *notify.Subscription, signed bool) *trainingv1.NotificationSubscription {
	p := &trainingv1.NotificationSubscription{Name: s.Name, Namespace: s.Namespace, Url: s.URL, Format: s.Format, JobName: s.JobName,
		LabelSelector: s.LabelSelector, Creator: s.Creator, CreateTime: timestamppb.New(s.CreateTime), HasSecret: signed}
	for _, t := range s.EventTypes {
		p.EventTypes = append(p.EventTypes, string(t))
	}
	return p
}
