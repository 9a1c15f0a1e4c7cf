package samlmeta

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// reprefixed is the fixture rewritten with other prefixes, attribute order,
// whitespace and validUntil: the same metadata to a service provider.
func reprefixed(t testing.TB) []byte {
	t.Helper()
	md := string(fixtureMetadata(t))
	md = strings.ReplaceAll(md, "md:", "m:")
	md = strings.ReplaceAll(md, "xmlns:md=", "xmlns:m=")
	md = strings.ReplaceAll(md, "ds:", "sig:")
	md = strings.ReplaceAll(md, "xmlns:ds=", "xmlns:sig=")
	md = replaceOnce(t, md, `validUntil="2027-04-29T19:22:40.750Z"`, `validUntil="2030-01-01T00:00:00Z"`)
	md = replaceOnce(t, md, `WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"`,
		`protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"   WantAuthnRequestsSigned="false"`)
	// Wrap the certificate's base64 at 64 columns.
	i := strings.Index(md, "<sig:X509Certificate>") + len("<sig:X509Certificate>")
	j := strings.Index(md, "</sig:X509Certificate>")
	var wrapped strings.Builder
	for k := i; k < j; k += 64 {
		wrapped.WriteString("\n" + md[k:min(k+64, j)])
	}
	return []byte(md[:i] + wrapped.String() + "\n" + md[j:])
}

func TestCompareDocuments(t *testing.T) {
	t.Parallel()
	md := string(fixtureMetadata(t))
	base := mustParse(t, fixtureMetadata(t))
	old := fixtureCert(t)
	added := newTestCert(t, 2048, "VoiceCert_new", fixtureTime, 10*365*24*time.Hour)
	withAdded, _, err := AddSigningCertificate(fixtureMetadata(t), "https://kolide-dev-ed.my.salesforce.com", added.cert)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		a, b *Document
		want []string
	}{
		{"same document", base, base, nil},
		{"prefixes, attribute order, whitespace and validUntil", base, mustParse(t, reprefixed(t)), nil},
		{"entityID", base, mustParse(t, []byte(strings.Replace(md, `entityID="https://kolide-dev-ed.my.salesforce.com"`, `entityID="https://other.my.salesforce.com"`, 1))),
			[]string{`entityID changed from "https://kolide-dev-ed.my.salesforce.com" to "https://other.my.salesforce.com"`}},
		{"SSO endpoint", base, mustParse(t, []byte(strings.Replace(md, "/idp/endpoint/HttpRedirect", "/idp/endpoint/Other", 1))),
			[]string{
				"SingleSignOnService removed: urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect https://kolide-dev-ed.my.salesforce.com/idp/endpoint/HttpRedirect",
				"SingleSignOnService added: urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect https://kolide-dev-ed.my.salesforce.com/idp/endpoint/Other",
			}},
		{"certificate added", base, mustParse(t, withAdded),
			[]string{"signing certificate added: sha256 " + Fingerprint(added.cert.Raw) + " (CN=VoiceCert_new,O=voicecert tests, expires 2027-04-28)"}},
		{"certificate removed", mustParse(t, withAdded), base,
			[]string{"signing certificate removed: sha256 " + Fingerprint(added.cert.Raw) + " (CN=VoiceCert_new,O=voicecert tests, expires 2027-04-28)"}},
		{"signing becomes encryption", base, mustParse(t, []byte(strings.Replace(md, `use="signing"`, `use="encryption"`, 1))),
			[]string{"signing certificate removed: sha256 " + old.SHA256 + " (" + old.Subject + ", expires 2018-04-24)"}},
		{"entity added", base, mustParse(t, entitiesDocument(t, "second-org.my.salesforce.com")),
			[]string{`entity "https://second-org.my.salesforce.com" added`}},
		{"entity removed", mustParse(t, entitiesDocument(t, "second-org.my.salesforce.com")), base,
			[]string{`entity "https://second-org.my.salesforce.com" removed`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, CompareDocuments(tc.a, tc.b)); diff != "" {
				t.Errorf("CompareDocuments (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompareEntitiesNil(t *testing.T) {
	t.Parallel()
	e := mustParse(t, fixtureMetadata(t)).Entities[0]
	if got := CompareEntities(nil, nil); got != nil {
		t.Errorf("nil, nil: %q", got)
	}
	if diff := cmp.Diff([]string{`entity "https://kolide-dev-ed.my.salesforce.com" added`}, CompareEntities(nil, e)); diff != "" {
		t.Errorf("nil, e (-want +got):\n%s", diff)
	}
}
