package service

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/job"
)

// The interceptors every call goes through, outermost first: the request
// id (request.go), panic recovery, (odh-server's request metrics), error
// translation, authentication and rate limits, audit (audit.go).

func (s *Server) authenticate(ctx context.Context) (context.Context, error) {
	actx, err := auth.Authenticate(ctx, s.auth)
	if err != nil {
		return nil, apiconv.ToStatus(apiconv.Classify(err)).Err()
	}
	return actx, nil
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
		s.auditRefused(ctx, info.FullMethod, req, err)
		return nil, err
	}
	if err := s.rateLimit(actx); err != nil {
		s.auditRefused(actx, info.FullMethod, req, err)
		return nil, err
	}
	return h(actx, req)
}

// rateLimit takes a token from the caller's bucket.
func (s *Server) rateLimit(ctx context.Context) error {
	u, _ := auth.UserFrom(ctx)
	if ok, wait := s.limiter.Allow(u.Name); !ok {
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
		s.auditRefused(ss.Context(), info.FullMethod, nil, err)
		return err
	}
	if err := s.rateLimit(ctx); err != nil {
		s.auditRefused(ctx, info.FullMethod, nil, err)
		return err
	}
	return h(srv, wrappedStream{ServerStream: ss, ctx: ctx})
}

// translate turns an error into the gRPC status the client gets. Internal
// errors — bugs, unexpected failures — are logged with the request id and
// reach the client as a generic message naming that id: their text may
// hold paths, addresses or other details that are not the caller's
// business.
func (s *Server) translate(ctx context.Context, method string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok && !isJobError(err) {
		return err
	}
	e := apiconv.Classify(err)
	if e.Kind == job.KindInternal {
		s.log.Error("request failed", "method", method, "requestId", RequestID(ctx), "error", err)
		e = internalError(ctx)
	}
	return apiconv.ToStatus(e).Err()
}

func internalError(ctx context.Context) *job.Error {
	msg := "internal error; the server's log has the details"
	if id := RequestID(ctx); id != "" {
		msg = fmt.Sprintf("internal error (request id %s); the server's log has the details", id)
	}
	return &job.Error{Kind: job.KindInternal, Message: msg, Hint: "Tell the server's administrator the request id."}
}

func isJobError(err error) bool {
	var e *job.Error
	return errors.As(err, &e)
}

func (s *Server) unaryErrors(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	resp, err := h(ctx, req)
	return resp, s.translate(ctx, info.FullMethod, err)
}

func (s *Server) streamErrors(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	err := h(srv, ss)
	if err != nil && ss.Context().Err() != nil {
		// The client went away; that is not an error of the stream.
		return nil
	}
	return s.translate(ss.Context(), info.FullMethod, err)
}

func (s *Server) recovered(ctx context.Context, method string, p any) error {
	s.log.Error("panic in handler", "method", method, "requestId", RequestID(ctx), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	return apiconv.ToStatus(internalError(ctx)).Err()
}

func (s *Server) unaryRecover(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = s.recovered(ctx, info.FullMethod, p)
		}
	}()
	return h(ctx, req)
}

func (s *Server) streamRecover(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = s.recovered(ss.Context(), info.FullMethod, p)
		}
	}()
	return h(srv, ss)
}
