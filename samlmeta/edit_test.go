package samlmeta

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/voicecert/voicecert/internal/testenv"
)

// canonical returns the exclusive-canonical form of a document's root.
func canonical(t testing.TB, data []byte) string {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		t.Fatal(err)
	}
	out, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(doc.Root())
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func fingerprints(certs []*Certificate) []string {
	out := make([]string, len(certs))
	for i, c := range certs {
		out[i] = c.SHA256
	}
	return out
}

func TestAddRemoveSigningCertificateRoundTrip(t *testing.T) {
	t.Parallel()
	md := fixtureMetadata(t)
	old := fixtureCert(t)
	entityID := "https://kolide-dev-ed.my.salesforce.com"
	added := newTestCert(t, 4096, "VoiceCert_2026", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), 365*24*time.Hour)

	out, changed, err := AddSigningCertificate(md, entityID, added.cert)
	if err != nil || !changed {
		t.Fatalf("add: changed=%v err=%v", changed, err)
	}
	doc, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{old.SHA256, Fingerprint(added.cert.Raw)}
	if diff := cmp.Diff(want, fingerprints(doc.Entity(entityID).SigningCertificates())); diff != "" {
		t.Errorf("signing certificates after add (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"signing certificate added: " + describe(doc.Entity(entityID).SigningCertificates(), want[1])}, CompareDocuments(mustParse(t, md), doc)); diff != "" {
		t.Errorf("CompareDocuments after add (-want +got):\n%s", diff)
	}

	again, changed, err := AddSigningCertificate(out, entityID, added.cert)
	if err != nil || changed || string(again) != string(out) {
		t.Errorf("second add: changed=%v err=%v same=%v; want no change", changed, err, string(again) == string(out))
	}

	back, changed, err := RemoveSigningCertificate(out, entityID, Fingerprint(added.cert.Raw))
	if err != nil || !changed {
		t.Fatalf("remove: changed=%v err=%v", changed, err)
	}
	if diff := cmp.Diff(canonical(t, md), canonical(t, back)); diff != "" {
		t.Errorf("add then remove is not the original, canonically (-want +got):\n%s", diff)
	}
	same, changed, err := RemoveSigningCertificate(back, entityID, Fingerprint(added.cert.Raw))
	if err != nil || changed || string(same) != string(back) {
		t.Errorf("second remove: changed=%v err=%v; want no change", changed, err)
	}
}

func TestEditErrors(t *testing.T) {
	t.Parallel()
	md := fixtureMetadata(t)
	c := newTestCert(t, 2048, "x", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Hour)
	if _, _, err := AddSigningCertificate(md, "https://absent.example", c.cert); !errors.Is(err, ErrEntityNotFound) {
		t.Errorf("add to absent entity: err = %v", err)
	}
	if _, _, err := RemoveSigningCertificate(md, "https://absent.example", Fingerprint(c.cert.Raw)); !errors.Is(err, ErrEntityNotFound) {
		t.Errorf("remove from absent entity: err = %v", err)
	}
	if _, _, err := RemoveSigningCertificate(md, "https://kolide-dev-ed.my.salesforce.com", fixtureCert(t).SHA256); err == nil {
		t.Error("removing the last signing certificate succeeded")
	}
	if _, _, err := RemoveSigningCertificate(md, "https://kolide-dev-ed.my.salesforce.com", "abc"); err == nil {
		t.Error("a malformed fingerprint was accepted")
	}
}

