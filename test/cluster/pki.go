package cluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/csv"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/odh-training/odh-training/internal/certs"
)

// PKI is the harness's certificate authority, the certificates it issued and
// the static tokens of every identity. It is created once per .cluster/pki and
// reused by later starts, so kubeconfigs stay valid across `down`/`up`.
type PKI struct {
	Dir string
	// Tokens maps identity name to its bearer token.
	Tokens map[string]string
}

// File names inside the PKI directory.
const (
	pkiCACert         = "ca.crt"
	pkiCAKey          = "ca.key"
	pkiAPIServerCert  = "apiserver.crt"
	pkiAPIServerKey   = "apiserver.key"
	pkiKubeletClient  = "apiserver-kubelet-client.crt"
	pkiKubeletClientK = "apiserver-kubelet-client.key"
	pkiKwokCert       = "kwok.crt"
	pkiKwokKey        = "kwok.key"
	pkiKueueDir       = "kueue" // tls.crt and tls.key, as Kueue's webhook and visibility servers read them
	// pkiLoopbackDir holds tls.crt and tls.key for the other servers on
	// loopback the apiserver calls: webhooks (odh-webhook, Trainer, JobSet)
	// and aggregated APIs (metrics-server).
	pkiLoopbackDir   = "loopback"
	pkiFrontProxy    = "front-proxy-client.crt"
	pkiFrontProxyKey = "front-proxy-client.key"
	pkiSAKey         = "sa.key"
	pkiSAPub         = "sa.pub"
	pkiTokens        = "tokens.csv"
)

// Path returns the path of a file in the PKI directory.
func (p *PKI) Path(name string) string { return filepath.Join(p.Dir, name) }

// CAData returns the CA certificate in PEM.
func (p *PKI) CAData() ([]byte, error) { return os.ReadFile(p.Path(pkiCACert)) }

// EnsurePKI loads the PKI in dir, creating whatever is missing. Certificates
// are valid for ten years; the harness is for tests only.
func EnsurePKI(dir string) (*PKI, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	p := &PKI{Dir: dir}
	ca, err := p.ensureCA()
	if err != nil {
		return nil, err
	}
	leaves := []struct {
		cert, key string
		tmpl      *x509.Certificate
	}{
		{pkiAPIServerCert, pkiAPIServerKey, &x509.Certificate{
			Subject:     pkix.Name{CommonName: "kube-apiserver"},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
				"kubernetes.default.svc.cluster.local"},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP(serviceClusterIP)},
		}},
		{pkiKubeletClient, pkiKubeletClientK, &x509.Certificate{
			Subject:     pkix.Name{CommonName: "kube-apiserver-kubelet-client", Organization: []string{"system:masters"}},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}},
		{pkiKwokCert, pkiKwokKey, &x509.Certificate{
			Subject:     pkix.Name{CommonName: "kwok"},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			DNSNames:    []string{"localhost"},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}},
		{filepath.Join(pkiKueueDir, "tls.crt"), filepath.Join(pkiKueueDir, "tls.key"), &x509.Certificate{
			Subject:     pkix.Name{CommonName: "kueue"},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			// The aggregator checks the visibility server's certificate
			// against its Service's name.
			DNSNames:    []string{"localhost", kueueVisibilityService + "." + KueueNamespace + ".svc"},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}},
		{filepath.Join(pkiLoopbackDir, "tls.crt"), filepath.Join(pkiLoopbackDir, "tls.key"), &x509.Certificate{
			Subject:     pkix.Name{CommonName: "odh-cluster-loopback"},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			// Webhooks are called by URL (127.0.0.1); the aggregator checks
			// an aggregated server's certificate against its Service's name.
			DNSNames:    []string{"localhost", metricsServerService + "." + metricsServerNamespace + ".svc"},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}},
		// The aggregator's client certificate towards aggregated API servers
		// (--proxy-client-cert-file), trusted through --requestheader-*.
		{pkiFrontProxy, pkiFrontProxyKey, &x509.Certificate{
			Subject:     pkix.Name{CommonName: frontProxyUser},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}},
	}
	for _, d := range []string{pkiKueueDir, pkiLoopbackDir} {
		if err := os.MkdirAll(p.Path(d), 0o700); err != nil {
			return nil, err
		}
	}
	for _, leaf := range leaves {
		if fileExists(p.Path(leaf.key)) && hasNames(p.Path(leaf.cert), leaf.tmpl.DNSNames) {
			continue
		}
		tmpl := *leaf.tmpl
		tmpl.NotBefore, tmpl.NotAfter = validity()
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		kp, err := ca.Issue(tmpl)
		if err != nil {
			return nil, fmt.Errorf("issue %s: %w", leaf.cert, err)
		}
		if err := kp.Write(p.Path(leaf.cert), p.Path(leaf.key)); err != nil {
			return nil, err
		}
	}
	if !fileExists(p.Path(pkiSAKey)) || !fileExists(p.Path(pkiSAPub)) {
		// The ServiceAccount token signing key: a bare key pair, no certificate.
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return nil, err
		}
		if err := certs.WriteFile(p.Path(pkiSAKey), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, err
		}
		pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		if err != nil {
			return nil, err
		}
		if err := certs.WriteFile(p.Path(pkiSAPub), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
			return nil, err
		}
	}
	if err := p.ensureTokens(); err != nil {
		return nil, err
	}
	return p, nil
}

