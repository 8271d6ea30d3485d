// Package odhwebhook is the odh-webhook program: flags, logging, the
// cluster clients behind the admission handler (namespace annotations, the
// pod policy's TrainingPolicies, manage-all access reviews), the serving
// certificate (self-generated and rotated, with the caBundle of the webhook
// configurations kept current, or files another component rotates) and
// serving until a signal arrives. The
// admission logic itself is internal/webhook; cmd/odh-webhook only calls
// Main.
package odhwebhook

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
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/odh-training/odh-training/internal/auth/kubeauth"
	"github.com/odh-training/odh-training/internal/certs"
	"github.com/odh-training/odh-training/internal/kubeconfig"
	"github.com/odh-training/odh-training/internal/logging"
	"github.com/odh-training/odh-training/internal/podpolicy/kubepolicy"
	"github.com/odh-training/odh-training/internal/version"
	"github.com/odh-training/odh-training/internal/webhook"
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
		Long: `odh-webhook serves the mutating (` + webhook.PathMutate + `) and validating
(` + webhook.PathValidate + `) admission webhooks for kubeflow.org/v2beta1 MPIJobs
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
	policy, err := webhook.LoadPolicyConfig(o.PolicyFile)
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
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	// The pod policy from informer caches; admission waits for them so
	// that no job is judged against a partial list of TrainingPolicies.
	pods := kubepolicy.New(client, dyn, log)
	if err := pods.Start(ctx); err != nil {
		return err
	}
	h := &webhook.Handler{Policy: policy, Namespaces: newKubeNamespaces(client, 30*time.Second), Pods: pods, Access: manageAll{kubeauth.NewAccessReview(client, kubeauth.AccessReviewOptions{})}, Log: log}

	var getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	var self *certs.RotatingCA
	switch {
	case o.TLSCertFile != "" || o.TLSKeyFile != "":
		fc := &certs.FileCert{CertFile: o.TLSCertFile, KeyFile: o.TLSKeyFile}
		if err := fc.Load(); err != nil {
			return fmt.Errorf("--tls-cert-file: %w", err)
		}
		getCert = fc.GetCertificate
	default:
		self = &certs.RotatingCA{Name: "odh-webhook", Dir: o.CertDir, DNSNames: o.DNSNames}
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
		Handler:           webhook.Routes(h),
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

// rotateLoop rotates the certificates and keeps the caBundles current
// (also repairing a bundle someone else overwrote).
func rotateLoop(ctx context.Context, s *certs.RotatingCA, p *bundlePatcher, every time.Duration, log *slog.Logger) {
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
