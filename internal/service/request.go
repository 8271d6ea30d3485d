package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// RequestIDKey is the metadata key (and, over REST, the X-Request-Id header)
// that carries a request's id.
const RequestIDKey = "x-request-id"

// ClientAddrKey is the metadata key through which odh-server's REST gateway
// tells the in-process gRPC server the address of the HTTP client. It is
// believed only from in-process callers (see ClientAddr); the HTTP front
// drops any a client sends.
const ClientAddrKey = "x-odh-client-addr"

type requestIDKey struct{}

type clientAddrKey struct{}

// WithClientAddr returns a context carrying the client's address as the
// transport saw it (odh-server's HTTP front: the connection's remote
// address, or X-Forwarded-For from a trusted proxy). gRPC calls served on
// odh-server's port inherit it from their HTTP request.
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// ClientAddr is the address of the caller, from the transport only: the
// HTTP front's verified address, or the gRPC peer. Metadata is believed
// only when the peer is the in-process connection (the REST gateway, which
// copies the HTTP front's address); a remote client cannot set it.
func ClientAddr(ctx context.Context) string {
	if a, ok := ctx.Value(clientAddrKey{}).(string); ok && a != "" {
		return a
	}
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return ""
	}
	if p.Addr.String() == inProcessAddr {
		md, _ := metadata.FromIncomingContext(ctx)
		if v := md.Get(ClientAddrKey); len(v) == 1 && len(v[0]) <= 64 {
			return v[0]
		}
		return ""
	}
	return p.Addr.String()
}

// ClientIP is ClientAddr without its port.
func ClientIP(ctx context.Context) string {
	a := ClientAddr(ctx)
	if host, _, err := net.SplitHostPort(a); err == nil {
		return host
	}
	return a
}

// inProcessAddr is the address bufconn gives its peers.
const inProcessAddr = "bufconn"

// RequestID is the request's id (the caller's X-Request-Id, or a new one).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// withRequestID takes the caller's request id, or makes one, stores it in
// the context and echoes it in the response headers.
func withRequestID(ctx context.Context) context.Context {
	if RequestID(ctx) != "" {
		return ctx
	}
	md, _ := metadata.FromIncomingContext(ctx)
	given := ""
	if v := md.Get(RequestIDKey); len(v) > 0 {
		given = v[0]
	}
	id := NewRequestID(given)
	_ = grpc.SetHeader(ctx, metadata.Pairs(RequestIDKey, id))
	return WithRequestID(ctx, id)
}

// NewRequestID returns given when it is a usable request id (short,
// printable), otherwise a new random one.
func NewRequestID(given string) string {
	if validRequestID(given) {
		return given
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// WithRequestID stores a request id (odh-server's HTTP front decides it
// before the service sees the request, so its refusals carry one too).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// validRequestID keeps ids short and printable, so a caller cannot write
// arbitrary text into the audit log or the server log.
func validRequestID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

func (s *Server) unaryRequestID(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	return h(withRequestID(ctx), req)
}

func (s *Server) streamRequestID(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	return h(srv, wrappedStream{ServerStream: ss, ctx: withRequestID(ss.Context())})
}
