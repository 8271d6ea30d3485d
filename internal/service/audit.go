package service

import (
	"context"
	"encoding/json"
	"io"
	"path"
	"sync"
	"time"

	"google.golang.org/grpc"
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

	"CreateNotificationSubscription": {"create", "notificationsubscriptions"},
	"DeleteNotificationSubscription": {"delete", "notificationsubscriptions"},
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

	"ListNotificationSubscriptions": {"list", "notificationsubscriptions"},
	"GetNotificationHistory":        {"get", "notificationsubscriptions/history"},
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
	case *trainingv1.CreateNotificationSubscriptionRequest:
		ns, name = r.GetNamespace(), r.GetSubscription().GetName()
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

// refusals are the error kinds recorded for every method: the call was
// turned away (not authenticated, not allowed, over a rate limit, or
// invalid), which is what an operator investigating abuse looks for.
var refusals = map[job.ErrorKind]bool{
	job.KindUnauthenticated: true,
	job.KindForbidden:       true,
	job.KindTooManyRequests: true,
	job.KindInvalid:         true,
	job.KindBadRequest:      true,
}

// alwaysAudited are the reads recorded even when they succeed: who read a
// job's logs (they may hold data) is worth knowing.
var alwaysAudited = map[string]bool{"GetLogs": true}

func kindOf(err error) *job.Error {
	if st, ok := status.FromError(err); ok && !isJobError(err) {
		return apiconv.FromStatus(st)
	}
	return apiconv.Classify(err)
}

// record builds the audit record of a call that ran (or was refused) with
// err.
func (s *Server) record(ctx context.Context, method string, req any, start time.Time, err error) *AuditRecord {
	what, ok := audited[method]
	if !ok {
		what = reads[method]
	}
	rec := &AuditRecord{Time: start.UTC(), RequestID: RequestID(ctx), Verb: what.verb, Method: method, Resource: what.resource, Remote: ClientAddr(ctx), Result: "OK"}
	rec.Namespace, rec.Name, rec.DryRun = target(req)
	if u, ok := auth.UserFrom(ctx); ok {
		rec.User, rec.Groups = u.Name, u.Groups
	}
	if err != nil {
		e := kindOf(err)
		rec.Result, rec.Reason, rec.Message = "Error", string(e.Kind), e.Message
		switch e.Kind {
		case job.KindForbidden, job.KindUnauthenticated, job.KindTooManyRequests:
			rec.Result = "Denied"
		}
	}
	if !start.IsZero() {
		rec.LatencyMS = float64(time.Since(start).Microseconds()) / 1000
	}
	return rec
}

// shouldAudit says whether a call that ended with err is recorded:
// mutations and log reads always, anything else when it was refused.
func shouldAudit(method string, err error) bool {
	if _, ok := audited[method]; ok || alwaysAudited[method] {
		return true
	}
	return err != nil && refusals[kindOf(err).Kind]
}

// unaryAudit records mutating calls and refusals. It runs inside
// authentication, so the caller is known; failed authentications are
// recorded by the authentication interceptor.
func (s *Server) unaryAudit(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	method := path.Base(info.FullMethod)
	start := time.Now()
	resp, err := h(ctx, req)
	if !shouldAudit(method, err) {
		return resp, err
	}
	rec := s.record(ctx, method, req, start, err)
	if c, ok := resp.(*trainingv1.CreateJobResponse); ok && c.GetJob() != nil {
		rec.Name = c.GetJob().GetMetadata().GetName()
		rec.Namespace = c.GetJob().GetMetadata().GetNamespace()
	}
	s.audit.write(rec)
	return resp, err
}

// streamAudit records log reads and refused streams.
func (s *Server) streamAudit(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	as := &auditStream{ServerStream: ss}
	method := path.Base(info.FullMethod)
	start := time.Now()
	err := h(srv, as)
	reported := err
	if err != nil && ss.Context().Err() != nil && !isJobError(err) {
		reported = nil // the client went away
	}
	if shouldAudit(method, reported) {
		s.audit.write(s.record(ss.Context(), method, as.req, start, reported))
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

// auditRefused records a call turned away before it ran (authentication,
// rate limits).
func (s *Server) auditRefused(ctx context.Context, fullMethod string, req any, err error) {
	method := path.Base(fullMethod)
	if _, known := audited[method]; !known {
		if _, known := reads[method]; !known {
			return
		}
	}
	s.audit.write(s.record(ctx, method, req, time.Time{}, err))
}

// AuditRefusal records a request odh-server's HTTP front turned away before
// it reached the service (per-client rate limit, a bad token before the
// body was read). rec says what was asked as far as the front knows it:
// Method ("GET /api/v1/...", or the gRPC method) and, for REST, the verb,
// namespace and name its path names.
func (s *Server) AuditRefusal(ctx context.Context, rec AuditRecord, err error) {
	e := apiconv.Classify(err)
	rec.Time, rec.RequestID, rec.Result, rec.Reason, rec.Message, rec.Remote = time.Now().UTC(), RequestID(ctx), "Denied", string(e.Kind), e.Message, ClientAddr(ctx)
	if u, ok := auth.UserFrom(ctx); ok {
		rec.User, rec.Groups = u.Name, u.Groups
	}
	s.audit.write(&rec)
}
