package certs

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"net"
	"testing"
	"time"
)

func bundleCerts(t *testing.T, b []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return out
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}

// verifies checks the serving certificate against the bundle at time now,
// as the API server would.
func verifies(t *testing.T, s *RotatingCA, now time.Time) bool {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CABundle())
	c, err := s.GetCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "odh-webhook.odh-training.svc", CurrentTime: now})
	return err == nil
}

func TestRotatingCA(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	s := &RotatingCA{Name: "odh-webhook", Dir: dir, DNSNames: []string{"odh-webhook.odh-training.svc"}, IPs: []net.IP{net.ParseIP("127.0.0.1")},
		CAValidity: 90 * time.Hour, CertValidity: 9 * time.Hour, PublishDelay: time.Minute, Now: func() time.Time { return now }}
	step := func(d time.Duration) bool {
		t.Helper()
		now = now.Add(d)
		changed, err := s.Rotate()
		if err != nil {
			t.Fatal(err)
		}
		if !verifies(t, s, now) {
			t.Fatalf("at %s the serving certificate does not verify against the bundle", now)
		}
		return changed
	}
	if !step(0) {
		t.Error("first rotation did not report a new bundle")
	}
	ca1 := bundleCerts(t, s.CABundle())
	leaf1, _ := s.GetCertificate(nil)
	if len(ca1) != 1 || leaf1.Leaf.IPAddresses[0].String() != "127.0.0.1" {
		t.Fatalf("bundle %d certs, leaf IPs %v", len(ca1), leaf1.Leaf.IPAddresses)
	}
	if step(time.Hour) {
		t.Error("nothing was due, yet the bundle changed")
	}
	// The serving certificate is renewed after 2/3 of its life; same CA.
	step(6 * time.Hour)
	leaf2, _ := s.GetCertificate(nil)
	if bytes.Equal(leaf1.Certificate[0], leaf2.Certificate[0]) {
		t.Error("serving certificate not renewed")
	}
	// A restart reuses the CA and certificate from the directory.
	s2 := &RotatingCA{Name: "odh-webhook", Dir: dir, DNSNames: s.DNSNames, CAValidity: s.CAValidity, CertValidity: s.CertValidity, Now: s.Now}
	if _, err := s2.Rotate(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s2.CABundle(), s.CABundle()) {
		t.Error("restart did not reuse the CA")
	}
	// After 2/3 of the CA's life the next CA is published first...
	for now.Before(ca1[0].NotBefore.Add(61 * time.Hour)) {
		step(3 * time.Hour)
	}
	if got := bundleCerts(t, s.CABundle()); len(got) != 2 {
		t.Fatalf("bundle during CA rotation has %d certs, want 2", len(got))
	}
	leaf3, _ := s.GetCertificate(nil)
	if leaf3.Leaf.CheckSignatureFrom(ca1[0]) != nil {
		t.Error("switched to the new CA before it was published")
	}
	// ...and signs only after the publish delay; the old CA stays trusted.
	if !step(2 * time.Minute) {
		t.Error("promotion did not change the bundle")
	}
	leaf4, _ := s.GetCertificate(nil)
	if leaf4.Leaf.CheckSignatureFrom(ca1[0]) == nil {
		t.Error("still signed by the old CA after the publish delay")
	}
	if got := bundleCerts(t, s.CABundle()); len(got) != 2 || !got[1].Equal(ca1[0]) {
		t.Errorf("bundle after promotion: %d certs", len(got))
	}
	// Once the old CA expires it leaves the bundle.
	for now.Before(ca1[0].NotAfter.Add(time.Minute)) {
		step(5 * time.Hour)
	}
	for _, c := range bundleCerts(t, s.CABundle()) {
		if c.Equal(ca1[0]) {
			t.Error("expired CA still in the bundle")
		}
	}
}
