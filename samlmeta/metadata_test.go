package samlmeta

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseSalesforceMetadata(t *testing.T) {
	t.Parallel()
	doc, err := Parse(fixtureMetadata(t))
	if err != nil {
		t.Fatal(err)
	}
	e := doc.Entity("https://kolide-dev-ed.my.salesforce.com")
	if e == nil {
		t.Fatal("Entity: not found")
	}
	if doc.Entity("https://other.my.salesforce.com") != nil {
		t.Error("Entity found an absent entityID")
	}
	if want := time.Date(2027, 4, 29, 19, 22, 40, 750e6, time.UTC); !e.ValidUntil.Equal(want) {
		t.Errorf("ValidUntil = %v, want %v", e.ValidUntil, want)
	}
	idp := e.IDPSSODescriptors[0]
	wantSSO := []Endpoint{
		{Binding: "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST", Location: "https://kolide-dev-ed.my.salesforce.com/idp/endpoint/HttpPost"},
		{Binding: "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect", Location: "https://kolide-dev-ed.my.salesforce.com/idp/endpoint/HttpRedirect"},
	}
	if diff := cmp.Diff(wantSSO, idp.SingleSignOnServices); diff != "" {
		t.Errorf("SingleSignOnServices (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"}, idp.NameIDFormats); diff != "" {
		t.Errorf("NameIDFormats (-want +got):\n%s", diff)
	}
	if !idp.SupportsSAML20() {
		t.Error("SupportsSAML20 = false")
	}
	certs := e.SigningCertificates()
	if len(certs) != 1 {
		t.Fatalf("%d signing certificates, want 1", len(certs))
	}
	c := certs[0]
	got := struct {
		SHA256, Subject, KeyType string
		KeyBits                  int
		NotAfter                 time.Time
	}{c.SHA256, c.Subject, c.KeyType, c.KeyBits, c.NotAfter}
	want := got
	want.SHA256 = "3284e587d5e02e632fd9e3b38551b98be916233844d4f6b226141a04c5a54719"
	want.Subject = "CN=SelfSignedCert_24Apr2017_180044,OU=00D6A00000017t8,O=Salesforce.com,L=San Francisco,ST=CA,C=USA"
	want.KeyType, want.KeyBits = "RSA", 2048
	want.NotAfter = time.Date(2018, 4, 24, 12, 0, 0, 0, time.UTC)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("certificate facts (-want +got):\n%s", diff)
	}
}

func TestParseCertificateForms(t *testing.T) {
	t.Parallel()
	c := fixtureCert(t)
	der := c.X509.Raw
	b64 := base64.StdEncoding.EncodeToString(der)
	var wrapped strings.Builder
	for i := 0; i < len(b64); i += 64 {
		wrapped.WriteString("  " + b64[i:min(i+64, len(b64))] + "\r\n")
	}
	tests := map[string][]byte{
		"DER":              der,
		"PEM":              pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"base64":           []byte(b64),
		"wrapped base64":   []byte(wrapped.String()),
		"base64 with tabs": []byte("\t" + b64[:10] + "\n\t" + b64[10:] + "\n"),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseCertificate(data)
			if err != nil {
				t.Fatal(err)
			}
			if got.SHA256 != c.SHA256 {
				t.Errorf("SHA256 = %s, want %s", got.SHA256, c.SHA256)
			}
		})
	}
	for name, data := range map[string][]byte{"empty": nil, "garbage": []byte("not a certificate!"), "PEM key": []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")} {
		if _, err := ParseCertificate(data); err == nil {
			t.Errorf("%s: ParseCertificate succeeded", name)
		}
	}
}

