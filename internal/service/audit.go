package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"path"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/job"
)

// AuditRecord is one line of the audit log: who did what to which job, and
// how it ended. Tokens and request bodies are never recorded.
type AuditRecord struct {
	Time      time.Time `json:"time"`
	RequestID string    `json:"requestId"`
	User      string    `json:"user"`
	Groups    []string  `json:"groups,omitempty"`
	Verb      string    `json:"verb"`
	Method    string    `json:"method"`
	Resource  string    `json:"resource"`
	Namespace string    `json:"namespace,omitempty"`
	Name      string    `json:"name,omitempty"`
	DryRun    bool      `json:"dryRun,omitempty"`
	Result    string    `json:"result"`
	Reason    string    `json:"reason,omitempty"`
	Message   string    `json:"message,omitempty"`
	LatencyMS float64   `json:"latencyMs"`
	Remote    string    `json:"remote,omitempty"`
}

// Auditor writes audit records as JSON lines to a sink.
type Auditor struct {
	mu sync.Mutex
	w  io.Writer
}

// NewAuditor writes to w; a nil w disables auditing.
func NewAuditor(w io.Writer) *Auditor { return &Auditor{w: w} }

func (a *Auditor) write(r *AuditRecord) {
	if a == nil || a.w == nil {
		return
	}
	data, err := json.Marshal(r)
	if err != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	_, _ = a.w.Write(append(data, '\n'))
}

// audited lists the mutating methods and what they do.
var audited = map[string]struct{ verb, resource string }{
	"CreateJob":      {"create", "mpijobs"},
	"DeleteJob":      {"delete", "mpijobs"},
	"SuspendJob":     {"suspend", "mpijobs"},
	"ResumeJob":      {"resume", "mpijobs"},
	"CreateTemplate": {"create", "templates"},
	"DeleteTemplate": {"delete", "templates"},
}

// reads lists the other methods; their calls are audited only when they
// are denied.
var reads = map[string]struct{ verb, resource string }{
	"GetJob":        {"get", "mpijobs"},
	"ListJobs":      {"list", "mpijobs"},
	"WatchJobs":     {"watch", "mpijobs"},
	"GetLogs":       {"get", "mpijobs/log"},
	"ListEvents":    {"get", "events"},
	"GetCapacity":   {"get", "capacity"},
	"GetJobMetrics": {"get", "mpijobs/metrics"},
	"ListTemplates": {"list", "templates"},
	"GetTemplate":   {"get", "templates"},
	"CanI":          {"get", "accessreviews"},
}

// target extracts namespace, name and dry-run from a request.
func target(req any) (ns, name string, dryRun bool) {
	switch r := req.(type) {
	case *trainingv1.CreateJobRequest:
		ns, dryRun = r.GetNamespace(), r.GetDryRun()
		if m := r.GetJob().GetMetadata(); m != nil {
			name = m.GetName()
			if name == "" {
				name = m.GetGenerateName() + "*"
			}
			if ns == "" {
				ns = m.GetNamespace()
			}
		}
	case *trainingv1.DeleteJobRequest:
		ns, name, dryRun = r.GetNamespace(), r.GetName(), r.GetDryRun()
	case *trainingv1.SuspendJobRequest:
		ns, name = r.GetNamespace(), r.GetName()
	case *trainingv1.ResumeJobRequest:
		ns, name = r.GetNamespace(), r.GetName()
	case *trainingv1.CreateTemplateRequest:
		ns, name = r.GetNamespace(), r.GetTemplate().GetName()
	case *trainingv1.DeleteTemplateRequest:
		ns, name = r.GetNamespace(), r.GetName()
	case interface {
		GetNamespace() string
		GetName() string
	}:
		ns, name = r.GetNamespace(), r.GetName()
	case interface{ GetNamespace() string }:
		ns = r.GetNamespace()
	}
	return ns, name, dryRun
}

