package samlmeta

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
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
