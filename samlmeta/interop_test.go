package samlmeta

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/voicecert/voicecert/internal/testenv"
)

// interopTime is the validation time of the interop tests. Their certificates are
// valid for a century around it, so xmlsec1, which reads the wall clock, agrees.
var interopTime = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// xmlsec1 selects an element by its ID attribute only when told which attributes
// are IDs.
var xmlsecIDAttrs = []string{
	"--id-attr:ID", nsProtocol + ":Response",
	"--id-attr:ID", nsAssertion + ":Assertion",
}

// xmlsec1 checks the first Signature of a document; this XPath selects the
// Assertion's.
const assertionSignatureXPath = "/*[local-name()='Response']/*[local-name()='Assertion']/*[local-name()='Signature']"

// writePEM writes DER bytes as a PEM file in dir and returns its path.
func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func runXMLSec1(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(testenv.Tool(t, "xmlsec1"), args...).CombinedOutput()
	return string(out), err
}

func TestXMLSec1VerifiesSignResponse(t *testing.T) {
	t.Parallel()
	testenv.Tool(t, "xmlsec1")
	signer := newTestCert(t, 2048, "samlmeta signer", interopTime.AddDate(-1, 0, 0), 100*365*24*time.Hour)
	other := newTestCert(t, 2048, "someone else", interopTime.AddDate(-1, 0, 0), 100*365*24*time.Hour)
	for _, alg := range []SignatureAlgorithm{RSASHA256, RSASHA1} {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			signed, err := SignResponse(unsignedResponse(t), signer.key, signer.cert, alg)
			if err != nil {
				t.Fatal(err)
			}
			doc := filepath.Join(dir, "response.xml")
			if err := os.WriteFile(doc, signed, 0o600); err != nil {
				t.Fatal(err)
			}
			good := writePEM(t, dir, "signer.pem", "CERTIFICATE", signer.cert.Raw)
			bad := writePEM(t, dir, "other.pem", "CERTIFICATE", other.cert.Raw)
			for _, which := range []struct {
				name  string
				xpath []string
			}{{"Response signature", nil}, {"Assertion signature", []string{"--node-xpath", assertionSignatureXPath}}} {
				args := append([]string{"--verify", "--pubkey-cert-pem", good}, xmlsecIDAttrs...)
				args = append(append(args, which.xpath...), doc)
				if out, err := runXMLSec1(t, args...); err != nil {
					t.Errorf("%s: xmlsec1 --verify: %v\n%s", which.name, err, out)
				}
				args[2] = bad
				if _, err := runXMLSec1(t, args...); err == nil {
					t.Errorf("%s: xmlsec1 verified it against another certificate", which.name)
				}
			}
		})
	}
}

// signatureTemplate is an empty enveloped signature of the element with the given
// ID, for xmlsec1 --sign to fill in.
func signatureTemplate(id, prefixList string) string {
	return `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>` +
		`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>` +
		`<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>` +
		`<ds:Reference URI="#` + id + `"><ds:Transforms>` +
		`<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>` +
		`<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="` + prefixList + `"/></ds:Transform>` +
		`</ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>` +
		`</ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>`
}

func TestVerifyResponseSignedByXMLSec1(t *testing.T) {
	t.Parallel()
	testenv.Tool(t, "xmlsec1")
	signer := newTestCert(t, 2048, "xmlsec1 signer", interopTime.AddDate(-1, 0, 0), 100*365*24*time.Hour)
	other := newTestCert(t, 2048, "someone else", interopTime.AddDate(-1, 0, 0), 100*365*24*time.Hour)
	dir := t.TempDir()
	keyDER, err := x509.MarshalPKCS8PrivateKey(signer.key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := writePEM(t, dir, "key.pem", "PRIVATE KEY", keyDER)
	certFile := writePEM(t, dir, "cert.pem", "CERTIFICATE", signer.cert.Raw)

	// The unsigned fixture with a template after each Issuer.
	tmpl := string(unsignedResponse(t))
	issuerEnd := "</saml:Issuer>"
	i := strings.Index(tmpl, issuerEnd) + len(issuerEnd)
	tmpl = tmpl[:i] + signatureTemplate("_c821c52e3d2d7ca21b2be6be948cdbb01493590106635", responsePrefixList) + tmpl[i:]
	j := strings.Index(tmpl[i:], "<saml:Assertion")
	k := i + j + strings.Index(tmpl[i+j:], issuerEnd) + len(issuerEnd)
	tmpl = tmpl[:k] + signatureTemplate(fixtureAssertionID, assertionPrefixList) + tmpl[k:]

	in := filepath.Join(dir, "template.xml")
	mid := filepath.Join(dir, "assertion-signed.xml")
	out := filepath.Join(dir, "signed.xml")
	if err := os.WriteFile(in, []byte(tmpl), 0o600); err != nil {
		t.Fatal(err)
	}
	// The Assertion first: the Response's digest covers the Assertion's signature.
	sign := func(from, to string, xpath ...string) {
		args := append([]string{"--sign", "--privkey-pem", keyFile + "," + certFile, "--output", to}, xmlsecIDAttrs...)
		args = append(append(args, xpath...), from)
		if msg, err := runXMLSec1(t, args...); err != nil {
			t.Fatalf("xmlsec1 --sign: %v\n%s", err, msg)
		}
	}
	sign(in, mid, "--node-xpath", assertionSignatureXPath)
	sign(mid, out)
	signed, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}

	got, err := VerifyResponse(signed, VerifyOptions{Trusted: []*x509.Certificate{other.cert, signer.cert}, Now: interopTime})
	if err != nil {
		t.Fatal(err)
	}
	want := Fingerprint(signer.cert.Raw)
	if got.Signer.SHA256 != want || !got.ResponseSigned || got.ResponseSigner.SHA256 != want {
		t.Errorf("signer %v, response signer %v (signed %v); want sha256 %s", got.Signer, got.ResponseSigner, got.ResponseSigned, want)
	}
	if got.Assertion.NameID != fixtureNameID {
		t.Errorf("NameID = %q", got.Assertion.NameID)
	}
	if _, err := VerifyResponse(signed, VerifyOptions{Trusted: []*x509.Certificate{other.cert}, Now: interopTime}); err == nil {
		t.Error("verified against another certificate")
	}
}
