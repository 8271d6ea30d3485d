package odhserver

import (
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
)

func TestTLSByDefaultOffLoopback(t *testing.T) {
	dir := t.TempDir()
	cfg, fp, err := tlsConfig(&Options{StateDir: dir}, "127.0.0.1:8080")
	if err != nil || cfg != nil || fp != "" {
		t.Fatalf("loopback: %v %v %q", cfg, err, fp)
	}
	cfg, fp, err = tlsConfig(&Options{StateDir: dir}, "10.1.2.3:8443")
	if err != nil || cfg == nil || fp == "" {
		t.Fatalf("non-loopback: %v %v %q", cfg, err, fp)
	}
	leaf, err := x509.ParseCertificate(cfg.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("10.1.2.3"); err != nil {
		t.Errorf("certificate does not cover the listen address: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "tls", "server.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", fi, err)
	}
	// Reused on the next start: same fingerprint.
	_, fp2, err := tlsConfig(&Options{StateDir: dir}, "10.1.2.3:8443")
	if err != nil || fp2 != fp {
		t.Errorf("certificate not reused: %q vs %q (%v)", fp2, fp, err)
	}
	cfg, _, err = tlsConfig(&Options{StateDir: dir, InsecureHTTP: true}, net.JoinHostPort("10.1.2.3", "80"))
	if err != nil || cfg != nil {
		t.Errorf("--insecure-http: %v %v", cfg, err)
	}
	if _, _, err := tlsConfig(&Options{StateDir: dir, TLSCertFile: "x"}, "127.0.0.1:1"); err == nil {
		t.Error("cert without key accepted")
	}
}
