package server

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/ratelimit"
	"github.com/odh-training/odh-training/internal/service"
)

// front is what every request meets before the service sees it, and before
// any request body is read: its client address is taken from the
// connection (or, from a trusted proxy only, X-Forwarded-For); each client
// address has a rate limit; and an API call's bearer token is checked, so
// that a caller without a valid token costs a cached lookup or one bounded
// TokenReview — never a buffered body — and a client address sending bad
// tokens is slowed down before it can make the server ask the cluster
// about each one.
type front struct {
	trusted  []netip.Prefix
	perIP    *ratelimit.Limiter
	failures *ratelimit.Limiter
	authn    auth.Authenticator
	refused  func(ctx context.Context, rec service.AuditRecord, err error)
}

// Default limits on failed authentications per client address: a client
// that keeps sending bad tokens is refused before its tokens are checked.
const (
	DefaultAuthFailureRate  = 10
	DefaultAuthFailureBurst = 50
)

func (f *front) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := f.clientAddr(r)
		// One request id from here on: the front's refusals, the service's
		// audit records and the answer's X-Request-Id header agree.
		id := service.NewRequestID(r.Header.Get("X-Request-Id"))
		r.Header.Set("X-Request-Id", id)
		r = r.WithContext(service.WithRequestID(service.WithClientAddr(r.Context(), addr), id))
		// Only this code says who the client is.
		r.Header.Del("X-Odh-Client-Addr")
		r.Header.Del("Grpc-Metadata-" + service.ClientAddrKey)
		if probe(r) {
			next.ServeHTTP(w, r)
			return
		}
		ip := hostOf(addr)
		if ok, wait := f.perIP.Allow(ip); !ok {
			f.refuse(w, r, &job.Error{Kind: job.KindTooManyRequests,
				Message: fmt.Sprintf("too many requests from %s: slow down and retry in %s", ip, wait.Round(time.Millisecond)),
				Hint:    "The server limits requests per client address (odh-server --client-rate-limit)."})
			return
		}
		if needsToken(r) {
			if err := f.preauthenticate(r.Context(), r, ip); err != nil {
				f.refuse(w, r, err)
				return
			}
		}
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			// Watches and followed logs are long GETs: the server's read
			// timeout is for request bodies, which these have none of.
			_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
		}
		next.ServeHTTP(w, r)
	})
}

// preauthenticate checks the bearer token of an API call before its body
// is read. The service checks it again (from the authenticator's cache).
func (f *front) preauthenticate(ctx context.Context, r *http.Request, ip string) error {
	if _, anon := f.authn.(auth.Anonymous); anon || f.authn == nil {
		return nil
	}
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if tok == "" {
		tok, _ = strings.CutPrefix(r.Header.Get("Authorization"), "bearer ")
	}
	tok = strings.TrimSpace(tok)
	if ok, wait := f.failures.Peek(ip); !ok {
		return &job.Error{Kind: job.KindTooManyRequests,
			Message: fmt.Sprintf("too many failed authentications from %s: retry in %s", ip, wait.Round(time.Millisecond)),
			Hint:    "Check the token you send (odh auth login); the server slows down clients that keep sending invalid ones."}
	}
	md := incomingToken(ctx, tok)
	_, err := auth.Authenticate(md, f.authn)
	if err != nil && job.IsKind(err, job.KindUnauthenticated) {
		f.failures.Allow(ip)
	}
	return err
}

// probe reports requests that are never limited: liveness and the bare
// readiness answer.
func probe(r *http.Request) bool {
	return r.URL.Path == "/healthz" || (r.URL.Path == "/readyz" && r.URL.RawQuery == "")
}

// needsToken reports API calls (REST and gRPC) that need a token, and
// /metrics: everything but the public version call, the API document and
// reference, and the dashboard's files.
func needsToken(r *http.Request) bool {
	if isGRPC(r) {
		return r.URL.Path != "/odh.training.v1.TrainingService/GetVersion"
	}
	p := r.URL.Path
	switch {
	case p == "/metrics":
		return true
	case p == "/api/docs", p == "/api/v1/version":
		return false
	}
	return strings.HasPrefix(p, "/api/")
}

