package samlmeta

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"
)

// Names of the fixture's parts, for building attacks on it.
const (
	fixtureNameID      = "john@kolide.co"
	fixtureAssertionID = "_f2e9c3f7000c40f0241028ec904314861493590106636"
	fixtureIssuer      = `<saml:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">https://kolide-dev-ed.my.salesforce.com</saml:Issuer>`
	evilAssertion      = `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_evil" IssueInstant="2017-04-30T22:08:26.636Z" Version="2.0">` +
		fixtureIssuer + `<saml:Subject><saml:NameID>admin@kolide.co</saml:NameID></saml:Subject></saml:Assertion>`
)

// cut returns s without its first occurrence of the element that starts with
// open and ends with the first close after it.
func cut(t testing.TB, s, open, close string) string {
	t.Helper()
	i := strings.Index(s, open)
	if i < 0 {
		t.Fatalf("%q not found", open)
	}
	j := strings.Index(s[i:], close)
	if j < 0 {
		t.Fatalf("%q not found after %q", close, open)
	}
	return s[:i] + s[i+j+len(close):]
}

// replaceOnce replaces the first old in s, failing the test when there is none.
func replaceOnce(t testing.TB, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("%q not found", old)
	}
	return strings.Replace(s, old, new, 1)
}

// responseOnlyAssertionSigned is the fixture with the Response's own signature
// removed: an attack then only has to get past the Assertion's signature.
func responseOnlyAssertionSigned(t testing.TB) string {
	return cut(t, string(fixtureResponse(t)), "<ds:Signature", "</ds:Signature>")
}

// signedAssertion returns the fixture's signed Assertion element.
func signedAssertion(t testing.TB) string {
	s := string(fixtureResponse(t))
	i := strings.Index(s, "<saml:Assertion")
	j := strings.Index(s, "</saml:Assertion>") + len("</saml:Assertion>")
	return s[i:j]
}

