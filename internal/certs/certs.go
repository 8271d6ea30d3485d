// Package certs makes and keeps the certificates odh-training serves with:
// the primitives (a CA, a certificate it issues, a self-signed certificate,
// all ECDSA P-256; PEM files written atomically with private keys 0600),
// a CA that rotates itself and its serving certificate (RotatingCA, for
// odh-webhook) and a certificate read from files another component renews
// (FileCert). odh-server's self-signed certificate, odh-webhook's CA and the
// end-to-end tests' certificates and the control-plane harness's PKI
// (test/cluster) are made here.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
)

// KeyPair is a certificate and its private key.
type KeyPair struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// serial is a random serial number (120 bits).
func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
}

// create signs tmpl with a new key, by parent (nil: self-signed).
func create(tmpl x509.Certificate, parent *KeyPair) (*KeyPair, error) {
	if tmpl.NotAfter.IsZero() || !tmpl.NotAfter.After(tmpl.NotBefore) {
		return nil, errors.New("certs: the template needs NotBefore < NotAfter")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if tmpl.SerialNumber == nil {
		if tmpl.SerialNumber, err = serial(); err != nil {
			return nil, err
		}
	}
	issuer, signer := &tmpl, any(key)
	if parent != nil {
		issuer, signer = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, issuer, &key.PublicKey, signer)
	if err != nil {
		return nil, fmt.Errorf("create certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &KeyPair{Cert: cert, Key: key}, nil
}

// NewCA creates a self-signed CA from tmpl: its Subject, validity
// (NotBefore, NotAfter) and, when set, KeyUsage (default CertSign |
// DigitalSignature) and MaxPathLenZero.
func NewCA(tmpl x509.Certificate) (*KeyPair, error) {
	if tmpl.KeyUsage == 0 {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	}
	tmpl.BasicConstraintsValid, tmpl.IsCA = true, true
	return create(tmpl, nil)
}

// Issue signs a certificate for tmpl (Subject, DNSNames, IPAddresses,
// ExtKeyUsage, validity; KeyUsage defaults to DigitalSignature) with a new
// key. It never outlives the CA: NotAfter is capped at the CA's.
func (ca *KeyPair) Issue(tmpl x509.Certificate) (*KeyPair, error) {
	if tmpl.KeyUsage == 0 {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	}
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	return create(tmpl, ca)
}

// SelfSigned creates a certificate that is its own CA, for a server whose
// clients trust it directly (given the file, or by fingerprint). KeyUsage
// defaults to DigitalSignature | CertSign.
func SelfSigned(tmpl x509.Certificate) (*KeyPair, error) {
	if tmpl.KeyUsage == 0 {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign
	}
	tmpl.BasicConstraintsValid, tmpl.IsCA = true, true
	return create(tmpl, nil)
}

// CertPEM is the certificate in PEM.
func (k *KeyPair) CertPEM() []byte { return CertPEM(k.Cert) }

// CertPEM encodes a certificate in PEM.
func CertPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// KeyPEM is the private key in PEM ("EC PRIVATE KEY").
func (k *KeyPair) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(k.Key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// TLS is the pair as a tls.Certificate.
func (k *KeyPair) TLS() *tls.Certificate {
	return &tls.Certificate{Certificate: [][]byte{k.Cert.Raw}, PrivateKey: k.Key, Leaf: k.Cert}
}

// Fingerprint is the SHA-256 of the certificate, in hex.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// Write saves the certificate (mode 0644) and the key (mode 0600), each
// atomically, creating their directories (mode 0700).
func (k *KeyPair) Write(certPath, keyPath string) error {
	keyPEM, err := k.KeyPEM()
	if err != nil {
		return err
	}
	if err := WriteFile(keyPath, keyPEM, 0o600); err != nil {
		return err
	}
	return WriteFile(certPath, k.CertPEM(), 0o644)
}

// WriteFile writes data to path atomically (a temporary file renamed into
// place), creating the directory (mode 0700).
func WriteFile(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Load reads a certificate and its ECDSA key from PEM files.
func Load(certPath, keyPath string) (*KeyPair, error) {
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, err
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an ECDSA key", keyPath)
	}
	return &KeyPair{Cert: pair.Leaf, Key: key}, nil
}

// ReadCert reads the first certificate of a PEM file.
func ReadCert(path string) (*x509.Certificate, error) {
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
