package samlmeta

import (
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voicecert/voicecert/internal/keypool"
	"github.com/voicecert/voicecert/internal/testenv"
)

// fixtureTime is a moment when the 2017 Salesforce fixture's response was fresh and
// its certificate valid.
var fixtureTime = time.Date(2017, 4, 30, 22, 9, 50, 0, time.UTC)

// pool hands out distinct pre-generated keys to the package's tests.
var pool keypool.Pool

// testCert is a self-signed certificate with its key.
type testCert struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

var serial struct {
	sync.Mutex
	n int64
}

// newTestCert makes a self-signed certificate on a pooled key of the given size,
// valid from notBefore for the given duration.
func newTestCert(t testing.TB, bits int, cn string, notBefore time.Time, valid time.Duration) testCert {
	t.Helper()
	key, err := pool.Key(bits)
	if err != nil {
		t.Fatal(err)
	}
	serial.Lock()
	serial.n++
	n := serial.n
	serial.Unlock()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(n),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"voicecert tests"}},
		NotBefore:    notBefore,
		NotAfter:     notBefore.Add(valid),
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testCert{key: key, cert: c}
}

// fixtureMetadata and fixtureResponse read the real Salesforce fixture.
func fixtureMetadata(t testing.TB) []byte {
	return testenv.ReadShared(t, "fixtures/salesforce-idp-2017/idp-metadata.xml")
}

func fixtureResponse(t testing.TB) []byte {
	return testenv.ReadShared(t, "fixtures/salesforce-idp-2017/saml-response.xml")
}

// fixtureCert is the signing certificate of the fixture's metadata.
func fixtureCert(t testing.TB) *Certificate {
	t.Helper()
	doc, err := Parse(fixtureMetadata(t))
	if err != nil {
		t.Fatal(err)
	}
	certs := doc.Entities[0].SigningCertificates()
	if len(certs) != 1 {
		t.Fatalf("fixture metadata has %d signing certificates, want 1", len(certs))
	}
	return certs[0]
}

// withExtraKey returns the fixture metadata with one more signing KeyDescriptor
// holding the PEM certificate, inserted by hand (Parse-based edits refuse
// certificates crypto/x509 cannot read).
func withExtraKey(t testing.TB, pemData []byte) []byte {
	t.Helper()
	block, _ := pem.Decode(pemData)
	if block == nil {
		t.Fatal("no PEM block")
	}
	kd := `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` +
		base64.StdEncoding.EncodeToString(block.Bytes) +
		`</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`
	md := string(fixtureMetadata(t))
	const anchor = "</md:KeyDescriptor>"
	i := strings.Index(md, anchor) + len(anchor)
	return []byte(md[:i] + "\n         " + kd + md[i:])
}