// RequestIDKey is the metadata key (and, over REST, the X-Request-Id header)
// that carries a request's id.
const RequestIDKey = "x-request-id"

// requestID returns the caller's request id, or a new one, and echoes it in
// the response headers.
func requestID(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	id := ""
	if v := md.Get(RequestIDKey); len(v) > 0 && len(v[0]) <= 128 {
		id = v[0]
	}
	if id == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		id = hex.EncodeToString(b)
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs(RequestIDKey, id))
	return id
}

func remote(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("x-forwarded-for"); len(v) > 0 {
		return v[0]
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil && p.Addr.String() != "bufconn" {
		return p.Addr.String()
	}
	return ""
}

// unaryAudit records mutating calls. It runs inside authentication, so the
// caller is known; failed authentications are recorded by authenticate.
func (s *Server) unaryAudit(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	id := requestID(ctx)
	method := path.Base(info.FullMethod)
	what, ok := audited[method]
	if !ok {
		resp, err := h(ctx, req)
		if job.IsKind(err, job.KindForbidden) {
			s.auditDenied(ctx, info.FullMethod, req, string(job.KindForbidden), apiconv.Classify(err).Message)
		}
		return resp, err
	}
	start := time.Now()
	resp, err := h(ctx, req)
	rec := &AuditRecord{Time: start.UTC(), RequestID: id, Verb: what.verb, Method: method, Resource: what.resource, Remote: remote(ctx)}
	rec.Namespace, rec.Name, rec.DryRun = target(req)
	if u, ok := auth.UserFrom(ctx); ok {
		rec.User, rec.Groups = u.Name, u.Groups
	}
	if c, ok := resp.(*trainingv1.CreateJobResponse); ok && c.GetJob() != nil {
		rec.Name = c.GetJob().GetMetadata().GetName()
		rec.Namespace = c.GetJob().GetMetadata().GetNamespace()
	}
	rec.Result = "OK"
	if err != nil {
		e := apiconv.Classify(err)
		if st, ok := status.FromError(err); ok {
			e = apiconv.FromStatus(st)
		}
		rec.Result, rec.Reason, rec.Message = "Error", string(e.Kind), e.Message
		if e.Kind == job.KindForbidden {
			rec.Result = "Denied"
		}
	}
	rec.LatencyMS = float64(time.Since(start).Microseconds()) / 1000
	s.audit.write(rec)
	return resp, err
}

// streamAudit records denied watches and log streams.
func (s *Server) streamAudit(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	as := &auditStream{ServerStream: ss}
	err := h(srv, as)
	if job.IsKind(err, job.KindForbidden) {
		s.auditDenied(ss.Context(), info.FullMethod, as.req, string(job.KindForbidden), apiconv.Classify(err).Message)
	}
	return err
}

// auditStream remembers the request of a server stream for the audit log.
type auditStream struct {
	grpc.ServerStream
	req any
}

func (a *auditStream) RecvMsg(m any) error {
	err := a.ServerStream.RecvMsg(m)
	if err == nil && a.req == nil {
		a.req = m
	}
	return err
}

// auditDenied records a call rejected before it ran: every rejected
// mutation, and reads denied for lack of access.
func (s *Server) auditDenied(ctx context.Context, fullMethod string, req any, reason, msg string) {
	method := path.Base(fullMethod)
	what, ok := audited[method]
	if !ok {
		if what, ok = reads[method]; !ok || (reason != string(job.KindForbidden) && reason != string(job.KindUnauthenticated)) {
			return
		}
	}
	rec := &AuditRecord{Time: time.Now().UTC(), RequestID: requestID(ctx), Verb: what.verb, Method: method, Resource: what.resource, Result: "Denied", Reason: reason, Message: msg, Remote: remote(ctx)}
	rec.Namespace, rec.Name, rec.DryRun = target(req)
	if u, ok := auth.UserFrom(ctx); ok {
		rec.User, rec.Groups = u.Name, u.Groups
	}
	s.audit.write(rec)
}
