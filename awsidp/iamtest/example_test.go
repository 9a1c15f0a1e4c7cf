package iamtest_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"log"
	"math/big"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/voicecert/voicecert/awsidp/iamtest"
	"github.com/voicecert/voicecert/internal/keypool"
)

// Example points the real aws-sdk-go-v2 IAM client at the fake, creates and reads a
// SAML provider, and shows the request log.
func Example() {
	now := func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }
	srv, err := iamtest.Start(iamtest.Config{Now: now})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	client := iam.NewFromConfig(aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(iamtest.DefaultAccessKeyID, iamtest.DefaultSecretAccessKey, ""),
	})
	ctx := context.Background()
	created, err := client.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{
		Name:                 aws.String("SalesforceServiceVoiceIdp"),
		SAMLMetadataDocument: aws.String(exampleMetadata("https://acme.my.salesforce.com")),
	})
	if err != nil {
		log.Fatal(err)
	}
	got, err := client.GetSAMLProvider(ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: created.SAMLProviderArn})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(aws.ToString(created.SAMLProviderArn))
	fmt.Println("created:", got.CreateDate.Format(time.RFC3339), "valid until:", got.ValidUntil.Format(time.RFC3339))

	_, err = client.UpdateSAMLProvider(ctx, &iam.UpdateSAMLProviderInput{
		SAMLProviderArn:      created.SAMLProviderArn,
		SAMLMetadataDocument: aws.String("<md:EntityDescriptor/>"),
	})
	fmt.Println("update with a bad document:", err != nil)

	for _, r := range srv.Requests() {
		fmt.Println(r.Operation, r.Status, r.Code, "write:", r.Write)
	}
	// Output:
	// arn:aws:iam::123456789012:saml-provider/SalesforceServiceVoiceIdp
	// created: 2026-03-01T12:00:00Z valid until: 2126-03-01T12:00:00Z
	// update with a bad document: true
	// CreateSAMLProvider 200  write: true
	// GetSAMLProvider 200  write: false
	// UpdateSAMLProvider 400 InvalidInput write: true
}

// exampleMetadata returns IdP metadata for entityID with one signing certificate
// made from a pre-generated key.
func exampleMetadata(entityID string) string {
	var pool keypool.Pool
	key, err := pool.Key(2048)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "SelfSignedCert_01Mar2026"},
		NotBefore:    time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	return `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + entityID + `">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>` +
		base64.StdEncoding.EncodeToString(der) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="` + entityID + `/idp/endpoint/HttpPost"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
`
}
