package sftest_test

import (
	"archive/zip"
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicecert/voicecert/internal/testenv"
	"github.com/voicecert/voicecert/salesforce/sftest"
)

// operationXML returns the operation response inside a SOAP answer as a standalone
// document, for schema validation.
func operationXML(t *testing.T, a answer) string {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	_, inner, ok := strings.Cut(a.body, "<soapenv:Body>")
	inner, _, ok2 := strings.Cut(inner, "</soapenv:Body>")
	if !ok || !ok2 {
		t.Fatalf("no SOAP body in %s", a.body)
	}
	end := strings.IndexAny(inner, " />")
	return inner[:end] + ` xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"` + inner[end:]
}

// validateAgainstSchema checks answers against Salesforce's full Metadata schema.
func validateAgainstSchema(t *testing.T, docs ...string) {
	t.Helper()
	dir := t.TempDir()
	var files []string
	for i, d := range docs {
		f := filepath.Join(dir, fmt.Sprintf("answer%d.xml", i))
		if err := os.WriteFile(f, []byte(d), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	testenv.ValidateXSD(t, testenv.Shared(t, "schemas/salesforce/metadata-63.xsd"), files...)
}

func readMetadata(t *testing.T, org *sftest.Org, token, typ string, names ...string) answer {
	t.Helper()
	var b strings.Builder
	b.WriteString("<met:readMetadata><met:type>" + typ + "</met:type>")
	for _, n := range names {
		b.WriteString("<met:fullNames>" + n + "</met:fullNames>")
	}
	b.WriteString("</met:readMetadata>")
	return soap(t, org.InstanceURL(), envelope(token, b.String()))
}

func TestReadMetadata(t *testing.T) {
	t.Parallel()
	srv, clock := newServer(t, sftest.WithOrgs(sftest.OrgConfig{
		Certificates: []sftest.CertificateConfig{
			{DeveloperName: "Old_Cert", MasterLabel: "Old cert", ExpiresAt: t0.Add(240 * time.Hour)},
			{DeveloperName: "Big_Cert", KeySize: 4096},
		},
		ContactCenters: []sftest.ContactCenterConfig{{InternalName: "Support", Name: "Support Center", Region: "eu-west-2"}},
	}))
	org := srv.DefaultOrg()
	token := login(t, org, clock.Now())

	a := readMetadata(t, org, token, "Certificate", "Old_Cert", "Missing", "Big_Cert")
	var certs struct {
		Records []struct {
			Type           string `xml:"http://www.w3.org/2001/XMLSchema-instance type,attr"`
			Nil            string `xml:"http://www.w3.org/2001/XMLSchema-instance nil,attr"`
			FullName       string `xml:"fullName"`
			Content        string `xml:"content"`
			CASigned       string `xml:"caSigned"`
			ExpirationDate string `xml:"expirationDate"`
			KeySize        string `xml:"keySize"`
			MasterLabel    string `xml:"masterLabel"`
		} `xml:"Body>readMetadataResponse>result>records"`
	}
	if err := xml.Unmarshal([]byte(a.body), &certs); err != nil {
		t.Fatal(err)
	}
	// A name that does not exist keeps its place with a nil record, as live
	// orgs answer; jsforce's metadata.read fails on a result without it.
	if len(certs.Records) != 3 || certs.Records[1].Nil != "true" || certs.Records[1].FullName != "" {
		t.Fatalf("records %+v: want 3, the missing one nil", certs.Records)
	}
	if !strings.Contains(a.body, `<records xsi:nil="true"/>`) {
		t.Errorf("the missing name's record is not <records xsi:nil=\"true\"/>:\n%s", a.body)
	}
	old := certs.Records[0]
	if old.Type != "Certificate" || old.FullName != "Old_Cert" || old.CASigned != "false" || old.KeySize != "2048" ||
		old.MasterLabel != "Old cert" || old.ExpirationDate != "2026-03-11T12:00:00.000Z" {
		t.Errorf("Old_Cert record %+v", old)
	}
	pemBytes, err := base64.StdEncoding.DecodeString(old.Content)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		t.Fatalf("content is not a base64 PEM: %q", pemBytes)
	}
	parsed, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !parsed.Equal(org.Certificate("Old_Cert")) {
		t.Errorf("content is not the org's certificate (%v)", err)
	}
	if got, want := parsed.Subject.String(), "CN=Old_Cert,OU="+org.ID()[:15]+",O=Salesforce.com,L=San Francisco,ST=CA,C=USA"; got != want {
		t.Errorf("subject %q, want %q", got, want)
	}
	if big := org.Certificate("Big_Cert"); !big.NotAfter.Equal(t0.AddDate(2, 0, 0)) || certs.Records[2].KeySize != "4096" {
		t.Errorf("a 4096-bit certificate expires %v, want 2 years after creation", big.NotAfter)
	}

	idp := readMetadata(t, org, token, "IdentityProviderSettings", "IdentityProvider")
	wantIdP := `<records xsi:type="IdentityProviderSettings"><fullName>IdentityProvider</fullName><certificateName>Old_Cert</certificateName><enableIdentityProvider>true</enableIdentityProvider></records>`
	if !strings.Contains(idp.body, wantIdP) {
		t.Errorf("IdentityProviderSettings answer lacks %s:\n%s", wantIdP, idp.body)
	}

	cc := readMetadata(t, org, token, "CallCenter", "Support")
	for _, want := range []string{
		"<displayName>Support Center</displayName>",
		"<name>reqTelephonyProvider</name><value>AMAZON_CONNECT</value>",
		"<name>reqRegion</name><value>eu-west-2</value>",
		"<name>reqConnectedAppId</name><value>0H4",
		"<name>reqIdentityUrl</name><value>" + org.InstanceURL() + "/idp/login?app=0sp",
		"<name>reqSettingsRelayState</name><value>https://eu-west-2.console.aws.amazon.com/connect/federate/",
		"<name>reqHvcc</name>",
	} {
		if !strings.Contains(cc.body, want) {
			t.Errorf("CallCenter record lacks %s", want)
		}
	}

	app := readMetadata(t, org, token, "ConnectedApp", "Support_Connected_App")
	for _, want := range []string{
		`<records xsi:type="ConnectedApp"><fullName>Support_Connected_App</fullName><attributes><formula>&#34;arn:aws:iam::123456789012:role/Support-SAMLRole,arn:aws:iam::123456789012:saml-provider/SalesforceServiceVoiceIdp&#34;</formula><key>https://aws.amazon.com/SAML/Attributes/Role</key></attributes>`,
		`<key>https://aws.amazon.com/SAML/Attributes/RoleSessionName</key>`,
		`<samlConfig><acsUrl>https://signin.aws.amazon.com/saml</acsUrl><certificate>Old_Cert</certificate><entityUrl>urn:amazon:webservices</entityUrl>`,
	} {
		if !strings.Contains(app.body, want) {
			t.Errorf("ConnectedApp record lacks %s:\n%s", want, app.body)
		}
	}
	// The nil placeholder is Salesforce's own departure from its schema (records
	// is not nillable there); the rest of the answer must be schema-valid.
	withoutNil := strings.ReplaceAll(operationXML(t, a), `<records xsi:nil="true"/>`, "")
	validateAgainstSchema(t, withoutNil, operationXML(t, idp), operationXML(t, cc), operationXML(t, app))
}

func TestUpdateReplacesTheWholeApp(t *testing.T) {
	t.Parallel()
	srv, clock := newServer(t, sftest.WithOrgs(sftest.OrgConfig{
		Certificates:   []sftest.CertificateConfig{{DeveloperName: "A"}, {DeveloperName: "B"}},
		ContactCenters: []sftest.ContactCenterConfig{{InternalName: "CC", App: sftest.ConnectedAppConfig{IPRanges: [][2]string{{"10.0.0.1", "10.0.0.9"}}}}},
	}))
	org := srv.DefaultOrg()
	token := login(t, org, clock.Now())
	// A jsforce-shaped request: default namespace, no prefixes, xsi:type unprefixed.
	body := `<?xml version="1.0" encoding="utf-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Header xmlns="http://soap.sforce.com/2006/04/metadata"><SessionHeader><sessionId>` + token + `</sessionId></SessionHeader></soapenv:Header><soapenv:Body xmlns="http://soap.sforce.com/2006/04/metadata"><updateMetadata><metadata xsi:type="ConnectedApp"><fullName>CC_Connected_App</fullName><contactEmail>new@example.com</contactEmail><label>Renamed</label><samlConfig><acsUrl>https://signin.aws.amazon.com/saml</acsUrl><certificate>B</certificate><entityUrl>urn:amazon:webservices</entityUrl><samlSubjectType>Username</samlSubjectType></samlConfig></metadata></updateMetadata></soapenv:Body></soapenv:Envelope>`
	res := decodeResults(t, soap(t, org.InstanceURL(), body))
	if diff := cmp.Diff([]saveResult{{FullName: "CC_Connected_App", Success: true}}, res); diff != "" {
		t.Fatalf("result (-want +got):\n%s", diff)
	}
	got, _ := org.ConnectedAppXML("CC_Connected_App")
	want := `<records xsi:type="ConnectedApp"><fullName>CC_Connected_App</fullName><contactEmail>new@example.com</contactEmail><label>Renamed</label><samlConfig><acsUrl>https://signin.aws.amazon.com/saml</acsUrl><certificate>B</certificate><entityUrl>urn:amazon:webservices</entityUrl><samlSubjectType>Username</samlSubjectType></samlConfig></records>`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("omitted fields (attributes, IP ranges, profiles, permission sets) must be cleared (-want +got):\n%s", diff)
	}
	if w := srv.Writes(); len(w) != 1 || w[0].Operation != "updateMetadata" || w[0].Type != "ConnectedApp" || w[0].Org != org.ID() {
		t.Errorf("writes %+v", w)
	}
}

