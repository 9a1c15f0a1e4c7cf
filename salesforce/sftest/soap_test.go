package sftest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicecert/voicecert/salesforce/sftest"
)

const ns = "{http://soap.sforce.com/2006/04/metadata}"

// TestSOAPStrictness sends each malformed Metadata API request straight over HTTP and
// checks the status, the content type and the fault.
func TestSOAPStrictness(t *testing.T) {
	t.Parallel()
	srv, clock := newServer(t)
	org := srv.DefaultOrg()
	token := login(t, org, clock.Now())
	idp := func(inner string) string {
		return `<met:updateMetadata><met:metadata xsi:type="met:IdentityProviderSettings">` + inner + `</met:metadata></met:updateMetadata>`
	}
	cert := org.IdPCertificate()
	tests := []struct {
		name       string
		body       string // whole envelope
		wantCode   string
		wantString string
		wantDetail string // exceptionCode in detail, "" for none
	}{
		{"unknown element", envelope(token, `<met:readMetadata><met:type>Certificate</met:type><met:bogus>x</met:bogus></met:readMetadata>`),
			"soapenv:Client", "Element " + ns + "bogus invalid at this location", ""},
		{"element in no namespace", envelope(token, `<met:readMetadata><type>Certificate</type></met:readMetadata>`),
			"soapenv:Client", "Element {}type invalid at this location", ""},
		{"repeated single element", envelope(token, `<met:readMetadata><met:type>Certificate</met:type><met:type>ConnectedApp</met:type></met:readMetadata>`),
			"soapenv:Client", "Element " + ns + "type invalid at this location", ""},
		{"unknown record field", envelope(token, idp(`<met:fullName>IdentityProvider</met:fullName><met:certificateName>`+cert+`</met:certificateName><met:enableIdentityProvider>true</met:enableIdentityProvider><met:entityId>x</met:entityId>`)),
			"soapenv:Client", "Element " + ns + "entityId invalid at this location", ""},
		{"missing required argument", envelope(token, `<met:readMetadata><met:fullNames>A</met:fullNames></met:readMetadata>`),
			"soapenv:Client", "Element " + ns + "type is required in " + ns + "readMetadata", ""},
		{"missing xsi:type", envelope(token, `<met:updateMetadata><met:metadata><met:fullName>IdentityProvider</met:fullName></met:metadata></met:updateMetadata>`),
			"soapenv:Client", "Must specify a {http://www.w3.org/2001/XMLSchema-instance}type attribute value for the " + ns + "metadata element", ""},
		{"unknown xsi:type", envelope(token, `<met:updateMetadata><met:metadata xsi:type="met:Bogus"><met:fullName>X</met:fullName></met:metadata></met:updateMetadata>`),
			"sf:INVALID_TYPE", "INVALID_TYPE: Unknown type:Bogus", "INVALID_TYPE"},
		{"xsi:type not a Metadata type", envelope(token, `<met:updateMetadata><met:metadata xsi:type="met:CallCenterItem"><met:label>x</met:label></met:metadata></met:updateMetadata>`),
			"sf:INVALID_TYPE", "INVALID_TYPE: Unknown type:CallCenterItem", "INVALID_TYPE"},
		{"xsi:type in another namespace", envelope(token, `<met:updateMetadata><met:metadata xmlns:o="urn:other" xsi:type="o:IdentityProviderSettings"><met:fullName>X</met:fullName></met:metadata></met:updateMetadata>`),
			"sf:INVALID_TYPE", "INVALID_TYPE: Unknown type:IdentityProviderSettings", "INVALID_TYPE"},
		{"bad boolean", envelope(token, idp(`<met:fullName>IdentityProvider</met:fullName><met:certificateName>`+cert+`</met:certificateName><met:enableIdentityProvider>yes</met:enableIdentityProvider>`)),
			"soapenv:Client", "'yes' is not a valid value for the type xsd:boolean", ""},
		{"bad enum", envelope(token, `<met:updateMetadata><met:metadata xsi:type="met:ConnectedApp"><met:fullName>A</met:fullName><met:contactEmail>a@b.c</met:contactEmail><met:label>A</met:label><met:samlConfig><met:acsUrl>https://x</met:acsUrl><met:entityUrl>e</met:entityUrl><met:samlSigningAlgoType>MD5</met:samlSigningAlgoType><met:samlSubjectType>Username</met:samlSubjectType></met:samlConfig></met:metadata></met:updateMetadata>`),
			"soapenv:Client", "'MD5' is not a valid value for the enum 'SamlSigningAlgoType'", ""},
		{"bad ID", envelope(token, `<met:checkDeployStatus><met:asyncProcessId>0Af123</met:asyncProcessId><met:includeDetails>true</met:includeDetails></met:checkDeployStatus>`),
			"soapenv:Client", "'0Af123' is not a valid value for the enum 'ID'", ""},
		{"unknown operation", envelope(token, `<met:login><met:username>u</met:username></met:login>`),
			"soapenv:Client", "No operation available for request " + ns + "login, please check the WSDL for the service.", ""},
		{"operation the fake does not serve", envelope(token, `<met:describeMetadata><met:asOfVersion>63.0</met:asOfVersion></met:describeMetadata>`),
			"soapenv:Client", "No operation available for request " + ns + "describeMetadata, please check the WSDL for the service.", ""},
		{"DOCTYPE", `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>` + envelope(token, `<met:readMetadata><met:type>Certificate</met:type></met:readMetadata>`)[len(`<?xml version="1.0" encoding="utf-8"?>`):],
			"UNKNOWN_EXCEPTION", "UNKNOWN_EXCEPTION: DOCTYPE is not allowed", "UNKNOWN_EXCEPTION"},
		{"not XML", "hello", "UNKNOWN_EXCEPTION", "UNKNOWN_EXCEPTION: text outside the root element", "UNKNOWN_EXCEPTION"},
		{"SOAP 1.2 envelope", `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body/></env:Envelope>`,
			"soapenv:VersionMismatch", "Wrong SOAP envelope namespace: http://www.w3.org/2003/05/soap-envelope", ""},
		{"no SessionHeader", `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><readMetadata xmlns="http://soap.sforce.com/2006/04/metadata"><type>Certificate</type></readMetadata></soapenv:Body></soapenv:Envelope>`,
			"sf:INVALID_SESSION_ID", "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session. Session not found, missing session key", "INVALID_SESSION_ID"},
		{"bad session", envelope("00D000000000000!bogus", `<met:readMetadata><met:type>Certificate</met:type></met:readMetadata>`),
			"sf:INVALID_SESSION_ID", "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session", "INVALID_SESSION_ID"},
		{"unknown type to read", envelope(token, `<met:readMetadata><met:type>Bogus</met:type><met:fullNames>A</met:fullNames></met:readMetadata>`),
			"sf:UNKNOWN_EXCEPTION", "Bogus is not a valid metadata type for reading", "UNKNOWN_EXCEPTION"},
		{"unknown type to list", envelope(token, `<met:listMetadata><met:queries><met:type>Bogus</met:type></met:queries><met:asOfVersion>63.0</met:asOfVersion></met:listMetadata>`),
			"sf:INVALID_TYPE", "INVALID_TYPE: Unknown type:Bogus", "INVALID_TYPE"},
		{"too many names", envelope(token, `<met:readMetadata><met:type>Certificate</met:type>`+strings.Repeat(`<met:fullNames>A</met:fullNames>`, 11)+`</met:readMetadata>`),
			"sf:EXCEEDED_ID_LIMIT", "EXCEEDED_ID_LIMIT: record limit reached. cannot submit more than 10 records into this call", "EXCEEDED_ID_LIMIT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := soap(t, org.InstanceURL(), tt.body)
			if a.status != http.StatusInternalServerError || a.contentType != "text/xml;charset=UTF-8" {
				t.Errorf("got %d %q, want 500 text/xml;charset=UTF-8", a.status, a.contentType)
			}
			got := decodeFault(t, a)
			want := fault{Code: tt.wantCode, String: tt.wantString, Detail: tt.wantDetail}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("fault (-want +got):\n%s", diff)
			}
			if !strings.HasPrefix(a.body, `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="http://soap.sforce.com/2006/04/metadata"`) {
				t.Errorf("fault envelope not shaped like Salesforce's:\n%s", a.body)
			}
		})
	}
	if w := srv.Writes(); len(w) != 0 {
		for _, r := range w {
			if r.Status == http.StatusOK {
				t.Errorf("a refused request counted as a successful write: %+v", r)
			}
		}
	}
	if got := org.IdPCertificate(); got != cert {
		t.Errorf("refused requests changed the IdP certificate to %s", got)
	}
}

