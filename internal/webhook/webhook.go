// Package webhook is odh-webhook, the admission webhook for
// kubeflow.org/v2beta1 MPIJobs from any client (kubectl included): it
// stamps the creator into an annotation nobody can forge or change, lets
// only the creator or holders of the manage-all permission change and
// delete a job, validates jobs with the Training Service's own validator,
// sets OpenShift-safe defaults and enforces per-namespace policy (allowed
// image registries, maximum workers and GPUs per job). It serves TLS with a
// certificate from a CA it generates and rotates itself (patching the
// caBundle of its webhook configurations), or from files another component
// rotates (cert-manager). docs/admin/security.md describes it.
package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/odh-training/odh-training/internal/kubeconfig"
	"github.com/odh-training/odh-training/internal/logging"
	"github.com/odh-training/odh-training/internal/version"
)

// Paths the webhook configurations call.
const (
	PathMutate   = "/mutate-mpijobs"
	PathValidate = "/validate-mpijobs"
)

// Options are odh-webhook's flags.
type Options struct {
	Listen           string
	Kubeconfig       string
	PolicyFile       string
	CertDir          string
	TLSCertFile      string
	TLSKeyFile       string
	DNSNames         []string
	IPAddresses      []string
	MutatingConfigs  []string
	ValidatingConfig []string
	RotateInterval   time.Duration
	LogLevel         string
	LogFormat        string
}

