// Package server is the Training Service: the TrainingService gRPC API, its
// REST/JSON gateway, the OpenAPI document and reference page, health and
// Prometheus endpoints and the embedded dashboard, all on one port.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/encoding/protojson"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/templates"
)

// MaxRequestBytes bounds REST request bodies and gRPC messages.
const MaxRequestBytes = 8 << 20

// Options configures a Server.
type Options struct {
	Engine    engine.Engine
	Templates *templates.Store
	Auth      auth.Authenticator
	// Authorizer decides every call (the local policy file); nil allows
	// every authenticated caller everything.
	Authorizer auth.Authorizer
	// Reviewer answers CanI when the engine enforces access itself (the
	// kubernetes engine); nil: CanI runs the Authorizer's decision.
	Reviewer auth.AccessReviewer
	Logger   *slog.Logger
	// Audit receives one JSON line per mutating call; nil disables it.
	Audit io.Writer
	// RateLimit is requests per second per user (0 = unlimited), with
	// bursts of RateBurst.
	RateLimit float64
	RateBurst int
}

// Server serves the API. Build it with New, serve it with Serve or mount
// Handler yourself.
type Server struct {
	eng      engine.Engine
	auth     auth.Authenticator
	log      *slog.Logger
	metrics  *metrics
	grpc     *grpc.Server
	inproc   *bufconn.Listener
	conn     *grpc.ClientConn
	client   trainingv1.TrainingServiceClient
	handler  http.Handler
	service  *Service
	audit    *Auditor
	limiter  *rateLimiter
	stopOnce chan struct{}
	// stopLifecycle ends the watch behind the job lifecycle metrics.
	stopLifecycle context.CancelFunc
}

// New builds a server. Call Close when done.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.Engine == nil || opts.Templates == nil || opts.Auth == nil {
		return nil, errors.New("server: Engine, Templates and Auth are required")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{eng: opts.Engine, auth: opts.Auth, log: log, stopOnce: make(chan struct{}),
		audit: NewAuditor(opts.Audit), limiter: newRateLimiter(opts.RateLimit, opts.RateBurst)}
	s.metrics = newMetrics(opts.Engine)
	lifecycleCtx, stopLifecycle := context.WithCancel(context.Background())
	s.stopLifecycle = stopLifecycle
	go newLifecycle(s.metrics.registry).run(lifecycleCtx, opts.Engine, func(err error) {
		log.Warn("job metrics: watch ended; restarting it", "error", err)
	})
	s.service = NewService(opts.Engine, opts.Templates)
	s.service.authz, s.service.reviewer = opts.Authorizer, opts.Reviewer
	s.grpc = grpc.NewServer(
		grpc.MaxRecvMsgSize(MaxRequestBytes),
		grpc.ChainUnaryInterceptor(s.unaryRecover, s.metrics.unary, s.unaryErrors, s.unaryAuth, s.unaryAudit),
		grpc.ChainStreamInterceptor(s.streamRecover, s.metrics.stream, s.streamErrors, s.streamAuth, s.streamAudit),
	)
	trainingv1.RegisterTrainingServiceServer(s.grpc, s.service)

	// The REST gateway talks to the same gRPC server through an in-memory
	// connection, so REST and gRPC share authentication, error translation
	// and metrics.
	s.inproc = bufconn.Listen(1 << 20)
	go func() { _ = s.grpc.Serve(s.inproc) }()
	conn, err := grpc.NewClient("passthrough:///inproc",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return s.inproc.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)),
	)
	if err != nil {
		return nil, fmt.Errorf("connect gateway: %w", err)
	}
	s.conn = conn
	s.client = trainingv1.NewTrainingServiceClient(conn)
	gw := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &restMarshaler{JSONPb: runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: false},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}}),
		runtime.WithErrorHandler(s.restError),
		runtime.WithStreamErrorHandler(func(_ context.Context, err error) *status.Status { return status.Convert(err) }),
		runtime.WithRoutingErrorHandler(s.routingError),
		runtime.WithIncomingHeaderMatcher(func(key string) (string, bool) {
			if strings.EqualFold(key, "X-Request-Id") {
				return requestIDKey, true
			}
			return runtime.DefaultHeaderMatcher(key)
		}),
		runtime.WithOutgoingHeaderMatcher(func(key string) (string, bool) {
			if key == requestIDKey {
				return "X-Request-Id", true
			}
			return "", false
		}),
	)
	if err := trainingv1.RegisterTrainingServiceHandler(ctx, gw, conn); err != nil {
		return nil, fmt.Errorf("register gateway: %w", err)
	}
	s.handler = s.routes(gw)
	return s, nil
}

// Handler serves gRPC (HTTP/2 with content-type application/grpc) and
// everything else on the same port.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			s.grpc.ServeHTTP(w, r)
			return
		}
		s.handler.ServeHTTP(w, r)
	})
}

// Serve serves on lis until ctx is cancelled, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	hs := &http.Server{
		Handler:           s.Handler(),
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    1 << 20,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(lis) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Streams (watch, logs -f) never end by themselves: stop them first.
	s.grpc.Stop()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		_ = hs.Close()
	}
	return nil
}

// Close releases the in-process connection and stops the gRPC server.
func (s *Server) Close() {
	select {
	case <-s.stopOnce:
		return
	default:
		close(s.stopOnce)
	}
	s.stopLifecycle()
	_ = s.conn.Close()
	s.grpc.Stop()
}

// Client returns an in-process client of this server's API (used by direct
// mode and tests); calls go through authentication like remote ones.
func (s *Server) Client() trainingv1.TrainingServiceClient { return s.client }

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