// TestRemoveRefusesToDropOtherCertificates: removal works by fingerprint, so the
// same certificate twice is still the last one, and a KeyDescriptor that also
// holds another certificate is not dropped whole.
func TestRemoveRefusesToDropOtherCertificates(t *testing.T) {
	t.Parallel()
	const entityID = "https://kolide-dev-ed.my.salesforce.com"
	old := fixtureCert(t)
	other := newTestCert(t, 2048, "other", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 365*24*time.Hour)
	oldB64 := base64.StdEncoding.EncodeToString(old.X509.Raw)
	otherB64 := base64.StdEncoding.EncodeToString(other.cert.Raw)
	md := string(fixtureMetadata(t))
	const anchor = "</md:KeyDescriptor>"
	at := strings.Index(md, anchor) + len(anchor)
	insert := func(kd string) []byte { return []byte(md[:at] + "\n         " + kd + md[at:]) }
	kd := func(certs ...string) string {
		var x string
		for _, c := range certs {
			x += "<ds:X509Certificate>" + c + "</ds:X509Certificate>"
		}
		return `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>` + x + `</ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`
	}
	tests := []struct {
		name string
		doc  []byte
		want string
	}{
		{"the same certificate twice", insert(kd(oldB64)), "last signing certificate"},
		{"a KeyDescriptor shared with another certificate", insert(kd(oldB64, otherB64)), "shares its KeyDescriptor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, changed, err := RemoveSigningCertificate(tt.doc, entityID, old.SHA256)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("RemoveSigningCertificate = changed %v, err %v; want an error saying %q", changed, err, tt.want)
			}
			if out != nil {
				t.Errorf("an edited document was returned with the error")
			}
		})
	}
}

func mustParse(t testing.TB, data []byte) *Document {
	t.Helper()
	doc, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// canonicalEntity returns the exclusive-canonical form of one entity of a
// document, with the namespaces in scope at its place; if drop is not empty, the
// KeyDescriptor holding that certificate (and the whitespace before it) is removed
// first.
func canonicalEntity(t testing.TB, data []byte, entityID, drop string) string {
	t.Helper()
	_, el, err := loadEntity(data, entityID)
	if err != nil {
		t.Fatal(err)
	}
	if drop != "" {
		removed := false
		for _, role := range el.ChildElements() {
			for _, kd := range role.ChildElements() {
				if isElement(kd, nsMetadata, "KeyDescriptor") && holdsCertificate(kd, drop) {
					i := kd.Index()
					role.RemoveChildAt(i)
					if cd, ok := role.Child[i-1].(*etree.CharData); ok && cd.IsWhitespace() {
						role.RemoveChildAt(i - 1)
					}
					removed = true
				}
			}
		}
		if !removed {
			t.Fatalf("no KeyDescriptor holds %s", drop)
		}
	}
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		t.Fatal(err)
	}
	detached, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		t.Fatal(err)
	}
	out, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(detached)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// Metadata shapes the edits must handle besides Salesforce's.
const (
	defaultNamespaceMetadata = `<?xml version="1.0" encoding="UTF-8"?>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://default-ns.my.salesforce.com" cacheDuration="PT24H">
    <IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
        <KeyDescriptor use="encryption"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>%s</X509Certificate></X509Data></KeyInfo></KeyDescriptor>
        <KeyDescriptor><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>
%s
        </ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>
        <NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</NameIDFormat>
        <SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://default-ns.my.salesforce.com/idp/endpoint/HttpPost"/>
    </IDPSSODescriptor>
    <Organization><OrganizationName xml:lang="en">Test</OrganizationName><OrganizationDisplayName xml:lang="en">Test</OrganizationDisplayName><OrganizationURL xml:lang="en">https://example.com</OrganizationURL></Organization>
</EntityDescriptor>
`
	noKeyMetadata = `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://no-key.my.salesforce.com">
	<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
		<md:Extensions><x:Note xmlns:x="urn:example:note">kept</x:Note></md:Extensions>
		<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://no-key.my.salesforce.com/idp/endpoint/HttpPost"/>
	</md:IDPSSODescriptor>
</md:EntityDescriptor>
`
)