func TestListMetadata(t *testing.T) {
	t.Parallel()
	srv, clock := newServer(t, sftest.WithOrgs(sftest.OrgConfig{
		ConnectedApps: []sftest.ConnectedAppConfig{{FullName: "Partner", Managed: true}, {FullName: "Wiki_SSO"}},
	}))
	org := srv.DefaultOrg()
	token := login(t, org, clock.Now())
	a := soap(t, org.InstanceURL(), envelope(token, `<met:listMetadata><met:queries><met:type>ConnectedApp</met:type></met:queries><met:asOfVersion>63.0</met:asOfVersion></met:listMetadata>`))
	var got struct {
		Results []struct {
			FileName        string `xml:"fileName"`
			FullName        string `xml:"fullName"`
			ManageableState string `xml:"manageableState"`
			NamespacePrefix string `xml:"namespacePrefix"`
			Type            string `xml:"type"`
		} `xml:"Body>listMetadataResponse>result"`
	}
	if err := xml.Unmarshal([]byte(a.body), &got); err != nil {
		t.Fatal(err)
	}
	type file struct{ FileName, FullName, ManageableState, NamespacePrefix, Type string }
	var files []file
	for _, r := range got.Results {
		files = append(files, file(r))
	}
	want := []file{
		{"connectedApps/ContactCenter1_Connected_App.connectedApp", "ContactCenter1_Connected_App", "unmanaged", "", "ConnectedApp"},
		{"connectedApps/vendor__Partner.connectedApp", "vendor__Partner", "installed", "vendor", "ConnectedApp"},
		{"connectedApps/Wiki_SSO.connectedApp", "Wiki_SSO", "unmanaged", "", "ConnectedApp"},
	}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("listMetadata (-want +got):\n%s", diff)
	}
	// A query without asOfVersion works, as on real orgs; an empty list is an empty
	// response element.
	empty := soap(t, org.InstanceURL(), envelope(token, `<met:listMetadata></met:listMetadata>`))
	if !strings.Contains(empty.body, "<soapenv:Body><listMetadataResponse/></soapenv:Body>") {
		t.Errorf("empty list: %s", empty.body)
	}
	validateAgainstSchema(t, operationXML(t, a), operationXML(t, empty))
}