// validity is ten years from an hour ago (clock skew between components).
func validity() (notBefore, notAfter time.Time) {
	now := time.Now()
	return now.Add(-time.Hour), now.AddDate(10, 0, 0)
}

func (p *PKI) ensureCA() (*certs.KeyPair, error) {
	if fileExists(p.Path(pkiCACert)) && fileExists(p.Path(pkiCAKey)) {
		return certs.Load(p.Path(pkiCACert), p.Path(pkiCAKey))
	}
	nb, na := validity()
	ca, err := certs.NewCA(x509.Certificate{
		Subject:   pkix.Name{CommonName: "odh-cluster-ca"},
		NotBefore: nb,
		NotAfter:  na,
		KeyUsage:  x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	})
	if err != nil {
		return nil, fmt.Errorf("create CA: %w", err)
	}
	// Leaves signed by an older CA would no longer verify.
	for _, f := range []string{pkiAPIServerCert, pkiKubeletClient, pkiKwokCert, filepath.Join(pkiKueueDir, "tls.crt"), filepath.Join(pkiLoopbackDir, "tls.crt"), pkiFrontProxy} {
		_ = os.Remove(p.Path(f))
	}
	if err := ca.Write(p.Path(pkiCACert), p.Path(pkiCAKey)); err != nil {
		return nil, err
	}
	return ca, nil
}

// ensureTokens loads tokens.csv (kube-apiserver's --token-auth-file format:
// token,user,uid,"group1,group2") and adds a token for every identity that
// has none yet.
func (p *PKI) ensureTokens() error {
	p.Tokens = map[string]string{}
	byUser := map[string]string{}
	if f, err := os.Open(p.Path(pkiTokens)); err == nil {
		r := csv.NewReader(f)
		r.FieldsPerRecord = -1
		recs, err := r.ReadAll()
		f.Close()
		if err != nil {
			return fmt.Errorf("read %s: %w", p.Path(pkiTokens), err)
		}
		for _, r := range recs {
			if len(r) >= 2 {
				byUser[r[1]] = r[0]
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	for _, id := range identities() {
		tok := byUser[id.User]
		if tok == "" {
			raw := make([]byte, 24)
			if _, err := rand.Read(raw); err != nil {
				return err
			}
			tok = hex.EncodeToString(raw)
		}
		p.Tokens[id.Name] = tok
		rec := []string{tok, id.User, "uid-" + id.Name}
		if len(id.Groups) > 0 {
			rec = append(rec, strings.Join(id.Groups, ","))
		}
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	w.Flush()
	return os.WriteFile(p.Path(pkiTokens), []byte(b.String()), 0o600)
}

// hasNames reports whether the certificate at path exists and covers every
// DNS name (a PKI from an older harness version is completed, not trusted).
func hasNames(path string, names []string) bool {
	c, err := certs.ReadCert(path)
	if err != nil {
		return false
	}
	for _, n := range names {
		if !slices.Contains(c.DNSNames, n) {
			return false
		}
	}
	return true
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
