// Package apiclient is the client the CLI (and tests) use to talk to the
// Training Service: over gRPC to a remote server, or in-process to a server
// built on a local kubeconfig (direct mode). Both return the domain model and
// classified *job.Error values, so the CLI behaves the same either way.
package apiclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	trainingv1 "github.com/odh-training/odh-training/gen/go/odh/training/v1"
	"github.com/odh-training/odh-training/internal/apiconv"
	"github.com/odh-training/odh-training/internal/job"
)

// Client calls the Training Service.
type Client struct {
	rpc     trainingv1.TrainingServiceClient
	conn    *grpc.ClientConn
	address string

	// reconnectTimeout and observe tune resuming streams (reconnect.go).
	reconnectTimeout time.Duration
	observe          func(StreamEvent)
}

// Options says where the server is and how to authenticate.
type Options struct {
	// Server is a URL: http://host:port (plaintext) or https://host:port.
	Server string
	Token  string
	// InsecureSkipVerify disables TLS certificate checks (https only).
	InsecureSkipVerify bool
	// CAFile is a PEM bundle to trust for https servers (e.g. the server's
	// self-signed certificate).
	CAFile string
}

// Dial connects to a remote server. It does not block: an unreachable
// server surfaces as an Unavailable error on the first call.
func Dial(opts Options) (*Client, error) {
	target, useTLS, err := ParseServer(opts.Server)
	if err != nil {
		return nil, err
	}
	creds := insecure.NewCredentials()
	if useTLS {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: opts.InsecureSkipVerify} //nolint:gosec // opt-in flag
		if opts.CAFile != "" {
			pem, err := os.ReadFile(opts.CAFile)
			if err != nil {
				return nil, &job.Error{Kind: job.KindBadRequest, Message: fmt.Sprintf("cannot read --certificate-authority %s: %v", opts.CAFile, err)}
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, &job.Error{Kind: job.KindBadRequest, Message: fmt.Sprintf("--certificate-authority %s holds no PEM certificate", opts.CAFile)}
			}
			cfg.RootCAs = pool
		}
		creds = credentials.NewTLS(cfg)
	}
	dialOpts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256 << 20)),
		// Reconnect within a second of a restarted server's return (gRPC's
		// default backoff grows to two minutes); streams pace themselves.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: 5 * time.Second,
		}),
		// Find a dead connection (a server host gone without a word)
		// while a stream is open, instead of waiting forever.
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
	}
	if opts.Token != "" {
		dialOpts = append(dialOpts, grpc.WithPerRPCCredentials(bearer{token: opts.Token, secure: useTLS}))
	}
	conn, err := grpc.NewClient("dns:///"+target, dialOpts...)
	if err != nil {
		return nil, &job.Error{Kind: job.KindBadRequest, Message: fmt.Sprintf("invalid server address %q: %v", opts.Server, err)}
	}
	return &Client{rpc: trainingv1.NewTrainingServiceClient(conn), conn: conn, address: opts.Server}, nil
}

// New wraps an existing API client (in-process servers, tests).
func New(rpc trainingv1.TrainingServiceClient, address string) *Client {
	return &Client{rpc: rpc, address: address}
}

// ParseServer turns a server URL into a gRPC target and whether it uses TLS.
func ParseServer(server string) (target string, useTLS bool, err error) {
	if server == "" {
		return "", false, &job.Error{Kind: job.KindBadRequest, Message: "no server address: set --server or ODH_SERVER, or log in with odh login"}
	}
	if !strings.Contains(server, "://") {
		server = "http://" + server
	}
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return "", false, &job.Error{Kind: job.KindBadRequest, Message: fmt.Sprintf("invalid server address %q: use a URL such as http://127.0.0.1:8080", server)}
	}
	host := u.Host
	switch u.Scheme {
	case "http":
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "80")
		}
	case "https":
		useTLS = true
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "443")
		}
	default:
		return "", false, &job.Error{Kind: job.KindBadRequest, Message: fmt.Sprintf("invalid server address %q: the scheme must be http or https", server)}
	}
	return host, useTLS, nil
}

