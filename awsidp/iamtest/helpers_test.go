package iamtest_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/voicecert/voicecert/awsidp/iamtest"
	"github.com/voicecert/voicecert/internal/fakeclock"
	"github.com/voicecert/voicecert/internal/keypool"
	"github.com/voicecert/voicecert/samlmeta"
)

// t0 is the fake clock's start in most tests.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// keys hands out distinct pre-generated keys to every test of the package.
var keys keypool.Pool

func key(t testing.TB, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := keys.Key(bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// selfSigned makes a certificate for key, valid from notBefore to notAfter, like a
// Salesforce self-signed IdP certificate. extra adds raw extensions.
func selfSigned(t testing.TB, k *rsa.PrivateKey, cn string, notBefore, notAfter time.Time, extra ...pkix.Extension) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:    big.NewInt(notBefore.UnixNano()),
		Subject:         pkix.Name{CommonName: cn, Organization: []string{"Salesforce.com"}},
		NotBefore:       notBefore,
		NotAfter:        notAfter,
		ExtraExtensions: extra,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		// Go refuses some certificates IAM must see (repeated extensions); keep the
		// raw bytes in a bare struct for those.
		return &x509.Certificate{Raw: der}
	}
	return cert
}

// signer is an IdP key and its certificate.
type signer struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

func newSigner(t testing.TB, cn string) signer {
	k := key(t, 2048)
	return signer{key: k, cert: selfSigned(t, k, cn, t0.AddDate(0, -1, 0), t0.AddDate(1, 0, 0))}
}

// entityXML is one Salesforce-style EntityDescriptor trusting certs for signing.
func entityXML(entityID string, certs ...*x509.Certificate) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="%s" validUntil="2036-03-01T12:00:00.000Z">`+"\n", entityID)
	b.WriteString(`  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` + "\n")
	for _, c := range certs {
		fmt.Fprintf(&b, "    <md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>\n",
			base64.StdEncoding.EncodeToString(c.Raw))
	}
	b.WriteString("    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>\n")
	fmt.Fprintf(&b, `    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="%s/idp/endpoint/HttpPost"/>`+"\n", entityID)
	fmt.Fprintf(&b, `    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="%s/idp/endpoint/HttpRedirect"/>`+"\n", entityID)
	b.WriteString("  </md:IDPSSODescriptor>\n</md:EntityDescriptor>")
	return b.String()
}

// metadata is a document with one entity.
func metadata(entityID string, certs ...*x509.Certificate) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + entityXML(entityID, certs...) + "\n")
}

// metadataEntities is an EntitiesDescriptor holding the given entities.
func metadataEntities(entities ...string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">` + "\n")
	for _, e := range entities {
		b.WriteString(e + "\n")
	}
	b.WriteString("</md:EntitiesDescriptor>\n")
	return []byte(b.String())
}

// assertion describes a SAMLResponse for the fake STS.
type assertion struct {
	Issuer       string
	NameID       string
	Audience     string
	Recipient    string
	Roles        []string // Role attribute values
	SessionName  string   // "" omits the attribute
	IssueInstant time.Time
	Lifetime     time.Duration
	Status       string // zero: Success
	// Which signatures to make: zero value signs both, as Salesforce does.
	UnsignedResponse, UnsignedAssertion bool
	// SessionDuration, when set, is the SessionDuration attribute (seconds).
	SessionDuration string
	// SessionNotOnOrAfter, when set, bounds the session in the AuthnStatement.
	SessionNotOnOrAfter time.Time
	// Algorithm is samlmeta's name of the signature algorithm; zero: RSA-SHA256.
	Algorithm samlmeta.SignatureAlgorithm
}

