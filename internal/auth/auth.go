// Package auth is who may call the Training Service and what they may do.
// Authentication: an Authenticator turns the bearer token of a call into a
// User — the local server's single token (StaticToken), the users of an
// access policy file (PolicyFile), or on a cluster a TokenReview
// (kubeauth.TokenReview). Authorization: an Authorizer decides every
// Action (a verb on a resource in a namespace) before the service touches
// the engine — the access policy file's roles locally, SubjectAccessReviews
// on a cluster (kubeauth.AccessReview) — and an AccessReviewer answers
// "can I" questions. Denials are *job.Error values of kind Forbidden that
// say who, what, where and how to get access. The service's interceptors
// (internal/service) call Authenticate; this package imports no server.
package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"strings"

	"google.golang.org/grpc/metadata"

	"github.com/odh-training/odh-training/internal/job"
)

// User is an authenticated caller.
type User struct {
	Name   string
	Groups []string
	// UID and Extra come from a cluster's TokenReview; the kubernetes
	// engine's access reviews carry them along with the name and groups.
	UID   string
	Extra map[string][]string
}

type userKey struct{}

// WithUser returns a context carrying the caller.
func WithUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFrom returns the caller stored in ctx.
func UserFrom(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(User)
	return u, ok
}

// Authenticator checks a bearer token and says who it belongs to.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (User, error)
}

// StaticToken accepts exactly one token (the local server's).
type StaticToken struct {
	Token string
	User  User
}

// Authenticate compares in constant time.
func (s StaticToken) Authenticate(_ context.Context, token string) (User, error) {
	if token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(s.Token)) != 1 {
		return User{}, ErrBadToken
	}
	return s.User, nil
}

// Anonymous accepts every caller (--auth=none, for development only).
type Anonymous struct{ User User }

// Authenticate always succeeds.
func (a Anonymous) Authenticate(context.Context, string) (User, error) { return a.User, nil }

// ErrBadToken is the error of a token no user has.
var ErrBadToken = errors.New("invalid token")

// TokenHinter is implemented by authenticators that know where their
// callers get tokens, so a 401 can say it.
type TokenHinter interface {
	TokenHint() string
}

// TokenHint says where the local server's token is.
func (StaticToken) TokenHint() string {
	return "the local server's token is in <state-dir>/token; the CLI and SDK on the same machine find it by themselves"
}

// BearerToken returns the bearer token of an incoming gRPC call's
// "authorization" metadata ("" when there is none).
func BearerToken(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if t, ok := strings.CutPrefix(v, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
		if t, ok := strings.CutPrefix(v, "bearer "); ok {
			return strings.TrimSpace(t)
		}
	}
	return ""
}

// Authenticate finds the caller of an incoming gRPC call by its bearer
// token and returns a context carrying the User. A missing or rejected
// token is a *job.Error of kind Unauthenticated saying where tokens come
// from; an authenticator that cannot decide (the cluster is unreachable)
// returns its own *job.Error.
func Authenticate(ctx context.Context, a Authenticator) (context.Context, error) {
	tok := BearerToken(ctx)
	if _, anon := a.(Anonymous); !anon && tok == "" {
		return nil, unauthenticated(a, "authentication required: no bearer token was sent")
	}
	u, err := a.Authenticate(ctx, tok)
	if err != nil {
		var je *job.Error
		if errors.As(err, &je) {
			return nil, je
		}
		return nil, unauthenticated(a, "authentication failed: the bearer token is not valid")
	}
	return WithUser(ctx, u), nil
}

func unauthenticated(a Authenticator, msg string) *job.Error {
	where := "a token the server accepts"
	if h, ok := a.(TokenHinter); ok {
		where = h.TokenHint()
	}
	return &job.Error{
		Kind:    job.KindUnauthenticated,
		Message: msg,
		Hint:    "Pass a token with --token or ODH_TOKEN (" + where + "), or log in with: odh login --server URL --token TOKEN",
	}
}
