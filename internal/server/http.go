package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/gen/openapi"
	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/service"
	"github.com/odh-training/odh-training/ui"
)

// Readier is implemented by engines that can say whether they can serve
// (for /readyz): e.g. the kubernetes engine checks the CRD and operator.
type Readier interface {
	Ready(ctx context.Context) error
}

func (s *Server) routes(gw *runtime.ServeMux) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.authorized(auth.Action{Verb: auth.VerbGet, Resource: auth.ResourceMetrics}, promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})))
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi.JSON)
	})
	mux.HandleFunc("GET /api/docs", s.apiDocs)
	mux.HandleFunc("GET /api/v1/namespaces/{namespace}/mpijobs/{name}/logs", func(w http.ResponseWriter, r *http.Request) {
		if wantsText(r) {
			s.textLogs(w, r)
			return
		}
		gw.ServeHTTP(w, r)
	})
	mux.Handle("GET /api/v1/watch/namespaces/{namespace}/mpijobs", s.restWatch(gw, "/api/v1/watch/namespaces/{namespace}/mpijobs", []string{"namespace"}))
	mux.Handle("GET /api/v1/watch/mpijobs", s.restWatch(gw, "/api/v1/watch/mpijobs", nil))
	api := http.MaxBytesHandler(gw, MaxRequestBytes)
	mux.Handle("/api/", api)
	mux.Handle("POST /api/v1/namespaces/{namespace}/mpijobs", http.MaxBytesHandler(jobAsManifest(gw), MaxRequestBytes))
	mux.Handle("/", s.dashboard())
	return securityHeaders(mux)
}

