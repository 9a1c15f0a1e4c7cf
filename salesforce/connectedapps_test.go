package salesforce

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	oldCert = "SelfSignedCert_24Apr2017_180044"
	newCert = "VoiceCert_20261203"
	roleARN = "arn:aws:iam::123456789012:role/SupportWest-SAMLRole"
	provARN = "arn:aws:iam::123456789012:saml-provider/SalesforceServiceVoiceIdp"
)

func TestConnectedApp(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.onSOAP("listMetadata", ok(fixture(t, "list_connectedapps.xml")))
	h.onSOAP("readMetadata", reply{status: 200, body: fixture(t, "read_connectedapp.xml"), check: expectRead("ConnectedApp", "SupportWest_Connected_App")})
	got, err := h.c.ConnectedApp(context.Background(), "SupportWest_Connected_App")
	if err != nil {
		t.Fatal(err)
	}
	want := &ConnectedApp{FullName: "SupportWest_Connected_App", Label: "SupportWest Connected App", ID: "0H45g000000PqRtCAK",
		Certificate: oldCert, ManageableState: "unmanaged", EntityURL: "urn:amazon:webservices",
		ACSURL: "https://signin.aws.amazon.com/saml", SigningAlgorithm: "SHA256", RoleARN: roleARN, ProviderARN: provARN, SAML: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("app (-want +got):\n%s", diff)
	}
}

func TestConnectedAppNotFound(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.onSOAP("listMetadata", ok(fixture(t, "list_connectedapps.xml")))
	h.onSOAP("readMetadata", ok(fixture(t, "read_nil.xml")))
	_, err := h.c.ConnectedApp(context.Background(), "Nope")
	suite.err(err)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

var (
	recordInner   = regexp.MustCompile(`(?s)<records xsi:type="ConnectedApp">(.*)</records>`)
	metadataInner = regexp.MustCompile(`(?s)<metadata [^>]*>(.*)</metadata>`)
)

func TestSetConnectedAppCertificate(t *testing.T) {
	t.Parallel()
	withCert := fixture(t, "read_connectedapp.xml")
	switched := fixture(t, "read_connectedapp_switched.xml")
	onDefault := fixture(t, "read_connectedapp_default.xml")
	// inserted is what the default app looks like once a certificate is set.
	inserted := strings.Replace(onDefault, "</acsUrl>", "</acsUrl><certificate>"+newCert+"</certificate>", 1)
	tests := []struct {
		name     string
		cert     string
		read     string // the record before
		readBack string // the record after the update
		sent     string // want: the record sent, as a whole answer with it
		wantErr  error
		writes   int
	}{
		{"switch", newCert, withCert, switched, switched, nil, 1},
		{"from the org default", newCert, onDefault, inserted, inserted, nil, 1},
		{"back to the org default", "", withCert, onDefault, strings.Replace(withCert, "<certificate>"+oldCert+"</certificate>", "", 1), nil, 1},
		{"already set", newCert, switched, "", "", nil, 0},
		{"already on the default", "", onDefault, "", "", nil, 0},
		{"Salesforce dropped a profile", newCert, withCert,
			strings.Replace(switched, "<profileName>System Administrator</profileName>", "", 1), switched, ErrUnexpectedChange, 1},
		{"Salesforce changed the entity id", newCert, withCert,
			strings.Replace(switched, "urn:amazon:webservices", "urn:other", 1), switched, ErrUnexpectedChange, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.on(http.MethodGet, toolingQuery, ok(fixture(t, "tooling_certificate_voicecert.json")))
			h.onSOAP("readMetadata", ok(tt.read))
			if tt.readBack != "" {
				h.onSOAP("readMetadata", ok(tt.readBack))
				h.onSOAP("updateMetadata", reply{status: 200, body: fixture(t, "update_app_ok.xml"),
					check: func(t *testing.T, _ *http.Request, body []byte) {
						m := metadataInner.FindSubmatch(body)
						if m == nil {
							t.Fatalf("no metadata record in %s", body)
						}
						want := recordInner.FindStringSubmatch(tt.sent)[1]
						if diff := cmp.Diff(want, string(m[1])); diff != "" {
							t.Errorf("record sent is not the record read with only the certificate changed (-want +got):\n%s", diff)
						}
						if !strings.Contains(string(body), `xsi:type="ConnectedApp"`) {
							t.Errorf("record sent without xsi:type")
						}
					}})
			}
			err := h.c.SetConnectedAppCertificate(context.Background(), "SupportWest_Connected_App", tt.cert)
			suite.err(err)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil && !strings.Contains(err.Error(), "became") && !strings.Contains(err.Error(), "removed") {
				t.Errorf("error %q does not say what changed", err)
			}
			if got := h.c.Stats().Writes; got != tt.writes {
				t.Errorf("%d writes, want %d", got, tt.writes)
			}
		})
	}
}

