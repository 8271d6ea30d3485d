package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/service"
)

// REST watches are served here rather than by the gateway: the gateway
// would carry every event through the in-memory gRPC connection, decode it
// and encode it again as JSON once per watcher. Here the service's
// WatchJobs runs behind the same interceptors (authentication, rate
// limits, audit, error translation, metrics) on a stream that writes each
// event's shared JSON (service.WireEvent) straight to the response, so a
// change costs one JSON encoding for all watchers. The documents, the
// NDJSON framing and the errors are the gateway's (a test holds them
// equal).

const watchMethod = "/odh.training.v1.TrainingService/WatchJobs"

func (s *Server) restWatch(gw *runtime.ServeMux, pattern string, pathParams []string) http.Handler {
	var seqs [][]string
	for _, p := range pathParams {
		seqs = append(seqs, []string{p})
	}
	filter := utilities.NewDoubleArray(seqs)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		req := &trainingv1.WatchJobsRequest{Namespace: r.PathValue("namespace")}
		if err := r.ParseForm(); err != nil {
			s.restError(ctx, gw, nil, w, r, status.Error(codes.InvalidArgument, err.Error()))
			return
		}
		if err := runtime.PopulateQueryParameters(req, r.Form, filter); err != nil {
			s.restError(ctx, gw, nil, w, r, status.Error(codes.InvalidArgument, err.Error()))
			return
		}
		ctx, err := runtime.AnnotateIncomingContext(ctx, gw, r, watchMethod, runtime.WithHTTPPathPattern(pattern))
		if err != nil {
			s.restError(ctx, gw, nil, w, r, err)
			return
		}
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			ctx = peer.NewContext(ctx, &peer.Peer{Addr: net.TCPAddrFromAddrPort(ap)})
		}
		st := &restStream{w: w, rc: http.NewResponseController(w), req: req, marshal: s.rest.Marshal}
		st.ctx = grpc.NewContextWithServerTransportStream(ctx, restTransport{st})
		err = s.core.ServeStream("WatchJobs", st)
		st.mu.Lock()
		defer st.mu.Unlock()
		if err == nil || st.broken {
			return
		}
		if !st.headerSent {
			// Failed before the watch was established (authentication,
			// authorization, bad parameters): a plain REST error.
			s.restError(ctx, gw, nil, w, r, err)
			return
		}
		st.writeErrorChunk(status.Convert(err))
	})
}

// restStream is a grpc.ServerStream (and the call's ServerTransportStream)
// that writes NDJSON to an HTTP response.
type restStream struct {
	ctx context.Context
	w   http.ResponseWriter
	rc  *http.ResponseController
	req proto.Message
	// marshal is the gateway's marshaler, for what is not a WireEvent.
	marshal func(any) ([]byte, error)

	mu         sync.Mutex
	received   bool
	header     metadata.MD
	headerSent bool // the watch is established (SendHeader)
	wrote      bool // HTTP headers and at least one chunk written
	broken     bool // the client is gone
}

// restTransport is the stream as the call's grpc.ServerTransportStream
// (grpc.SetHeader in interceptors), whose SetTrailer returns an error.
type restTransport struct{ *restStream }

func (restTransport) Method() string               { return watchMethod }
func (restTransport) SetTrailer(metadata.MD) error { return nil }

var (
	_ grpc.ServerStream          = (*restStream)(nil)
	_ grpc.ServerTransportStream = restTransport{}
)

func (s *restStream) Context() context.Context { return s.ctx }

func (s *restStream) SetHeader(md metadata.MD) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.headerSent {
		return errors.New("headers already sent")
	}
	s.header = metadata.Join(s.header, md)
	return nil
}

func (s *restStream) SendHeader(md metadata.MD) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sendHeaderLocked(md)
}

func (s *restStream) sendHeaderLocked(md metadata.MD) error {
	if s.headerSent {
		return errors.New("headers already sent")
	}
	s.header = metadata.Join(s.header, md)
	s.headerSent = true
	// As the gateway: response headers from the call's metadata (the
	// request id); they go out with the first chunk.
	for k, vs := range s.header {
		if k == service.RequestIDKey {
			for _, v := range vs {
				s.w.Header().Add("X-Request-Id", v)
			}
		}
	}
	s.w.Header().Set("Transfer-Encoding", "chunked")
	return nil
}

func (s *restStream) SetTrailer(metadata.MD) {}

// RecvMsg hands the request to the handler once.
func (s *restStream) RecvMsg(m any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.received {
		return io.EOF
	}
	s.received = true
	proto.Merge(m.(proto.Message), s.req)
	return nil
}

// SendMsg writes one event and flushes it.
func (s *restStream) SendMsg(m any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken {
		return s.ctx.Err()
	}
	if !s.headerSent {
		if err := s.sendHeaderLocked(nil); err != nil {
			return err
		}
	}
	if !s.wrote {
		s.w.Header().Set("Content-Type", "application/json")
		s.wrote = true
	}
	var err error
	if ev, ok := m.(*service.WireEvent); ok {
		err = ev.WriteJSON(s.w)
	} else {
		var buf []byte
		if buf, err = s.marshal(map[string]any{"result": m}); err == nil {
			_, err = s.w.Write(buf)
		}
	}
	if err == nil {
		_, err = s.w.Write(newline)
	}
	if err == nil {
		err = s.rc.Flush()
	}
	if err != nil {
		s.broken = true
	}
	return err
}

var newline = []byte("\n")

// writeErrorChunk ends the stream with {"error": status} as the gateway
// does (s.mu held).
func (s *restStream) writeErrorChunk(st *status.Status) {
	if !s.wrote {
		s.w.Header().Set("Content-Type", "application/json")
		s.w.WriteHeader(runtime.HTTPStatusFromCode(st.Code()))
	}
	buf, err := s.marshal(map[string]proto.Message{"error": st.Proto()})
	if err != nil {
		return
	}
	_, _ = s.w.Write(buf)
	_, _ = s.w.Write(newline)
}
