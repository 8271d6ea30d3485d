// Package odhserver is the odh-server program: flags, logging, engine
// selection, authentication setup, TLS, the local token and discovery file,
// and serving until a signal arrives. cmd/odh-server only calls Main.
package odhserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/odh-training/odh-training/internal/auth"
	"github.com/odh-training/odh-training/internal/discovery"
	"github.com/odh-training/odh-training/internal/engine/local"
	"github.com/odh-training/odh-training/internal/logging"
	"github.com/odh-training/odh-training/internal/server"
	"github.com/odh-training/odh-training/internal/service"
	"github.com/odh-training/odh-training/internal/templates"
	"github.com/odh-training/odh-training/internal/version"
)

// Options are odh-server's flags.
type Options struct {
	Engine       string
	Listen       string
	StateDir     string
	Auth         string
	TokenFile    string
	PolicyFile   string
	Slots        int
	Kubeconfig   string
	LogLevel     string
	LogFormat    string
	AuditLog     string
	TLSCertFile  string
	TLSKeyFile   string
	InsecureHTTP bool
	RateLimit    float64
	RateBurst    int
	// StreamHeartbeat: how often quiet watches and log follows send a
	// heartbeat (0: none).
	StreamHeartbeat time.Duration
	// ClientRateLimit and ClientRateBurst limit requests per client
	// address, before authentication; TrustedProxies may report client
	// addresses in X-Forwarded-For.
	ClientRateLimit float64
	ClientRateBurst int
	TrustedProxies  []string
	// TokenAudiences binds the cluster tokens odh-server accepts to
	// these audiences; TokenCacheTTL is how long a valid one is
	// remembered.
	TokenAudiences []string
	TokenCacheTTL  time.Duration
	// StreamRecheck and MaxStreamDuration bound watches and followed
	// logs.
	StreamRecheck     time.Duration
	MaxStreamDuration time.Duration
	// Notifications turns job notifications (webhook subscriptions) on.
	Notifications bool
	// NotifyLongPending is how long a job may wait before a long_pending
	// notification (0: never).
	NotifyLongPending time.Duration
	// NotifyAllowPrivateDestinations lets webhooks reach loopback and link-local
	// addresses (metadata services stay refused).
	NotifyAllowPrivateDestinations bool
	// JobNetworkPolicy: the kubernetes engine gives every job its own
	// NetworkPolicy (otherwise only in namespaces that opt in).
	JobNetworkPolicy bool
	// Backend and DefaultRuntime: what the kubernetes engine makes of a job
	// without spec.runtime (kube.Options).
	Backend        string
	DefaultRuntime string
}

// Main runs odh-server and returns its exit code.
func Main() int {
	local.MaybeRankExec()
	if os.Getenv("GOMEMLIMIT") == "" {
		adaptMemoryLimit(5 * time.Second) // memlimit.go
	}
	cmd := newCommand(os.Stdout, os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "odh-server: %v\n", err)
		return 1
	}
	return 0
}

