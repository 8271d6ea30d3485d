package service

import (
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
)

// DefaultHeartbeat is how often a quiet stream carries a heartbeat: well
// under the 30 s idle timeout of OpenShift's HAProxy routes.
const DefaultHeartbeat = 10 * time.Second

// Proxies between clients and the server (OpenShift routes, ingress
// controllers, corporate proxies) cut a response that sends nothing for a
// while, and HTTP/2 or TCP keep-alives do not count: they end at the
// proxy. So a watch or a log follow that has nothing to say sends a
// heartbeat message on the stream itself — a WatchEvent of type HEARTBEAT,
// a LogLine with heartbeat set — which the REST front writes as a blank
// line. Clients skip them.

// heartbeatFor returns the heartbeat message of a streaming method, nil
// for methods that get none.
func heartbeatFor(method string) any {
	switch method {
	case trainingv1.TrainingService_WatchJobs_FullMethodName:
		return &trainingv1.WatchEvent{Type: "HEARTBEAT"}
	case trainingv1.TrainingService_GetLogs_FullMethodName:
		return &trainingv1.LogLine{Heartbeat: true}
	}
	return nil
}

// IsHeartbeat reports whether a stream message is a heartbeat.
func IsHeartbeat(m any) bool {
	switch x := m.(type) {
	case *trainingv1.WatchEvent:
		return x.GetType() == "HEARTBEAT"
	case *trainingv1.LogLine:
		return x.GetHeartbeat()
	}
	return false
}

// heartbeatStream sends the heartbeat when the handler has sent nothing
// for the interval. It starts once the handler has opened the stream (sent
// headers or a message), so a refused call still ends with its error
// status, and stops before the handler returns.
type heartbeatStream struct {
	grpc.ServerStream
	mu      sync.Mutex
	last    time.Time
	started bool
	closed  bool
}

func (h *heartbeatStream) SendHeader(md metadata.MD) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	err := h.ServerStream.SendHeader(md)
	h.started, h.last = true, time.Now()
	return err
}

func (h *heartbeatStream) SendMsg(m any) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	err := h.ServerStream.SendMsg(m)
	h.started, h.last = true, time.Now()
	return err
}

// beat sends msg if the stream has been quiet for interval, and returns
// how long to wait before looking again.
func (h *heartbeatStream) beat(msg any, interval time.Duration) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return 0
	}
	if !h.started {
		return interval
	}
	if idle := time.Since(h.last); idle < interval {
		return interval - idle
	}
	_ = h.ServerStream.SendMsg(msg) // a failed send ends the handler's next one
	h.last = time.Now()
	return interval
}

func (s *Server) streamHeartbeat(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	msg := heartbeatFor(info.FullMethod)
	if msg == nil || s.heartbeat <= 0 {
		return h(srv, ss)
	}
	hs := &heartbeatStream{ServerStream: ss, last: time.Now()}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		wait := s.heartbeat
		for {
			t := time.NewTimer(wait)
			select {
			case <-done:
				t.Stop()
				return
			case <-ss.Context().Done():
				t.Stop()
				return
			case <-t.C:
			}
			if wait = hs.beat(msg, s.heartbeat); wait == 0 {
				return
			}
		}
	}()
	err := h(srv, hs)
	hs.mu.Lock()
	hs.closed = true
	hs.mu.Unlock()
	close(done)
	<-stopped
	return err
}
