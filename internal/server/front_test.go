package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/metadata"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/job"
	"github.com/odh-training/odh-training/internal/server"
	"github.com/odh-training/odh-training/internal/service"
)

// countingAuth counts the tokens it is asked about (a TokenReview each, on
// a cluster).
type countingAuth struct {
	auth.Authenticator
	calls atomic.Int64
}

func (c *countingAuth) Authenticate(ctx context.Context, tok string) (auth.User, error) {
	c.calls.Add(1)
	return c.Authenticator.Authenticate(ctx, tok)
}

func restGet(t *testing.T, url, tok string, header ...string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(b), resp.Header
}

// TestClientRateLimitBeforeAuthentication: a client address over its limit
// is refused before its token is looked at, so a flood costs no token
// reviews; the refusal says so and is audited.
func TestClientRateLimitBeforeAuthentication(t *testing.T) {
	audit := &syncBuf{}
	var ca *countingAuth
	s := startServer(t, func(o *server.Options) {
		ca = &countingAuth{Authenticator: o.Auth}
		o.Auth, o.Audit = ca, audit
		o.ClientRateLimit, o.ClientRateBurst = 1, 5
	})
	limited := 0
	for i := range 30 {
		code, body, h := restGet(t, s.url+"/api/v1/mpijobs", fmt.Sprintf("random-%d", i))
		if code == http.StatusTooManyRequests {
			limited++
			if !strings.Contains(body, "too many requests from 127.0.0.1") || h.Get("Retry-After") == "" || h.Get("X-Request-Id") == "" {
				t.Errorf("429 without a clear message, Retry-After and request id: %s %v", body, h)
			}
		}
	}
	if limited < 20 {
		t.Errorf("%d of 30 requests over a burst of 5 were limited", limited)
	}
	if n := ca.calls.Load(); n > 10 {
		t.Errorf("%d tokens checked for 30 requests of which %d were limited before authentication", n, limited)
	}
	if !strings.Contains(audit.String(), `"reason":"TooManyRequests"`) {
		t.Errorf("rate-limit refusals not audited:\n%s", audit.String())
	}
	// Probes are never limited.
	if code, _, _ := restGet(t, s.url+"/healthz", ""); code != http.StatusOK {
		t.Errorf("/healthz while limited: %d", code)
	}
}

// TestFailedAuthenticationsSlowDownAClient: a client that keeps sending
// invalid tokens is refused before its tokens are checked, over REST and
// gRPC; a valid caller from elsewhere is unaffected (the limit is per
// client address — here every client is 127.0.0.1, so the test only shows
// the bad client's refusals and the bounded number of checks).
func TestFailedAuthenticationsSlowDownAClient(t *testing.T) {
	var ca *countingAuth
	s := startServer(t, func(o *server.Options) {
		ca = &countingAuth{Authenticator: o.Auth}
		o.Auth = ca
		o.AuthFailureRate, o.AuthFailureBurst = 0.001, 3
	})
	for i := range 10 {
		_, _ = s.rpc.ListJobs(metadata.AppendToOutgoingContext(t.Context(), "authorization", fmt.Sprintf("Bearer bad-%d", i)), &trainingv1.ListJobsRequest{})
	}
	_, err := s.rpc.ListJobs(metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer bad-x"), &trainingv1.ListJobsRequest{})
	if e := apiconv.Classify(err); e.Kind != job.KindTooManyRequests || !strings.Contains(e.Message, "too many failed authentications") {
		t.Errorf("after 10 bad tokens: %v", err)
	}
	if n := ca.calls.Load(); n > 4 {
		t.Errorf("%d bad tokens checked; the limit allows 3", n)
	}
}

// TestClientAddressFromTransportOnly: the audit log's client address is the
// connection's; X-Forwarded-For and the gateway's internal metadata key are
// ignored unless the connection comes from a configured trusted proxy.
func TestClientAddressFromTransportOnly(t *testing.T) {
	for _, c := range []struct {
		name          string
		trusted       []netip.Prefix
		rest, grpcVia string
	}{
		{"untrusted", nil, "127.0.0.1", "127.0.0.1"},
		// From a trusted proxy: the right-most hop it reports, for REST and
		// gRPC alike — never the gateway's internal metadata key.
		{"trusted proxy", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, "203.0.113.9", "192.0.2.78"},
	} {
		t.Run(c.name, func(t *testing.T) {
			audit := &syncBuf{}
			s := startServer(t, func(o *server.Options) { o.Audit, o.TrustedProxies = audit, c.trusted })
			code, _, _ := restGet(t, s.url+"/api/v1/mpijobs", "", "X-Forwarded-For", "198.51.100.1, 203.0.113.9", "Grpc-Metadata-"+service.ClientAddrKey, "192.0.2.66")
			if code != http.StatusUnauthorized {
				t.Fatalf("no token: %d", code)
			}
			_, _ = s.rpc.ListJobs(metadata.AppendToOutgoingContext(t.Context(), service.ClientAddrKey, "192.0.2.77", "x-forwarded-for", "192.0.2.78"), &trainingv1.ListJobsRequest{})
			lines := strings.Split(strings.TrimSpace(audit.String()), "\n")
			if len(lines) != 2 {
				t.Fatalf("want 2 audited refusals, got:\n%s", audit.String())
			}
			for i, line := range lines {
				var r service.AuditRecord
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Fatal(err)
				}
				want := c.rest
				if i == 1 {
					want = c.grpcVia
				}
				if host := strings.Split(r.Remote, ":")[0]; host != want {
					t.Errorf("record %d: remote %q, want %s", i, r.Remote, want)
				}
			}
		})
	}
}

// TestAuthenticatorFailureRevealsNothing: what a client sees of a failing
// authenticator is a refusal, not the failure's text.
func TestAuthenticatorFailureRevealsNothing(t *testing.T) {
	s := startServer(t, func(o *server.Options) {
		o.Auth = failingAuth{}
	})
	code, body, h := restGet(t, s.url+"/api/v1/mpijobs", "anything")
	if code != http.StatusUnauthorized || strings.Contains(body, "/secret/path") || h.Get("X-Request-Id") == "" {
		t.Errorf("failing authenticator: %d %s (X-Request-Id %q)", code, body, h.Get("X-Request-Id"))
	}
}

type failingAuth struct{}

func (failingAuth) Authenticate(context.Context, string) (auth.User, error) {
	return auth.User{}, fmt.Errorf("open /secret/path/key: permission denied")
}
