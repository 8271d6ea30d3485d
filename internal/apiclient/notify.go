package apiclient

import (
	"context"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
)

// CreateNotification subscribes a webhook to a namespace's job state
// changes. The returned subscription never holds the secret.
func (c *Client) CreateNotification(ctx context.Context, namespace string, s *trainingv1.NotificationSubscription) (*trainingv1.NotificationSubscription, error) {
	r, err := c.rpc.CreateNotificationSubscription(ctx, &trainingv1.CreateNotificationSubscriptionRequest{Namespace: namespace, Subscription: s})
	return r, c.classify(err)
}

// ListNotifications lists a namespace's subscriptions.
func (c *Client) ListNotifications(ctx context.Context, namespace string) ([]*trainingv1.NotificationSubscription, error) {
	r, err := c.rpc.ListNotificationSubscriptions(ctx, &trainingv1.ListNotificationSubscriptionsRequest{Namespace: namespace})
	return r.GetItems(), c.classify(err)
}

// DeleteNotification deletes a subscription.
func (c *Client) DeleteNotification(ctx context.Context, namespace, name string) (*trainingv1.NotificationSubscription, error) {
	r, err := c.rpc.DeleteNotificationSubscription(ctx, &trainingv1.DeleteNotificationSubscriptionRequest{Namespace: namespace, Name: name})
	return r, c.classify(err)
}

// NotificationHistory returns a subscription's delivery history.
func (c *Client) NotificationHistory(ctx context.Context, namespace, name string) (*trainingv1.NotificationHistory, error) {
	r, err := c.rpc.GetNotificationHistory(ctx, &trainingv1.GetNotificationHistoryRequest{Namespace: namespace, Name: name})
	return r, c.classify(err)
}
