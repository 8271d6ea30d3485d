package certs_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/odh-training/odh-training/internal/certs"
)

// A CA issues a serving certificate that verifies for its names, never
// outlives the CA, and round-trips through files with a private key file
// only its owner can read.
func TestCAIssueWriteLoad(t *testing.T) {
	now := time.Now()
	ca, err := certs.NewCA(x509.Certificate{Subject: pkix.Name{CommonName: "test-ca"}, NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if !ca.Cert.IsCA || ca.Cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Fatalf("CA: IsCA %v, key usage %v", ca.Cert.IsCA, ca.Cert.KeyUsage)
	}
	leaf, err := ca.Issue(x509.Certificate{
		Subject: pkix.Name{CommonName: "svc"}, DNSNames: []string{"svc.ns.svc"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(24 * time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		t.Fatal(err)
	}
	if leaf.Cert.IsCA || !leaf.Cert.NotAfter.Equal(ca.Cert.NotAfter) {
		t.Errorf("leaf: IsCA %v, NotAfter %v, want the CA's %v", leaf.Cert.IsCA, leaf.Cert.NotAfter, ca.Cert.NotAfter)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	for _, name := range []string{"svc.ns.svc", "127.0.0.1"} {
		if _, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: name}); err != nil {
			t.Errorf("verify %s: %v", name, err)
		}
	}
	if _, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "other.example"}); err == nil {
		t.Error("verified for a name it does not have")
	}

	dir := filepath.Join(t.TempDir(), "tls")
	crt, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := leaf.Write(crt, key); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, crt: 0o644, key: 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", path, fi.Mode().Perm(), err, want)
		}
	}
	got, err := certs.Load(crt, key)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Cert.Equal(leaf.Cert) || !got.Key.Equal(leaf.Key) || certs.Fingerprint(got.Cert) != certs.Fingerprint(leaf.Cert) {
		t.Error("the loaded pair differs from the written one")
	}
	if _, err := certs.Load(crt, filepath.Join(dir, "missing.key")); err == nil {
		t.Error("loaded a pair without its key")
	}
}

func TestSelfSignedAndBadTemplates(t *testing.T) {
	now := time.Now()
	kp, err := certs.SelfSigned(x509.Certificate{Subject: pkix.Name{CommonName: "srv"}, DNSNames: []string{"localhost"}, NotBefore: now, NotAfter: now.Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(kp.Cert)
	if _, err := kp.Cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "localhost"}); err != nil {
		t.Errorf("a client trusting the certificate itself: %v", err)
	}
	if _, err := certs.SelfSigned(x509.Certificate{Subject: pkix.Name{CommonName: "x"}, NotBefore: now}); err == nil {
		t.Error("a template without NotAfter was accepted")
	}
}