// entitiesDocument wraps the fixture's entity and a second one in an
// EntitiesDescriptor, as one IAM provider serving two orgs.
func entitiesDocument(t testing.TB, second string) []byte {
	t.Helper()
	md := fixtureMetadata(t)
	start := bytes.Index(md, []byte("<md:EntityDescriptor"))
	entity := string(md[start:])
	other := strings.ReplaceAll(entity, "kolide-dev-ed.my.salesforce.com", second)
	other = strings.Replace(other, ` xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"`, "", 1)
	entity = strings.Replace(entity, ` xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"`, "", 1)
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" Name="voicecert tests">
  ` + strings.TrimSpace(entity) + `
  ` + strings.TrimSpace(other) + `
</md:EntitiesDescriptor>
`)
}

func TestParseEntitiesDescriptor(t *testing.T) {
	t.Parallel()
	doc, err := Parse(entitiesDocument(t, "second-org.my.salesforce.com"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range doc.Entities {
		ids = append(ids, e.EntityID)
	}
	want := []string{"https://kolide-dev-ed.my.salesforce.com", "https://second-org.my.salesforce.com"}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("entities (-want +got):\n%s", diff)
	}
}

func TestParseRefusesHostileOrMalformedInput(t *testing.T) {
	t.Parallel()
	md := string(fixtureMetadata(t))
	body := md[strings.Index(md, "?>")+2:]
	tests := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"over the size cap", append([]byte(md), bytes.Repeat([]byte(" "), MaxDocumentSize)...), "too large"},
		{"empty", nil, "empty"},
		{"XXE", []byte(`<?xml version="1.0"?><!DOCTYPE md:EntityDescriptor [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` +
			strings.Replace(body, `entityID="https://kolide-dev-ed.my.salesforce.com"`, `entityID="&xxe;"`, 1)), "DOCTYPE or entity declaration"},
		{"billion laughs", []byte(billionLaughs + body), "DOCTYPE or entity declaration"},
		{"byte-order mark", append([]byte{0xEF, 0xBB, 0xBF}, md...), "byte-order mark"},
		{"UTF-16", append([]byte{0xFE, 0xFF}, md...), "UTF-16"},
		{"not UTF-8", []byte(strings.Replace(md, "</md:NameIDFormat>", "\xff</md:NameIDFormat>", 1)), "not valid UTF-8"},
		{"declared Latin-1", []byte(strings.Replace(md, `encoding="UTF-8"`, `encoding="ISO-8859-1"`, 1)), `declares encoding "ISO-8859-1"`},
		{"round-trip mismatch", []byte(strings.Replace(md, "<md:NameIDFormat>", "<md:NameIDFormat x:=\"y\">", 1)), "round-trip"},
		{"repeated attribute", []byte(strings.Replace(md, `entityID="https://kolide-dev-ed.my.salesforce.com"`, `entityID="https://kolide-dev-ed.my.salesforce.com" entityID="https://evil.example"`, 1)), "repeats attribute entityID"},
		{"wrong root namespace", []byte(strings.ReplaceAll(md, "urn:oasis:names:tc:SAML:2.0:metadata", "urn:oasis:names:tc:SAML:1.0:metadata")), "want an EntityDescriptor or EntitiesDescriptor"},
		{"wrong root element", []byte(`<md:IDPSSODescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"/>`), "want an EntityDescriptor"},
		{"not XML", []byte("entityID=https://kolide-dev-ed.my.salesforce.com"), "text outside its root"},
		{"unclosed", []byte(md[:len(md)-30]), "not well-formed"},
		{"two roots", []byte(md + body), "more than one root"},
		{"deep nesting", []byte(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x">` + strings.Repeat("<a>", 200) + strings.Repeat("</a>", 200) + `</md:EntityDescriptor>`), "more than 100 deep"},
		{"no entityID", []byte(strings.Replace(md, ` entityID="https://kolide-dev-ed.my.salesforce.com"`, "", 1)), "has no entityID"},
		{"same entityID twice", entitiesDocument(t, "kolide-dev-ed.my.salesforce.com"), "two EntityDescriptors"},
		{"no entity", []byte(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"/>`), "no EntityDescriptor"},
		{"bad validUntil", []byte(strings.Replace(md, "2027-04-29T19:22:40.750Z", "tomorrow", 1)), "not an xs:dateTime"},
		{"certificate not base64", []byte(strings.Replace(md, "<ds:X509Certificate>MIIE", "<ds:X509Certificate>!!!!", 1)), "not base64"},
		{"certificate repeats an extension", withExtraKey(t, readTestdata(t, "repeated-extension.pem")), "does not parse"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tc.data)
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "samlmeta: ") {
				t.Errorf("err = %v\nwant it to start with samlmeta: and contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestParseKeyDescriptorUses(t *testing.T) {
	t.Parallel()
	signing := fixtureCert(t)
	encryption := newTestCert(t, 2048, "encryption", fixtureTime, time.Hour)
	doc := mustParse(t, []byte(fmt.Sprintf(defaultNamespaceMetadata, base64.StdEncoding.EncodeToString(encryption.cert.Raw), base64.StdEncoding.EncodeToString(signing.X509.Raw))))
	e := doc.Entities[0]
	var uses []string
	for _, kd := range e.IDPSSODescriptors[0].KeyDescriptors {
		uses = append(uses, fmt.Sprintf("%q signing=%v certificates=%d", kd.Use, kd.IsSigning(), len(kd.Certificates())))
	}
	want := []string{`"encryption" signing=false certificates=1`, `"" signing=true certificates=1`}
	if diff := cmp.Diff(want, uses); diff != "" {
		t.Errorf("KeyDescriptors (-want +got):\n%s", diff)
	}
	// The signing certificate's base64 is spread over lines with indentation.
	if diff := cmp.Diff([]string{signing.SHA256}, fingerprints(e.SigningCertificates())); diff != "" {
		t.Errorf("SigningCertificates (-want +got):\n%s", diff)
	}
	if e.CacheDuration != "PT24H" || doc.CacheDuration != "PT24H" {
		t.Errorf("cacheDuration = %q, %q", e.CacheDuration, doc.CacheDuration)
	}
}