// jobAsManifest sends a REST body's structured "job" to the service as a
// "manifest", so it is decoded by the job parser rather than by protojson:
// unknown fields and wrong types then get the same field errors, with paths
// and suggestions, as files do — one validation path for every client.
func jobAsManifest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			writeError(w, &job.Error{Kind: job.KindBadRequest, Message: fmt.Sprintf("cannot read the request body: %v", err)})
			return
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(body, &fields) == nil {
			if raw, ok := fields["job"]; ok && len(fields["manifest"]) == 0 && string(raw) != "null" {
				delete(fields, "job")
				manifest, _ := json.Marshal(string(raw))
				fields["manifest"] = manifest
				body, _ = json.Marshal(fields)
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// readyz answers probes with "ok" or "not ready" only; why it is not
// ready (which names the cluster's API server, the operator's namespace)
// is for authenticated callers: /readyz?verbose with a token.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	var reason error
	if rd, ok := s.eng.(Readier); ok {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		reason = rd.Ready(ctx)
	}
	verbose := r.URL.Query().Has("verbose")
	if verbose {
		if _, err := s.caller(r); err != nil {
			writeError(w, err)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if reason != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		if verbose {
			_, _ = fmt.Fprintf(w, "not ready: %v\n", reason)
			return
		}
		_, _ = io.WriteString(w, "not ready (details: /readyz?verbose with a token)\n")
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}

// caller authenticates an HTTP request's bearer token.
func (s *Server) caller(r *http.Request) (auth.User, error) {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	ctx, err := auth.Authenticate(incomingToken(r.Context(), strings.TrimSpace(tok)), s.authn)
	if err != nil {
		return auth.User{}, err
	}
	u, _ := auth.UserFrom(ctx)
	return u, nil
}

// authorized serves next to callers the authorizer allows a (with no
// authorizer, every authenticated caller: the single local token's).
func (s *Server) authorized(a auth.Action, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := s.caller(r)
		if err == nil && s.authz != nil {
			err = s.authz.Authorize(r.Context(), u, a)
		}
		if err != nil {
			s.front.refused(r.Context(), service.AuditRecord{Method: r.Method + " " + r.URL.Path, Verb: a.Verb, Resource: a.Resource}, err)
			writeError(w, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// writeError writes the REST error body for err.
func writeError(w http.ResponseWriter, err error) {
	code, body := apiconv.Body(err)
	if body.Reason == job.KindUnauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="odh-training"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

func (s *Server) restError(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, _ *http.Request, err error) {
	st, _ := status.FromError(err)
	e := apiconv.FromStatus(st)
	if !apiconv.FromOurService(st) {
		// The gateway itself failed: it could not decode the body or the
		// parameters, or the body was too large.
		switch {
		case strings.Contains(st.Message(), "request body too large"):
			e = &job.Error{Kind: job.KindBadRequest, Message: fmt.Sprintf("the request body is larger than %d bytes", MaxRequestBytes)}
		case st.Code() == codes.InvalidArgument:
			e = &job.Error{Kind: job.KindBadRequest, Message: "the request body or parameters are not valid for this API: " + strings.TrimPrefix(st.Message(), "proto: "), Hint: "See the API reference at /api/docs"}
		}
	}
	writeError(w, e)
}

func (s *Server) routingError(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	switch httpStatus {
	case http.StatusMethodNotAllowed:
		writeError(w, &job.Error{Kind: job.KindBadRequest, Message: fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path), Hint: "See the API reference at /api/docs"})
	default:
		writeError(w, &job.Error{Kind: job.KindNotFound, Message: fmt.Sprintf("no API endpoint at %s %s", r.Method, r.URL.Path), Hint: "See the API reference at /api/docs"})
	}
}

func wantsText(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "text/plain") && !strings.Contains(accept, "application/json")
}

// textLogs serves logs as plain text (curl -H 'Accept: text/plain'), with
// the same query parameters as the JSON endpoint plus timestamps=true.
func (s *Server) textLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := &trainingv1.GetLogsRequest{Namespace: r.PathValue("namespace"), Name: r.PathValue("name")}
	var bad error
	optInt := func(name string) *int32 {
		v := q.Get(name)
		if v == "" {
			return nil
		}
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			bad = job.BadRequest(name, v, fmt.Sprintf("%s must be a whole number, got %q", name, v))
			return nil
		}
		i := int32(n)
		return &i
	}
	req.Worker = optInt("worker")
	req.TailLines = optInt("tailLines")
	req.SinceSeconds = optInt("sinceSeconds")
	req.All, _ = strconv.ParseBool(q.Get("all"))
	req.Follow, _ = strconv.ParseBool(q.Get("follow"))
	req.Previous, _ = strconv.ParseBool(q.Get("previous"))
	stamps, _ := strconv.ParseBool(q.Get("timestamps"))
	if bad != nil {
		writeError(w, bad)
		return
	}
	ctx := r.Context()
	if a := r.Header.Get("Authorization"); a != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", a)
	}
	stream, err := s.client.GetLogs(ctx, req)
	if err != nil {
		writeError(w, err)
		return
	}
	first, err := stream.Recv()
	if err != nil && err != io.EOF {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	flusher, _ := w.(http.Flusher)
	for line := first; line != nil; {
		// Heartbeats are skipped: plain text has no way to say "nothing new".
		if !line.GetHeartbeat() {
			var prefix string
			if stamps {
				prefix = line.GetTime().AsTime().Format(time.RFC3339Nano) + " "
			}
			if req.All {
				prefix += "[" + line.GetSource() + "] "
			}
			if _, werr := io.WriteString(w, prefix+line.GetText()+"\n"); werr != nil {
				return
			}
			if flusher != nil && req.Follow {
				flusher.Flush()
			}
		}
		line, err = stream.Recv()
		if err != nil {
			if err != io.EOF {
				_, _ = fmt.Fprintf(w, "error: %v\n", apiconv.Classify(err).Message)
			}
			return
		}
	}
}

// dashboard serves the embedded UI with SPA routing, or a placeholder page
// when the UI was not built.
func (s *Server) dashboard() http.Handler {
	assets, built := ui.Assets()
	if !built {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, placeholderPage)
		})
	}
	files := http.FileServerFS(assets)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if p == "" {
			p = "index.html"
		}
		if _, err := fs.Stat(assets, p); err != nil {
			// Client-side route: serve the app shell.
			r = r.Clone(r.Context())
			r.URL.Path = "/"
		}
		if strings.HasPrefix(p, "assets/") {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}

const placeholderPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>odh-training</title></head>
<body>
<main>
<h1>odh-training</h1>
<p>The dashboard was not built into this binary. Build it with <code>make ui build</code> (needs Node.js), or use the CLI (<code>odh training list mpijob</code>) and the <a href="/api/docs">API reference</a>.</p>
</main>
</body></html>
`
