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

// The interceptors every call goes through, outermost first: panic recovery,
// (odh-server's request metrics), error translation, authentication and
// rate limits, audit (audit.go).

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
	u, _ := auth.UserFrom(ctx)
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

func (s *Server) translate(method string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok && !isJobError(err) {
		return err
	}
	e := apiconv.Classify(err)
	if e.Kind == job.KindInternal {
		s.log.Error("request failed", "method", method, "error", err)
	}
	return apiconv.ToStatus(e).Err()
}

func isJobError(err error) bool {
	var e *job.Error
	return errors.As(err, &e)
}

func (s *Server) unaryErrors(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	resp, err := h(ctx, req)
	return resp, s.translate(info.FullMethod, err)
}

func (s *Server) streamErrors(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	err := h(srv, ss)
	if err != nil && ss.Context().Err() != nil {
		// The client went away; that is not an error of the stream.
		return nil
	}
	return s.translate(info.FullMethod, err)
}

func (s *Server) recovered(method string, p any) error {
	s.log.Error("panic in handler", "method", method, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	return apiconv.ToStatus(&job.Error{Kind: job.KindInternal, Message: "internal error; the server log has the details"}).Err()
}

func (s *Server) unaryRecover(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = s.recovered(info.FullMethod, p)
		}
	}()
	return h(ctx, req)
}

func (s *Server) streamRecover(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = s.recovered(info.FullMethod, p)
		}
	}()
	return h(srv, ss)
}