func newCommand(stdout, stderr io.Writer) *cobra.Command {
	o := &Options{}
	cmd := &cobra.Command{
		Use:   "odh-server",
		Short: "The odh-training Training Service: API (gRPC + REST), dashboard and metrics on one port",
		Long: `odh-server serves the Training Service API (gRPC and REST/JSON), its
OpenAPI document (/openapi.json) and reference (/api/docs), health
(/healthz, /readyz), Prometheus metrics (/metrics) and the dashboard (/)
on one port.

Engines: "local" runs jobs with this machine's MPI and keeps jobs and logs in
--state-dir; "kubernetes" runs them as kubeflow.org/v2beta1 MPIJobs on the
upstream MPI operator (see docs/admin/cluster.md).`,
		Example: `  odh-server --engine=local --listen=127.0.0.1:8080
  odh-server --engine=local --listen=127.0.0.1:9090 --state-dir=$HOME/odh-state --slots=8
  odh-server --engine=kubernetes --kubeconfig=$HOME/.kube/config`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.Get().Version,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return Run(cmd.Context(), o, stdout, stderr)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Engine, "engine", "local", "Engine that runs jobs: local or kubernetes")
	fl.StringVar(&o.Listen, "listen", "127.0.0.1:8080", "Address to serve on (host:port)")
	fl.StringVar(&o.StateDir, "state-dir", discovery.DefaultStateDir(), "Directory for the token, templates and (local engine) jobs and logs")
	fl.StringVar(&o.Auth, "auth", "", "Authentication: token (the bearer token of --token-file, or the users of --policy-file), kubernetes (any token the cluster accepts, checked with a TokenReview; calls go to the cluster with the caller's own token; the default with --engine=kubernetes) or none (development only, loopback addresses only)")
	fl.StringVar(&o.TokenFile, "token-file", "", "Bearer token file, created on first start (default <state-dir>/token); refused if another user owns it or others may read it")
	fl.StringVar(&o.PolicyFile, "policy-file", "", "JSON policy file mapping tokens to users and groups, and giving them roles (viewer, data-scientist, mlops, admin) per namespace; replaces --token-file. With --engine=local only several users with the same full access (admin in \"*\"): the local engine cannot separate users (docs/admin/security.md)")
	fl.IntVar(&o.Slots, "slots", 0, "Local engine capacity in MPI ranks; jobs beyond it queue (default 2 x CPUs)")
	fl.StringVar(&o.Backend, "backend", "auto", "Kubernetes engine: what a job without spec.runtime becomes: auto (an MPIJob when the MPI operator's CRD is installed, else a Kubeflow Trainer v2 TrainJob), mpijob or trainjob; spec.runtime always wins")
	fl.StringVar(&o.DefaultRuntime, "default-runtime", "odh-openmpi4", "Kubernetes engine: the ClusterTrainingRuntime a job without spec.runtime gets when it becomes a TrainJob")
	fl.BoolVar(&o.JobNetworkPolicy, "job-network-policy", false, "Kubernetes engine: create a NetworkPolicy per job (its pods accept traffic only from the same job), owned by the MPIJob; without it only in namespaces annotated training.opendatahub.io/job-network-policy=true")
	fl.StringVar(&o.Kubeconfig, "kubeconfig", "", "Kubeconfig for the kubernetes engine (default: in-cluster config, then $KUBECONFIG)")
	fl.StringVar(&o.TLSCertFile, "tls-cert-file", "", "Serving certificate (PEM); with --tls-key-file, TLS on any address")
	fl.StringVar(&o.TLSKeyFile, "tls-key-file", "", "Serving key (PEM)")
	fl.BoolVar(&o.InsecureHTTP, "insecure-http", false, "Serve plaintext HTTP on a non-loopback address (by default such addresses get TLS, with a self-signed certificate in <state-dir>/tls when none is given)")
	fl.StringVar(&o.AuditLog, "audit-log", "", "Audit log of every mutating call, as JSON lines: a file path, - for standard output, or off (default <state-dir>/audit.log)")
	fl.Float64Var(&o.RateLimit, "rate-limit", -1, "Requests per second allowed per user; 0 = unlimited (default: unlimited on a loopback address, 50 elsewhere)")
	fl.IntVar(&o.RateBurst, "rate-burst", 200, "Burst of requests allowed per user above --rate-limit")
	fl.DurationVar(&o.StreamHeartbeat, "stream-heartbeat", service.DefaultHeartbeat, "How often a quiet watch or log follow sends a heartbeat (REST: a blank line), so proxies with idle timeouts (OpenShift routes: 30s) keep it open; 0 sends none")
	fl.Float64Var(&o.ClientRateLimit, "client-rate-limit", -1, "Requests per second allowed per client address, counted before authentication; 0 = unlimited (default: unlimited for a single-user server on a loopback address, 100 otherwise)")
	fl.IntVar(&o.ClientRateBurst, "client-rate-burst", 200, "Burst of requests allowed per client address above --client-rate-limit")
	fl.StringSliceVar(&o.TrustedProxies, "trusted-proxies", nil, "Addresses or CIDRs of proxies (e.g. the OpenShift router) whose X-Forwarded-For names the client; from anyone else the header is ignored")
	fl.StringSliceVar(&o.TokenAudiences, "token-audiences", nil, "With --auth=kubernetes: accept only cluster tokens issued for one of these audiences (TokenReview spec.audiences), e.g. odh-training; the API server must accept the audience too (--api-audiences), because calls go on with the caller's token")
	fl.DurationVar(&o.TokenCacheTTL, "token-cache-ttl", 30*time.Second, "With --auth=kubernetes: how long a valid token is remembered (invalid ones: 5s); a revoked token works at most this long")
	fl.DurationVar(&o.StreamRecheck, "stream-recheck-interval", service.DefaultStreamRecheck, "How often watches and followed logs check the caller's token and access again; a stream whose access ended is closed")
	fl.BoolVar(&o.Notifications, "notifications", true, "Serve notification subscriptions and deliver job state changes to their webhooks (state in STATE_DIR/notify)")
	fl.DurationVar(&o.NotifyLongPending, "notify-long-pending", 10*time.Minute, "How long a job may stay Pending or Queued before subscribers get a long_pending notification; 0 = never")
	fl.BoolVar(&o.NotifyAllowPrivateDestinations, "notify-allow-private-destinations", false, "Let notification webhooks reach loopback and link-local addresses (receivers on this machine); cloud metadata services stay refused")
	fl.DurationVar(&o.MaxStreamDuration, "max-stream-duration", service.DefaultMaxStreamDuration, "Longest a watch or followed log runs before the server ends it (clients start it again from where they were); 0 = no limit")
	fl.StringVar(&o.LogLevel, "log-level", "info", "Log level: debug, info, warn, error")
	fl.StringVar(&o.LogFormat, "log-format", "text", "Log format: text or json")
	return cmd
}

