package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// RotatingCA issues a serving certificate from a CA it generates itself
// (odh-webhook's), and rotates both: the serving certificate when two
// thirds of its life have passed; the CA likewise, in two steps — the next
// CA is first published in the caBundle next to the current one, and only
// after PublishDelay (time for the API server to see the new bundle) does
// it start signing. The previous CA stays in the bundle until it expires.
// The CA and certificate are kept in Dir, so a restart reuses them.
type RotatingCA struct {
	// Name names the CA ("<Name>-ca-<time>") and, without DNSNames, the
	// serving certificate. Default "odh-training".
	Name         string
	Dir          string
	DNSNames     []string
	IPs          []net.IP
	CAValidity   time.Duration // default 365 days
	CertValidity time.Duration // default 30 days
	PublishDelay time.Duration // default 1 minute
	Now          func() time.Time

	mu        sync.Mutex
	ca        *KeyPair
	next      *KeyPair
	published time.Time // when next was published
	prev      *x509.Certificate
	cert      *tls.Certificate
	leaf      *x509.Certificate
}

func (s *RotatingCA) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *RotatingCA) defaults() {
	if s.Name == "" {
		s.Name = "odh-training"
	}
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
func (s *RotatingCA) Rotate() (bundleChanged bool, err error) {
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
	if s.ca == nil || now.After(s.ca.Cert.NotAfter) {
		ca, err := s.newCA(now)
		if err != nil {
			return false, err
		}
		s.ca, s.cert, s.next = ca, nil, nil
		bundleChanged = true
	}
	switch {
	case s.next == nil && due(s.ca.Cert, now):
		next, err := s.newCA(now)
		if err != nil {
			return false, err
		}
		s.next, s.published = next, now
		bundleChanged = true
	case s.next != nil && now.Sub(s.published) >= s.PublishDelay:
		s.prev, s.ca, s.next, s.cert = s.ca.Cert, s.next, nil, nil
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

func (s *RotatingCA) signedByCurrentCA() bool {
	return s.leaf != nil && s.leaf.CheckSignatureFrom(s.ca.Cert) == nil
}

// CABundle is the PEM bundle clients must trust: the current CA, the next
// one while it is being published, and the previous one until it expires.
func (s *RotatingCA) CABundle() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b bytes.Buffer
	for _, c := range []*x509.Certificate{s.caCert(), s.nextCert(), s.prev} {
		if c != nil {
			b.Write(CertPEM(c))
		}
	}
	return b.Bytes()
}

func (s *RotatingCA) caCert() *x509.Certificate {
	if s.ca == nil {
		return nil
	}
	return s.ca.Cert
}

func (s *RotatingCA) nextCert() *x509.Certificate {
	if s.next == nil {
		return nil
	}
	return s.next.Cert
}

// GetCertificate serves the current certificate.
func (s *RotatingCA) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cert == nil {
		return nil, errors.New("no serving certificate yet")
	}
	return s.cert, nil
}

func (s *RotatingCA) newCA(now time.Time) (*KeyPair, error) {
	return NewCA(x509.Certificate{
		Subject:        pkix.Name{CommonName: s.Name + "-ca-" + now.UTC().Format("20060102T150405Z")},
		NotBefore:      now.Add(-time.Minute),
		NotAfter:       now.Add(s.CAValidity),
		MaxPathLenZero: true,
	})
}

func (s *RotatingCA) issue(now time.Time) error {
	cn := s.Name
	if len(s.DNSNames) > 0 {
		cn = s.DNSNames[0]
	}
	kp, err := s.ca.Issue(x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		DNSNames:    s.DNSNames,
		IPAddresses: s.IPs,
		NotBefore:   now.Add(-time.Minute),
		NotAfter:    now.Add(s.CertValidity),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return err
	}
	s.leaf, s.cert = kp.Cert, kp.TLS()
	return nil
}

// Files in Dir.
const (
	fileCACert  = "ca.crt"
	fileCAKey   = "ca.key"
	filePrevCA  = "ca-previous.crt"
	fileTLSCert = "tls.crt"
	fileTLSKey  = "tls.key"
)

func (s *RotatingCA) load() error {
	if s.Dir == "" {
		return nil
	}
	ca, err := Load(filepath.Join(s.Dir, fileCACert), filepath.Join(s.Dir, fileCAKey))
	if err != nil {
		return nil // missing or incomplete: start over
	}
	s.ca = ca
	s.prev, _ = ReadCert(filepath.Join(s.Dir, filePrevCA))
	if c, err := tls.LoadX509KeyPair(filepath.Join(s.Dir, fileTLSCert), filepath.Join(s.Dir, fileTLSKey)); err == nil {
		s.cert, s.leaf = &c, c.Leaf
	}
	return nil
}

func (s *RotatingCA) save() error {
	if s.Dir == "" {
		return nil
	}
	if err := s.ca.Write(filepath.Join(s.Dir, fileCACert), filepath.Join(s.Dir, fileCAKey)); err != nil {
		return err
	}
	serving := &KeyPair{Cert: s.leaf, Key: s.cert.PrivateKey.(*ecdsa.PrivateKey)}
	if err := serving.Write(filepath.Join(s.Dir, fileTLSCert), filepath.Join(s.Dir, fileTLSKey)); err != nil {
		return err
	}
	if s.prev == nil {
		_ = os.Remove(filepath.Join(s.Dir, filePrevCA))
		return nil
	}
	return WriteFile(filepath.Join(s.Dir, filePrevCA), CertPEM(s.prev), 0o644)
}