type bearer struct {
	token  string
	secure bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

func (b bearer) RequireTransportSecurity() bool { return false }

// Close closes the connection.
func (c *Client) Close() error {
	if c.conn == nil {
		return nil
	}
	return c.conn.Close()
}

// Address is the server address, for messages.
func (c *Client) Address() string { return c.address }

// classify turns a call error into a *job.Error with advice for connection
// problems.
func (c *Client) classify(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if ok && st.Code() == codes.Unavailable && !apiconv.FromOurService(st) && strings.Contains(st.Message(), "certificate") {
		return &job.Error{
			Kind:    job.KindUnavailable,
			Message: fmt.Sprintf("cannot verify the TLS certificate of %s: %s", c.address, st.Message()),
			Hint:    "Trust the server's certificate with --certificate-authority FILE (odh-server prints its path), or, for a test server only, --insecure-skip-tls-verify.",
			Err:     err,
		}
	}
	if ok && st.Code() == codes.Unavailable && !apiconv.FromOurService(st) {
		return &job.Error{
			Kind:    job.KindUnavailable,
			Message: fmt.Sprintf("cannot reach the Training Service at %s: %s", c.address, unavailableReason(st.Message())),
			Hint:    "Start a local server with `make run` (or `odh-server --engine=local`), or point --server / ODH_SERVER at a running one.",
			Err:     err,
		}
	}
	return apiconv.Classify(err)
}

func unavailableReason(msg string) string {
	switch {
	case strings.Contains(msg, "connection refused"):
		return "connection refused (is the server running?)"
	case strings.Contains(msg, "no such host"):
		return "unknown host"
	case strings.Contains(msg, "deadline"), strings.Contains(msg, "timeout"):
		return "timed out"
	}
	return msg
}

// CreateRequest is what Create sends: a job or a manifest.
type CreateRequest struct {
	Namespace string
	Job       *job.MPIJob
	Manifest  []byte
	DryRun    bool
}

// Create creates (or with DryRun validates) a job and returns it with the
// server's warnings.
func (c *Client) Create(ctx context.Context, req CreateRequest) (*job.MPIJob, []string, error) {
	resp, err := c.create(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	return apiconv.FromProto(resp.GetJob()), resp.GetWarnings(), nil
}

// DryRunResult is what the server says of a job it would create.
type DryRunResult struct {
	Job      *job.MPIJob
	Warnings []string
	// UpstreamManifest is the kubeflow.org/v2beta1 MPIJob the job becomes
	// on a cluster, as YAML; empty when the server cannot render one (the
	// local engine, for a job without an image).
	UpstreamManifest []byte
}

// DryRun validates and defaults a job on the server without creating it.
func (c *Client) DryRun(ctx context.Context, req CreateRequest) (*DryRunResult, error) {
	req.DryRun = true
	resp, err := c.create(ctx, req)
	if err != nil {
		return nil, err
	}
	return &DryRunResult{Job: apiconv.FromProto(resp.GetJob()), Warnings: resp.GetWarnings(), UpstreamManifest: []byte(resp.GetUpstreamManifest())}, nil
}

func (c *Client) create(ctx context.Context, req CreateRequest) (*trainingv1.CreateJobResponse, error) {
	r := &trainingv1.CreateJobRequest{Namespace: req.Namespace, DryRun: req.DryRun, Manifest: string(req.Manifest)}
	if req.Job != nil {
		r.Job = apiconv.ToProto(req.Job)
	}
	resp, err := c.rpc.CreateJob(ctx, r)
	if err != nil {
		return nil, c.classify(err)
	}
	return resp, nil
}

// Get returns one job.
func (c *Client) Get(ctx context.Context, namespace, name string) (*job.MPIJob, error) {
	p, err := c.rpc.GetJob(ctx, &trainingv1.GetJobRequest{Namespace: namespace, Name: name})
	if err != nil {
		return nil, c.classify(err)
	}
	return apiconv.FromProto(p), nil
}

// ListOptions filters List.
type ListOptions struct {
	Namespace     string // "" = all namespaces
	LabelSelector string
	Phases        []string
}

// List returns every matching job, following pagination.
func (c *Client) List(ctx context.Context, opts ListOptions) ([]*job.MPIJob, error) {
	var out []*job.MPIJob
	token := ""
	for {
		resp, err := c.rpc.ListJobs(ctx, &trainingv1.ListJobsRequest{Namespace: opts.Namespace, LabelSelector: opts.LabelSelector, Phase: opts.Phases, PageSize: 500, PageToken: token})
		if err != nil {
			return nil, c.classify(err)
		}
		for _, p := range resp.GetItems() {
			out = append(out, apiconv.FromProto(p))
		}
		if token = resp.GetNextPageToken(); token == "" {
			return out, nil
		}
	}
}

// Delete deletes a job.
func (c *Client) Delete(ctx context.Context, namespace, name string, wait, dryRun bool) (*job.MPIJob, error) {
	resp, err := c.rpc.DeleteJob(ctx, &trainingv1.DeleteJobRequest{Namespace: namespace, Name: name, Wait: wait, DryRun: dryRun})
	if err != nil {
		return nil, c.classify(err)
	}
	return apiconv.FromProto(resp.GetJob()), nil
}

// Suspend suspends a job.
func (c *Client) Suspend(ctx context.Context, namespace, name string) (*job.MPIJob, error) {
	p, err := c.rpc.SuspendJob(ctx, &trainingv1.SuspendJobRequest{Namespace: namespace, Name: name})
	if err != nil {
		return nil, c.classify(err)
	}
	return apiconv.FromProto(p), nil
}

// Resume resumes a job.
func (c *Client) Resume(ctx context.Context, namespace, name string) (*job.MPIJob, error) {
	p, err := c.rpc.ResumeJob(ctx, &trainingv1.ResumeJobRequest{Namespace: namespace, Name: name})
	if err != nil {
		return nil, c.classify(err)
	}
	return apiconv.FromProto(p), nil
}

// Events returns a job's events.
func (c *Client) Events(ctx context.Context, namespace, name string) ([]job.Event, error) {
	resp, err := c.rpc.ListEvents(ctx, &trainingv1.ListEventsRequest{Namespace: namespace, Name: name})
	if err != nil {
		return nil, c.classify(err)
	}
	out := make([]job.Event, 0, len(resp.GetItems()))
	for _, e := range resp.GetItems() {
		out = append(out, apiconv.EventFromProto(e))
	}
	return out, nil
}

// Metrics returns a job's recent resource use per replica.
func (c *Client) Metrics(ctx context.Context, namespace, name string) (*trainingv1.JobMetrics, error) {
	m, err := c.rpc.GetJobMetrics(ctx, &trainingv1.GetJobMetricsRequest{Namespace: namespace, Name: name})
	if err != nil {
		return nil, c.classify(err)
	}
	return m, nil
}

// Progress returns a job's reported progress and its history.
func (c *Client) Progress(ctx context.Context, namespace, name string) (*job.ProgressHistory, error) {
	p, err := c.rpc.GetJobProgress(ctx, &trainingv1.GetJobProgressRequest{Namespace: namespace, Name: name})
	if err != nil {
		return nil, c.classify(err)
	}
	return apiconv.ProgressHistoryFromProto(p), nil
}

// Capacity returns what a namespace may still use.
func (c *Client) Capacity(ctx context.Context, namespace string) (*job.Capacity, error) {
	p, err := c.rpc.GetCapacity(ctx, &trainingv1.GetCapacityRequest{Namespace: namespace})
	if err != nil {
		return nil, c.classify(err)
	}
	return apiconv.CapacityFromProto(p), nil
}

// CanI asks whether the caller may do verb on resource (mpijobs when
// empty), optionally on one named object.
func (c *Client) CanI(ctx context.Context, namespace, verb, resource, name string) (*trainingv1.CanIResponse, error) {
	r, err := c.rpc.CanI(ctx, &trainingv1.CanIRequest{Namespace: namespace, Verb: verb, Resource: resource, Name: name})
	return r, c.classify(err)
}

// Version returns the server's version.
func (c *Client) Version(ctx context.Context) (*trainingv1.Version, error) {
	v, err := c.rpc.GetVersion(ctx, &trainingv1.GetVersionRequest{})
	return v, c.classify(err)
}

// RPC exposes the raw API client for calls this wrapper does not cover.
func (c *Client) RPC() trainingv1.TrainingServiceClient { return c.rpc }
