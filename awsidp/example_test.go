package awsidp_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/voicecert/voicecert/awsidp"
	"github.com/voicecert/voicecert/awsidp/iamtest"
	"github.com/voicecert/voicecert/internal/fakeclock"
	"github.com/voicecert/voicecert/internal/keypool"
	"github.com/voicecert/voicecert/samlmeta"
)

const issuer = "https://acme.my.salesforce.com"

// Example adds a new certificate to the provider an org's contact centers use,
// then rolls the change back.
func Example() {
	ctx := context.Background()
	clock := fakeclock.New(time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC))
	var pool keypool.Pool
	oldKey, newKey := pool.MustKey(2048), pool.MustKey(2048)
	oldCert := selfSigned(oldKey, "SelfSignedCert_01Jan2026", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	newCert := selfSigned(newKey, "VoiceCert_2026_12", time.Date(2028, 12, 1, 0, 0, 0, 0, time.UTC))

	// A fake AWS account; with real AWS, load cfg with config.LoadDefaultConfig.
	srv, err := iamtest.Start(iamtest.Config{Now: clock.Now, Sleep: clock.Sleep, Accounts: []iamtest.Account{{
		ID:         "123456789012",
		AccessKeys: []iamtest.AccessKey{{ID: iamtest.DefaultAccessKeyID, Secret: iamtest.DefaultSecretAccessKey}},
		Providers:  []iamtest.Provider{{Name: awsidp.DefaultProviderName, Document: metadata(oldCert)}},
	}}})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(iamtest.DefaultAccessKeyID, iamtest.DefaultSecretAccessKey, ""),
		BaseEndpoint: aws.String(srv.URL),
	}
	client := &awsidp.Client{IAM: iam.NewFromConfig(cfg), Now: clock.Now}

	arn, err := client.FindProvider(ctx, "") // "": awsidp.DefaultProviderName
	if err != nil {
		panic(err)
	}
	p, err := client.Provider(ctx, arn)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.ARN)
	for _, e := range p.Entities {
		for _, c := range e.Certificates {
			fmt.Printf("  %s trusts %s, expires %s\n", e.EntityID, c.X509.Subject.CommonName, c.NotAfter.Format(time.DateOnly))
		}
	}

	// Add the new certificate next to the old one, on the document just read.
	res, err := client.Apply(ctx, awsidp.Edit{ARN: arn, EntityID: issuer, Add: newCert, Expected: p.Document})
	if err != nil {
		panic(err)
	}
	fmt.Println("changed:", res.Changed)

	// The same edit again finds nothing to do and writes nothing.
	again, err := client.Apply(ctx, awsidp.Edit{ARN: arn, EntityID: issuer, Add: newCert, Expected: res.Current})
	if err != nil {
		panic(err)
	}
	fmt.Println("changed again:", again.Changed)

	// A plan made on the old document is refused now.
	_, err = client.Apply(ctx, awsidp.Edit{ARN: arn, EntityID: issuer, RemoveSHA256: samlmeta.Fingerprint(oldCert.Raw), Expected: p.Document})
	fmt.Println("stale plan refused:", errors.Is(err, awsidp.ErrDocumentChanged))

	// Roll back.
	if err := client.Restore(ctx, arn, res.Previous, res.Current); err != nil {
		panic(err)
	}
	fmt.Println("writes:", len(srv.Writes()))
	// Output:
	// arn:aws:iam::123456789012:saml-provider/SalesforceServiceVoiceIdp
	//   https://acme.my.salesforce.com trusts SelfSignedCert_01Jan2026, expires 2027-01-01
	// changed: true
	// changed again: false
	// stale plan refused: true
	// writes: 2
}

// ExampleProbeSSO asks STS whether it accepts a SAML response. STS needs no
// AWS credentials for AssumeRoleWithSAML, so the client is anonymous.
func ExampleProbeSSO() {
	ctx := context.Background()
	clock := fakeclock.New(time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC))
	var pool keypool.Pool
	trustedKey, otherKey := pool.MustKey(2048), pool.MustKey(2048)
	trusted := selfSigned(trustedKey, "SelfSignedCert_01Jan2026", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	other := selfSigned(otherKey, "NotUploaded", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))

	srv, err := iamtest.Start(iamtest.Config{Now: clock.Now, Sleep: clock.Sleep, Accounts: []iamtest.Account{{
		ID:        "123456789012",
		Providers: []iamtest.Provider{{Name: awsidp.DefaultProviderName, Document: metadata(trusted)}},
		Roles:     []iamtest.Role{{Name: "CC1-SAMLRole"}},
	}}})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	stsClient := sts.NewFromConfig(aws.Config{Region: "us-east-1"}, func(o *sts.Options) {
		o.Credentials = aws.AnonymousCredentials{}
		o.BaseEndpoint = aws.String(srv.URL) // the fake; leave unset for AWS
	})

	provider := "arn:aws:iam::123456789012:saml-provider/SalesforceServiceVoiceIdp"
	// The Role attribute of the verified assertion names the role to use.
	pair, err := awsidp.FindRolePair([]string{"arn:aws:iam::123456789012:role/CC1-SAMLRole," + provider}, provider)
	if err != nil {
		panic(err)
	}
	for _, signer := range []struct {
		key  *rsa.PrivateKey
		cert *x509.Certificate
	}{{trustedKey, trusted}, {otherKey, other}} {
		err := awsidp.ProbeSSO(ctx, stsClient, awsidp.Probe{
			SAMLResponse: samlResponse(clock.Now(), pair, signer.key, signer.cert),
			RoleARN:      pair.RoleARN,
			ProviderARN:  pair.ProviderARN,
			Region:       "us-east-1",
		})
		switch {
		case err == nil:
			fmt.Printf("%s: accepted\n", signer.cert.Subject.CommonName)
		case errors.Is(err, awsidp.ErrSignatureRejected):
			fmt.Printf("%s: signature rejected\n", signer.cert.Subject.CommonName)
		default:
			fmt.Printf("%s: %v\n", signer.cert.Subject.CommonName, err)
		}
	}
	// Output:
	// SelfSignedCert_01Jan2026: accepted
	// NotUploaded: signature rejected
}