// deployZip builds a certificate deploy like Salesforce CLI's: package.xml and the
// certs folder under unpackaged/.
func deployZip(t *testing.T, name string, keySize int) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(file, content string) {
		w, err := zw.Create(file)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	add("unpackaged/package.xml", `<?xml version="1.0" encoding="UTF-8"?><Package xmlns="http://soap.sforce.com/2006/04/metadata"><types><members>`+name+`</members><name>Certificate</name></types><version>63.0</version></Package>`)
	add("unpackaged/certs/"+name+".crt", "")
	add("unpackaged/certs/"+name+".crt-meta.xml", fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><Certificate xmlns="http://soap.sforce.com/2006/04/metadata"><caSigned>false</caSigned><keySize>%d</keySize><masterLabel>%s</masterLabel><privateKeyExportable>false</privateKeyExportable></Certificate>`, keySize, name))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

type deployStatus struct {
	Done         bool   `xml:"done"`
	Status       string `xml:"status"`
	Success      bool   `xml:"success"`
	ErrorMessage string `xml:"errorMessage"`
	Failures     []struct {
		FileName string `xml:"fileName"`
		FullName string `xml:"fullName"`
		Problem  string `xml:"problem"`
	} `xml:"details>componentFailures"`
}

func deployAndPoll(t *testing.T, org *sftest.Org, token, zipB64 string) (states []string, last deployStatus, answers []answer) {
	t.Helper()
	a := soap(t, org.InstanceURL(), envelope(token, `<met:deploy><met:ZipFile>`+zipB64+`</met:ZipFile><met:DeployOptions><met:rollbackOnError>true</met:rollbackOnError><met:singlePackage>false</met:singlePackage></met:DeployOptions></met:deploy>`))
	var started struct {
		ID    string `xml:"Body>deployResponse>result>id"`
		State string `xml:"Body>deployResponse>result>state"`
	}
	if err := xml.Unmarshal([]byte(a.body), &started); err != nil || a.status != 200 {
		t.Fatalf("deploy: %d %s", a.status, a.body)
	}
	states = append(states, started.State)
	answers = append(answers, a)
	for i := 0; i < 5 && !last.Done; i++ {
		s := soap(t, org.InstanceURL(), envelope(token, `<met:checkDeployStatus><met:asyncProcessId>`+started.ID+`</met:asyncProcessId><met:includeDetails>true</met:includeDetails></met:checkDeployStatus>`))
		var res struct {
			R deployStatus `xml:"Body>checkDeployStatusResponse>result"`
		}
		if err := xml.Unmarshal([]byte(s.body), &res); err != nil || s.status != 200 {
			t.Fatalf("checkDeployStatus: %d %s", s.status, s.body)
		}
		last = res.R
		states = append(states, last.Status)
		answers = append(answers, s)
	}
	return states, last, answers
}

func TestDeployCertificate(t *testing.T) {
	t.Parallel()
	srv, clock := newServer(t)
	org := srv.DefaultOrg()
	token := login(t, org, clock.Now())
	existing := org.IdPCertificate()
	tests := []struct {
		name       string
		zip        string
		wantStates []string
		wantFail   string // problem of the one component failure
		wantCert   string
		wantExpiry time.Time
	}{
		{"2048 bits", deployZip(t, "VoiceCert_2048", 2048), []string{"Queued", "InProgress", "Succeeded"}, "", "VoiceCert_2048", t0.AddDate(1, 0, 0)},
		{"4096 bits", deployZip(t, "VoiceCert_4096", 4096), []string{"Queued", "InProgress", "Succeeded"}, "", "VoiceCert_4096", t0.AddDate(2, 0, 0)},
		{"1024 bits", deployZip(t, "VoiceCert_1024", 1024), []string{"Queued", "InProgress", "Failed"}, "Invalid key size 1024. Valid values are 2048 and 4096.", "", time.Time{}},
		{"existing name", deployZip(t, existing, 2048), []string{"Queued", "InProgress", "Failed"}, "duplicate value found: DeveloperName duplicates value on record with id: ", "", time.Time{}},
		{"bad name", deployZip(t, "Bad__Name", 2048), []string{"Queued", "InProgress", "Failed"}, "The Certificate Unique Name can only contain underscores and alphanumeric characters.", "", time.Time{}},
	}
	// Sequential: the cases share the org, and the writes are counted at the end.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			states, last, answers := deployAndPoll(t, org, token, tt.zip)
			if diff := cmp.Diff(tt.wantStates, states); diff != "" {
				t.Errorf("states (-want +got):\n%s", diff)
			}
			if tt.wantFail != "" {
				if last.Success || len(last.Failures) != 1 || !strings.HasPrefix(last.Failures[0].Problem, tt.wantFail) {
					t.Errorf("result %+v, want one failure %q", last, tt.wantFail)
				}
				return
			}
			if !last.Success || len(last.Failures) != 0 {
				t.Fatalf("result %+v", last)
			}
			c := org.Certificate(tt.wantCert)
			if c == nil || !c.NotAfter.Equal(tt.wantExpiry) {
				t.Errorf("certificate %s: %v", tt.wantCert, c)
			}
			var docs []string
			for _, a := range answers {
				docs = append(docs, operationXML(t, a))
			}
			validateAgainstSchema(t, docs...)
		})
	}
	var writes []string
	for _, w := range srv.Writes() {
		writes = append(writes, w.Operation)
	}
	if diff := cmp.Diff([]string{"deploy", "deploy", "deploy", "deploy", "deploy"}, writes); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
}

func TestDeployWithoutPackageXML(t *testing.T) {
	t.Parallel()
	srv, clock := newServer(t)
	org := srv.DefaultOrg()
	token := login(t, org, clock.Now())
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	if _, err := zw.Create("certs/X.crt"); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	_, last, _ := deployAndPoll(t, org, token, base64.StdEncoding.EncodeToString(buf.Bytes()))
	if last.Status != "Failed" || len(last.Failures) != 1 || last.Failures[0].Problem != "No package.xml found" || last.Failures[0].FullName != "package.xml" {
		t.Errorf("result %+v", last)
	}
}

// TestDeployZipBomb: a small zip that expands past the fake's bound fails the
// deploy instead of being read whole (or silently cut).
func TestDeployZipBomb(t *testing.T) {
	t.Parallel()
	srv, clock := newServer(t)
	org := srv.DefaultOrg()
	token := login(t, org, clock.Now())
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("package.xml")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, `<Package xmlns="http://soap.sforce.com/2006/04/metadata"><version>63.0</version></Package>`)
	if w, err = zw.Create("certs/Big.crt"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 10<<20+1)); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	_, last, _ := deployAndPoll(t, org, token, base64.StdEncoding.EncodeToString(buf.Bytes()))
	if last.Status != "Failed" || !strings.Contains(last.ErrorMessage, "certs/Big.crt in the zip file is larger than") {
		t.Errorf("result %+v, want a failed deploy naming the oversized file", last)
	}
}

func TestUpsertCreatesAnApp(t *testing.T) {
	t.Parallel()
	srv, clock := newServer(t)
	org := srv.DefaultOrg()
	token := login(t, org, clock.Now())
	record := func(name string) string {
		return `<met:metadata xsi:type="met:ConnectedApp"><met:fullName>` + name + `</met:fullName><met:contactEmail>a@example.com</met:contactEmail><met:label>` + name + `</met:label><met:samlConfig><met:acsUrl>https://wiki.example/saml</met:acsUrl><met:entityUrl>wiki</met:entityUrl><met:samlSubjectType>Username</met:samlSubjectType></met:samlConfig></met:metadata>`
	}
	cc := org.ContactCenters()[0]
	res := decodeResults(t, soap(t, org.InstanceURL(), envelope(token, `<met:upsertMetadata>`+record("Wiki")+record(cc.ConnectedApp)+`</met:upsertMetadata>`)))
	want := []saveResult{{Created: true, FullName: "Wiki", Success: true}, {Created: false, FullName: cc.ConnectedApp, Success: true}}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("upsert (-want +got):\n%s", diff)
	}
	a := query(t, org, token, "/services/data/v63.0/query", "SELECT Id, Name FROM ConnectedApplication WHERE Name = 'Wiki'")
	if !strings.Contains(a.body, `"totalSize":1`) || !strings.Contains(a.body, `"Id":"0H4`) {
		t.Errorf("the new app is not queryable: %s", a.body)
	}
	// The contact center's app lost its certificate: it signs with the org default.
	if c, ok := org.ConnectedAppCertificate(cc.ConnectedApp); !ok || c != "" {
		t.Errorf("certificate %q after a replace that omits it", c)
	}
	a = query(t, org, token, "/services/data/v63.0/query", "SELECT Id FROM ConnectedApplication WHERE Id = '"+cc.ConnectedAppID[:15]+"'")
	if !strings.Contains(a.body, `"totalSize":1`) {
		t.Errorf("a 15-character ID does not match its 18-character form: %s", a.body)
	}
}

