package awsidp

// Integration tests: the real aws-sdk-go-v2 IAM and STS clients, pointed at
// iamtest, the fake IAM + STS Query endpoint, on loopback.

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/voicecert/voicecert/awsidp/iamtest"
	"github.com/voicecert/voicecert/internal/fakeclock"
	"github.com/voicecert/voicecert/samlmeta"
)

const testRoleName = "CC1-SAMLRole"

// env is one fake AWS account with the SDK clients and an awsidp Client on it.
type env struct {
	srv      *iamtest.Server
	clock    *fakeclock.Clock
	iam      *iam.Client
	sts      *sts.Client
	client   *Client
	provider string // the provider's ARN
	role     string // the role's ARN
}

// newEnv starts iamtest with one provider (DefaultProviderName) holding doc
// and one role trusting it, and builds the real SDK clients: static
// credentials for IAM, anonymous ones for STS, BaseEndpoint at the fake, at
// most 3 attempts and no backoff wait.
func newEnv(t *testing.T, doc string, opts ...iamtest.Option) *env {
	t.Helper()
	clock := fakeclock.New(testNow)
	opts = append([]iamtest.Option{
		iamtest.WithClock(clock.Now, clock.Sleep),
		iamtest.WithAccounts(iamtest.Account{
			ID:         testAccount,
			AccessKeys: []iamtest.AccessKey{{ID: iamtest.DefaultAccessKeyID, Secret: iamtest.DefaultSecretAccessKey}},
			Providers:  []iamtest.Provider{{Name: DefaultProviderName, Document: []byte(doc)}},
			Roles:      []iamtest.Role{{Name: testRoleName}},
		}),
	}, opts...)
	srv := iamtest.NewServer(t, opts...)
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(iamtest.DefaultAccessKeyID, iamtest.DefaultSecretAccessKey, ""),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
				o.RateLimiter = ratelimit.None
			})
		},
	}
	e := &env{
		srv:   srv,
		clock: clock,
		iam:   iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(srv.URL) }),
		sts: sts.NewFromConfig(cfg, func(o *sts.Options) {
			o.BaseEndpoint = aws.String(srv.URL)
			o.Credentials = aws.AnonymousCredentials{}
		}),
		provider: srv.ProviderARN(testAccount, DefaultProviderName),
		role:     srv.RoleARN(testAccount, testRoleName),
	}
	e.client = &Client{IAM: e.iam, Now: clock.Now}
	return e
}

// document returns what the fake IAM holds for the provider.
func (e *env) document(t *testing.T) string {
	t.Helper()
	doc, ok := e.srv.Document(e.provider)
	if !ok {
		t.Fatalf("provider %s is gone", e.provider)
	}
	return string(doc)
}