func ExampleFindRolePair() {
	values := []string{
		"arn:aws:iam::123456789012:role/CC1-SAMLRole,arn:aws:iam::123456789012:saml-provider/Okta",
		"arn:aws:iam::123456789012:saml-provider/SalesforceServiceVoiceIdp,arn:aws:iam::123456789012:role/CC2-SAMLRole",
	}
	pair, err := awsidp.FindRolePair(values, "arn:aws:iam::123456789012:saml-provider/SalesforceServiceVoiceIdp")
	fmt.Println(pair.RoleARN, err)
	// Output: arn:aws:iam::123456789012:role/CC2-SAMLRole <nil>
}

func ExampleParseARN() {
	a, err := awsidp.ParseARN("arn:aws-us-gov:iam::123456789012:saml-provider/SalesforceServiceVoiceIdp")
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Partition, a.AccountID, a.Name)
	fmt.Println(a.Partition.SAMLEndpoint())
	// Output:
	// aws-us-gov 123456789012 SalesforceServiceVoiceIdp
	// https://signin.amazonaws-us-gov.com/saml
}

// selfSigned makes a certificate for key, as Salesforce's self-signed ones.
func selfSigned(key *rsa.PrivateKey, name string, notAfter time.Time) *x509.Certificate {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: name, Organization: []string{"Salesforce.com"}},
		NotBefore:    notAfter.AddDate(-1, 0, 0),
		NotAfter:     notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return cert
}

// metadata renders Salesforce-style IdP metadata for the org with one signing
// certificate.
func metadata(cert *x509.Certificate) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + issuer + `" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
   <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
      <md:KeyDescriptor use="signing">
         <ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + base64.StdEncoding.EncodeToString(cert.Raw) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
      </md:KeyDescriptor>
      <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="` + issuer + `/idp/endpoint/HttpPost"/>
   </md:IDPSSODescriptor>
</md:EntityDescriptor>
`)
}

// samlResponse returns a signed SAML response for the role pair, base64 as
// Salesforce posts it.
func samlResponse(now time.Time, pair awsidp.RolePair, key *rsa.PrivateKey, cert *x509.Certificate) string {
	issued, expires := now.Format(time.RFC3339), now.Add(5*time.Minute).Format(time.RFC3339)
	xml := `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" IssueInstant="` + issued + `" Version="2.0">` +
		`<saml:Issuer>` + issuer + `</saml:Issuer>` +
		`<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
		`<saml:Assertion ID="_a1" IssueInstant="` + issued + `" Version="2.0"><saml:Issuer>` + issuer + `</saml:Issuer>` +
		`<saml:Subject><saml:NameID>005000000000001AAA</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
		`<saml:SubjectConfirmationData NotOnOrAfter="` + expires + `" Recipient="https://signin.aws.amazon.com/saml"/></saml:SubjectConfirmation></saml:Subject>` +
		`<saml:Conditions NotBefore="` + issued + `" NotOnOrAfter="` + expires + `"><saml:AudienceRestriction><saml:Audience>urn:amazon:webservices</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
		`<saml:AttributeStatement>` +
		`<saml:Attribute Name="` + awsidp.RoleAttribute + `"><saml:AttributeValue>` + pair.RoleARN + "," + pair.ProviderARN + `</saml:AttributeValue></saml:Attribute>` +
		`<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName"><saml:AttributeValue>agent@00D000000000001</saml:AttributeValue></saml:Attribute>` +
		`</saml:AttributeStatement></saml:Assertion></samlp:Response>`
	signed, err := samlmeta.SignResponse([]byte(strings.TrimSpace(xml)), key, cert, samlmeta.RSASHA256)
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(signed)
}
