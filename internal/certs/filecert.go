package certs

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

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