func TestIntegrationFindReadEdit(t *testing.T) {
	t.Parallel()
	c := certs()
	doc := metadata(entity{orgA, []*x509.Certificate{c.old}}, entity{orgB, []*x509.Certificate{c.other}})
	e := newEnv(t, doc)
	ctx := context.Background()

	arn, err := e.client.FindProvider(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if arn != e.provider {
		t.Fatalf("FindProvider = %s, want %s", arn, e.provider)
	}
	p, err := e.client.Provider(ctx, arn)
	if err != nil {
		t.Fatal(err)
	}
	if string(p.Document) != doc || len(p.Entities) != 2 || !p.Entity(orgA).Trusts(sha(c.old)) || p.CreateDate.IsZero() || p.UUID == "" {
		t.Fatalf("Provider = %+v, want the document, two entities, a CreateDate and a UUID", p)
	}

	// Adding twice makes one write.
	for range 2 {
		if _, err := e.client.Apply(ctx, Edit{ARN: arn, EntityID: orgA, Add: c.new, Expected: []byte(e.document(t))}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.srv.Writes()); n != 1 {
		t.Errorf("writes = %d, want 1", n)
	}
	afterAdd := e.document(t)
	if diff := cmp.Diff(entityBytes(t, doc, orgB), entityBytes(t, afterAdd, orgB)); diff != "" {
		t.Errorf("adding changed the sibling entity (-before +after):\n%s", diff)
	}

	// Removing keeps the sibling byte-identical.
	res, err := e.client.Apply(ctx, Edit{ARN: arn, EntityID: orgA, RemoveSHA256: sha(c.old), Expected: []byte(afterAdd)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(entityBytes(t, doc, orgB), entityBytes(t, e.document(t), orgB)); diff != "" {
		t.Errorf("removing changed the sibling entity (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(map[string][]string{orgA: {sha(c.new)}, orgB: {sha(c.other)}}, trusted(t, e.document(t))); diff != "" {
		t.Errorf("trusted certificates (-want +got):\n%s", diff)
	}

	// Rollback puts the previous document back, byte for byte.
	if err := e.client.Restore(ctx, arn, res.Previous, res.Current); err != nil {
		t.Fatal(err)
	}
	if e.document(t) != afterAdd {
		t.Errorf("Restore did not put the previous document back")
	}
	if n := len(e.srv.Writes()); n != 3 {
		t.Errorf("writes = %d, want 3 (add, remove, restore)", n)
	}
}

func TestIntegrationChangedBehindThePlan(t *testing.T) {
	t.Parallel()
	c := certs()
	planned := metadata(entity{orgA, []*x509.Certificate{c.old}})
	e := newEnv(t, planned)
	// Another administrator replaces the metadata after the plan was made.
	if err := e.srv.SetDocument(e.provider, []byte(metadata(entity{orgA, []*x509.Certificate{c.other}}))); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.Apply(context.Background(), Edit{ARN: e.provider, EntityID: orgA, Add: c.new, Expected: []byte(planned)})
	if !errors.Is(err, ErrDocumentChanged) {
		t.Fatalf("Apply error = %v, want ErrDocumentChanged", err)
	}
	if n := e.srv.Calls("UpdateSAMLProvider"); n != 0 {
		t.Errorf("UpdateSAMLProvider calls = %d, want 0", n)
	}
}

// certB64 returns a certificate's DER in base64, as metadata holds it.
func certB64(der []byte) string { return base64.StdEncoding.EncodeToString(der) }

func TestIntegrationIAMRulesCaughtLocally(t *testing.T) {
	t.Parallel()
	c := certs()
	good := metadata(entity{orgA, []*x509.Certificate{c.old}})
	withCert := func(der []byte) string {
		return strings.Replace(good, certB64(c.old.Raw), certB64(der), 1)
	}
	tests := []struct {
		name string
		doc  string
		rule string // samlmeta's IAM rule named in the error
	}{
		{"byte order mark", "\ufeff" + good, "iam/utf8-no-bom"},
		{"not UTF-8", strings.Replace(good, "unspecified", "unspec\xffified", 1), "iam/utf8"},
		{"too short", `<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + orgA + `"/>`, "iam/length"},
		{"not metadata", "<html>" + strings.Repeat("<p>login</p>", 100) + "</html>", "iam/parseable-metadata"},
		{"no entityID", strings.Replace(good, `entityID="`+orgA+`"`, "", 1), "iam/entity-id"},
		{"512-bit key", withCert(smallKeyCert(t).Raw), "iam/key-size"},
		{"repeated extension", withCert(repeatedExtensionCert(t)), "iam/repeated-extension"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// iamtest, like IAM, refuses the document.
			e := newEnv(t, good)
			_, err := e.iam.UpdateSAMLProvider(context.Background(), &iam.UpdateSAMLProviderInput{
				SAMLProviderArn: aws.String(e.provider), SAMLMetadataDocument: aws.String(tt.doc)})
			if mapped := awsError("IAM", "UpdateSAMLProvider", err, iamKind("UpdateSAMLProvider")); !errors.Is(mapped, ErrInvalidMetadata) {
				t.Fatalf("iamtest accepted the document or answered otherwise: %v", mapped)
			}
			// awsidp refuses it before sending anything.
			e = newEnv(t, good)
			err = e.client.Restore(context.Background(), e.provider, []byte(tt.doc), []byte(good))
			if !errors.Is(err, ErrInvalidMetadata) || !strings.Contains(err.Error(), tt.rule) {
				t.Fatalf("Restore error = %v, want ErrInvalidMetadata naming %s", err, tt.rule)
			}
			if n := e.srv.Calls("UpdateSAMLProvider"); n != 0 {
				t.Errorf("UpdateSAMLProvider calls = %d, want 0", n)
			}
		})
	}
}

func TestIntegrationKeySizeOnAdd(t *testing.T) {
	t.Parallel()
	c := certs()
	doc := metadata(entity{orgA, []*x509.Certificate{c.old}})
	e := newEnv(t, doc)
	ctx := context.Background()
	_, err := e.client.Apply(ctx, Edit{ARN: e.provider, EntityID: orgA, Add: smallKeyCert(t), Expected: []byte(doc)})
	if !errors.Is(err, ErrInvalidMetadata) {
		t.Fatalf("Apply(512-bit) error = %v, want ErrInvalidMetadata", err)
	}
	if n := e.srv.Calls("UpdateSAMLProvider"); n != 0 {
		t.Errorf("UpdateSAMLProvider calls = %d, want 0", n)
	}
	// A 1024-bit key is accepted, as by AWS (voicecert's policy would refuse it).
	if _, err := e.client.Apply(ctx, Edit{ARN: e.provider, EntityID: orgA, Add: c.weak, Expected: []byte(doc)}); err != nil {
		t.Fatalf("Apply(1024-bit): %v", err)
	}
}

func TestIntegrationIAMFaults(t *testing.T) {
	t.Parallel()
	c := certs()
	doc := metadata(entity{orgA, []*x509.Certificate{c.old}})
	tests := []struct {
		name        string
		fault       iamtest.Fault
		want        error // nil: success
		wantUpdates int   // UpdateSAMLProvider requests seen by the fake
	}{
		{"throttled once, retried by the SDK", iamtest.Fault{Operation: "UpdateSAMLProvider", Code: "Throttling"}, nil, 2},
		{"throttled on and on", iamtest.Fault{Operation: "UpdateSAMLProvider", Code: "Throttling", AndAfter: true}, ErrThrottled, 3},
		{"quota: no retry", iamtest.Fault{Operation: "UpdateSAMLProvider", Code: "LimitExceeded", AndAfter: true}, ErrLimitExceeded, 1},
		{"refused", iamtest.Fault{Operation: "UpdateSAMLProvider", Code: "InvalidInput"}, ErrInvalidMetadata, 1},
		{"provider deleted", iamtest.Fault{Operation: "GetSAMLProvider", Code: "NoSuchEntity"}, ErrProviderNotFound, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, doc, iamtest.WithFaults(tt.fault))
			_, err := e.client.Apply(context.Background(), Edit{ARN: e.provider, EntityID: orgA, Add: c.new, Expected: []byte(doc)})
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Apply error = %v, want %v", err, tt.want)
			}
			if n := e.srv.Calls("UpdateSAMLProvider"); n != tt.wantUpdates {
				t.Errorf("UpdateSAMLProvider requests = %d, want %d", n, tt.wantUpdates)
			}
			var ae *Error
			if tt.want != nil && errors.As(err, &ae) && (ae.RequestID == "" || ae.StatusCode == 0) {
				t.Errorf("the error lacks AWS's request ID or status: %v", err)
			}
		})
	}
}

// assertion describes a SAML response for STS tests; zero fields take
// Salesforce-like defaults.
type assertion struct {
	issuer      string    // zero: orgA
	issued      time.Time // zero: the env's clock now
	lifetime    time.Duration
	audience    string   // zero: urn:amazon:webservices
	roles       []string // Role attribute values; nil: the env's role and provider
	sessionName *string  // nil: a valid name; "": the attribute is left out
	status      string   // zero: Success
}

func ptr[T any](v T) *T { return &v }

// samlResponse renders a, signs it with key and cert the way Salesforce does,
// and returns it base64-encoded, as posted.
func (e *env) samlResponse(t *testing.T, a assertion, key *rsa.PrivateKey, cert *x509.Certificate) string {
	t.Helper()
	if a.issuer == "" {
		a.issuer = orgA
	}
	if a.issued.IsZero() {
		a.issued = e.clock.Now()
	}
	if a.lifetime == 0 {
		a.lifetime = 5 * time.Minute
	}
	if a.audience == "" {
		a.audience = "urn:amazon:webservices"
	}
	if a.roles == nil {
		a.roles = []string{e.role + "," + e.provider}
	}
	if a.status == "" {
		a.status = "urn:oasis:names:tc:SAML:2.0:status:Success"
	}
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
	var attrs strings.Builder
	attr := func(name string, values ...string) {
		fmt.Fprintf(&attrs, `<saml:Attribute Name="%s" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified">`, name)
		for _, v := range values {
			fmt.Fprintf(&attrs, `<saml:AttributeValue xsi:type="xs:string">%s</saml:AttributeValue>`, v)
		}
		attrs.WriteString(`</saml:Attribute>`)
	}
	attr(RoleAttribute, a.roles...)
	switch {
	case a.sessionName == nil:
		attr("https://aws.amazon.com/SAML/Attributes/RoleSessionName", "agent@acme.example@00D000000000001")
	case *a.sessionName != "":
		attr("https://aws.amazon.com/SAML/Attributes/RoleSessionName", *a.sessionName)
	}
	xml := fmt.Sprintf(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" Destination="https://signin.aws.amazon.com/saml" ID="_r%[2]d" IssueInstant="%[3]s" Version="2.0">`+
		`<saml:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">%[1]s</saml:Issuer>`+
		`<samlp:Status><samlp:StatusCode Value="%[7]s"/></samlp:Status>`+
		`<saml:Assertion ID="_a%[2]d" IssueInstant="%[3]s" Version="2.0">`+
		`<saml:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">%[1]s</saml:Issuer>`+
		`<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">005000000000001AAA</saml:NameID>`+
		`<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="%[4]s" Recipient="https://signin.aws.amazon.com/saml"/></saml:SubjectConfirmation></saml:Subject>`+
		`<saml:Conditions NotBefore="%[3]s" NotOnOrAfter="%[4]s"><saml:AudienceRestriction><saml:Audience>%[5]s</saml:Audience></saml:AudienceRestriction></saml:Conditions>`+
		`<saml:AuthnStatement AuthnInstant="%[3]s"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`+
		`<saml:AttributeStatement>%[6]s</saml:AttributeStatement></saml:Assertion></samlp:Response>`,
		a.issuer, a.issued.UnixNano(), ts(a.issued), ts(a.issued.Add(a.lifetime)), a.audience, attrs.String(), a.status)
	signed, err := samlmeta.SignResponse([]byte(xml), key, cert, samlmeta.RSASHA256)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(signed)
}

// probe runs ProbeSSO for the env's role and provider.
func (e *env) probe(t *testing.T, response string) error {
	t.Helper()
	return ProbeSSO(context.Background(), e.sts, Probe{SAMLResponse: response, RoleARN: e.role, ProviderARN: e.provider, Region: "us-east-1"})
}

func TestIntegrationProbe(t *testing.T) {
	t.Parallel()
	c := certs()
	doc := metadata(entity{orgA, []*x509.Certificate{c.old}})
	tests := []struct {
		name   string
		a      assertion
		signer *x509.Certificate // zero: c.old
		before func(e *env)      // runs after signing, before the probe
		tamper func(xml string) string
		want   error
	}{
		{name: "accepted", want: nil},
		{name: "signed by another key", signer: c.new, want: ErrSignatureRejected},
		{name: "tampered", tamper: func(s string) string { return strings.Replace(s, "005000000000001AAA", "005000000000002AAA", 1) }, want: ErrSignatureRejected},
		{name: "expired", before: func(e *env) { e.clock.Advance(10 * time.Minute) }, want: ErrExpired},
		{name: "wrong audience", a: assertion{audience: "https://acme.my.salesforce.com"}, want: ErrAssertionRejected},
		{name: "wrong role pair", a: assertion{roles: []string{"arn:aws:iam::123456789012:role/Other-SAMLRole,arn:aws:iam::123456789012:saml-provider/SalesforceServiceVoiceIdp"}}, want: ErrAccessDenied},
		{name: "role pair provider first", a: assertion{roles: []string{"arn:aws:iam::123456789012:saml-provider/SalesforceServiceVoiceIdp,arn:aws:iam::123456789012:role/" + testRoleName}}, want: nil},
		{name: "no RoleSessionName", a: assertion{sessionName: ptr("")}, want: ErrRoleSessionName},
		{name: "bad RoleSessionName", a: assertion{sessionName: ptr("a b")}, want: ErrRoleSessionName},
		{name: "issuer of another org", a: assertion{issuer: orgB}, want: ErrIssuerMismatch},
		{name: "identity provider said no", a: assertion{status: "urn:oasis:names:tc:SAML:2.0:status:Responder"}, want: ErrClaimRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, doc)
			signer := tt.signer
			if signer == nil {
				signer = c.old
			}
			resp := e.samlResponse(t, tt.a, c.keys[signer], signer)
			if tt.tamper != nil {
				raw, _ := base64.StdEncoding.DecodeString(resp)
				resp = base64.StdEncoding.EncodeToString([]byte(tt.tamper(string(raw))))
			}
			if tt.before != nil {
				tt.before(e)
			}
			err := e.probe(t, resp)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("ProbeSSO error = %v, want %v", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), resp[:40]) {
				t.Errorf("the error shows the SAML response")
			}
		})
	}
}