// response builds the SAMLResponse XML signed by s. With both signatures (the
// default) it signs as Salesforce does, through samlmeta.SignResponse: the Assertion
// first, then the Response, each signature right after its Issuer, exclusive C14N
// with an InclusiveNamespaces PrefixList. One signature alone, or a key that does not
// match the certificate put in KeyInfo, is signed with goxmldsig directly (exclusive
// C14N without PrefixList, which goxmldsig's signer cannot write).
func response(t testing.TB, a assertion, s signer) []byte {
	t.Helper()
	if a.Status == "" {
		a.Status = "urn:oasis:names:tc:SAML:2.0:status:Success"
	}
	if a.Lifetime == 0 {
		a.Lifetime = 5 * time.Minute
	}
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
	issued, until := ts(a.IssueInstant), ts(a.IssueInstant.Add(a.Lifetime))
	var attrs strings.Builder
	attr := func(name string, values ...string) {
		fmt.Fprintf(&attrs, `<saml:Attribute Name="%s" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified">`, name)
		for _, v := range values {
			fmt.Fprintf(&attrs, `<saml:AttributeValue xsi:type="xs:string">%s</saml:AttributeValue>`, v)
		}
		attrs.WriteString(`</saml:Attribute>`)
	}
	if len(a.Roles) > 0 {
		attr("https://aws.amazon.com/SAML/Attributes/Role", a.Roles...)
	}
	if a.SessionName != "" {
		attr("https://aws.amazon.com/SAML/Attributes/RoleSessionName", a.SessionName)
	}
	if a.SessionDuration != "" {
		attr("https://aws.amazon.com/SAML/Attributes/SessionDuration", a.SessionDuration)
	}
	session := ""
	if !a.SessionNotOnOrAfter.IsZero() {
		session = ` SessionNotOnOrAfter="` + ts(a.SessionNotOnOrAfter) + `"`
	}
	respID, asrtID := "_"+fmt.Sprintf("%x", a.IssueInstant.UnixNano()), "_"+fmt.Sprintf("%x", a.IssueInstant.UnixNano()+1)
	doc := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" Destination="%[4]s" ID="%[1]s" IssueInstant="%[5]s" Version="2.0">`+
		`<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">%[3]s</saml:Issuer>`+
		`<samlp:Status><samlp:StatusCode Value="%[10]s"/></samlp:Status>`+
		`<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="%[2]s" IssueInstant="%[5]s" Version="2.0">`+
		`<saml:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">%[3]s</saml:Issuer>`+
		`<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">%[7]s</saml:NameID>`+
		`<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="%[6]s" Recipient="%[4]s"/></saml:SubjectConfirmation></saml:Subject>`+
		`<saml:Conditions NotBefore="%[5]s" NotOnOrAfter="%[6]s"><saml:AudienceRestriction><saml:Audience>%[8]s</saml:Audience></saml:AudienceRestriction></saml:Conditions>`+
		`<saml:AuthnStatement AuthnInstant="%[5]s"%[11]s><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`+
		`<saml:AttributeStatement>%[9]s</saml:AttributeStatement>`+
		`</saml:Assertion></samlp:Response>`,
		respID, asrtID, a.Issuer, a.Recipient, issued, until, a.NameID, a.Audience, attrs.String(), a.Status, session)

	if !a.UnsignedResponse && !a.UnsignedAssertion && s.key.PublicKey.Equal(s.cert.PublicKey) {
		out, err := samlmeta.SignResponse([]byte(doc), s.key, s.cert, a.Algorithm)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	d := etree.NewDocument()
	if err := d.ReadFromString(doc); err != nil {
		t.Fatal(err)
	}
	root := d.Root()
	asrt := root.SelectElement("Assertion")
	if !a.UnsignedAssertion {
		signInPlace(t, asrt, s)
	}
	if !a.UnsignedResponse {
		signInPlace(t, root, s)
	}
	out, err := d.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// signInPlace signs el (enveloped) with goxmldsig and inserts the signature right
// after its Issuer.
func signInPlace(t testing.TB, el *etree.Element, s signer) {
	t.Helper()
	ctx, err := dsig.NewSigningContext(s.key, [][]byte{s.cert.Raw})
	if err != nil {
		t.Fatal(err)
	}
	ctx.Hash = crypto.SHA256
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	sig, err := ctx.ConstructSignature(el, true)
	if err != nil {
		t.Fatal(err)
	}
	issuer := el.SelectElement("Issuer")
	el.InsertChildAt(issuer.Index()+1, sig)
}

func b64(xml []byte) string { return base64.StdEncoding.EncodeToString(xml) }

// clients returns the real SDK clients pointed at srv, signing with the given key,
// retries disabled so a fault is seen once.
func clients(srv *iamtest.Server, keyID, secret string) (*iam.Client, *sts.Client) {
	cfg := aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(keyID, secret, ""),
		BaseEndpoint:     aws.String(srv.URL),
		RetryMaxAttempts: 1,
	}
	return iam.NewFromConfig(cfg), sts.NewFromConfig(cfg)
}

