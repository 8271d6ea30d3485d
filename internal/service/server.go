package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/notify"
	"github.com/odh-training/odh-training/internal/ratelimit"
	"github.com/odh-training/odh-training/internal/templates"
)

// MaxRequestBytes bounds gRPC messages (and, in odh-server, REST bodies).
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
	// Manifest renders the kubeflow.org/v2beta1 MPIJob a job becomes on a
	// cluster (kube.Manifest), returned by dry runs; nil: dry runs return
	// none.
	Manifest func(*job.MPIJob) ([]byte, error)
	// Heartbeat is how often a quiet watch or log follow sends a heartbeat
	// (heartbeat.go): 0 means DefaultHeartbeat, negative none.
	Heartbeat time.Duration
	// Streams bounds watches and followed logs (zero: the defaults).
	Streams StreamLimits
	// UnaryObserver and StreamObserver, when set, see every call right
	// after panic recovery, before errors are translated (odh-server's
	// request metrics).
	// Notifications serves the notification subscription API; nil: those
	// calls answer Unavailable.
	Notifications  *notify.Notifier
	UnaryObserver  grpc.UnaryServerInterceptor
	StreamObserver grpc.StreamServerInterceptor
}

// Server is the Training Service's gRPC server: the Service behind its
// interceptors (panic recovery, error translation, authentication and rate
// limits, audit), served in-process from the start (Client, Conn) and
// mountable on a port (GRPC). odh-server puts its HTTP front around it; the
// CLI's direct mode uses it alone.
type Server struct {
	auth     auth.Authenticator
	log      *slog.Logger
	audit    *Auditor
	limiter  *ratelimit.Limiter
	grpc     *grpc.Server
	inproc   *bufconn.Listener
	conn     *grpc.ClientConn
	client   trainingv1.TrainingServiceClient
	stopOnce chan struct{}

	svc         *Service
	streamChain []grpc.StreamServerInterceptor
	heartbeat   time.Duration
}

// New builds the server and starts serving it in-process. Call Close when
// done.
func New(opts Options) (*Server, error) {
	if opts.Engine == nil || opts.Templates == nil || opts.Auth == nil {
		return nil, errors.New("service: Engine, Templates and Auth are required")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{auth: opts.Auth, log: log, stopOnce: make(chan struct{}),
		audit: NewAuditor(opts.Audit), limiter: ratelimit.New(opts.RateLimit, opts.RateBurst), heartbeat: opts.Heartbeat}
	if s.heartbeat == 0 {
		s.heartbeat = DefaultHeartbeat
	}
	svc := NewService(opts.Engine, opts.Templates)
	svc.authz, svc.reviewer, svc.manifest = opts.Authorizer, opts.Reviewer, opts.Manifest
	svc.authn, svc.streams, svc.notify = opts.Auth, opts.Streams, opts.Notifications
	unary := []grpc.UnaryServerInterceptor{s.unaryRequestID, s.unaryRecover}
	stream := []grpc.StreamServerInterceptor{s.streamRequestID, s.streamRecover}
	if opts.UnaryObserver != nil {
		unary = append(unary, opts.UnaryObserver)
	}
	if opts.StreamObserver != nil {
		stream = append(stream, opts.StreamObserver)
	}
	s.streamChain = append(stream, s.streamErrors, s.streamAuth, s.streamAudit, s.streamHeartbeat)
	s.svc = svc
	s.grpc = grpc.NewServer(
		grpc.MaxRecvMsgSize(MaxRequestBytes),
		grpc.ForceServerCodecV2(newCodec()),
		grpc.ChainUnaryInterceptor(append(unary, s.unaryErrors, s.unaryAuth, s.unaryAudit)...),
		grpc.ChainStreamInterceptor(s.streamChain...),
	)
	trainingv1.RegisterTrainingServiceServer(s.grpc, svc)

	// In-process callers (odh-server's REST gateway, the CLI's direct mode)
	// reach the same gRPC server through an in-memory connection, so every
	// call goes through the same interceptors.
	s.inproc = bufconn.Listen(1 << 20)
	go func() { _ = s.grpc.Serve(s.inproc) }()
	conn, err := grpc.NewClient("passthrough:///inproc",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return s.inproc.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)),
	)
	if err != nil {
		s.grpc.Stop()
		return nil, fmt.Errorf("connect in-process: %w", err)
	}
	s.conn = conn
	s.client = trainingv1.NewTrainingServiceClient(conn)
	return s, nil
}

// ServeStream runs one of the service's server-streaming methods (by its
// short name, e.g. "WatchJobs") on a stream that is not a gRPC transport —
// odh-server's REST watch writes events straight to the HTTP response —
// through the same interceptors as every gRPC call. ss.Context() must carry
// the call's incoming metadata and a grpc.ServerTransportStream.
func (s *Server) ServeStream(method string, ss grpc.ServerStream) error {
	for _, d := range trainingv1.TrainingService_ServiceDesc.Streams {
		if d.StreamName != method || !d.ServerStreams || d.ClientStreams {
			continue
		}
		info := &grpc.StreamServerInfo{FullMethod: "/" + trainingv1.TrainingService_ServiceDesc.ServiceName + "/" + method, IsServerStream: true}
		h := d.Handler
		for i := len(s.streamChain) - 1; i >= 0; i-- {
			ic, next := s.streamChain[i], h
			h = func(srv any, ss grpc.ServerStream) error { return ic(srv, ss, info, next) }
		}
		return h(s.svc, ss)
	}
	return fmt.Errorf("service: no server-streaming method %q", method)
}

// GRPC is the gRPC server, to serve on a port (grpc.Server.ServeHTTP).
func (s *Server) GRPC() *grpc.Server { return s.grpc }

// Conn is the in-process connection (for the REST gateway).
func (s *Server) Conn() *grpc.ClientConn { return s.conn }

// Client returns an in-process client of the API; calls go through
// authentication like remote ones.
func (s *Server) Client() trainingv1.TrainingServiceClient { return s.client }

// Close releases the in-process connection and stops the gRPC server.
func (s *Server) Close() {
	select {
	case <-s.stopOnce:
		return
	default:
		close(s.stopOnce)
	}
	_ = s.conn.Close()
	s.grpc.Stop()
}