func isGRPC(r *http.Request) bool {
	return r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc")
}

// clientAddr is the connection's remote address, or — when that is a
// trusted proxy — the address the proxy reports: the right-most address
// of X-Forwarded-For that is not itself a trusted proxy.
func (f *front) clientAddr(r *http.Request) string {
	remote := r.RemoteAddr
	if len(f.trusted) == 0 || !f.isTrusted(hostOf(remote)) {
		return remote
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				hops = append(hops, h)
			}
		}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hostOf(hops[i]))
		if err != nil {
			return remote // a malformed chain: believe only the connection
		}
		if !f.isTrusted(a.String()) {
			return a.String()
		}
	}
	return remote
}

func (f *front) isTrusted(host string) bool {
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range f.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return strings.Trim(addr, "[]")
}

// refuse answers a request the front turned away, as the protocol expects
// (a gRPC status, or the REST error body), and audits it.
func (f *front) refuse(w http.ResponseWriter, r *http.Request, err error) {
	method := r.Method + " " + r.URL.Path
	if isGRPC(r) {
		method = r.URL.Path
	}
	if f.refused != nil {
		rec := service.AuditRecord{Method: method}
		if !isGRPC(r) {
			rec.Verb, rec.Namespace, rec.Name = restTarget(r.Method, r.URL.Path)
		}
		f.refused(r.Context(), rec, err)
	}
	w.Header().Set("X-Request-Id", service.RequestID(r.Context()))
	if isGRPC(r) {
		writeGRPCError(w, err)
		return
	}
	if e := apiconv.Classify(err); e.Kind == job.KindTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeError(w, err)
}

// writeGRPCError answers a gRPC call with a trailers-only response carrying
// the status (and its details, so clients rebuild the same error).
func writeGRPCError(w http.ResponseWriter, err error) {
	st := apiconv.ToStatus(err)
	h := w.Header()
	h.Set("Content-Type", "application/grpc")
	h.Set("Grpc-Status", fmt.Sprint(int32(st.Code())))
	h.Set("Grpc-Message", url.PathEscape(st.Message()))
	if b, merr := proto.Marshal(st.Proto()); merr == nil {
		h.Set("Grpc-Status-Details-Bin", base64.RawStdEncoding.EncodeToString(b))
	}
	w.WriteHeader(http.StatusOK)
}

// incomingToken puts a bearer token where auth.Authenticate looks for it.
func incomingToken(ctx context.Context, tok string) context.Context {
	if tok == "" {
		return ctx
	}
	return metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer "+tok))
}

// restTarget is what a REST call asks for, read from its method and path
// only (the front refuses before the body is read): the verb, namespace and
// name the audit log records.
func restTarget(method, path string) (verb, ns, name string) {
	rest, ok := strings.CutPrefix(path, "/api/v1/")
	if !ok {
		return "", "", ""
	}
	seg := strings.Split(strings.Trim(rest, "/"), "/")
	watch := seg[0] == "watch"
	if watch {
		seg = seg[1:]
	}
	var sub string
	if len(seg) >= 2 && seg[0] == "namespaces" {
		ns, seg = seg[1], seg[2:]
	}
	if len(seg) >= 2 {
		name = seg[1]
	}
	if len(seg) >= 3 {
		sub = seg[2]
	}
	switch {
	case watch:
		verb = auth.VerbWatch
	case method == http.MethodDelete:
		verb = auth.VerbDelete
	case method == http.MethodPost && name == "":
		verb = auth.VerbCreate
	case method == http.MethodPost:
		verb = sub // suspend, resume
	case method == http.MethodPut || method == http.MethodPatch:
		verb = auth.VerbUpdate
	case name == "":
		verb = auth.VerbList
	default:
		verb = auth.VerbGet
	}
	return verb, ns, name
}
