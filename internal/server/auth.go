package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/internal/job"
)

// User is an authenticated caller.
type User struct {
	Name   string
	Groups []string
	// UID and Extra come from a cluster's TokenReview; the kubernetes
	// engine impersonates them along with the name and groups.
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
		return User{}, errBadToken
	}
	return s.User, nil
}

// Anonymous accepts every caller (--auth=none, for development only).
type Anonymous struct{ User User }

// Authenticate always succeeds.
func (a Anonymous) Authenticate(context.Context, string) (User, error) { return a.User, nil }

var errBadToken = errors.New("invalid token")

// TokenHinter is implemented by authenticators that know where their
// callers get tokens, so a 401 can say it.
type TokenHinter interface {
	TokenHint() string
}

// TokenHint says where the local server's token is.
func (StaticToken) TokenHint() string {
	return "the local server's token is in <state-dir>/token; the CLI and SDK on the same machine find it by themselves"
}

func (s *Server) unauthenticated(msg string) *job.Error {
	where := "a token the server accepts"
	if h, ok := s.auth.(TokenHinter); ok {
		where = h.TokenHint()
	}
	return &job.Error{
		Kind:    job.KindUnauthenticated,
		Message: msg,
		Hint:    "Pass a token with --token or ODH_TOKEN (" + where + "), or log in with: odh login --server URL --token TOKEN",
	}
}

func tokenFrom(ctx context.Context) string {
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

func (s *Server) authenticate(ctx context.Context) (context.Context, error) {
	tok := tokenFrom(ctx)
	if _, anon := s.auth.(Anonymous); !anon && tok == "" {
		return nil, apiconv.ToStatus(s.unauthenticated("authentication required: no bearer token was sent")).Err()
	}
	u, err := s.auth.Authenticate(ctx, tok)
	if err != nil {
		var je *job.Error
		if errors.As(err, &je) {
			return nil, apiconv.ToStatus(je).Err()
		}
		return nil, apiconv.ToStatus(s.unauthenticated("authentication failed: the bearer token is not valid")).Err()
	}
	return WithUser(ctx, u), nil
}

// publicMethods need no authentication.
var publicMethods = map[string]bool{
	"/odh.training.v1.TrainingService/GetVersion": true,
}

func (s *Server) unaryAuth(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if publicMethods[info.FullMethod] {
		if c, err := s.authenticate(ctx); err == nil {
			ctx = c
		}
		return h(ctx, req)
	}
	actx, err := s.authenticate(ctx)
	if err != nil {
		st, _ := status.FromError(err)
		s.auditDenied(ctx, info.FullMethod, req, string(job.KindUnauthenticated), st.Message())
		return nil, err
	}
	if err := s.rateLimit(actx); err != nil {
		s.auditDenied(actx, info.FullMethod, req, string(job.KindTooManyRequests), err.Error())
		return nil, err
	}
	return h(actx, req)
}

// rateLimit takes a token from the caller's bucket.
func (s *Server) rateLimit(ctx context.Context) error {
	u, _ := UserFrom(ctx)
	if ok, wait := s.limiter.allow(u.Name); !ok {
		return apiconv.ToStatus(tooManyRequests(u.Name, wait)).Err()
	}
	return nil
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w wrappedStream) Context() context.Context { return w.ctx }

func (s *Server) streamAuth(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	ctx, err := s.authenticate(ss.Context())
	if err != nil {
		st, _ := status.FromError(err)
		s.auditDenied(ss.Context(), info.FullMethod, nil, string(job.KindUnauthenticated), st.Message())
		return err
	}
	if err := s.rateLimit(ctx); err != nil {
		return err
	}
	return h(srv, wrappedStream{ServerStream: ss, ctx: ctx})
}

// LoadOrCreateToken returns the token stored in path, creating a random one
// (mode 0600) on first use.
func LoadOrCreateToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		if t := strings.TrimSpace(string(data)); t != "" {
			return t, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read token: %w", err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write token: %w", err)
	}
	return tok, nil
}