// TestSaveResultErrors covers the checks Salesforce makes per record, answered with
// HTTP 200 and a SaveResult error, and that nothing changes.
func TestSaveResultErrors(t *testing.T) {
	t.Parallel()
	managed := sftest.ConnectedAppConfig{FullName: "Partner_App", Managed: true}
	srv, clock := newServer(t, sftest.WithOrgs(sftest.OrgConfig{ConnectedApps: []sftest.ConnectedAppConfig{managed}}))
	org := srv.DefaultOrg()
	token := login(t, org, clock.Now())
	cc := org.ContactCenters()[0]
	before, _ := org.ConnectedAppXML(cc.ConnectedApp)
	idpBefore := org.IdPCertificate()
	app := func(fullName, inner string) string {
		return `<met:metadata xsi:type="met:ConnectedApp"><met:fullName>` + fullName + `</met:fullName>` + inner + `</met:metadata>`
	}
	saml := `<met:samlConfig><met:acsUrl>https://signin.aws.amazon.com/saml</met:acsUrl><met:certificate>%s</met:certificate><met:entityUrl>urn:amazon:webservices</met:entityUrl><met:samlSubjectType>Username</met:samlSubjectType></met:samlConfig>`
	tests := []struct {
		name   string
		op     string
		record string
		want   saveResult
	}{
		{"IdP certificate that does not exist", "updateMetadata",
			`<met:metadata xsi:type="met:IdentityProviderSettings"><met:fullName>IdentityProvider</met:fullName><met:certificateName>Nope</met:certificateName><met:enableIdentityProvider>true</met:enableIdentityProvider></met:metadata>`,
			saveResult{FullName: "IdentityProvider", Errors: errs("INVALID_CROSS_REFERENCE_KEY", "In field: certificateName - no Certificate named Nope found", "certificateName")}},
		{"IdP settings under another name", "updateMetadata",
			`<met:metadata xsi:type="met:IdentityProviderSettings"><met:fullName>Other</met:fullName><met:certificateName>` + idpBefore + `</met:certificateName><met:enableIdentityProvider>true</met:enableIdentityProvider></met:metadata>`,
			saveResult{FullName: "Other", Errors: errs("INVALID_CROSS_REFERENCE_KEY", "In field: fullName - no IdentityProviderSettings named Other found", "fullName")}},
		{"required field missing", "updateMetadata", app(cc.ConnectedApp, `<met:contactEmail>a@b.c</met:contactEmail>`),
			saveResult{FullName: cc.ConnectedApp, Errors: errs("REQUIRED_FIELD_MISSING", "Required fields are missing: [label]", "label")}},
		{"unknown app", "updateMetadata", app("Nope", `<met:contactEmail>a@b.c</met:contactEmail><met:label>Nope</met:label>`),
			saveResult{FullName: "Nope", Errors: errs("INVALID_CROSS_REFERENCE_KEY", "In field: fullName - no ConnectedApp named Nope found", "fullName")}},
		{"app names an unknown certificate", "updateMetadata", app(cc.ConnectedApp, `<met:contactEmail>a@b.c</met:contactEmail><met:label>L</met:label>`+strings.Replace(saml, "%s", "Nope", 1)),
			saveResult{FullName: cc.ConnectedApp, Errors: errs("INVALID_CROSS_REFERENCE_KEY", "In field: certificate - no Certificate named Nope found", "certificate")}},
		{"managed app", "updateMetadata", app("vendor__Partner_App", `<met:contactEmail>a@b.c</met:contactEmail><met:label>L</met:label>`),
			saveResult{FullName: "vendor__Partner_App", Errors: errs("CANNOT_MODIFY_MANAGED_OBJECT", "", "")}},
		{"managed app by upsert", "upsertMetadata", app("vendor__Partner_App", `<met:contactEmail>a@b.c</met:contactEmail><met:label>L</met:label>`),
			saveResult{FullName: "vendor__Partner_App", Errors: errs("CANNOT_MODIFY_MANAGED_OBJECT", "", "")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := soap(t, org.InstanceURL(), envelope(token, `<met:`+tt.op+`>`+tt.record+`</met:`+tt.op+`>`))
			got := decodeResults(t, a)
			if len(got) == 1 && tt.want.Errors[0].Message == "" && len(got[0].Errors) == 1 {
				got[0].Errors[0].Message = "" // the managed-object message names an ID
			}
			if diff := cmp.Diff([]saveResult{tt.want}, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("all or none", func(t *testing.T) {
		t.Parallel()
		body := strings.Replace(envelope(token, `<met:updateMetadata>`+
			`<met:metadata xsi:type="met:IdentityProviderSettings"><met:fullName>IdentityProvider</met:fullName><met:certificateName>`+idpBefore+`</met:certificateName><met:enableIdentityProvider>false</met:enableIdentityProvider></met:metadata>`+
			`<met:metadata xsi:type="met:IdentityProviderSettings"><met:fullName>Other</met:fullName><met:certificateName>x</met:certificateName><met:enableIdentityProvider>true</met:enableIdentityProvider></met:metadata>`+
			`</met:updateMetadata>`), `</soapenv:Header>`, `<met:AllOrNoneHeader><met:allOrNone>true</met:allOrNone></met:AllOrNoneHeader></soapenv:Header>`, 1)
		got := decodeResults(t, soap(t, org.InstanceURL(), body))
		if len(got) != 2 || got[0].Success || got[0].Errors[0].StatusCode != "ALL_OR_NONE_OPERATION_ROLLED_BACK" {
			t.Errorf("all-or-none results %+v", got)
		}
	})
	t.Cleanup(func() {
		after, _ := org.ConnectedAppXML(cc.ConnectedApp)
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("refused updates changed the app (-before +after):\n%s", diff)
		}
		if org.IdPCertificate() != idpBefore {
			t.Errorf("refused updates changed the IdP certificate")
		}
		a := get(t, org.InstanceURL()+"/.well-known/samlidp.xml", "")
		if !strings.Contains(a.body, `entityID="`+org.InstanceURL()+`"`) {
			t.Errorf("the IdP was disabled by a rolled-back update: %d", a.status)
		}
	})
}

func errs(code, message, field string) []struct {
	Fields     []string `xml:"fields"`
	Message    string   `xml:"message"`
	StatusCode string   `xml:"statusCode"`
} {
	e := struct {
		Fields     []string `xml:"fields"`
		Message    string   `xml:"message"`
		StatusCode string   `xml:"statusCode"`
	}{Message: message, StatusCode: code}
	if field != "" {
		e.Fields = []string{field}
	}
	return []struct {
		Fields     []string `xml:"fields"`
		Message    string   `xml:"message"`
		StatusCode string   `xml:"statusCode"`
	}{e}
}

// TestElementOrder: real orgs bind elements by name (public createMetadata requests
// with fullName after label work), so the fake accepts any order by default and
// stores and returns schema order; StrictElementOrder refuses what is out of order.
func TestElementOrder(t *testing.T) {
	t.Parallel()
	misordered := func(cert string) string {
		return `<met:updateMetadata><met:metadata xsi:type="met:IdentityProviderSettings"><met:enableIdentityProvider>true</met:enableIdentityProvider><met:certificateName>` + cert + `</met:certificateName><met:fullName>IdentityProvider</met:fullName></met:metadata></met:updateMetadata>`
	}
	t.Run("lenient by default", func(t *testing.T) {
		t.Parallel()
		srv, clock := newServer(t, sftest.WithOrgs(sftest.OrgConfig{Certificates: []sftest.CertificateConfig{{DeveloperName: "A"}, {DeveloperName: "B"}}}))
		org := srv.DefaultOrg()
		token := login(t, org, clock.Now())
		res := decodeResults(t, soap(t, org.InstanceURL(), envelope(token, misordered("B"))))
		if len(res) != 1 || !res[0].Success || org.IdPCertificate() != "B" {
			t.Fatalf("misordered update: %+v, IdP certificate %s", res, org.IdPCertificate())
		}
		a := readMetadata(t, org, token, "IdentityProviderSettings", "IdentityProvider")
		want := `<records xsi:type="IdentityProviderSettings"><fullName>IdentityProvider</fullName><certificateName>B</certificateName><enableIdentityProvider>true</enableIdentityProvider></records>`
		if !strings.Contains(a.body, want) {
			t.Errorf("read back not in schema order:\n%s", a.body)
		}
	})
	t.Run("strict", func(t *testing.T) {
		t.Parallel()
		srv, clock := newServer(t, func(c *sftest.Config) { c.StrictElementOrder = true })
		org := srv.DefaultOrg()
		token := login(t, org, clock.Now())
		tests := []struct{ name, body, wantString string }{
			{"record", misordered(org.IdPCertificate()), "Element " + ns + "certificateName invalid at this location"},
			{"arguments", `<met:readMetadata><met:fullNames>A</met:fullNames><met:type>Certificate</met:type></met:readMetadata>`, "Element " + ns + "type invalid at this location"},
		}
		for _, tt := range tests {
			a := soap(t, org.InstanceURL(), envelope(token, tt.body))
			got := decodeFault(t, a)
			if diff := cmp.Diff(fault{Code: "soapenv:Client", String: tt.wantString}, got); a.status != 500 || diff != "" {
				t.Errorf("%s: status %d, fault (-want +got):\n%s", tt.name, a.status, diff)
			}
		}
	})
}