// Run starts the server and blocks until ctx ends.
func Run(ctx context.Context, o *Options, stdout, stderr io.Writer) error {
	log, err := logging.New(o.LogLevel, o.LogFormat, stderr)
	if err != nil {
		return err
	}
	if !slices.Contains(engineNames, o.Engine) {
		return fmt.Errorf("--engine %q is not available: use one of %s", o.Engine, strings.Join(engineNames, ", "))
	}
	if o.Auth == "" {
		o.Auth = "token"
		if o.Engine == "kubernetes" {
			o.Auth = "kubernetes"
		}
	}
	if o.Auth == "kubernetes" && o.Engine != "kubernetes" {
		return fmt.Errorf("--auth=kubernetes needs --engine=kubernetes")
	}
	if err := checkPrivate("state directory", o.StateDir); err != nil {
		return err
	}
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return fmt.Errorf("create state dir: %w", err)
	}
	if o.Auth == "none" && !discovery.IsLoopback(o.Listen) {
		return fmt.Errorf("--auth=none serves everyone who can reach %s with your rights: it is allowed on a loopback address only (--listen=127.0.0.1:PORT)", o.Listen)
	}
	if o.Auth == "token" && o.PolicyFile == "" {
		if err := checkPrivate("token file", tokenPathFor(o)); err != nil {
			return err
		}
	}
	proxies, err := parsePrefixes(o.TrustedProxies)
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another odh-server running there? pick another port with --listen)", o.Listen, err)
	}
	addr := lis.Addr().String()
	tlsCfg, fingerprint, err := tlsConfig(o, addr)
	if err != nil {
		_ = lis.Close()
		return err
	}
	scheme := "http"
	if tlsCfg != nil {
		lis = tls.NewListener(lis, tlsCfg)
		scheme = "https"
	}
	eng, err := startEngine(ctx, o, log)
	if err != nil {
		_ = lis.Close()
		return fmt.Errorf("start %s engine: %w", o.Engine, err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := eng.close(cctx); err != nil {
			log.Error("engine shutdown", "error", err)
		}
	}()
	tpl, err := templates.NewStore(filepath.Join(o.StateDir, "templates"))
	if err != nil {
		return err
	}
	var (
		authn    auth.Authenticator
		authz    auth.Authorizer
		reviewer auth.AccessReviewer
		token    string
	)
	if eng.security != nil {
		authn, authz, reviewer = eng.security.Auth, eng.security.Authz, eng.security.Reviewer
	} else if o.PolicyFile != "" {
		if o.Auth != "token" {
			return fmt.Errorf("--policy-file needs --auth=token (its tokens authenticate the callers)")
		}
		var check func(*auth.Policy) error
		if o.Engine == "local" {
			check = checkLocalPolicy
		}
		pf, err := auth.OpenPolicyFile(o.PolicyFile, log, check)
		if err != nil {
			return err
		}
		authn, authz = pf, pf
	} else if authn, token, err = authenticator(o, eng.identity); err != nil {
		return err
	}
	audit, closeAudit, err := auditSink(o, stdout)
	if err != nil {
		return err
	}
	defer closeAudit()
	rate := o.RateLimit
	if rate < 0 {
		rate = 50
		if discovery.IsLoopback(addr) {
			rate = 0 // one user on their own machine
		}
	}
	clientRate := o.ClientRateLimit
	if clientRate < 0 {
		clientRate = 100
		if discovery.IsLoopback(addr) && o.Auth != "kubernetes" && o.PolicyFile == "" {
			clientRate = 0 // one user on their own machine
		}
	}
	notifier, stopNotify, err := startNotifications(ctx, o, eng.Engine, log)
	if err != nil {
		return err
	}
	defer stopNotify()
	srv, err := server.New(ctx, server.Options{
		Options: service.Options{Engine: eng.Engine, Manifest: eng.manifest, Templates: tpl, Auth: authn, Authorizer: authz, Reviewer: reviewer, Logger: log, Audit: audit, RateLimit: rate, RateBurst: o.RateBurst,
			Heartbeat: heartbeat(o.StreamHeartbeat), Notifications: notifier,
			Streams: service.StreamLimits{Recheck: o.StreamRecheck, MaxDuration: o.MaxStreamDuration}},
		ClientRateLimit: clientRate, ClientRateBurst: o.ClientRateBurst, TrustedProxies: proxies,
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	url := scheme + "://" + addr
	if token != "" && discovery.IsLoopback(addr) {
		if p, err := discovery.Write(addr, discovery.Entry{Server: url, Token: token, StateDir: o.StateDir, PID: os.Getpid(), Engine: o.Engine}); err != nil {
			log.Warn("cannot write the discovery file; clients need --token", "error", err)
		} else {
			log.Debug("discovery file written", "path", p)
			defer discovery.Remove(addr, os.Getpid())
		}
	}
	log.Info("odh-server ready", "url", url, "engine", o.Engine, "stateDir", o.StateDir, "version", version.Get().Version)
	dash := url + "/"
	if token != "" {
		dash += "?token=" + token
	}
	fmt.Fprintf(stdout, "odh-server %s serving on %s (engine %s)\n  Dashboard: %s\n  API:       %s/api/v1  (reference: %s/api/docs)\n", version.Get().Version, url, o.Engine, dash, url, url)
	if token != "" {
		fmt.Fprintf(stdout, "  Token:     %s\n", tokenPathFor(o))
	}
	if o.PolicyFile != "" {
		fmt.Fprintf(stdout, "  Policy:    %s (tokens and roles; reread when it changes)\n", o.PolicyFile)
	}
	if fingerprint != "" {
		fmt.Fprintf(stdout, "  TLS:       self-signed certificate %s (SHA-256 %s); clients: odh --certificate-authority %s\n",
			filepath.Join(o.StateDir, "tls", "server.crt"), fingerprint, filepath.Join(o.StateDir, "tls", "server.crt"))
	}
	err = srv.Serve(ctx, lis)
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	log.Info("odh-server stopped")
	return err
}

// parsePrefixes reads --trusted-proxies: addresses or CIDRs.
func parsePrefixes(vals []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range vals {
		if p, err := netip.ParsePrefix(v); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %q is neither an address nor a CIDR (e.g. 10.128.0.0/14)", v)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// auditSink opens the audit log named by --audit-log.
func auditSink(o *Options, stdout io.Writer) (io.Writer, func(), error) {
	switch o.AuditLog {
	case "off":
		return nil, func() {}, nil
	case "-":
		return stdout, func() {}, nil
	}
	p := o.AuditLog
	if p == "" {
		p = filepath.Join(o.StateDir, "audit.log")
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open audit log: %w", err)
	}
	return f, func() { _ = f.Close() }, nil
}

func tokenPathFor(o *Options) string {
	if o.TokenFile != "" {
		return o.TokenFile
	}
	return filepath.Join(o.StateDir, "token")
}

// authenticator authenticates every caller as one user: identity (the
// cluster's name for the engine's credentials) when set, else the local one.
func authenticator(o *Options, identity string) (auth.Authenticator, string, error) {
	name := identity
	if name == "" {
		name = "local-user"
		if u, err := user.Current(); err == nil && u.Username != "" {
			name = u.Username
		}
	}
	switch o.Auth {
	case "none":
		return auth.Anonymous{User: auth.User{Name: name}}, "", nil
	case "token":
		tok, err := auth.LoadOrCreateToken(tokenPathFor(o))
		if err != nil {
			return nil, "", err
		}
		return auth.StaticToken{Token: tok, User: auth.User{Name: name, Groups: []string{"system:authenticated"}}}, tok, nil
	}
	return nil, "", fmt.Errorf("--auth %q: use token, kubernetes or none", o.Auth)
}

// heartbeat turns --stream-heartbeat into the service option (0 there
// means the default; off is negative).
func heartbeat(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}