// Main runs odh-webhook and returns its exit code.
func Main() int {
	o := &Options{}
	cmd := &cobra.Command{
		Use:   "odh-webhook",
		Short: "Admission webhook for kubeflow.org/v2beta1 MPIJobs: creator stamp, own-job rule, validation, defaults and policy",
		Long: `odh-webhook serves the mutating (` + PathMutate + `) and validating
(` + PathValidate + `) admission webhooks for kubeflow.org/v2beta1 MPIJobs
over TLS, plus /healthz. Without --tls-cert-file it generates its own CA
and serving certificate in --cert-dir, rotates them and keeps the caBundle
of its webhook configurations up to date. See docs/admin/security.md.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.Get().Version,
		RunE:          func(cmd *cobra.Command, _ []string) error { return Run(cmd.Context(), o, os.Stderr) },
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Listen, "listen", "127.0.0.1:9443", "Address to serve TLS on (host:port)")
	fl.StringVar(&o.Kubeconfig, "kubeconfig", "", "Kubeconfig (default: in-cluster config, then $KUBECONFIG)")
	fl.StringVar(&o.PolicyFile, "policy-file", "", "JSON admission policy: allowed registries, maximum workers and GPUs per job, by namespace")
	fl.StringVar(&o.CertDir, "cert-dir", "", "Directory for the self-generated CA and serving certificate (default: in memory)")
	fl.StringVar(&o.TLSCertFile, "tls-cert-file", "", "Serving certificate rotated by someone else (cert-manager); reloaded when it changes")
	fl.StringVar(&o.TLSKeyFile, "tls-key-file", "", "Key of --tls-cert-file")
	fl.StringSliceVar(&o.DNSNames, "dns-name", []string{"odh-webhook.odh-training.svc", "odh-webhook.odh-training.svc.cluster.local"}, "DNS names of the self-generated certificate")
	fl.StringSliceVar(&o.IPAddresses, "ip-address", nil, "IP addresses of the self-generated certificate (e.g. 127.0.0.1 for a webhook on loopback)")
	fl.StringSliceVar(&o.MutatingConfigs, "mutating-webhook-configuration", []string{"odh-training-mpijobs"}, "MutatingWebhookConfigurations whose caBundle the webhook keeps current (self-generated CA only)")
	fl.StringSliceVar(&o.ValidatingConfig, "validating-webhook-configuration", []string{"odh-training-mpijobs"}, "ValidatingWebhookConfigurations whose caBundle the webhook keeps current (self-generated CA only)")
	fl.DurationVar(&o.RotateInterval, "rotate-interval", time.Minute, "How often to check the certificates and the caBundles")
	fl.StringVar(&o.LogLevel, "log-level", "info", "Log level: debug, info, warn, error")
	fl.StringVar(&o.LogFormat, "log-format", "text", "Log format: text or json")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "odh-webhook: %v\n", err)
		return 1
	}
	return 0
}

// Run serves until ctx ends.
func Run(ctx context.Context, o *Options, stderr io.Writer) error {
	log, err := logging.New(o.LogLevel, o.LogFormat, stderr)
	if err != nil {
		return err
	}
	policy, err := LoadPolicyConfig(o.PolicyFile)
	if err != nil {
		return err
	}
	cfg, _, err := kubeconfig.Load(o.Kubeconfig)
	if err != nil {
		return err
	}
	cfg.UserAgent = "odh-webhook/" + version.Get().Version
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	h := &Handler{Policy: policy, Namespaces: newKubeNamespaces(client, 30*time.Second), Access: newSARChecker(client, 10*time.Second), Log: log}

	var getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	var self *SelfSigned
	switch {
	case o.TLSCertFile != "" || o.TLSKeyFile != "":
		fc := &FileCert{CertFile: o.TLSCertFile, KeyFile: o.TLSKeyFile}
		if err := fc.Load(); err != nil {
			return fmt.Errorf("--tls-cert-file: %w", err)
		}
		getCert = fc.GetCertificate
	default:
		self = &SelfSigned{Dir: o.CertDir, DNSNames: o.DNSNames}
		for _, ip := range o.IPAddresses {
			p := net.ParseIP(ip)
			if p == nil {
				return fmt.Errorf("--ip-address %q is not an IP address", ip)
			}
			self.IPs = append(self.IPs, p)
		}
		if _, err := self.Rotate(); err != nil {
			return fmt.Errorf("generate the serving certificate: %w", err)
		}
		getCert = self.GetCertificate
	}

	lis, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.Listen, err)
	}
	srv := &http.Server{
		Handler:           Routes(h),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: getCert},
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	var wg sync.WaitGroup
	if self != nil {
		p := &bundlePatcher{client: client, mutating: o.MutatingConfigs, validating: o.ValidatingConfig}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rotateLoop(ctx, self, p, o.RotateInterval, log)
		}()
	}
	log.Info("odh-webhook ready", "listen", lis.Addr().String(), "version", version.Get().Version)
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(lis, "", "") }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
	}
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Routes serves the admission paths and health.
func Routes(h *Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(PathMutate, serveReview(h.Mutate))
	mux.Handle(PathValidate, serveReview(h.Validate))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	return mux
}

// rotateLoop rotates the certificates and keeps the caBundles current
// (also repairing a bundle someone else overwrote).
func rotateLoop(ctx context.Context, s *SelfSigned, p *bundlePatcher, every time.Duration, log *slog.Logger) {
	for {
		if _, err := s.Rotate(); err != nil {
			log.Error("certificate rotation failed", "error", err)
		}
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := p.patch(pctx, s.CABundle()); err != nil && ctx.Err() == nil {
			log.Error("cannot update the caBundle of the webhook configurations", "error", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// sarChecker asks the API server whether a user holds manage-all, with a
// short cache.
type sarChecker struct {
	client kubernetes.Interface
	ttl    time.Duration

	mu    sync.Mutex
	cache map[string]sarEntry
}

type sarEntry struct {
	allowed bool
	at      time.Time
}

func newSARChecker(c kubernetes.Interface, ttl time.Duration) *sarChecker {
	return &sarChecker{client: c, ttl: ttl, cache: map[string]sarEntry{}}
}

func (s *sarChecker) CanManageAll(ctx context.Context, u authenticationv1.UserInfo, ns string) (bool, error) {
	k := ns + "\x00" + u.Username + "\x00" + u.UID + "\x00" + strings.Join(u.Groups, ",")
	s.mu.Lock()
	e, ok := s.cache[k]
	s.mu.Unlock()
	if ok && time.Since(e.at) < s.ttl {
		return e.allowed, nil
	}
	extra := map[string]authorizationv1.ExtraValue{}
	for key, v := range u.Extra {
		extra[key] = authorizationv1.ExtraValue(v)
	}
	r, err := s.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: u.Username, Groups: u.Groups, UID: u.UID, Extra: extra,
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: ManageAllVerb, Group: ManageAllGroup, Resource: ManageAllResource},
	}}, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	if len(s.cache) > 10000 {
		clear(s.cache)
	}
	s.cache[k] = sarEntry{allowed: r.Status.Allowed, at: time.Now()}
	s.mu.Unlock()
	return r.Status.Allowed, nil
}