func defaultClients(srv *iamtest.Server) (*iam.Client, *sts.Client) {
	return clients(srv, iamtest.DefaultAccessKeyID, iamtest.DefaultSecretAccessKey)
}

// world is a server with one provider ("SalesforceServiceVoiceIdp") whose document
// trusts one signer for one org, and a role that trusts it.
type world struct {
	clock    *fakeclock.Clock
	srv      *iamtest.Server
	iam      *iam.Client
	sts      *sts.Client
	signer   signer
	issuer   string
	provider string // ARN
	role     string // ARN
}

const (
	providerName = "SalesforceServiceVoiceIdp"
	roleName     = "SCVConnectSSO"
	orgIssuer    = "https://acme.my.salesforce.com"
)

func newWorld(t *testing.T, opts ...iamtest.Option) *world {
	t.Helper()
	w := &world{clock: fakeclock.New(t0), signer: newSigner(t, "SelfSignedCert_01Feb2026"), issuer: orgIssuer}
	acct := iamtest.Account{
		ID:         iamtest.DefaultAccountID,
		AccessKeys: []iamtest.AccessKey{{ID: iamtest.DefaultAccessKeyID, Secret: iamtest.DefaultSecretAccessKey}},
		Providers:  []iamtest.Provider{{Name: providerName, Document: metadata(orgIssuer, w.signer.cert)}},
		Roles:      []iamtest.Role{{Name: roleName}},
	}
	all := append([]iamtest.Option{iamtest.WithClock(w.clock.Now, w.clock.Sleep), iamtest.WithAccounts(acct)}, opts...)
	w.srv = iamtest.NewServer(t, all...)
	w.iam, w.sts = defaultClients(w.srv)
	w.provider = w.srv.ProviderARN(iamtest.DefaultAccountID, providerName)
	w.role = w.srv.RoleARN(iamtest.DefaultAccountID, roleName)
	return w
}

// assertion returns a valid assertion for the world's role, issued now.
func (w *world) assertion() assertion {
	return assertion{
		Issuer:       w.issuer,
		NameID:       "agent@acme.example",
		Audience:     "urn:amazon:webservices",
		Recipient:    "https://signin.aws.amazon.com/saml",
		Roles:        []string{w.role + "," + w.provider},
		SessionName:  "agent@acme.example",
		IssueInstant: w.clock.Now(),
	}
}

// assume calls AssumeRoleWithSAML through the real STS client, unsigned as the SDK
// sends it.
func (w *world) assume(ctx context.Context, samlResponse []byte) (*sts.AssumeRoleWithSAMLOutput, error) {
	return w.sts.AssumeRoleWithSAML(ctx, &sts.AssumeRoleWithSAMLInput{
		RoleArn:         aws.String(w.role),
		PrincipalArn:    aws.String(w.provider),
		SAMLAssertion:   aws.String(b64(samlResponse)),
		DurationSeconds: aws.Int32(900),
	})
}

// staticKey is the default access key as a credentials provider.
type staticKey struct{}

func (staticKey) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: iamtest.DefaultAccessKeyID, SecretAccessKey: iamtest.DefaultSecretAccessKey}, nil
}

// retryNoWait keeps the SDK's retry decisions but not its real backoff sleep.
func retryNoWait(r aws.Retryer) aws.Retryer { return noWait{r} }

type noWait struct{ aws.Retryer }

func (noWait) RetryDelay(int, error) (time.Duration, error) { return 0, nil }