func TestIntegrationProbeTwoCertificates(t *testing.T) {
	t.Parallel()
	c := certs()
	doc := metadata(entity{orgA, []*x509.Certificate{c.old, c.new}})
	for _, firstOnly := range []bool{false, true} {
		t.Run(fmt.Sprintf("trust first only %v", firstOnly), func(t *testing.T) {
			t.Parallel()
			var opts []iamtest.Option
			if firstOnly {
				opts = append(opts, iamtest.WithTrustFirstOnly())
			}
			e := newEnv(t, doc, opts...)
			if err := e.probe(t, e.samlResponse(t, assertion{}, c.keys[c.old], c.old)); err != nil {
				t.Errorf("old-signed: %v", err)
			}
			err := e.probe(t, e.samlResponse(t, assertion{}, c.keys[c.new], c.new))
			if firstOnly && !errors.Is(err, ErrSignatureRejected) || !firstOnly && err != nil {
				t.Errorf("new-signed: error = %v, want rejected: %v", err, firstOnly)
			}
		})
	}
}

func TestIntegrationProbeAfterPropagation(t *testing.T) {
	t.Parallel()
	c := certs()
	doc := metadata(entity{orgA, []*x509.Certificate{c.old}})
	const delay = 30 * time.Second
	e := newEnv(t, doc, iamtest.WithPropagationDelay(delay))
	ctx := context.Background()
	if _, err := e.client.Apply(ctx, Edit{ARN: e.provider, EntityID: orgA, Add: c.new, Expected: []byte(doc)}); err != nil {
		t.Fatal(err)
	}
	// The caller retries under a deadline, on the fake clock, with a fresh
	// response each time.
	deadline := e.clock.Now().Add(2 * time.Minute)
	var attempts []error
	for e.clock.Now().Before(deadline) {
		err := e.probe(t, e.samlResponse(t, assertion{}, c.keys[c.new], c.new))
		attempts = append(attempts, err)
		if err == nil || !errors.Is(err, ErrSignatureRejected) {
			break
		}
		if err := e.clock.Sleep(ctx, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if len(attempts) < 2 || !errors.Is(attempts[0], ErrSignatureRejected) || attempts[len(attempts)-1] != nil {
		t.Fatalf("probe attempts = %v, want a rejection right after the update, then success", attempts)
	}
}

func TestIntegrationLimitExceededNeverRetried(t *testing.T) {
	t.Parallel()
	c := certs()
	doc := metadata(entity{orgA, []*x509.Certificate{c.old}})
	e := newEnv(t, doc, iamtest.WithFaults(iamtest.Fault{Operation: "UpdateSAMLProvider", Code: "LimitExceeded", AndAfter: true}))
	// A caller's retryer that would retry LimitExceeded five times.
	eager := iam.New(iam.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(e.srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(iamtest.DefaultAccessKeyID, iamtest.DefaultSecretAccessKey, ""),
		Retryer: retry.AddWithErrorCodes(retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 5
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			o.RateLimiter = ratelimit.None
		}), "LimitExceeded"),
	})
	// Without awsidp's guard the SDK retries it.
	_, err := eager.UpdateSAMLProvider(context.Background(), &iam.UpdateSAMLProviderInput{SAMLProviderArn: aws.String(e.provider), SAMLMetadataDocument: aws.String(doc)})
	if err == nil || e.srv.Calls("UpdateSAMLProvider") != 5 {
		t.Fatalf("the eager retryer made %d requests (%v); the test needs one that retries", e.srv.Calls("UpdateSAMLProvider"), err)
	}
	client := &Client{IAM: eager, Now: e.clock.Now}
	_, err = client.Apply(context.Background(), Edit{ARN: e.provider, EntityID: orgA, Add: c.new, Expected: []byte(doc)})
	if !errors.Is(err, ErrLimitExceeded) {
		t.Fatalf("Apply error = %v, want ErrLimitExceeded", err)
	}
	if n := e.srv.Calls("UpdateSAMLProvider"); n != 6 {
		t.Errorf("UpdateSAMLProvider requests = %d, want 6 (5 without awsidp, 1 through it)", n)
	}
}

// TestIntegrationProbeNeverResendsAnAssertion: the SDK's retryer would send the
// same SAMLResponse again after a throttle; ProbeSSO sends it once.
func TestIntegrationProbeNeverResendsAnAssertion(t *testing.T) {
	t.Parallel()
	c := certs()
	doc := metadata(entity{orgA, []*x509.Certificate{c.old}})
	e := newEnv(t, doc, iamtest.WithFaults(iamtest.Fault{Operation: "AssumeRoleWithSAML", Code: "Throttling"}))
	err := e.probe(t, e.samlResponse(t, assertion{}, c.keys[c.old], c.old))
	if !errors.Is(err, ErrThrottled) {
		t.Fatalf("ProbeSSO error = %v, want ErrThrottled", err)
	}
	if n := e.srv.Calls("AssumeRoleWithSAML"); n != 1 {
		t.Errorf("AssumeRoleWithSAML requests = %d, want 1: one assertion is sent to STS once", n)
	}
}