func TestAddSigningCertificateKeepsEverythingElse(t *testing.T) {
	t.Parallel()
	schema := testenv.Shared(t, "schemas/saml/saml-schema-metadata-2.0.xsd")
	old := fixtureCert(t)
	b64 := base64.StdEncoding.EncodeToString(old.X509.Raw)
	encryption := newTestCert(t, 2048, "encryption", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 365*24*time.Hour)
	added := newTestCert(t, 4096, "VoiceCert_2026", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), 365*24*time.Hour)
	addedFP := Fingerprint(added.cert.Raw)

	tests := []struct {
		name     string
		doc      []byte
		entityID string
		siblings []string // entities that must not change
		before   []string // signing fingerprints before the edit
	}{
		{"Salesforce", fixtureMetadata(t), "https://kolide-dev-ed.my.salesforce.com", nil, []string{old.SHA256}},
		{"second of two entities", entitiesDocument(t, "second-org.my.salesforce.com"), "https://second-org.my.salesforce.com",
			[]string{"https://kolide-dev-ed.my.salesforce.com"}, []string{old.SHA256}},
		{"first of two entities", entitiesDocument(t, "second-org.my.salesforce.com"), "https://kolide-dev-ed.my.salesforce.com",
			[]string{"https://second-org.my.salesforce.com"}, []string{old.SHA256}},
		{"default namespace, encryption key, ds declared per KeyInfo",
			[]byte(fmt.Sprintf(defaultNamespaceMetadata, base64.StdEncoding.EncodeToString(encryption.cert.Raw), b64)),
			"https://default-ns.my.salesforce.com", nil, []string{old.SHA256}},
		{"no KeyDescriptor yet", []byte(noKeyMetadata), "https://no-key.my.salesforce.com", nil, nil},
	}
	var files []string
	dir := t.TempDir()
	for i, tc := range tests {
		out, changed, err := AddSigningCertificate(tc.doc, tc.entityID, added.cert)
		if err != nil || !changed {
			t.Errorf("%s: add: changed=%v err=%v", tc.name, changed, err)
			continue
		}
		doc := mustParse(t, out)
		if diff := cmp.Diff(append(tc.before, addedFP), fingerprints(doc.Entity(tc.entityID).SigningCertificates())); diff != "" {
			t.Errorf("%s: signing certificates (-want +got):\n%s", tc.name, diff)
		}
		for _, id := range tc.siblings {
			if diff := cmp.Diff(canonicalEntity(t, tc.doc, id, ""), canonicalEntity(t, out, id, "")); diff != "" {
				t.Errorf("%s: sibling %s changed (-want +got):\n%s", tc.name, id, diff)
			}
		}
		if diff := cmp.Diff(canonicalEntity(t, tc.doc, tc.entityID, ""), canonicalEntity(t, out, tc.entityID, addedFP)); diff != "" {
			t.Errorf("%s: the entity changed beyond the added key (-want +got):\n%s", tc.name, diff)
		}
		if tc.before != nil {
			back, _, err := RemoveSigningCertificate(out, tc.entityID, addedFP)
			if err != nil {
				t.Errorf("%s: remove: %v", tc.name, err)
			} else if diff := cmp.Diff(canonical(t, tc.doc), canonical(t, back)); diff != "" {
				t.Errorf("%s: add then remove (-want +got):\n%s", tc.name, diff)
			}
		}
		f := filepath.Join(dir, fmt.Sprintf("edited-%d.xml", i))
		if err := os.WriteFile(f, out, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	testenv.ValidateXSD(t, schema, files...)
}

func TestRemoveSigningCertificateKeepsOrder(t *testing.T) {
	t.Parallel()
	entityID := "https://kolide-dev-ed.my.salesforce.com"
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := newTestCert(t, 2048, "a", start, 365*24*time.Hour)
	b := newTestCert(t, 2048, "b", start, 365*24*time.Hour)
	doc := fixtureMetadata(t)
	for _, c := range []testCert{a, b} {
		var err error
		if doc, _, err = AddSigningCertificate(doc, entityID, c.cert); err != nil {
			t.Fatal(err)
		}
	}
	old := fixtureCert(t).SHA256
	out, changed, err := RemoveSigningCertificate(doc, entityID, strings.ToUpper(Fingerprint(a.cert.Raw)))
	if err != nil || !changed {
		t.Fatalf("remove: changed=%v err=%v", changed, err)
	}
	if diff := cmp.Diff([]string{old, Fingerprint(b.cert.Raw)}, fingerprints(mustParse(t, out).Entity(entityID).SigningCertificates())); diff != "" {
		t.Errorf("signing certificates (-want +got):\n%s", diff)
	}
	testenv.ValidateXSD(t, testenv.Shared(t, "schemas/saml/saml-schema-metadata-2.0.xsd"), writeTemp(t, out))
}

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "doc.xml")
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}
