package salesforce_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/voicecert/voicecert/salesforce"
	"github.com/voicecert/voicecert/salesforce/sftest"
	"github.com/voicecert/voicecert/samlmeta"
)

// answer returns a responder that serves a recorded answer from testdata.
func answer(name, contentType string) httpmock.Responder {
	body, err := os.ReadFile("testdata/" + name)
	if err != nil {
		log.Fatal(err)
	}
	return func(req *http.Request) (*http.Response, error) {
		resp := httpmock.NewBytesResponse(http.StatusOK, body)
		resp.Header.Set("Content-Type", contentType)
		return resp, nil
	}
}

// This example reads what a rotation starts from: the certificates with their
// expiry and the one the org's Identity Provider signs with. The org is simulated
// with recorded answers; against a real org, drop HTTPClient and use a JWTBearer.
func Example() {
	org := httpmock.NewMockTransport()
	org.RegisterResponder(http.MethodGet, "https://acme.my.salesforce.com/services/data/v63.0/tooling/query",
		answer("tooling_certificate_voicecert.json", "application/json;charset=UTF-8"))
	org.RegisterResponder(http.MethodPost, "https://acme.my.salesforce.com/services/Soap/m/63.0",
		answer("read_idp.xml", "text/xml;charset=UTF-8"))

	client, err := salesforce.New(salesforce.Config{
		InstanceURL: "https://acme.my.salesforce.com",
		Auth:        salesforce.StaticToken{AccessToken: "00D5g00000AbCdE!AQ0AQexample"},
		OrgID:       "00D5g00000AbCdE",
		HTTPClient:  &http.Client{Transport: org},
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	certs, err := client.ListCertificates(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range certs {
		fmt.Printf("%s (%d bits) expires %s\n", c.DeveloperName, c.KeySize, c.ExpirationDate.Format("2006-01-02"))
	}
	idp, err := client.IdentityProvider(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("the Identity Provider signs with", idp.CertificateName)
	fmt.Printf("%+v\n", client.Stats())
	// Output:
	// VoiceCert_20261203 (4096 bits) expires 2028-12-03
	// the Identity Provider signs with SelfSignedCert_24Apr2017_180044
	// {Reads:2 Writes:0}
}

// The Salesforce half of a rotation against the fake org: create a certificate,
// point the Identity Provider and a contact center's connected app at it, and see
// which certificate signs the contact center's SSO assertion.
func ExampleClient_CreateCertificate() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	srv, err := sftest.Start(sftest.Config{Now: func() time.Time { return now }})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	org := srv.DefaultOrg()

	client, err := salesforce.New(salesforce.Config{
		OrgID: org.ID(),
		Auth: salesforce.JWTBearer{LoginURL: org.LoginURL(), ClientID: org.OAuthClientID(),
			Username: org.Username(), Key: org.OAuthKey()},
		Now:   func() time.Time { return now },
		Sleep: func(context.Context, time.Duration) error { return nil },
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	centers, err := client.ListContactCenters(ctx)
	if err != nil {
		log.Fatal(err)
	}
	cc := centers[0]
	fmt.Println("contact center:", cc.Name, "app:", cc.ConnectedApp)

	cert, err := client.CreateCertificate(ctx, "VoiceCert_20260301", "VoiceCert 2026-03-01", 4096)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created:", cert.DeveloperName, "expires", cert.ExpirationDate.Format("2006-01-02"))
	if err := client.SetIdentityProviderCertificate(ctx, cert.DeveloperName); err != nil {
		log.Fatal(err)
	}
	if err := client.SetConnectedAppCertificate(ctx, cc.ConnectedApp, cert.DeveloperName); err != nil {
		log.Fatal(err)
	}
	app, err := client.ConnectedApp(ctx, cc.ConnectedApp)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("app signs with:", app.Certificate)

	sso, err := client.ProbeSSO(ctx, cc.IdentityURL)
	if err != nil {
		log.Fatal(err)
	}
	block, _ := pem.Decode(cert.PEM)
	x, _ := x509.ParseCertificate(block.Bytes)
	v, err := samlmeta.VerifyResponse(sso.SAMLResponse, samlmeta.VerifyOptions{Trusted: []*x509.Certificate{x}, Now: now})
	fmt.Println("assertion signed by the new certificate:", err == nil && v.Signer.SHA256 == samlmeta.Fingerprint(x.Raw))
	fmt.Printf("%+v\n", client.Stats())
	// Output:
	// contact center: ContactCenter1 app: ContactCenter1_Connected_App
	// created: VoiceCert_20260301 expires 2028-03-01
	// app signs with: VoiceCert_20260301
	// assertion signed by the new certificate: true
	// {Reads:18 Writes:3}
}
