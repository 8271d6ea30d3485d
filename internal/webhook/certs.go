package webhook

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// SelfSigned issues the webhook's serving certificate from a CA it
// generates itself, and rotates both: the serving certificate when two
// thirds of its life have passed; the CA likewise, in two steps — the next
// CA is first published in the caBundle next to the current one, and only
// after PublishDelay (time for the API server to see the new bundle) does
// it start signing. The previous CA stays in the bundle until it expires.
// The CA and certificate are kept in Dir, so a restart reuses them.
type SelfSigned struct {
	Dir          string
	DNSNames     []string
	IPs          []net.IP
	CAValidity   time.Duration // default 365 days
	CertValidity time.Duration // default 30 days
	PublishDelay time.Duration // default 1 minute
	Now          func() time.Time

	mu        sync.Mutex
	ca        *keyPair
	next      *keyPair
	published time.Time // when next was published
	prev      *x509.Certificate
	cert      *tls.Certificate
	leaf      *x509.Certificate
}

type keyPair struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func (s *SelfSigned) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *SelfSigned) defaults() {
	if s.CAValidity == 0 {
		s.CAValidity = 365 * 24 * time.Hour
	}
	if s.CertValidity == 0 {
		s.CertValidity = 30 * 24 * time.Hour
	}
	if s.PublishDelay == 0 {
		s.PublishDelay = time.Minute
	}
}

// due reports whether two thirds of c's life have passed.
func due(c *x509.Certificate, now time.Time) bool {
	life := c.NotAfter.Sub(c.NotBefore)
	return now.After(c.NotBefore.Add(life * 2 / 3))
}

// Rotate loads or creates the CA and certificate and rotates what is due.
// It reports whether the CA bundle changed (and must be published).
func (s *SelfSigned) Rotate() (bundleChanged bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.defaults()
	now := s.now()
	if s.ca == nil {
		if err := s.load(); err != nil {
			return false, err
		}
		bundleChanged = true
	}
	if s.ca == nil || now.After(s.ca.cert.NotAfter) {
		ca, err := newCA(now, s.CAValidity)
		if err != nil {
			return false, err
		}
		s.ca, s.cert, s.next = ca, nil, nil
		bundleChanged = true
	}
	switch {
	case s.next == nil && due(s.ca.cert, now):
		next, err := newCA(now, s.CAValidity)
		if err != nil {
			return false, err
		}
		s.next, s.published = next, now
		bundleChanged = true
	case s.next != nil && now.Sub(s.published) >= s.PublishDelay:
		s.prev, s.ca, s.next, s.cert = s.ca.cert, s.next, nil, nil
		bundleChanged = true
	}
	if s.prev != nil && now.After(s.prev.NotAfter) {
		s.prev = nil
		bundleChanged = true
	}
	if s.cert == nil || s.leaf == nil || due(s.leaf, now) || !s.signedByCurrentCA() {
		if err := s.issue(now); err != nil {
			return false, err
		}
	}
	if err := s.save(); err != nil {
		return false, err
	}
	return bundleChanged, nil
}

func (s *SelfSigned) signedByCurrentCA() bool {
	return s.leaf != nil && s.leaf.CheckSignatureFrom(s.ca.cert) == nil
}

// CABundle is the PEM bundle clients must trust: the current CA, the next
// one while it is being published, and the previous one until it expires.
func (s *SelfSigned) CABundle() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b bytes.Buffer
	for _, c := range []*x509.Certificate{s.caCert(), s.nextCert(), s.prev} {
		if c != nil {
			_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		}
	}
	return b.Bytes()
}

func (s *SelfSigned) caCert() *x509.Certificate {
	if s.ca == nil {
		return nil
	}
	return s.ca.cert
}

func (s *SelfSigned) nextCert() *x509.Certificate {
	if s.next == nil {
		return nil
	}
	return s.next.cert
}

// GetCertificate serves the current certificate.
func (s *SelfSigned) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cert == nil {
		return nil, errors.New("no serving certificate yet")
	}
	return s.cert, nil
}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
}

func newCA(now time.Time, validity time.Duration) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	tpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: "odh-webhook-ca-" + now.UTC().Format("20060102T150405Z")},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &keyPair{cert: cert, key: key}, nil
}

