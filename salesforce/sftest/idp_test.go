package sftest_test

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicecert/voicecert/internal/fakeclock"
	"github.com/voicecert/voicecert/internal/testenv"
	"github.com/voicecert/voicecert/salesforce/sftest"
	"github.com/voicecert/voicecert/samlmeta"
)

// browser is a client with a cookie jar that stops at the first redirect.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func send(t *testing.T, c *http.Client, req *http.Request) answer {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return answer{resp.StatusCode, resp.Header.Get("Content-Type"), b.String(), resp.Header}
}

// frontdoor opens a UI session from an access token, as the SSO probe does.
func frontdoor(t *testing.T, c *http.Client, org *sftest.Org, token string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, org.InstanceURL()+"/secur/frontdoor.jsp", strings.NewReader(url.Values{"sid": {token}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return send(t, c, req)
}

var formInput = regexp.MustCompile(`<input type="hidden" name="(\w+)" value="([^"]*)"/>`)

// sso runs IdP-initiated SSO for a contact center and returns the decoded
// SAMLResponse, the RelayState and the form's action.
func sso(t *testing.T, org *sftest.Org, token, identityURL string) (response []byte, relay, action string) {
	t.Helper()
	c := browser(t)
	if a := frontdoor(t, c, org, token); a.status != http.StatusFound || a.header.Get("Location") != org.InstanceURL()+"/home/home.jsp" {
		t.Fatalf("frontdoor: %d, Location %q", a.status, a.header.Get("Location"))
	}
	req, err := http.NewRequest(http.MethodGet, identityURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := send(t, c, req)
	if a.status != http.StatusOK || a.contentType != "text/html;charset=UTF-8" {
		t.Fatalf("idp/login: %d %q: %s", a.status, a.contentType, a.body)
	}
	fields := map[string]string{}
	for _, m := range formInput.FindAllStringSubmatch(a.body, -1) {
		fields[m[1]] = html.UnescapeString(m[2])
	}
	action = html.UnescapeString(regexp.MustCompile(`<form method="POST" action="([^"]*)">`).FindStringSubmatch(a.body)[1])
	response, err = base64.StdEncoding.DecodeString(fields["SAMLResponse"])
	if err != nil {
		t.Fatal(err)
	}
	return response, fields["RelayState"], action
}

func TestIdPMetadata(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	org := srv.DefaultOrg()
	a := get(t, org.InstanceURL()+"/.well-known/samlidp.xml", "")
	if a.status != http.StatusOK || a.contentType != "text/xml;charset=UTF-8" {
		t.Fatalf("%d %q", a.status, a.contentType)
	}
	doc, err := samlmeta.Parse([]byte(a.body))
	if err != nil {
		t.Fatal(err)
	}
	e := doc.Entity(org.InstanceURL())
	if e == nil {
		t.Fatalf("no entity %s", org.InstanceURL())
	}
	certs := e.SigningCertificates()
	if len(certs) != 1 || !certs[0].X509.Equal(org.Certificate(org.IdPCertificate())) {
		t.Errorf("signing certificates %v, want the IdP setting's", certs)
	}
	if !e.ValidUntil.Equal(t0.AddDate(10, 0, 0)) {
		t.Errorf("validUntil %v", e.ValidUntil)
	}
	testenv.ValidateXSD(t, testenv.Shared(t, "schemas/saml/saml-schema-metadata-2.0.xsd"), writeTemp(t, "idp.xml", []byte(a.body)))
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSSO(t *testing.T) {
	t.Parallel()
	const lifetime = 2 * time.Minute
	srv, clock := newServer(t, sftest.WithAssertionLifetime(lifetime), sftest.WithOrgs(sftest.OrgConfig{
		Certificates:   []sftest.CertificateConfig{{DeveloperName: "Org_Default"}, {DeveloperName: "App_Cert", KeySize: 4096}},
		ContactCenters: []sftest.ContactCenterConfig{{InternalName: "Sales", App: sftest.ConnectedAppConfig{Certificate: "App_Cert"}}},
	}))
	org := srv.DefaultOrg()
	token := login(t, org, clock.Now())
	cc := org.ContactCenters()[0]
	response, relay, action := sso(t, org, token, cc.IdentityURL)
	if action != "https://signin.aws.amazon.com/saml" || relay != cc.RelayState {
		t.Errorf("form action %q, RelayState %q (want %q)", action, relay, cc.RelayState)
	}
	appCert := org.Certificate("App_Cert")
	v, err := samlmeta.VerifyResponse(response, samlmeta.VerifyOptions{Trusted: []*x509.Certificate{org.Certificate("Org_Default"), appCert}, Now: clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if v.Signer.SHA256 != samlmeta.Fingerprint(appCert.Raw) || !v.ResponseSigned {
		t.Errorf("signed by %s (response signed %v), want App_Cert on both levels", v.Signer.Subject, v.ResponseSigned)
	}
	a := v.Assertion
	got := map[string]any{
		"issuer": v.Issuer, "assertion issuer": a.Issuer, "destination": v.Destination, "recipient": a.Recipient,
		"audiences": a.Audiences, "lifetime": a.NotOnOrAfter.Sub(a.IssueInstant), "subject lifetime": a.SubjectNotOnOrAfter.Sub(a.IssueInstant),
		"not before": a.IssueInstant.Sub(a.NotBefore), "issued": a.IssueInstant,
		"role": a.Attribute("https://aws.amazon.com/SAML/Attributes/Role"), "session": a.Attribute("https://aws.amazon.com/SAML/Attributes/RoleSessionName"),
		"in response to": v.InResponseTo,
	}
	want := map[string]any{
		"issuer": org.InstanceURL(), "assertion issuer": org.InstanceURL(), "destination": "https://signin.aws.amazon.com/saml",
		"recipient": "https://signin.aws.amazon.com/saml", "audiences": []string{"urn:amazon:webservices"},
		"lifetime": lifetime, "subject lifetime": lifetime, "not before": 30 * time.Second, "issued": t0,
		"role":    []string{"arn:aws:iam::123456789012:role/Sales-SAMLRole,arn:aws:iam::123456789012:saml-provider/SalesforceServiceVoiceIdp"},
		"session": []string{org.Username()}, "in response to": "",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("assertion (-want +got):\n%s", diff)
	}
	var names []string
	for _, at := range a.Attributes {
		names = append(names, at.Name)
	}
	if diff := cmp.Diff([]string{"userId", "username", "email", "is_portal_user", "https://aws.amazon.com/SAML/Attributes/Role", "https://aws.amazon.com/SAML/Attributes/RoleSessionName"}, names); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	checkShape(t, response)
	verifyWithXMLSec(t, response, appCert)
	testenv.ValidateXSD(t, testenv.Shared(t, "schemas/saml/saml-schema-protocol-2.0.xsd"), writeTemp(t, "response.xml", response))
}

// checkShape compares the layout with the real Salesforce response in
// ../shared/fixtures/salesforce-idp-2017: IDs, each Signature right after its
// Issuer, the PrefixLists.
func checkShape(t *testing.T, response []byte) {
	t.Helper()
	s := string(response)
	for _, re := range []string{
		`^<\?xml version="1.0" encoding="UTF-8"\?>\s*<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" Destination="[^"]+" ID="_[0-9a-f]{32}\d{13}" IssueInstant="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z" Version="2.0">`,
		`</saml:Issuer><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">[\s\S]*PrefixList="ds saml samlp xs xsi"[\s\S]*</ds:Signature><samlp:Status>`,
		`<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_[0-9a-f]{32}\d{13}" IssueInstant="[^"]+" Version="2.0"><saml:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">[^<]+</saml:Issuer><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">[\s\S]*PrefixList="ds saml xs xsi"[\s\S]*</ds:Signature><saml:Subject>`,
		`http://www.w3.org/2001/04/xmldsig-more#rsa-sha256`,
	} {
		if !regexp.MustCompile(re).MatchString(s) {
			t.Errorf("response does not match %s", re)
		}
	}
	if strings.Contains(s, "InResponseTo") {
		t.Error("an IdP-initiated response carries InResponseTo")
	}
}

// verifyWithXMLSec checks both signatures with xmlsec1: the first run finds the
// Response's, the second is pointed at the Assertion's.
func verifyWithXMLSec(t *testing.T, response []byte, cert *x509.Certificate) {
	t.Helper()
	xmlsec := testenv.Tool(t, "xmlsec1")
	file := writeTemp(t, "response.xml", response)
	pemFile := writeTemp(t, "cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
	common := []string{"--verify", "--pubkey-cert-pem", pemFile,
		"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:Response",
		"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"}
	runs := [][]string{
		append(append([]string{}, common...), file),
		append(append([]string{}, common...), "--node-xpath", "//*[local-name()='Assertion']/*[local-name()='Signature']", file),
	}
	for _, args := range runs {
		out, err := exec.Command(xmlsec, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "OK") {
			t.Errorf("xmlsec1 %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

func TestSSOSigner(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		app        sftest.ConnectedAppConfig
		setSigner  string
		switchIdP  bool
		wantSigner string
		wantSHA1   bool
	}{
		{"names a certificate", sftest.ConnectedAppConfig{Certificate: "B"}, "", false, "B", false},
		{"org default", sftest.ConnectedAppConfig{UseOrgDefault: true}, "", false, "A", false},
		{"org default follows the IdP setting", sftest.ConnectedAppConfig{UseOrgDefault: true}, "", true, "B", false},
		{"misconfigured signer", sftest.ConnectedAppConfig{Certificate: "A"}, "C", false, "C", false},
		{"SHA-1", sftest.ConnectedAppConfig{Certificate: "A", SigningAlgorithm: "SHA1"}, "", false, "A", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, clock := newServer(t, sftest.WithOrgs(sftest.OrgConfig{
				Certificates:   []sftest.CertificateConfig{{DeveloperName: "A"}, {DeveloperName: "B"}, {DeveloperName: "C"}},
				ContactCenters: []sftest.ContactCenterConfig{{InternalName: "CC", App: tt.app}},
			}))
			org := srv.DefaultOrg()
			token := login(t, org, clock.Now())
			cc := org.ContactCenters()[0]
			if tt.setSigner != "" {
				if err := org.SetSigner(cc.ConnectedApp, tt.setSigner); err != nil {
					t.Fatal(err)
				}
			}
			if tt.switchIdP {
				res := decodeResults(t, soap(t, org.InstanceURL(), envelope(token, `<met:updateMetadata><met:metadata xsi:type="met:IdentityProviderSettings"><met:fullName>IdentityProvider</met:fullName><met:certificateName>B</met:certificateName><met:enableIdentityProvider>true</met:enableIdentityProvider></met:metadata></met:updateMetadata>`)))
				if len(res) != 1 || !res[0].Success {
					t.Fatalf("switch: %+v", res)
				}
			}
			response, _, _ := sso(t, org, token, cc.IdentityURL)
			var all []*x509.Certificate
			for _, n := range []string{"A", "B", "C"} {
				all = append(all, org.Certificate(n))
			}
			v, err := samlmeta.VerifyResponse(response, samlmeta.VerifyOptions{Trusted: all, Now: clock.Now()})
			if err != nil {
				t.Fatal(err)
			}
			if v.Signer.SHA256 != samlmeta.Fingerprint(org.Certificate(tt.wantSigner).Raw) {
				t.Errorf("signed by %s, want %s", v.Signer.Subject, tt.wantSigner)
			}
			if got := len(v.Warnings) > 0; got != tt.wantSHA1 {
				t.Errorf("warnings %v, want SHA-1 warnings: %v", v.Warnings, tt.wantSHA1)
			}
			if tt.setSigner != "" {
				named, _ := org.ConnectedAppCertificate(cc.ConnectedApp)
				_, err := samlmeta.VerifyResponse(response, samlmeta.VerifyOptions{Trusted: []*x509.Certificate{org.Certificate(named)}, Now: clock.Now()})
				if !errors.Is(err, samlmeta.ErrSignature) {
					t.Errorf("the certificate the app names verified a response signed by another: %v", err)
				}
			}
		})
	}
}

func TestSSOWithoutSession(t *testing.T) {
	t.Parallel()
	srv, clock := newServer(t, sftest.WithOrgs(
		sftest.OrgConfig{Name: "main"},
		sftest.OrgConfig{Name: "apionly", OAuthApps: []sftest.OAuthAppConfig{{Scopes: []string{"api"}}}},
	))
	org := srv.Org("main")
	tests := []struct {
		name  string
		org   *sftest.Org
		token func() string
	}{
		{"no session", org, nil},
		{"invalid token", org, func() string { return "00D000000000000!nope" }},
		{"API-only user", org, func() string { return loginAs(t, org, "integration@main.example", clock.Now()) }},
		{"token without web scope", srv.Org("apionly"), func() string { return login(t, srv.Org("apionly"), clock.Now()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := browser(t)
			identity := tt.org.ContactCenters()[0].IdentityURL
			if tt.token != nil {
				a := frontdoor(t, c, tt.org, tt.token())
				if a.status != http.StatusFound || !strings.HasPrefix(a.header.Get("Location"), tt.org.InstanceURL()+"/?ec=302&startURL=") {
					t.Errorf("frontdoor: %d, Location %q; want a redirect to the login page", a.status, a.header.Get("Location"))
				}
			}
			req, _ := http.NewRequest(http.MethodGet, identity, nil)
			a := send(t, c, req)
			want := tt.org.InstanceURL() + "/?ec=302&startURL=" + url.QueryEscape(strings.TrimPrefix(identity, tt.org.InstanceURL()))
			if a.status != http.StatusFound || a.header.Get("Location") != want {
				t.Errorf("idp/login: %d, Location %q; want 302 to %q", a.status, a.header.Get("Location"), want)
			}
		})
	}
}

func TestSSOFreshEachTime(t *testing.T) {
	t.Parallel()
	clock := fakeclock.New(t0)
	srv := sftest.NewServer(t, sftest.WithNow(clock.Now))
	org := srv.DefaultOrg()
	token := login(t, org, clock.Now())
	cc := org.ContactCenters()[0]
	first, _, _ := sso(t, org, token, cc.IdentityURL)
	clock.Advance(time.Minute)
	second, _, _ := sso(t, org, token, cc.IdentityURL)
	v1, err1 := samlmeta.VerifyResponse(first, samlmeta.VerifyOptions{Trusted: []*x509.Certificate{org.Certificate(org.IdPCertificate())}, Now: clock.Now()})
	v2, err2 := samlmeta.VerifyResponse(second, samlmeta.VerifyOptions{Trusted: []*x509.Certificate{org.Certificate(org.IdPCertificate())}, Now: clock.Now()})
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if v1.ID == v2.ID || v1.Assertion.ID == v2.Assertion.ID || !v2.IssueInstant.Equal(t0.Add(time.Minute)) {
		t.Errorf("responses not fresh: %s/%s, %s/%s, %v", v1.ID, v2.ID, v1.Assertion.ID, v2.Assertion.ID, v2.IssueInstant)
	}
}

func TestIdPDisabled(t *testing.T) {
	t.Parallel()
	srv, clock := newServer(t, sftest.WithOrgs(sftest.OrgConfig{IdPDisabled: true}))
	org := srv.DefaultOrg()
	if a := get(t, org.InstanceURL()+"/.well-known/samlidp.xml", ""); a.status != http.StatusNotFound {
		t.Errorf("metadata of a disabled IdP: %d", a.status)
	}
	c := browser(t)
	frontdoor(t, c, org, login(t, org, clock.Now()))
	req, _ := http.NewRequest(http.MethodGet, org.ContactCenters()[0].IdentityURL, nil)
	if a := send(t, c, req); a.status != http.StatusForbidden || strings.Contains(a.body, "SAMLResponse") {
		t.Errorf("SSO with a disabled IdP: %d", a.status)
	}
}

func TestSignerCacheDelay(t *testing.T) {
	t.Parallel()
	srv, clock := newServer(t, func(c *sftest.Config) { c.SignerCacheDelay = time.Minute },
		sftest.WithOrgs(sftest.OrgConfig{
			Certificates:   []sftest.CertificateConfig{{DeveloperName: "Old"}, {DeveloperName: "New"}},
			ContactCenters: []sftest.ContactCenterConfig{{InternalName: "CC", App: sftest.ConnectedAppConfig{UseOrgDefault: true}}},
		}))
	org := srv.DefaultOrg()
	token := login(t, org, clock.Now())
	cc := org.ContactCenters()[0]
	signer := func() string {
		response, _, _ := sso(t, org, token, cc.IdentityURL)
		v, err := samlmeta.VerifyResponse(response, samlmeta.VerifyOptions{Trusted: []*x509.Certificate{org.Certificate("Old"), org.Certificate("New")}, Now: clock.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(strings.Split(v.Signer.Subject, ",")[0], "CN=")
	}
	res := decodeResults(t, soap(t, org.InstanceURL(), envelope(token, `<met:updateMetadata><met:metadata xsi:type="met:IdentityProviderSettings"><met:fullName>IdentityProvider</met:fullName><met:certificateName>New</met:certificateName><met:enableIdentityProvider>true</met:enableIdentityProvider></met:metadata></met:updateMetadata>`)))
	if len(res) != 1 || !res[0].Success {
		t.Fatalf("%+v", res)
	}
	var got []string
	got = append(got, signer())
	clock.Advance(59 * time.Second)
	got = append(got, signer())
	clock.Advance(time.Second)
	got = append(got, signer())
	if diff := cmp.Diff([]string{"Old", "Old", "New"}, got); diff != "" {
		t.Errorf("signers over time (-want +got):\n%s", diff)
	}
}
