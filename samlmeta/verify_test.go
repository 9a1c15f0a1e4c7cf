package samlmeta

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"
)

func TestVerifyResponseSalesforceFixture(t *testing.T) {
	t.Parallel()
	resp, signer := fixtureResponse(t), fixtureCert(t)
	other := newTestCert(t, 2048, "other", fixtureTime.Add(-time.Hour), 24*time.Hour)
	tests := []struct {
		name string
		opts VerifyOptions
	}{
		{"clock pinned to issue time", VerifyOptions{Trusted: []*x509.Certificate{signer.X509}, Now: fixtureTime}},
		{"expired certificate allowed", VerifyOptions{Trusted: []*x509.Certificate{signer.X509}, Now: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC), AllowExpired: true}},
		{"signer after another trusted certificate", VerifyOptions{Trusted: []*x509.Certificate{other.cert, signer.X509}, Now: fixtureTime, AllowExpired: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := VerifyResponse(resp, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got.Signer.SHA256 != signer.SHA256 || got.ResponseSigner.SHA256 != signer.SHA256 || !got.ResponseSigned {
				t.Errorf("signers = %v, %v (response signed %v); want %v for both", got.Signer, got.ResponseSigner, got.ResponseSigned, signer)
			}
			want := VerifiedAssertion{
				ID:                  "_f2e9c3f7000c40f0241028ec904314861493590106636",
				Issuer:              "https://kolide-dev-ed.my.salesforce.com",
				NameID:              "john@kolide.co",
				NameIDFormat:        "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
				IssueInstant:        time.Date(2017, 4, 30, 22, 8, 26, 636e6, time.UTC),
				NotBefore:           time.Date(2017, 4, 30, 22, 7, 56, 643e6, time.UTC),
				NotOnOrAfter:        time.Date(2017, 4, 30, 22, 13, 26, 643e6, time.UTC),
				SubjectNotOnOrAfter: time.Date(2017, 4, 30, 22, 13, 26, 643e6, time.UTC),
				Recipient:           "https://localhost:8080/api/v1/kolide/sso/callback",
				Audiences:           []string{"kolide"},
				Attributes: []Attribute{
					{"userId", []string{"0056A000000Q6Rl"}},
					{"username", []string{"john@kolide.co"}},
					{"email", []string{"john@kolide.co"}},
					{"is_portal_user", []string{"false"}},
				},
			}
			if diff := cmp.Diff(want, got.Assertion); diff != "" {
				t.Errorf("assertion (-want +got):\n%s", diff)
			}
			if got.Issuer != want.Issuer || got.ID != "_c821c52e3d2d7ca21b2be6be948cdbb01493590106635" || got.Status != "urn:oasis:names:tc:SAML:2.0:status:Success" {
				t.Errorf("response values = %q %q %q", got.ID, got.Issuer, got.Status)
			}
			if !strings.Contains(strings.Join(got.Warnings, "\n"), "RSA-SHA1") {
				t.Errorf("warnings = %q; want one about RSA-SHA1", got.Warnings)
			}
		})
	}
}

func TestVerifyResponseSalesforceFixtureRefused(t *testing.T) {
	t.Parallel()
	resp, signer := fixtureResponse(t), fixtureCert(t)
	other := newTestCert(t, 2048, "other", fixtureTime.Add(-time.Hour), 24*time.Hour)
	tests := []struct {
		name string
		opts VerifyOptions
	}{
		{"another certificate", VerifyOptions{Trusted: []*x509.Certificate{other.cert}, Now: fixtureTime}},
		{"another certificate, expired allowed", VerifyOptions{Trusted: []*x509.Certificate{other.cert}, Now: fixtureTime, AllowExpired: true}},
		{"expired certificate not allowed", VerifyOptions{Trusted: []*x509.Certificate{signer.X509}, Now: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := VerifyResponse(resp, tc.opts)
			if !errors.Is(err, ErrSignature) {
				t.Fatalf("err = %v; want ErrSignature", err)
			}
		})
	}
}

// unsignedResponse is the fixture response with both signatures removed.
func unsignedResponse(t testing.TB) []byte {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(fixtureResponse(t)); err != nil {
		t.Fatal(err)
	}
	var strip func(el *etree.Element)
	strip = func(el *etree.Element) {
		for _, c := range el.ChildElements() {
			if isElement(c, nsDSig, "Signature") {
				el.RemoveChild(c)
				continue
			}
			strip(c)
		}
	}
	strip(doc.Root())
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSignResponseVerifies(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	tc := newTestCert(t, 2048, "signer", now.Add(-time.Hour), 365*24*time.Hour)
	other := newTestCert(t, 2048, "other", now.Add(-time.Hour), 365*24*time.Hour)
	for _, alg := range []SignatureAlgorithm{"", RSASHA256, RSASHA1} {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			signed, err := SignResponse(unsignedResponse(t), tc.key, tc.cert, alg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := VerifyResponse(signed, VerifyOptions{Trusted: []*x509.Certificate{other.cert, tc.cert}, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if got.Signer.SHA256 != Fingerprint(tc.cert.Raw) || !got.ResponseSigned {
				t.Errorf("signer %v, response signed %v; want %s", got.Signer, got.ResponseSigned, Fingerprint(tc.cert.Raw))
			}
			sha1Warned := strings.Contains(strings.Join(got.Warnings, "\n"), "SHA-1")
			if sha1Warned != (alg == RSASHA1) {
				t.Errorf("warnings = %q for %q", got.Warnings, alg)
			}
			if _, err := VerifyResponse(signed, VerifyOptions{Trusted: []*x509.Certificate{other.cert}, Now: now}); !errors.Is(err, ErrSignature) {
				t.Errorf("verified with the wrong certificate: err = %v", err)
			}
		})
	}
}

func TestSignResponseLayout(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	tc := newTestCert(t, 2048, "signer", now.Add(-time.Hour), 365*24*time.Hour)
	signed, err := SignResponse(unsignedResponse(t), tc.key, tc.cert, RSASHA256)
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(signed); err != nil {
		t.Fatal(err)
	}
	response := doc.Root()
	assertion, err := singleAssertion(response)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		el         *etree.Element
		prefixList string
	}{{response, responsePrefixList}, {assertion, assertionPrefixList}} {
		kids := c.el.ChildElements()
		if len(kids) < 2 || !isElement(kids[0], nsAssertion, "Issuer") || !isElement(kids[1], nsDSig, "Signature") {
			t.Errorf("%s: the Signature is not right after the Issuer", c.el.Tag)
			continue
		}
		sig := kids[1]
		if sig.SelectAttrValue("xmlns:ds", "") != nsDSig {
			t.Errorf("%s: the Signature does not declare xmlns:ds", c.el.Tag)
		}
		inc := sig.FindElement("./SignedInfo/Reference/Transforms/Transform[2]/InclusiveNamespaces")
		if inc == nil || inc.SelectAttrValue("PrefixList", "") != c.prefixList {
			t.Errorf("%s: InclusiveNamespaces PrefixList missing or not %q", c.el.Tag, c.prefixList)
		}
		if got := sig.FindElement("./SignedInfo/SignatureMethod").SelectAttrValue("Algorithm", ""); got != algRSASHA256 {
			t.Errorf("%s: SignatureMethod %q", c.el.Tag, got)
		}
		if got := sig.FindElement("./SignedInfo/Reference").SelectAttrValue("URI", ""); got != "#"+c.el.SelectAttrValue("ID", "") {
			t.Errorf("%s: Reference URI %q", c.el.Tag, got)
		}
	}
}
