// SPDX-License-Identifier: GPL-2.0-or-later

// The simulator's server certificate.
//
// vcsim's built-in certificate has an RSA-1024 key, which OpenSSL 3 at
// Debian's default security level refuses ("EE certificate key too weak"),
// and it has no SAN for 127.0.0.1.  So every serve generates its own
// RSA-2048 self-signed certificate, valid for IP:127.0.0.1 and DNS:localhost,
// unless asked to reuse the one a previous run left in the state directory
// (restart tests that pin the fingerprint need the same certificate).

package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	certFile = "cert.pem"
	keyFile  = "key.pem"
)

// newCertificate returns a fresh self-signed certificate and key in PEM.
func newCertificate() (certPEM, keyPEM []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("generating RSA key: %w", err)
	}

	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return nil, nil, fmt.Errorf("generating serial number: %w", err)
	}

	// The backdated NotBefore tolerates small clock differences between
	// the test processes; CA:TRUE lets the file serve as the trust anchor
	// for OpenSSL, gSOAP and Go alike, as httptest's own certificate does.
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"vmtraced test vcsim"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}

	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("creating certificate: %w", err)
	}

	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return certPEM, keyPEM, nil
}

// loadOrCreateCertificate returns the server certificate, and writes
// DIR/cert.pem and DIR/key.pem (the key readable by its owner only).
func loadOrCreateCertificate(dir string, reuse bool) (tls.Certificate, error) {
	certPath := filepath.Join(dir, certFile)
	keyPath := filepath.Join(dir, keyFile)

	if reuse {
		cert, err := tls.LoadX509KeyPair(certPath, keyPath)
		if err == nil {
			return cert, nil
		}
		if !os.IsNotExist(err) {
			return tls.Certificate{}, fmt.Errorf("reusing certificate: %w", err)
		}
	}

	certPEM, keyPEM, err := newCertificate()
	if err != nil {
		return tls.Certificate{}, err
	}
	// The key first: a cert.pem without its key would be a broken pair.
	if err := writeFileAtomic(keyPath, keyPEM, 0600); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFileAtomic(certPath, certPEM, 0644); err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// fingerprintSHA256 formats a DER certificate's SHA-256 digest the way
// "openssl x509 -noout -fingerprint -sha256" does: uppercase hex pairs
// separated by colons.
func fingerprintSHA256(der []byte) string {
	sum := sha256.Sum256(der)
	hex := make([]string, len(sum))
	for i, b := range sum {
		hex[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(hex, ":")
}

// writeFileAtomic makes readers see either nothing or the whole file, which
// matters for DIR/url: its appearance is the readiness signal.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename

	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("renaming to %s: %w", path, err)
	}
	return nil
}
