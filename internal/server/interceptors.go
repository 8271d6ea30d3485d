package server

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/job"
)

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