// TestDeployOptions covers checkOnly, rollbackOnError=false with a partial
// failure, and singlePackage zips with package.xml at the root.
func TestDeployOptions(t *testing.T) {
	t.Parallel()
	zipOf := func(root string, certs map[string]int) string {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		var members strings.Builder
		for name, size := range certs {
			members.WriteString("<members>" + name + "</members>")
			w, _ := zw.Create(root + "certs/" + name + ".crt")
			w.Write(nil)
			w, _ = zw.Create(root + "certs/" + name + ".crt-meta.xml")
			fmt.Fprintf(w, `<Certificate xmlns="http://soap.sforce.com/2006/04/metadata"><caSigned>false</caSigned><keySize>%d</keySize><masterLabel>%s</masterLabel></Certificate>`, size, name)
		}
		w, _ := zw.Create(root + "package.xml")
		w.Write([]byte(`<Package xmlns="http://soap.sforce.com/2006/04/metadata"><types>` + members.String() + `<name>Certificate</name></types><version>63.0</version></Package>`))
		zw.Close()
		return base64.StdEncoding.EncodeToString(buf.Bytes())
	}
	tests := []struct {
		name       string
		zip        string
		options    string
		wantStatus string
		wantCerts  []string // certificates created
	}{
		{"check only", zipOf("unpackaged/", map[string]int{"Checked": 2048}), `<met:checkOnly>true</met:checkOnly>`, "Succeeded", nil},
		{"partial without rollback", zipOf("unpackaged/", map[string]int{"Good": 2048, "Bad": 512}), `<met:rollbackOnError>false</met:rollbackOnError>`, "SucceededPartial", []string{"Good"}},
		{"rolled back", zipOf("unpackaged/", map[string]int{"Good": 2048, "Bad": 512}), `<met:rollbackOnError>true</met:rollbackOnError>`, "Failed", nil},
		{"single package at the root", zipOf("", map[string]int{"Root": 2048}), `<met:singlePackage>true</met:singlePackage>`, "Succeeded", []string{"Root"}},
		{"single package in a folder", zipOf("unpackaged/", map[string]int{"Folder": 2048}), `<met:singlePackage>true</met:singlePackage>`, "Failed", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, clock := newServer(t, func(c *sftest.Config) { c.DeployPolls = 3 })
			org := srv.DefaultOrg()
			token := login(t, org, clock.Now())
			before := len(org.CertificateNames())
			a := soap(t, org.InstanceURL(), envelope(token, `<met:deploy><met:ZipFile>`+tt.zip+`</met:ZipFile><met:DeployOptions>`+tt.options+`</met:DeployOptions></met:deploy>`))
			var started struct {
				ID string `xml:"Body>deployResponse>result>id"`
			}
			if err := xml.Unmarshal([]byte(a.body), &started); err != nil || a.status != 200 {
				t.Fatalf("deploy: %d %s", a.status, a.body)
			}
			var states []string
			var last deployStatus
			for !last.Done && len(states) < 10 {
				s := soap(t, org.InstanceURL(), envelope(token, `<met:checkDeployStatus><met:asyncProcessId>`+started.ID+`</met:asyncProcessId><met:includeDetails>true</met:includeDetails></met:checkDeployStatus>`))
				var res struct {
					R deployStatus `xml:"Body>checkDeployStatusResponse>result"`
				}
				if err := xml.Unmarshal([]byte(s.body), &res); err != nil {
					t.Fatal(err)
				}
				last = res.R
				states = append(states, last.Status)
			}
			if diff := cmp.Diff([]string{"InProgress", "InProgress", "InProgress", tt.wantStatus}, states); diff != "" {
				t.Errorf("states (-want +got):\n%s", diff)
			}
			var created []string
			for _, n := range org.CertificateNames()[before:] {
				created = append(created, n)
			}
			if diff := cmp.Diff(tt.wantCerts, created); diff != "" {
				t.Errorf("certificates created (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpdateCallCenter(t *testing.T) {
	t.Parallel()
	srv, clock := newServer(t)
	org := srv.DefaultOrg()
	token := login(t, org, clock.Now())
	cc := org.ContactCenters()[0]
	body := `<met:updateMetadata><met:metadata xsi:type="met:CallCenter"><met:fullName>` + cc.InternalName + `</met:fullName><met:displayName>Renamed</met:displayName><met:displayNameLabel>Display Name</met:displayNameLabel><met:internalNameLabel>Internal Name</met:internalNameLabel>` +
		`<met:sections><met:items><met:label>Telephony Provider</met:label><met:name>reqTelephonyProvider</met:name><met:value>OTHER</met:value></met:items><met:label>Service Voice Settings</met:label><met:name>reqHvcc</met:name></met:sections></met:metadata></met:updateMetadata>`
	res := decodeResults(t, soap(t, org.InstanceURL(), envelope(token, body)))
	if len(res) != 1 || !res[0].Success {
		t.Fatalf("%+v", res)
	}
	a := query(t, org, token, "/services/data/v63.0/query", "SELECT Name FROM CallCenter")
	if !strings.Contains(a.body, `"Name":"Renamed"`) {
		t.Errorf("query after update: %s", a.body)
	}
	if got := org.ContactCenters()[0]; got.IdentityURL != "" || got.Name != "Renamed" {
		t.Errorf("the update did not replace the record: %+v", got)
	}
}