func TestSetConnectedAppCertificateRefusesNonSAMLApp(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.onSOAP("readMetadata", ok(`<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><readMetadataResponse><result><records xsi:type="ConnectedApp"><fullName>Workbench</fullName><contactEmail>a@b.c</contactEmail><label>Workbench</label></records></result></readMetadataResponse></soapenv:Body></soapenv:Envelope>`))
	err := h.c.SetConnectedAppCertificate(context.Background(), "Workbench", newCert)
	suite.err(err)
	if err == nil || !strings.Contains(err.Error(), "samlConfig") {
		t.Errorf("err = %v, want an error about the missing samlConfig", err)
	}
	if got := h.c.Stats().Writes; got != 0 {
		t.Errorf("%d writes, want 0", got)
	}
}

func TestPatchCertificate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		inner       string
		scope       map[string]string
		cert        string
		want        string
		wantChanged bool
	}{
		{"replace text only", `<fullName>A</fullName><samlConfig><acsUrl>u</acsUrl><certificate>Old</certificate><entityUrl>e</entityUrl></samlConfig>`,
			nil, "New", `<fullName>A</fullName><samlConfig><acsUrl>u</acsUrl><certificate>New</certificate><entityUrl>e</entityUrl></samlConfig>`, true},
		{"prefixed elements keep their prefix", `<m:fullName>A</m:fullName><m:samlConfig><m:acsUrl>u</m:acsUrl>  <m:entityUrl>e</m:entityUrl></m:samlConfig>`,
			map[string]string{"m": metadataNS, "": metadataNS}, "New",
			`<m:fullName>A</m:fullName><m:samlConfig><m:acsUrl>u</m:acsUrl><m:certificate>New</m:certificate>  <m:entityUrl>e</m:entityUrl></m:samlConfig>`, true},
		{"self-closing certificate", `<samlConfig><acsUrl>u</acsUrl><certificate/><entityUrl>e</entityUrl></samlConfig>`,
			nil, "New", `<samlConfig><acsUrl>u</acsUrl><certificate>New</certificate><entityUrl>e</entityUrl></samlConfig>`, true},
		{"remove", `<samlConfig>
  <acsUrl>u</acsUrl>
  <certificate>Old</certificate>
  <entityUrl>e</entityUrl>
</samlConfig>`, nil, "", `<samlConfig>
  <acsUrl>u</acsUrl>
  
  <entityUrl>e</entityUrl>
</samlConfig>`, true},
		{"same value with whitespace", `<samlConfig><acsUrl>u</acsUrl><certificate> Old </certificate></samlConfig>`, nil, "Old",
			`<samlConfig><acsUrl>u</acsUrl><certificate> Old </certificate></samlConfig>`, false},
		{"a certificate element elsewhere is not touched", `<canvasConfig><certificate>X</certificate></canvasConfig><samlConfig><acsUrl>u</acsUrl></samlConfig>`,
			nil, "New", `<canvasConfig><certificate>X</certificate></canvasConfig><samlConfig><acsUrl>u</acsUrl><certificate>New</certificate></samlConfig>`, true},
		{"escaped text and entities elsewhere kept", `<description>A &amp; B &#x3C;</description><samlConfig><acsUrl>u?a=1&amp;b=2</acsUrl></samlConfig>`,
			nil, "New", `<description>A &amp; B &#x3C;</description><samlConfig><acsUrl>u?a=1&amp;b=2</acsUrl><certificate>New</certificate></samlConfig>`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			scope := tt.scope
			if scope == nil {
				scope = map[string]string{"": metadataNS}
			}
			got, changed, err := patchCertificate(&record{Inner: []byte(tt.inner), Scope: scope}, tt.cert)
			if err != nil {
				t.Fatal(err)
			}
			if changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("patched (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListSAMLConnectedApps(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.onSOAP("listMetadata", ok(fixture(t, "list_connectedapps.xml")))
	h.onSOAP("readMetadata", reply{status: 200, body: fixture(t, "read_connectedapps_all.xml"),
		check: expectRead("ConnectedApp", "SupportEast_Connected_App", "SupportWest_Connected_App", "Workbench", "Zendesk")})
	got, err := h.c.ListSAMLConnectedApps(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []ConnectedApp{
		{FullName: "SupportEast_Connected_App", Label: "SupportEast Connected App", ID: "0H45g000000PqRsCAK", ManageableState: "unmanaged",
			EntityURL: "urn:amazon:webservices", ACSURL: "https://signin.aws.amazon.com/saml", SigningAlgorithm: "SHA1",
			RoleARN: "arn:aws:iam::123456789012:role/SupportEast-SAMLRole", ProviderARN: provARN, SAML: true},
		{FullName: "SupportWest_Connected_App", Label: "SupportWest Connected App", ID: "0H45g000000PqRtCAK", Certificate: oldCert,
			ManageableState: "unmanaged", EntityURL: "urn:amazon:webservices", ACSURL: "https://signin.aws.amazon.com/saml",
			RoleARN: roleARN, ProviderARN: provARN, SAML: true},
		{FullName: "Zendesk", Label: "Zendesk", ID: "0H45g000000PqRvCAK", ManageableState: "installed",
			EntityURL: "https://acme.zendesk.com", ACSURL: "https://acme.zendesk.com/access/saml", SAML: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("apps (-want +got):\n%s", diff)
	}
}

func TestRoleFromFormula(t *testing.T) {
	t.Parallel()
	gov := "arn:aws-us-gov:iam::123456789012:role/R"
	govP := "arn:aws-us-gov:iam::123456789012:saml-provider/P"
	tests := []struct {
		formula, role, provider string
	}{
		{`"` + roleARN + `,` + provARN + `"`, roleARN, provARN},
		{`"` + provARN + `,` + roleARN + `"`, roleARN, provARN},
		{`'` + roleARN + `, ` + provARN + `'`, roleARN, provARN},
		{`"` + gov + `,` + govP + `"`, gov, govP},
		{`  "` + roleARN + `,` + provARN + `"  `, roleARN, provARN},
		{`$User.AWSRole__c`, "", ""},
		{`"` + roleARN + `," & $User.Provider__c`, "", ""},
		{`"` + roleARN + `,` + roleARN + `"`, "", ""},
		{`"` + roleARN + `,` + provARN + `,` + provARN + `"`, "", ""},
		{`"` + roleARN + `,` + provARN + `'`, "", ""},
		{`"arn:aws:iam::12345:role/R,` + provARN + `"`, "", ""},
		{``, "", ""},
	}
	for _, tt := range tests {
		role, provider := roleFromFormula(tt.formula)
		if diff := cmp.Diff([]string{tt.role, tt.provider}, []string{role, provider}); diff != "" {
			t.Errorf("roleFromFormula(%s) (-want +got):\n%s", tt.formula, diff)
		}
	}
}

// TestSetConnectedAppCertificatePrefixedAnswer: an answer whose elements carry a
// namespace prefix instead of a default namespace is sent back with that prefix
// declared, and compared by namespace, not by prefix.
func TestSetConnectedAppCertificatePrefixedAnswer(t *testing.T) {
	t.Parallel()
	const head = `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ` +
		`xmlns:m="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>` +
		`<m:readMetadataResponse><m:result><m:records xsi:type="m:ConnectedApp">`
	const tail = `</m:records></m:result></m:readMetadataResponse></soapenv:Body></soapenv:Envelope>`
	record := func(cert string) string {
		return `<m:fullName>Prefixed</m:fullName><m:contactEmail>a@acme.example</m:contactEmail><m:label>Prefixed</m:label>` +
			`<m:samlConfig><m:acsUrl>https://signin.aws.amazon.com/saml</m:acsUrl>` + cert +
			`<m:entityUrl>urn:amazon:webservices</m:entityUrl><m:samlSubjectType>PersistentId</m:samlSubjectType></m:samlConfig>`
	}
	h := newHarness(t)
	h.on(http.MethodGet, toolingQuery, ok(fixture(t, "tooling_certificate_voicecert.json")))
	// Salesforce reads it back unprefixed: the same record to an XML reader.
	readBack := `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ` +
		`xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>` +
		`<readMetadataResponse><result><records xsi:type="ConnectedApp">` +
		strings.ReplaceAll(record(`<m:certificate>`+newCert+`</m:certificate>`), "m:", "") +
		`</records></result></readMetadataResponse></soapenv:Body></soapenv:Envelope>`
	h.onSOAP("readMetadata", ok(head+record("")+tail), ok(readBack))
	h.onSOAP("updateMetadata", reply{status: 200, body: fixture(t, "update_app_ok.xml"), check: func(t *testing.T, _ *http.Request, body []byte) {
		want := record(`<m:certificate>` + newCert + `</m:certificate>`)
		if got := metadataInner.FindSubmatch(body); got == nil || string(got[1]) != want {
			t.Errorf("record sent:\n%s\nwant inner:\n%s", body, want)
		}
	}})
	if err := h.c.SetConnectedAppCertificate(context.Background(), "Prefixed", newCert); err != nil {
		t.Fatal(err)
	}
}

// TestCompareRecordsWithholdsSecrets: the differences an ErrUnexpectedChange lists
// quote values, but never those of secret elements such as consumerSecret.
func TestCompareRecordsWithholdsSecrets(t *testing.T) {
	t.Parallel()
	scope := map[string]string{"": metadataNS}
	rec := func(secret, label string) *record {
		return &record{Scope: scope, Inner: []byte(`<label>` + label + `</label><oauthConfig><consumerKey>3MVG9</consumerKey>` +
			`<consumerSecret>` + secret + `</consumerSecret></oauthConfig>`)}
	}
	got := compareRecords(rec("S3cr3tValue1", "A"), rec("S3cr3tValue2", "B"))
	want := []string{
		`/label: "A" became "B"`,
		`/oauthConfig/consumerSecret: changed (value withheld: it may be a secret)`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("compareRecords (-want +got):\n%s", diff)
	}
}
