package samlmeta_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log"
	"math/big"
	"os"
	"time"

	"github.com/voicecert/voicecert/internal/keypool"
	"github.com/voicecert/voicecert/samlmeta"
)

// The examples read the real Salesforce fixture from ../shared beside the checkout.
const fixtures = "../../shared/fixtures/salesforce-idp-2017/"

// Parse IdP metadata, list what a service provider would trust, and run the
// pre-upload check.
func Example() {
	data, err := os.ReadFile(fixtures + "idp-metadata.xml")
	if err != nil {
		log.Fatal(err)
	}
	doc, err := samlmeta.Parse(data)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range doc.Entities {
		fmt.Println("entity", e.EntityID)
		for _, c := range e.SigningCertificates() {
			fmt.Printf("signing certificate %s-%d, expires %s\n  sha256 %s\n", c.KeyType, c.KeyBits, c.NotAfter.Format(time.DateOnly), c.SHA256)
		}
	}

	findings := samlmeta.Check(data, samlmeta.CheckOptions{Now: time.Date(2018, 4, 10, 0, 0, 0, 0, time.UTC)})
	for _, f := range findings {
		fmt.Println(f.Severity, f.Group, f.Rule)
	}
	fmt.Println("may upload:", findings.Err() == nil)
	// Output:
	// entity https://kolide-dev-ed.my.salesforce.com
	// signing certificate RSA-2048, expires 2018-04-24
	//   sha256 3284e587d5e02e632fd9e3b38551b98be916233844d4f6b226141a04c5a54719
	// warning policy certificate-expiring
	// may upload: true
}

// Verify a SAMLResponse Salesforce issued, against the certificate of its
// metadata. The certificate has expired since; AWS still accepts it, and so does
// VerifyResponse when told to.
func ExampleVerifyResponse() {
	metadata, err := os.ReadFile(fixtures + "idp-metadata.xml")
	if err != nil {
		log.Fatal(err)
	}
	response, err := os.ReadFile(fixtures + "saml-response.xml")
	if err != nil {
		log.Fatal(err)
	}
	doc, err := samlmeta.Parse(metadata)
	if err != nil {
		log.Fatal(err)
	}
	var trusted []*x509.Certificate
	for _, c := range doc.Entities[0].SigningCertificates() {
		trusted = append(trusted, c.X509)
	}

	v, err := samlmeta.VerifyResponse(response, samlmeta.VerifyOptions{Trusted: trusted, AllowExpired: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed by", v.Signer.SHA256[:16], "response signed:", v.ResponseSigned)
	fmt.Println("issuer", v.Assertion.Issuer)
	fmt.Println("subject", v.Assertion.NameID, "for", v.Assertion.Audiences)
	fmt.Println("email", v.Assertion.Attribute("email"))
	fmt.Println(len(v.Warnings) > 0, "warnings, such as:", v.Warnings[0])
	// Output:
	// signed by 3284e587d5e02e63 response signed: true
	// issuer https://kolide-dev-ed.my.salesforce.com
	// subject john@kolide.co for [kolide]
	// email [john@kolide.co]
	// true warnings, such as: the Response is signed with RSA-SHA1; SHA-1 is deprecated: switch the signer to RSA-SHA256
}

// Add a new signing certificate to a provider's document, then see what changed.
func ExampleAddSigningCertificate() {
	current, err := os.ReadFile(fixtures + "idp-metadata.xml")
	if err != nil {
		log.Fatal(err)
	}
	var pool keypool.Pool // test keys; a real certificate comes from Salesforce
	key, err := pool.Key(2048)
	if err != nil {
		log.Fatal(err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "VoiceCert_2026"}, NotBefore: start, NotAfter: start.AddDate(2, 0, 0)}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		log.Fatal(err)
	}

	edited, changed, err := samlmeta.AddSigningCertificate(current, "https://kolide-dev-ed.my.salesforce.com", cert)
	if err != nil {
		log.Fatal(err)
	}
	before, _ := samlmeta.Parse(current)
	after, _ := samlmeta.Parse(edited)
	fmt.Println("changed:", changed)
	fmt.Println("signing certificates:", len(after.Entities[0].SigningCertificates()))
	fmt.Println("differences:", len(samlmeta.CompareDocuments(before, after)))
	check := samlmeta.Check(edited, samlmeta.CheckOptions{Now: start, NewCertificates: []string{samlmeta.Fingerprint(der)}})
	fmt.Println("IAM rules pass:", check.InGroup(samlmeta.GroupIAM).Err() == nil)
	// Output:
	// changed: true
	// signing certificates: 2
	// differences: 1
	// IAM rules pass: true
}
