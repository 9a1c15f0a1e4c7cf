package samlmeta

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Certificate is an X.509 certificate with the facts a rotation needs, computed once.
type Certificate struct {
	X509     *x509.Certificate
	SHA256   string    // lowercase hex of SHA-256 over the DER: the certificate's identity across systems
	Subject  string    // the subject distinguished name, as x509's pkix.Name.String
	NotAfter time.Time // end of validity
	KeyType  string    // "RSA", "ECDSA", "Ed25519", or "unknown"
	KeyBits  int       // RSA modulus or ECDSA curve size in bits; 256 for Ed25519
}

// NewCertificate returns the facts of c. It returns nil when c is nil.
func NewCertificate(c *x509.Certificate) *Certificate {
	if c == nil {
		return nil
	}
	keyType, bits := keyFacts(c.PublicKey)
	return &Certificate{
		X509:     c,
		SHA256:   Fingerprint(c.Raw),
		Subject:  c.Subject.String(),
		NotAfter: c.NotAfter,
		KeyType:  keyType,
		KeyBits:  bits,
	}
}

// String returns the certificate's subject and fingerprint, for messages.
func (c *Certificate) String() string {
	if c == nil {
		return "<nil certificate>"
	}
	return fmt.Sprintf("%s (sha256 %s)", c.Subject, c.SHA256)
}

// keyFacts returns the key type and size of a public key.
func keyFacts(pub any) (string, int) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "RSA", k.N.BitLen()
	case *ecdsa.PublicKey:
		return "ECDSA", k.Curve.Params().BitSize
	case ed25519.PublicKey:
		return "Ed25519", 256
	default:
		return "unknown", 0
	}
}

// Fingerprint returns the lowercase hex SHA-256 of a certificate's DER encoding.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// ParseCertificate reads one certificate given as PEM, as bare base64 (as in
// metadata's X509Certificate, whitespace allowed), or as DER.
func ParseCertificate(data []byte) (*Certificate, error) {
	der, err := certificateDER(data)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("samlmeta: parse certificate: %w", err)
	}
	return NewCertificate(c), nil
}

// certificateDER turns PEM, base64 or DER into DER.
func certificateDER(data []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
		return nil, errors.New("samlmeta: parse certificate: no data")
	case bytes.HasPrefix(trimmed, []byte("-----BEGIN")):
		block, _ := pem.Decode(trimmed)
		if block == nil || block.Type != "CERTIFICATE" {
			return nil, errors.New("samlmeta: parse certificate: no PEM CERTIFICATE block")
		}
		return block.Bytes, nil
	case trimmed[0] == 0x30: // an ASN.1 SEQUENCE: DER ('0' is not a base64 start of a certificate)
		return data, nil
	default:
		der, err := decodeBase64(string(trimmed))
		if err != nil {
			return nil, fmt.Errorf("samlmeta: parse certificate: not PEM, DER or base64: %w", err)
		}
		return der, nil
	}
}

// decodeBase64 decodes standard base64 with any whitespace inside, as metadata
// allows (xs:base64Binary).
func decodeBase64(s string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	return base64.StdEncoding.DecodeString(clean)
}

// certificateFromBase64 parses the content of an X509Certificate element.
func certificateFromBase64(s string) (*Certificate, error) {
	der, err := decodeBase64(s)
	if err != nil {
		return nil, fmt.Errorf("X509Certificate is not base64: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("X509Certificate does not parse: %w", err)
	}
	return NewCertificate(c), nil
}

// extensionOIDs lists the extension identifiers of a DER certificate in order,
// repeats included. It reads the ASN.1 itself because crypto/x509 refuses a
// certificate with a repeated extension, which is exactly what IAM's rule needs
// named.
func extensionOIDs(der []byte) ([]string, error) {
	var cert struct {
		TBS       asn1.RawValue
		Algorithm asn1.RawValue
		Signature asn1.RawValue
	}
	if rest, err := asn1.Unmarshal(der, &cert); err != nil {
		return nil, err
	} else if len(rest) > 0 {
		return nil, errors.New("trailing data after the certificate")
	}
	body := cert.TBS.Bytes
	for len(body) > 0 {
		var field asn1.RawValue
		rest, err := asn1.Unmarshal(body, &field)
		if err != nil {
			return nil, err
		}
		body = rest
		// extensions [3] EXPLICIT SEQUENCE OF Extension (RFC 5280 §4.1).
		if field.Class != asn1.ClassContextSpecific || field.Tag != 3 {
			continue
		}
		var exts []struct {
			ID       asn1.ObjectIdentifier
			Critical bool `asn1:"optional"`
			Value    []byte
		}
		if _, err := asn1.Unmarshal(field.Bytes, &exts); err != nil {
			return nil, err
		}
		ids := make([]string, len(exts))
		for i, e := range exts {
			ids[i] = e.ID.String()
		}
		return ids, nil
	}
	return nil, nil
}

// repeatedExtensions returns the extension identifiers that occur more than once.
func repeatedExtensions(der []byte) ([]string, error) {
	ids, err := extensionOIDs(der)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]int, len(ids))
	var repeated []string
	for _, id := range ids {
		seen[id]++
		if seen[id] == 2 {
			repeated = append(repeated, id)
		}
	}
	return repeated, nil
}
