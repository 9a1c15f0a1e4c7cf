package sftest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/voicecert/voicecert/salesforce/sftest"
)

// A client lists the org's certificates through the Tooling API, then switches the
// identity provider to one of them through the Metadata API; the request log marks
// the write.
func Example() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	srv, err := sftest.Start(sftest.Config{
		Now: func() time.Time { return now },
		Orgs: []sftest.OrgConfig{{
			Name: "acme",
			Certificates: []sftest.CertificateConfig{
				{DeveloperName: "SCV_2025", ExpiresAt: now.Add(10 * 24 * time.Hour)},
				{DeveloperName: "SCV_2026", KeySize: 4096},
			},
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	org := srv.DefaultOrg()
	token, err := org.IssueToken(org.Username())
	if err != nil {
		log.Fatal(err)
	}

	q := url.QueryEscape("SELECT DeveloperName, ExpirationDate, KeySize FROM Certificate ORDER BY ExpirationDate")
	req, _ := http.NewRequest(http.MethodGet, org.InstanceURL()+"/services/data/v63.0/tooling/query?q="+q, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	var result struct {
		Records []struct {
			DeveloperName, ExpirationDate string
			KeySize                       int
		}
	}
	json.NewDecoder(resp.Body).Decode(&result)
	resp.Body.Close()
	for _, r := range result.Records {
		fmt.Printf("%s %d bits, expires %s\n", r.DeveloperName, r.KeySize, r.ExpirationDate)
	}

	body := `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://soap.sforce.com/2006/04/metadata">
<soapenv:Header><SessionHeader><sessionId>` + token + `</sessionId></SessionHeader></soapenv:Header>
<soapenv:Body><updateMetadata><metadata xsi:type="IdentityProviderSettings"><fullName>IdentityProvider</fullName>
<certificateName>SCV_2026</certificateName><enableIdentityProvider>true</enableIdentityProvider></metadata></updateMetadata></soapenv:Body>
</soapenv:Envelope>`
	resp, err = http.Post(org.InstanceURL()+"/services/Soap/m/63.0", "text/xml; charset=utf-8", strings.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.Contains(string(answer), "<success>true</success>"))
	fmt.Println("IdP certificate:", org.IdPCertificate())
	for _, r := range srv.Writes() {
		fmt.Println("write:", r.Operation, r.Type)
	}
	// Output:
	// SCV_2025 2048 bits, expires 2026-03-11
	// SCV_2026 4096 bits, expires 2028-03-01
	// 200 true
	// IdP certificate: SCV_2026
	// write: updateMetadata IdentityProviderSettings
}

// Each contact center is a CallCenter whose reqHvcc section points at a SAML
// connected app; its identity URL starts IdP-initiated SSO.
func ExampleOrg_ContactCenters() {
	srv, err := sftest.Start(sftest.Config{Orgs: []sftest.OrgConfig{{
		ContactCenters: []sftest.ContactCenterConfig{{InternalName: "Support", Region: "eu-west-2"}},
	}}})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	org := srv.DefaultOrg()
	for _, cc := range org.ContactCenters() {
		fmt.Println(cc.InternalName, cc.ConnectedApp, cc.Region)
		fmt.Println(strings.HasPrefix(cc.IdentityURL, org.InstanceURL()+"/idp/login?app=0sp"))
		fmt.Println(cc.RoleARN)
		fmt.Println(cc.ProviderARN)
	}
	// Output:
	// Support Support_Connected_App eu-west-2
	// true
	// arn:aws:iam::123456789012:role/Support-SAMLRole
	// arn:aws:iam::123456789012:saml-provider/SalesforceServiceVoiceIdp
}