func (s *SelfSigned) issue(now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	sn, err := serial()
	if err != nil {
		return err
	}
	cn := "odh-webhook"
	if len(s.DNSNames) > 0 {
		cn = s.DNSNames[0]
	}
	notAfter := now.Add(s.CertValidity)
	if notAfter.After(s.ca.cert.NotAfter) {
		notAfter = s.ca.cert.NotAfter
	}
	tpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     s.DNSNames,
		IPAddresses:  s.IPs,
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, s.ca.cert, &key.PublicKey, s.ca.key)
	if err != nil {
		return err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	s.leaf = leaf
	s.cert = &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	return nil
}

// Files in Dir.
const (
	fileCACert   = "ca.crt"
	fileCAKey    = "ca.key"
	filePrevCA   = "ca-previous.crt"
	fileTLSCert  = "tls.crt"
	fileTLSKey   = "tls.key"
	filePrivMode = 0o600
)

func (s *SelfSigned) load() error {
	if s.Dir == "" {
		return nil
	}
	certPEM, err := os.ReadFile(filepath.Join(s.Dir, fileCACert))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	keyPEM, err := os.ReadFile(filepath.Join(s.Dir, fileCAKey))
	if err != nil {
		return nil // incomplete: start over
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil
	}
	s.ca = &keyPair{cert: pair.Leaf, key: key}
	if b, err := os.ReadFile(filepath.Join(s.Dir, filePrevCA)); err == nil {
		if blk, _ := pem.Decode(b); blk != nil {
			s.prev, _ = x509.ParseCertificate(blk.Bytes)
		}
	}
	if c, err := tls.LoadX509KeyPair(filepath.Join(s.Dir, fileTLSCert), filepath.Join(s.Dir, fileTLSKey)); err == nil {
		s.cert, s.leaf = &c, c.Leaf
	}
	return nil
}

func (s *SelfSigned) save() error {
	if s.Dir == "" {
		return nil
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return err
	}
	caKey, err := x509.MarshalECPrivateKey(s.ca.key)
	if err != nil {
		return err
	}
	tlsKey, err := x509.MarshalECPrivateKey(s.cert.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		return err
	}
	files := map[string]*pem.Block{
		fileCACert:  {Type: "CERTIFICATE", Bytes: s.ca.cert.Raw},
		fileCAKey:   {Type: "EC PRIVATE KEY", Bytes: caKey},
		fileTLSCert: {Type: "CERTIFICATE", Bytes: s.cert.Certificate[0]},
		fileTLSKey:  {Type: "EC PRIVATE KEY", Bytes: tlsKey},
	}
	if s.prev != nil {
		files[filePrevCA] = &pem.Block{Type: "CERTIFICATE", Bytes: s.prev.Raw}
	} else {
		_ = os.Remove(filepath.Join(s.Dir, filePrevCA))
	}
	for name, blk := range files {
		p := filepath.Join(s.Dir, name)
		if err := os.WriteFile(p+".tmp", pem.EncodeToMemory(blk), filePrivMode); err != nil {
			return err
		}
		if err := os.Rename(p+".tmp", p); err != nil {
			return err
		}
	}
	return nil
}

// FileCert serves a certificate from files that another component rotates
// (cert-manager, an OpenShift service CA): it reads them again when they
// change, checked at most every 10 seconds.
type FileCert struct {
	CertFile, KeyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	mod     time.Time
	checked time.Time
}

// Load reads the files; call it once before serving.
func (f *FileCert) Load() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reload()
}

func (f *FileCert) reload() error {
	st, err := os.Stat(f.CertFile)
	if err != nil {
		return err
	}
	c, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return fmt.Errorf("load %s: %w", f.CertFile, err)
	}
	f.cert, f.mod, f.checked = &c, st.ModTime(), time.Now()
	return nil
}

// GetCertificate serves the current certificate, reloading it when the
// files changed.
func (f *FileCert) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if time.Since(f.checked) > 10*time.Second {
		f.checked = time.Now()
		if st, err := os.Stat(f.CertFile); err == nil && !st.ModTime().Equal(f.mod) {
			_ = f.reload() // keep the old one if the new pair is incomplete
		}
	}
	if f.cert == nil {
		return nil, errors.New("no serving certificate")
	}
	return f.cert, nil
}