func TestVerifyResponseAttacks(t *testing.T) {
	t.Parallel()
	signer := fixtureCert(t)
	full := string(fixtureResponse(t))
	noResponseSig := responseOnlyAssertionSigned(t)
	assertion := signedAssertion(t)
	attacker := newTestCert(t, 2048, "attacker", fixtureTime.Add(-time.Hour), 24*time.Hour)
	foreign, err := SignResponse(unsignedResponse(t), attacker.key, attacker.cert, RSASHA256)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		build   func(t *testing.T) string
		wantErr string // substring of the error; every error must wrap ErrSignature
	}{
		{"XXE", func(t *testing.T) string {
			doc := replaceOnce(t, full, ">"+fixtureNameID+"<", ">&xxe;<")
			return replaceOnce(t, doc, `<?xml version="1.0" encoding="UTF-8"?>`,
				`<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE samlp:Response [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>`)
		}, "DOCTYPE"},
		{"BillionLaughs", func(t *testing.T) string { return billionLaughs + full[strings.Index(full, "?>")+2:] }, "DOCTYPE"},
		{"SignatureWrappingUnsignedAssertionBefore", func(t *testing.T) string {
			return replaceOnce(t, noResponseSig, "<saml:Assertion ", evilAssertion+"<saml:Assertion ")
		}, "2 Assertion elements"},
		{"SignatureWrappingUnsignedAssertionAfter", func(t *testing.T) string {
			return replaceOnce(t, noResponseSig, "</saml:Assertion>", "</saml:Assertion>"+evilAssertion)
		}, "2 Assertion elements"},
		{"SignatureWrappingUnsignedAssertionBeforeSignedResponse", func(t *testing.T) string {
			return replaceOnce(t, full, "<saml:Assertion ", evilAssertion+"<saml:Assertion ")
		}, "Signature could not be verified"},
		{"SignatureWrappingEvilAssertionWrapsSigned", func(t *testing.T) string {
			wrapper := strings.TrimSuffix(evilAssertion, "</saml:Assertion>") + assertion + "</saml:Assertion>"
			return replaceOnce(t, noResponseSig, assertion, wrapper)
		}, "2 Assertion elements"},
		{"SignatureWrappingSignedAssertionInExtensions", func(t *testing.T) string {
			return replaceOnce(t, noResponseSig, assertion, "<samlp:Extensions>"+assertion+"</samlp:Extensions>"+evilAssertion)
		}, "2 Assertion elements"},
		{"SignatureWrappingEvilResponseHidesSignedResponseInExtensions", func(t *testing.T) string {
			body := full[strings.Index(full, "?>")+2:]
			return `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_evilresponse" IssueInstant="2017-04-30T22:08:26.635Z" Version="2.0">` +
				`<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">https://kolide-dev-ed.my.salesforce.com</saml:Issuer>` +
				`<samlp:Extensions>` + body + `</samlp:Extensions>` +
				`<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` + evilAssertion + `</samlp:Response>`
		}, "2 Assertion elements"},
		{"SignatureWrappingEvilResponseOnlySignedAssertionInExtensions", func(t *testing.T) string {
			body := noResponseSig[strings.Index(noResponseSig, "?>")+2:]
			return `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_evilresponse" IssueInstant="2017-04-30T22:08:26.635Z" Version="2.0">` +
				`<samlp:Extensions>` + body + `</samlp:Extensions></samlp:Response>`
		}, "not a direct child"},
		{"CopiedSignatureOnEvilAssertion", func(t *testing.T) string {
			return replaceOnce(t, noResponseSig, ">"+fixtureNameID+"</saml:NameID>", ">admin@kolide.co</saml:NameID>")
		}, "Signature could not be verified"},
		{"CopiedSignatureOnEvilAssertionWithOwnID", func(t *testing.T) string {
			evil := strings.Replace(assertion, `ID="`+fixtureAssertionID+`"`, `ID="_evil"`, 1)
			evil = strings.Replace(evil, ">"+fixtureNameID+"</saml:NameID>", ">admin@kolide.co</saml:NameID>", 1)
			return replaceOnce(t, noResponseSig, assertion, evil)
		}, "not the Assertion's ID"},
		{"StrippedSignatures", func(t *testing.T) string {
			return cut(t, noResponseSig, "<ds:Signature", "</ds:Signature>")
		}, "the Assertion is not signed"},
		{"StrippedAssertionSignatureUnderSignedResponse", func(t *testing.T) string {
			i := strings.Index(full, "</ds:Signature>") + len("</ds:Signature>")
			return full[:i] + cut(t, full[i:], "<ds:Signature", "</ds:Signature>")
		}, "Signature could not be verified"},
		{"DuplicateIDAttribute", func(t *testing.T) string {
			return replaceOnce(t, noResponseSig, `ID="`+fixtureAssertionID+`"`, `ID="_evil" ID="`+fixtureAssertionID+`"`)
		}, "repeats attribute ID"},
		{"TamperedDigest", func(t *testing.T) string {
			i := strings.Index(noResponseSig, "<ds:DigestValue>") + len("<ds:DigestValue>")
			b := []byte(noResponseSig)
			b[i] ^= 0x01
			return string(b)
		}, "trusted certificate 1"},
		{"ForeignKeyWithOwnCertificateInKeyInfo", func(t *testing.T) string { return string(foreign) }, "verifies with no trusted certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc := tc.build(t)
			got, err := VerifyResponse([]byte(doc), VerifyOptions{Trusted: []*x509.Certificate{signer.X509}, Now: fixtureTime, AllowExpired: true})
			if err == nil {
				t.Fatalf("verified: NameID %q", got.Assertion.NameID)
			}
			if !errors.Is(err, ErrSignature) {
				t.Errorf("err does not wrap ErrSignature: %v", err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v\nwant it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// billionLaughs is an XML prolog whose entities expand to gigabytes.
const billionLaughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>`

func TestVerifyResponseStrippedResponseSignature(t *testing.T) {
	t.Parallel()
	signer := fixtureCert(t)
	got, err := VerifyResponse([]byte(responseOnlyAssertionSigned(t)), VerifyOptions{Trusted: []*x509.Certificate{signer.X509}, Now: fixtureTime})
	if err != nil {
		t.Fatal(err)
	}
	if got.ResponseSigned || got.ResponseSigner != nil || got.ID != "" || got.Destination != "" || got.Issuer != "" {
		t.Errorf("an unsigned Response's values were reported: %+v", got)
	}
	if got.Signer.SHA256 != signer.SHA256 || got.Assertion.NameID != fixtureNameID {
		t.Errorf("signer %v, NameID %q", got.Signer, got.Assertion.NameID)
	}
}

func TestVerifyResponseCommentInjectedIntoNameID(t *testing.T) {
	t.Parallel()
	signer := fixtureCert(t)
	// Comments are not part of the exclusive canonical form, so the signatures
	// still verify; a reader that takes only the first text node would see
	// "john@kolide" instead of the signed "john@kolide.co".
	doc := strings.Replace(string(fixtureResponse(t)), ">john@kolide.co</saml:NameID>", ">john@kolide<!---->.co</saml:NameID>", 1)
	got, err := VerifyResponse([]byte(doc), VerifyOptions{Trusted: []*x509.Certificate{signer.X509}, Now: fixtureTime})
	if err != nil {
		t.Fatal(err)
	}
	if got.Assertion.NameID != fixtureNameID {
		t.Errorf("NameID = %q, want %q", got.Assertion.NameID, fixtureNameID)
	}
}

// TestVerifyResponseOneByteChanges changes each byte of the signed content of the
// fixture, one at a time, and expects each change to be refused. Whitespace bytes
// are skipped (inside a tag they are not content), and so are the bytes the
// signatures do not cover: the XML declaration, and the SignatureValue and KeyInfo
// of the Response's own signature (KeyInfo is never used; base64's padding bits are
// not checked).
func TestVerifyResponseOneByteChanges(t *testing.T) {
	t.Parallel()
	resp := fixtureResponse(t)
	opts := VerifyOptions{Trusted: []*x509.Certificate{fixtureCert(t).X509}, Now: fixtureTime}
	s := string(resp)
	skip := func(i int) bool {
		first := strings.Index(s, "<ds:SignatureValue>")
		end := strings.Index(s, "</ds:Signature>")
		return i < strings.Index(s, "<samlp:Response") || (i > first && i < end)
	}
	// Every byte without the race detector; a deterministic sample with it (or
	// with -short), which keeps the package's tests well under a minute.
	step := 1
	if raceEnabled || testing.Short() {
		step = 13
	}
	tried := 0
	for i := 0; i < len(resp); i += step {
		b := resp[i]
		if skip(i) || b == ' ' || b == '\n' || b == '\r' || b == '\t' {
			continue
		}
		changed := append([]byte(nil), resp...)
		changed[i] = mutate(b)
		tried++
		if _, err := VerifyResponse(changed, opts); err == nil {
			t.Errorf("byte %d changed from %q to %q: still verifies (context %q)", i, b, changed[i], s[max(0, i-30):min(len(s), i+30)])
		}
	}
	if tried < 1000/step {
		t.Fatalf("only %d changes tried", tried)
	}
}

// mutate returns a different byte of the same kind, so most changes stay
// well-formed XML and reach the signature check.
func mutate(b byte) byte {
	switch {
	case b >= 'a' && b < 'z', b >= 'A' && b < 'Z', b >= '0' && b < '9':
		return b + 1
	case b == 'z', b == 'Z', b == '9':
		return b - 1
	default:
		return 'x'
	}
}
