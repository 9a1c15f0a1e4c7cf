package awsidp

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voicecert/voicecert/internal/keypool"
	"github.com/voicecert/voicecert/samlmeta"
)

// testCerts are self-signed certificates on distinct pre-generated keys, made
// once for all tests (certificates are cheap; keys come from keypool).
type testCerts struct {
	old, new, other, third *x509.Certificate   // RSA 2048
	weak                   *x509.Certificate   // RSA 1024
	filler                 []*x509.Certificate // 10 certificates on one key, for quota tests
	keys                   map[*x509.Certificate]*rsa.PrivateKey
}

var certs = sync.OnceValue(func() *testCerts {
	var pool keypool.Pool
	tc := &testCerts{keys: map[*x509.Certificate]*rsa.PrivateKey{}}
	mk := func(key *rsa.PrivateKey, cn string, serial int64) *x509.Certificate {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn, Organization: []string{"Salesforce.com"}},
			NotBefore:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			NotAfter:     time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			panic(err)
		}
		tc.keys[c] = key
		return c
	}
	tc.old = mk(pool.MustKey(2048), "SelfSignedCert_01Jan2026_000000", 1)
	tc.new = mk(pool.MustKey(2048), "VoiceCert_2026_12", 2)
	tc.other = mk(pool.MustKey(2048), "OtherOrgCert", 3)
	tc.third = mk(pool.MustKey(2048), "ThirdCert", 4)
	tc.weak = mk(pool.MustKey(1024), "WeakCert", 5)
	shared := pool.MustKey(2048)
	for i := range 10 {
		tc.filler = append(tc.filler, mk(shared, fmt.Sprintf("Filler%02d", i), int64(100+i)))
	}
	return tc
})

const (
	orgA = "https://acme.my.salesforce.com"
	orgB = "https://globex.my.salesforce.com"
)

// entity describes one EntityDescriptor of a test document.
type entity struct {
	id    string
	certs []*x509.Certificate
}

// metadata renders a Salesforce-style metadata document: an EntityDescriptor
// root for one entity, an EntitiesDescriptor for several.
func metadata(entities ...entity) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	if len(entities) > 1 {
		b.WriteString(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">` + "\n")
	}
	for _, e := range entities {
		fmt.Fprintf(&b, `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="%s" validUntil="2036-01-01T00:00:00.000Z" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">`+"\n", e.id)
		b.WriteString(`   <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` + "\n")
		for _, c := range e.certs {
			fmt.Fprintf(&b, "      <md:KeyDescriptor use=\"signing\">\n         <ds:KeyInfo>\n            <ds:X509Data>\n               <ds:X509Certificate>%s</ds:X509Certificate>\n            </ds:X509Data>\n         </ds:KeyInfo>\n      </md:KeyDescriptor>\n",
				base64.StdEncoding.EncodeToString(c.Raw))
		}
		b.WriteString("      <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>\n")
		fmt.Fprintf(&b, "      <md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"%s/idp/endpoint/HttpPost\"/>\n", e.id)
		fmt.Fprintf(&b, "      <md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"%s/idp/endpoint/HttpRedirect\"/>\n", e.id)
		b.WriteString("   </md:IDPSSODescriptor>\n</md:EntityDescriptor>\n")
	}
	if len(entities) > 1 {
		b.WriteString("</md:EntitiesDescriptor>\n")
	}
	return b.String()
}

// sha returns a certificate's SHA-256 fingerprint as samlmeta writes it.
func sha(c *x509.Certificate) string { return samlmeta.Fingerprint(c.Raw) }

// testNow is the time tests check certificates at.
var testNow = time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC)

func newTestClient(f *fakeIAM) *Client {
	return &Client{IAM: f, Now: func() time.Time { return testNow }}
}

// repeatedExtensionCert returns the DER of a certificate carrying one
// extension twice: Go's x509 refuses to parse it, and so does IAM.
func repeatedExtensionCert(t *testing.T) []byte {
	t.Helper()
	c := certs()
	ext := pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, Value: []byte{5, 0}}
	tmpl := &x509.Certificate{
		SerialNumber:    big.NewInt(77),
		Subject:         pkix.Name{CommonName: "Repeated"},
		NotBefore:       time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:        time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		ExtraExtensions: []pkix.Extension{ext, ext},
	}
	key := c.keys[c.third]
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x509.ParseCertificate(der); err == nil {
		t.Fatal("Go parsed a certificate with a repeated extension; the test needs another way to build one")
	}
	return der
}
