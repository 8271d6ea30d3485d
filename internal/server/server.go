// Package server is odh-server's front: the Training Service's gRPC server
// (internal/service), its REST/JSON gateway, the OpenAPI document and
// reference page, health and Prometheus endpoints and the embedded
// dashboard, all on one port.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	trainingv1gw "github.com/odh-training/odh-training/gen/go/gateway/odh/training/v1"
	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/engine"
	"github.com/odh-training/odh-training/internal/ratelimit"
	"github.com/odh-training/odh-training/internal/service"
)

// MaxRequestBytes bounds REST request bodies and gRPC messages.
const MaxRequestBytes = service.MaxRequestBytes

// Options configures a Server: those of the service (the server sets the
// observers to its request metrics) and of its HTTP front.
type Options struct {
	service.Options
	// ClientRateLimit is requests per second per client address, counted
	// before authentication (0 = unlimited), with bursts of
	// ClientRateBurst.
	ClientRateLimit float64
	ClientRateBurst int
	// AuthFailureRate and AuthFailureBurst bound failed authentications
	// per client address (0: DefaultAuthFailureRate, -Burst).
	AuthFailureRate  float64
	AuthFailureBurst int
	// TrustedProxies are the addresses whose X-Forwarded-For is believed
	// (a TLS-terminating router in front of the server); nobody else's.
	TrustedProxies []netip.Prefix
}

// Server serves the API and its HTTP front. Build it with New, serve it
// with Serve or mount Handler yourself.
type Server struct {
	eng     engine.Engine
	authn   auth.Authenticator
	authz   auth.Authorizer
	front   *front
	log     *slog.Logger
	metrics *metrics
	core    *service.Server
	client  trainingv1.TrainingServiceClient
	rest    *restMarshaler
	handler http.Handler
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
	s := &Server{eng: opts.Engine, log: log, authn: opts.Auth, authz: opts.Authorizer}
	s.metrics = newMetrics(opts.Engine)
	opts.UnaryObserver, opts.StreamObserver = s.metrics.unary, s.metrics.stream
	core, err := service.New(opts.Options)
	if err != nil {
		return nil, err
	}
	s.core, s.client = core, core.Client()
	failRate, failBurst := opts.AuthFailureRate, opts.AuthFailureBurst
	if failRate == 0 {
		failRate, failBurst = DefaultAuthFailureRate, DefaultAuthFailureBurst
	}
	s.front = &front{trusted: opts.TrustedProxies, authn: opts.Auth, refused: core.AuditRefusal,
		perIP:    ratelimit.New(opts.ClientRateLimit, opts.ClientRateBurst),
		failures: ratelimit.New(failRate, failBurst)}
	lifecycleCtx, stopLifecycle := context.WithCancel(context.Background())
	s.stopLifecycle = stopLifecycle
	go newLifecycle(s.metrics.registry).run(lifecycleCtx, opts.Engine, func(err error) {
		log.Warn("job metrics: watch ended; restarting it", "error", err)
	})

	// The REST gateway talks to the same gRPC server through its in-memory
	// connection, so REST and gRPC share authentication, error translation
	// and metrics.
	s.rest = &restMarshaler{JSONPb: runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{EmitUnpopulated: false},
		UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
	}}
	gw := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, s.rest),
		runtime.WithErrorHandler(s.restError),
		runtime.WithStreamErrorHandler(func(_ context.Context, err error) *status.Status { return status.Convert(err) }),
		runtime.WithRoutingErrorHandler(s.routingError),
		runtime.WithIncomingHeaderMatcher(func(key string) (string, bool) {
			switch {
			case strings.EqualFold(key, "X-Request-Id"):
				return service.RequestIDKey, true
			case strings.EqualFold(key, "Grpc-Metadata-"+service.ClientAddrKey), strings.EqualFold(key, "Grpc-Metadata-Authorization"):
				// Set by the front (below), or the Authorization header.
				return "", false
			}
			return runtime.DefaultHeaderMatcher(key)
		}),
		// The client's address, as the front decided it, for the audit log
		// and limits of the in-process gRPC server.
		runtime.WithMetadata(func(ctx context.Context, _ *http.Request) metadata.MD {
			if a := service.ClientAddr(ctx); a != "" {
				return metadata.Pairs(service.ClientAddrKey, a)
			}
			return nil
		}),
		runtime.WithOutgoingHeaderMatcher(func(key string) (string, bool) {
			if key == service.RequestIDKey {
				return "X-Request-Id", true
			}
			return "", false
		}),
	)
	if err := trainingv1gw.RegisterTrainingServiceHandler(ctx, gw, core.Conn()); err != nil {
		s.Close()
		return nil, fmt.Errorf("register gateway: %w", err)
	}
	s.handler = s.routes(gw)
	return s, nil
}

// Handler serves gRPC (HTTP/2 with content-type application/grpc) and
// everything else on the same port.
func (s *Server) Handler() http.Handler {
	return s.front.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isGRPC(r) {
			s.core.GRPC().ServeHTTP(w, r)
			return
		}
		s.handler.ServeHTTP(w, r)
	}))
}

// Serve serves on lis until ctx is cancelled, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	hs := &http.Server{
		Handler:   s.Handler(),
		Protocols: &protocols,
		// Slow clients cannot hold connections: headers within 10 s,
		// bodies within a minute (long GETs — watches, followed logs —
		// clear the read deadline once their headers are in), idle
		// connections closed after two minutes.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		// Ping HTTP/2 clients that have sent nothing for a while, so the
		// streams of one that vanished (a laptop closed mid-watch) end.
		HTTP2:       &http.HTTP2Config{SendPingTimeout: 30 * time.Second, PingTimeout: 15 * time.Second},
		BaseContext: func(net.Listener) context.Context { return ctx },
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
	s.core.GRPC().Stop()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		_ = hs.Close()
	}
	return nil
}

// Close stops the metrics watch and the gRPC server.
func (s *Server) Close() {
	s.stopLifecycle()
	s.core.Close()
}

// Client returns an in-process client of this server's API (used by tests);
// calls go through authentication like remote ones.
func (s *Server) Client() trainingv1.TrainingServiceClient { return s.client }
