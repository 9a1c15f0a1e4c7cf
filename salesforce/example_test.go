package salesforce_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/jarcoal/httpmock"

	"github.com/voicecert/voicecert/salesforce"
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
