package certs

import (
	"bytes"
	"os"
	"testing"
	"time"
)

// FileCert serves what another component (cert-manager) writes, and picks
// up a renewed pair.
func TestFileCertReload(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	s := &RotatingCA{Name: "odh-webhook", Dir: dir, DNSNames: []string{"a.example"}, Now: func() time.Time { return now }}
	if _, err := s.Rotate(); err != nil {
		t.Fatal(err)
	}
	f := &FileCert{CertFile: dir + "/tls.crt", KeyFile: dir + "/tls.key"}
	if err := f.Load(); err != nil {
		t.Fatal(err)
	}
	first, err := f.GetCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	// Renew (a new CA makes a new pair) and make the reload check due.
	now = now.Add(400 * 24 * time.Hour)
	if _, err := s.Rotate(); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(dir+"/tls.crt", later, later); err != nil {
		t.Fatal(err)
	}
	f.checked = time.Time{}
	second, err := f.GetCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(first.Certificate[0], second.Certificate[0]) {
		t.Error("renewed certificate not picked up")
	}
}
