package odhserver

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/odh-training/odh-training/internal/certs"
	"github.com/odh-training/odh-training/internal/discovery"
)

// tlsConfig decides how the server speaks on its address: plaintext on
// loopback (unless certificates are given), TLS everywhere else — with the
// given certificate, or a self-signed one kept in <state-dir>/tls — unless
// --insecure-http explicitly allows plaintext.
func tlsConfig(o *Options, addr string) (*tls.Config, string, error) {
	switch {
	case o.TLSCertFile != "" || o.TLSKeyFile != "":
		if o.TLSCertFile == "" || o.TLSKeyFile == "" {
			return nil, "", errors.New("--tls-cert-file and --tls-key-file go together")
		}
		cert, err := tls.LoadX509KeyPair(o.TLSCertFile, o.TLSKeyFile)
		if err != nil {
			return nil, "", fmt.Errorf("load TLS certificate: %w", err)
		}
		return serverTLS(cert), "", nil
	case discovery.IsLoopback(addr) || o.InsecureHTTP:
		return nil, "", nil
	}
	cert, fingerprint, err := selfSigned(filepath.Join(o.StateDir, "tls"), addr)
	if err != nil {
		return nil, "", err
	}
	return serverTLS(cert), fingerprint, nil
}

func serverTLS(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
	}
}

// selfSigned loads or creates a self-signed serving certificate for the
// machine's names and addresses, valid for a year and renewed when it has
// less than 30 days left.
func selfSigned(dir, addr string) (tls.Certificate, string, error) {
	certPath, keyPath := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	if kp, err := certs.Load(certPath, keyPath); err == nil && time.Until(kp.Cert.NotAfter) > 30*24*time.Hour {
		return *kp.TLS(), certs.Fingerprint(kp.Cert), nil
	}
	host, _ := os.Hostname()
	tmpl := x509.Certificate{
		Subject:     pkix.Name{CommonName: "odh-server", Organization: []string{"odh-training"}},
		NotBefore:   time.Now().Add(-time.Hour),
		NotAfter:    time.Now().Add(365 * 24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost", host},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if h, _, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(h); ip != nil && !ip.IsUnspecified() {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if ip == nil && h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
		if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
			if addrs, err := net.InterfaceAddrs(); err == nil {
				for _, a := range addrs {
					if n, ok := a.(*net.IPNet); ok {
						tmpl.IPAddresses = append(tmpl.IPAddresses, n.IP)
					}
				}
			}
		}
	}
	kp, err := certs.SelfSigned(tmpl)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	if err := kp.Write(certPath, keyPath); err != nil {
		return tls.Certificate{}, "", err
	}
	return *kp.TLS(), certs.Fingerprint(kp.Cert), nil
}
