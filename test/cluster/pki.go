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
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
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
	caCert, caKey, err := p.ensureCA()
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
		if err := p.issue(caCert, caKey, leaf.tmpl, leaf.cert, leaf.key); err != nil {
			return nil, err
		}
	}
	if !fileExists(p.Path(pkiSAKey)) || !fileExists(p.Path(pkiSAPub)) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		if err := writeKey(p.Path(pkiSAKey), key); err != nil {
			return nil, err
		}
		pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		if err != nil {
			return nil, err
		}
		if err := writePEM(p.Path(pkiSAPub), "PUBLIC KEY", pub, 0o644); err != nil {
			return nil, err
		}
	}
	if err := p.ensureTokens(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *PKI) ensureCA() (*x509.Certificate, *ecdsa.PrivateKey, error) {
	if fileExists(p.Path(pkiCACert)) && fileExists(p.Path(pkiCAKey)) {
		cert, err := readCert(p.Path(pkiCACert))
		if err != nil {
			return nil, nil, err
		}
		key, err := readKey(p.Path(pkiCAKey))
		if err != nil {
			return nil, nil, err
		}
		return cert, key, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "odh-cluster-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create CA: %w", err)
	}
	// Leaves signed by an older CA would no longer verify.
	for _, f := range []string{pkiAPIServerCert, pkiKubeletClient, pkiKwokCert, filepath.Join(pkiKueueDir, "tls.crt"), filepath.Join(pkiLoopbackDir, "tls.crt"), pkiFrontProxy} {
		_ = os.Remove(p.Path(f))
	}
	if err := writeKey(p.Path(pkiCAKey), key); err != nil {
		return nil, nil, err
	}
	if err := writePEM(p.Path(pkiCACert), "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func (p *PKI) issue(ca *x509.Certificate, caKey *ecdsa.PrivateKey, tmpl *x509.Certificate, certFile, keyFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl.SerialNumber = serial()
	tmpl.NotBefore = now.Add(-time.Hour)
	tmpl.NotAfter = now.AddDate(10, 0, 0)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("issue %s: %w", certFile, err)
	}
	if err := writeKey(p.Path(keyFile), key); err != nil {
		return err
	}
	return writePEM(p.Path(certFile), "CERTIFICATE", der, 0o644)
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

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		panic(err)
	}
	return n
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "EC PRIVATE KEY", der, 0o600)
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

// hasNames reports whether the certificate at path exists and covers every
// DNS name (a PKI from an older harness version is completed, not trusted).
func hasNames(path string, names []string) bool {
	c, err := readCert(path)
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

func readCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM data", path)
	}
	return x509.ParseCertificate(blk.Bytes)
}

func readKey(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM data", path)
	}
	return x509.ParseECPrivateKey(blk.Bytes)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
