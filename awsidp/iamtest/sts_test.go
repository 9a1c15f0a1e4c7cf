package iamtest_test

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/voicecert/voicecert/awsidp/iamtest"
	"github.com/voicecert/voicecert/samlmeta"
)

// denyAll is the session policy the SSO probe sends.
const denyAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`

func TestAssumeRoleWithSAMLSuccess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	a := w.assertion()
	w.clock.Advance(30 * time.Second) // redeemed a little after issue
	out, err := w.sts.AssumeRoleWithSAML(ctx, &sts.AssumeRoleWithSAMLInput{
		RoleArn:         aws.String(w.role),
		PrincipalArn:    aws.String(w.provider),
		SAMLAssertion:   aws.String(b64(response(t, a, w.signer))),
		DurationSeconds: aws.Int32(900),
		Policy:          aws.String(denyAll),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if !strings.HasPrefix(aws.ToString(c.AccessKeyId), "ASIA") || aws.ToString(c.SecretAccessKey) == "" || aws.ToString(c.SessionToken) == "" {
		t.Errorf("credentials = %q/…; want an ASIA key, a secret and a session token", aws.ToString(c.AccessKeyId))
	}
	if want := t0.Add(30*time.Second + 900*time.Second); !aws.ToTime(c.Expiration).Equal(want) {
		t.Errorf("Expiration = %v, want %v (redeem time + DurationSeconds)", aws.ToTime(c.Expiration), want)
	}
	sum := sha1.Sum([]byte(orgIssuer + iamtest.DefaultAccountID + "/" + providerName))
	type result struct {
		Arn, AssumedRoleID, Subject, SubjectType, Issuer, Audience, NameQualifier string
		PackedPolicySize                                                          int32
	}
	got := result{
		Arn: aws.ToString(out.AssumedRoleUser.Arn), AssumedRoleID: aws.ToString(out.AssumedRoleUser.AssumedRoleId),
		Subject: aws.ToString(out.Subject), SubjectType: aws.ToString(out.SubjectType), Issuer: aws.ToString(out.Issuer),
		Audience: aws.ToString(out.Audience), NameQualifier: aws.ToString(out.NameQualifier), PackedPolicySize: aws.ToInt32(out.PackedPolicySize),
	}
	want := result{
		Arn:              "arn:aws:sts::123456789012:assumed-role/SCVConnectSSO/agent@acme.example",
		AssumedRoleID:    got.AssumedRoleID[:strings.Index(got.AssumedRoleID, ":")+1] + "agent@acme.example",
		Subject:          "agent@acme.example",
		SubjectType:      "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
		Issuer:           orgIssuer,
		Audience:         "https://signin.aws.amazon.com/saml",
		NameQualifier:    base64.StdEncoding.EncodeToString(sum[:]),
		PackedPolicySize: 5,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AssumeRoleWithSAML result (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(got.AssumedRoleID, "AROA") {
		t.Errorf("AssumedRoleId = %q, want AROA…:session", got.AssumedRoleID)
	}

	// The temporary credentials work against the fake, as the caller identity.
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(w.srv.URL), RetryMaxAttempts: 1,
		Credentials: aws.NewCredentialsCache(staticProvider{c})}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Arn) != want.Arn || aws.ToString(id.Account) != iamtest.DefaultAccountID {
		t.Errorf("GetCallerIdentity = %s in %s, want %s", aws.ToString(id.Arn), aws.ToString(id.Account), want.Arn)
	}
	// Replaying the same assertion within its window is accepted: AWS documents no
	// replay check.
	if _, err := w.assume(ctx, response(t, a, w.signer)); err != nil {
		t.Errorf("second redemption of one assertion = %v, want accepted", err)
	}
	for _, r := range w.srv.Requests() {
		if r.Write {
			t.Errorf("%s logged as a write", r.Operation)
		}
	}
}

type staticProvider struct{ c *ststypes.Credentials }

func (p staticProvider) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: aws.ToString(p.c.AccessKeyId), SecretAccessKey: aws.ToString(p.c.SecretAccessKey),
		SessionToken: aws.ToString(p.c.SessionToken), CanExpire: true, Expires: aws.ToTime(p.c.Expiration)}, nil
}

// stsError returns the code, status and message of an STS error.
func stsError(t *testing.T, err error) (string, int, string) {
	t.Helper()
	if err == nil {
		t.Fatal("call succeeded, want an error")
	}
	code, status, _ := apiError(t, err)
	var ae smithy.APIError
	errors.As(err, &ae)
	return code, status, ae.ErrorMessage()
}

func TestAssumeRoleWithSAMLRejections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// build returns the SAMLResponse to send; it may change the world first.
		build       func(t *testing.T, w *world) []byte
		wantCode    string
		wantStatus  int
		wantMessage string
	}{
		{
			name: "signed by another key",
			build: func(t *testing.T, w *world) []byte {
				return response(t, w.assertion(), newSigner(t, "attacker"))
			},
			wantCode: "InvalidIdentityToken", wantStatus: 400, wantMessage: "Response signature invalid",
		},
		{
			name: "another key with the trusted certificate in KeyInfo",
			build: func(t *testing.T, w *world) []byte {
				return response(t, w.assertion(), signer{key: newSigner(t, "attacker").key, cert: w.signer.cert})
			},
			wantCode: "InvalidIdentityToken", wantStatus: 400, wantMessage: "Response signature invalid",
		},
		{
			name: "tampered NameID",
			build: func(t *testing.T, w *world) []byte {
				return []byte(strings.Replace(string(response(t, w.assertion(), w.signer)), "agent@acme.example</saml:NameID>", "admin@acme.example</saml:NameID>", 1))
			},
			wantCode: "InvalidIdentityToken", wantStatus: 400, wantMessage: "Response signature invalid",
		},
		{
			name: "tampered Role attribute, assertion-only signature",
			build: func(t *testing.T, w *world) []byte {
				a := w.assertion()
				a.UnsignedResponse = true
				a.Roles = []string{w.role + "," + w.provider + "x"}
				xml := string(response(t, a, w.signer))
				return []byte(strings.Replace(xml, w.provider+"x", w.provider, 1))
			},
			wantCode: "InvalidIdentityToken", wantStatus: 400, wantMessage: "Response signature invalid",
		},
		{
			name: "unsigned",
			build: func(t *testing.T, w *world) []byte {
				a := w.assertion()
				a.UnsignedResponse, a.UnsignedAssertion = true, true
				return response(t, a, w.signer)
			},
			wantCode: "InvalidIdentityToken", wantStatus: 400, wantMessage: "Response signature invalid",
		},
		{
			name: "expired",
			build: func(t *testing.T, w *world) []byte {
				a := w.assertion()
				a.Lifetime = 2 * time.Minute
				w.clock.Advance(3*time.Minute + time.Second) // past NotOnOrAfter + 1 minute skew
				return response(t, a, w.signer)
			},
			wantCode: "ExpiredTokenException", wantStatus: 400, wantMessage: "Response has expired",
		},
		{
			name: "redeemed more than 5 minutes after issue",
			build: func(t *testing.T, w *world) []byte {
				a := w.assertion()
				a.Lifetime = time.Hour
				w.clock.Advance(6*time.Minute + time.Second)
				return response(t, a, w.signer)
			},
			wantCode: "ExpiredTokenException", wantStatus: 400, wantMessage: "Token must be redeemed within 5 minutes of issuance",
		},
		{
			name: "not yet valid",
			build: func(t *testing.T, w *world) []byte {
				a := w.assertion()
				a.IssueInstant = a.IssueInstant.Add(2 * time.Minute)
				return response(t, a, w.signer)
			},
			wantCode: "InvalidIdentityToken", wantStatus: 400, wantMessage: "Response is not yet valid",
		},
		{
			name: "wrong audience",
			build: func(t *testing.T, w *world) []byte {
				a := w.assertion()
				a.Audience = "https://acme.my.salesforce.com"
				return response(t, a, w.signer)
			},
			wantCode: "InvalidIdentityToken", wantStatus: 400, wantMessage: "Response does not contain the required audience",
		},
		{
			name: "wrong recipient",
			build: func(t *testing.T, w *world) []byte {
				a := w.assertion()
				a.Recipient = "https://localhost:8080/acs"
				return response(t, a, w.signer)
			},
			wantCode: "InvalidIdentityToken", wantStatus: 400, wantMessage: "Response does not contain the required recipient",
		},
		{
			name: "wrong role pair",
			build: func(t *testing.T, w *world) []byte {
				a := w.assertion()
				a.Roles = []string{w.srv.RoleARN(iamtest.DefaultAccountID, "OtherRole") + "," + w.provider}
				return response(t, a, w.signer)
			},
			wantCode: "AccessDenied", wantStatus: 403, wantMessage: "Not authorized to perform sts:AssumeRoleWithSAML",
		},
		{
			name: "no Role attribute",
			build: func(t *testing.T, w *world) []byte {
				a := w.assertion()
				a.Roles = nil
				return response(t, a, w.signer)
			},
			wantCode: "AccessDenied", wantStatus: 403, wantMessage: "Not authorized to perform sts:AssumeRoleWithSAML",
		},
		{
			name: "missing RoleSessionName",
			build: func(t *testing.T, w *world) []byte {
				a := w.assertion()
				a.SessionName = ""
				return response(t, a, w.signer)
			},
			wantCode: "InvalidIdentityToken", wantStatus: 400, wantMessage: "RoleSessionName is required in AuthnResponse",
		},
		{
			name: "bad RoleSessionName",
			build: func(t *testing.T, w *world) []byte {
				a := w.assertion()
				a.SessionName = "agent smith"
				return response(t, a, w.signer)
			},
			wantCode: "InvalidIdentityToken", wantStatus: 400, wantMessage: "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}",
		},
		{
			name: "issuer not in the document",
			build: func(t *testing.T, w *world) []byte {
				a := w.assertion()
				a.Issuer = "https://other.my.salesforce.com"
				return response(t, a, w.signer)
			},
			wantCode: "InvalidIdentityToken", wantStatus: 400, wantMessage: "Issuer not present in specified provider",
		},
		{
			name: "IdP status not Success",
			build: func(t *testing.T, w *world) []byte {
				a := w.assertion()
				a.Status = "urn:oasis:names:tc:SAML:2.0:status:Responder"
				return response(t, a, w.signer)
			},
			wantCode: "IDPRejectedClaim", wantStatus: 403, wantMessage: "The identity provider reported that authentication failed",
		},
		{
			name: "role does not trust the provider",
			build: func(t *testing.T, w *world) []byte {
				a := w.assertion()
				a.Roles = []string{w.srv.RoleARN(iamtest.DefaultAccountID, "OtherIdPRole") + "," + w.provider}
				return response(t, a, w.signer)
			},
			wantCode: "AccessDenied", wantStatus: 403, wantMessage: "Not authorized to perform sts:AssumeRoleWithSAML",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorldWith(t, iamtest.Role{Name: "OtherIdPRole", SAMLProviders: []string{"SomeOtherProvider"}})
			samlResponse := tt.build(t, w)
			role := w.role
			if strings.Contains(string(samlResponse), "OtherIdPRole") {
				role = w.srv.RoleARN(iamtest.DefaultAccountID, "OtherIdPRole")
			}
			_, err := w.sts.AssumeRoleWithSAML(context.Background(), &sts.AssumeRoleWithSAMLInput{
				RoleArn: aws.String(role), PrincipalArn: aws.String(w.provider), SAMLAssertion: aws.String(b64(samlResponse)),
			})
			code, status, msg := stsError(t, err)
			if code != tt.wantCode || status != tt.wantStatus || msg != tt.wantMessage {
				t.Errorf("AssumeRoleWithSAML = %s %d %q, want %s %d %q", code, status, msg, tt.wantCode, tt.wantStatus, tt.wantMessage)
			}
		})
	}
}

// newWorldWith is newWorld with extra roles in the account.
func newWorldWith(t *testing.T, roles ...iamtest.Role) *world {
	t.Helper()
	w := newWorld(t)
	for _, r := range roles {
		if err := w.srv.AddRole(iamtest.DefaultAccountID, r); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func TestAssumeRoleWithSAMLTypedErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	_, err := w.assume(ctx, response(t, w.assertion(), newSigner(t, "other")))
	var invalid *ststypes.InvalidIdentityTokenException
	if !errors.As(err, &invalid) {
		t.Errorf("bad signature: %T, want *types.InvalidIdentityTokenException", err)
	}
	a := w.assertion()
	w.clock.Advance(10 * time.Minute)
	_, err = w.assume(ctx, response(t, a, w.signer))
	var expired *ststypes.ExpiredTokenException
	if !errors.As(err, &expired) {
		t.Errorf("expired: %T, want *types.ExpiredTokenException", err)
	}
	a = w.assertion()
	a.Status = "urn:oasis:names:tc:SAML:2.0:status:Requester"
	_, err = w.assume(ctx, response(t, a, w.signer))
	var rejected *ststypes.IDPRejectedClaimException
	if !errors.As(err, &rejected) {
		t.Errorf("IdP failure status: %T, want *types.IDPRejectedClaimException", err)
	}
	_, err = w.sts.AssumeRoleWithSAML(ctx, &sts.AssumeRoleWithSAMLInput{RoleArn: aws.String(w.role), PrincipalArn: aws.String(w.provider),
		SAMLAssertion: aws.String(b64(response(t, w.assertion(), w.signer))), Policy: aws.String(`{"Statement":`)})
	var malformed *ststypes.MalformedPolicyDocumentException
	if !errors.As(err, &malformed) {
		t.Errorf("bad policy: %T, want *types.MalformedPolicyDocumentException", err)
	}
}

func TestAssumeRoleWithSAMLSignatureVariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*assertion)
	}{
		{"both signed, as Salesforce", func(*assertion) {}},
		{"RSA-SHA1, as some Salesforce apps sign", func(a *assertion) { a.Algorithm = samlmeta.RSASHA1 }},
		{"assertion only", func(a *assertion) { a.UnsignedResponse = true }},
		{"response only", func(a *assertion) { a.UnsignedAssertion = true }},
		{"provider then role in the Role value", func(a *assertion) {
			a.Roles = []string{strings.Split(a.Roles[0], ",")[1] + "," + strings.Split(a.Roles[0], ",")[0]}
		}},
		{"several Role values", func(a *assertion) {
			a.Roles = append([]string{"arn:aws:iam::123456789012:role/Other,arn:aws:iam::123456789012:saml-provider/Other"}, a.Roles...)
		}},
		{"regional recipient", func(a *assertion) { a.Recipient = "https://us-west-2.signin.aws.amazon.com/saml" }},
		{"sign-in URL as audience", func(a *assertion) { a.Audience = "https://signin.aws.amazon.com/saml" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			a := w.assertion()
			tt.edit(&a)
			if _, err := w.assume(context.Background(), response(t, a, w.signer)); err != nil {
				t.Errorf("AssumeRoleWithSAML = %v, want credentials", err)
			}
		})
	}
}

func TestExpiredCertificateAccepted(t *testing.T) {
	t.Parallel()
	k := key(t, 2048)
	old := signer{key: k, cert: selfSigned(t, k, "expired", t0.AddDate(-2, 0, 0), t0.AddDate(-1, 0, 0))}
	w := newWorld(t)
	if err := w.srv.SetDocument(w.provider, metadata(orgIssuer, old.cert)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.assume(context.Background(), response(t, w.assertion(), old)); err != nil {
		t.Errorf("assertion signed with an expired certificate = %v, want accepted (AWS ignores certificate expiry)", err)
	}
}

func TestTwoCertificates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		trustFirstOnly bool
		wantOld        bool
		wantNew        bool
	}{
		{"all certificates trusted", false, true, true},
		{"trust first only", true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var opts []iamtest.Option
			if tt.trustFirstOnly {
				opts = append(opts, iamtest.WithTrustFirstOnly())
			}
			w := newWorld(t, opts...)
			next := newSigner(t, "next")
			if _, err := w.iam.UpdateSAMLProvider(ctx, &iam.UpdateSAMLProviderInput{
				SAMLProviderArn:      aws.String(w.provider),
				SAMLMetadataDocument: aws.String(string(metadata(orgIssuer, w.signer.cert, next.cert))),
			}); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name string
				s    signer
				want bool
			}{{"old", w.signer, tt.wantOld}, {"new", next, tt.wantNew}} {
				_, err := w.assume(ctx, response(t, w.assertion(), c.s))
				if got := err == nil; got != c.want {
					t.Errorf("%s signer accepted = %v (%v), want %v", c.name, got, err, c.want)
				}
			}
		})
	}
}

func TestSeveralOrgsOnOneProvider(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Two contact centers, one role each, federated through the one provider.
	w := newWorldWith(t, iamtest.Role{Name: "GlobexContactCenter", SAMLProviders: []string{providerName}})
	other := newSigner(t, "other org")
	const otherIssuer = "https://globex.my.salesforce.com"
	doc := metadataEntities(entityXML(orgIssuer, w.signer.cert), entityXML(otherIssuer, other.cert))
	if err := w.srv.SetDocument(w.provider, doc); err != nil {
		t.Fatal(err)
	}
	a := w.assertion()
	if _, err := w.assume(ctx, response(t, a, w.signer)); err != nil {
		t.Errorf("first org = %v, want accepted", err)
	}
	a.Issuer = otherIssuer
	w.role = w.srv.RoleARN(iamtest.DefaultAccountID, "GlobexContactCenter")
	a.Roles = []string{w.role + "," + w.provider}
	out, err := w.assume(ctx, response(t, a, other))
	if err != nil {
		t.Fatalf("second org's contact center = %v, want accepted", err)
	}
	if got := aws.ToString(out.AssumedRoleUser.Arn); !strings.Contains(got, "/GlobexContactCenter/") || aws.ToString(out.Issuer) != otherIssuer {
		t.Errorf("second org's session = %s from %s", got, aws.ToString(out.Issuer))
	}
	// An org's key does not vouch for the other org's issuer.
	_, err = w.assume(ctx, response(t, a, w.signer))
	if _, _, msg := stsError(t, err); msg != "Response signature invalid" {
		t.Errorf("second org's issuer signed by the first org's key: %q, want Response signature invalid", msg)
	}
}

func TestPropagationDelay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const delay = 20 * time.Second
	w := newWorld(t, iamtest.WithPropagationDelay(delay))
	next := newSigner(t, "next")
	if _, err := w.iam.UpdateSAMLProvider(ctx, &iam.UpdateSAMLProviderInput{
		SAMLProviderArn:      aws.String(w.provider),
		SAMLMetadataDocument: aws.String(string(metadata(orgIssuer, next.cert))),
	}); err != nil {
		t.Fatal(err)
	}
	// IAM reads its own write at once.
	got, err := w.iam.GetSAMLProvider(ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: aws.String(w.provider)})
	if err != nil || !strings.Contains(aws.ToString(got.SAMLMetadataDocument), base64.StdEncoding.EncodeToString(next.cert.Raw)) {
		t.Fatalf("GetSAMLProvider right after the update does not show it (%v)", err)
	}
	// STS still trusts the old document until the delay has passed.
	if _, err := w.assume(ctx, response(t, w.assertion(), w.signer)); err != nil {
		t.Errorf("old signer right after the update = %v, want accepted", err)
	}
	_, err = w.assume(ctx, response(t, w.assertion(), next))
	if _, _, msg := stsError(t, err); msg != "Response signature invalid" {
		t.Errorf("new signer right after the update: %q, want Response signature invalid", msg)
	}
	// A probe loop on the fake clock succeeds within the deadline.
	deadline := w.clock.Now().Add(2 * time.Minute)
	attempts := 0
	for {
		attempts++
		_, err = w.assume(ctx, response(t, w.assertion(), next))
		if err == nil || !w.clock.Now().Before(deadline) {
			break
		}
		if err := w.clock.Sleep(ctx, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if err != nil || attempts != 5 {
		t.Errorf("probe loop: %v after %d attempts; want success on attempt 5 (20 s delay, 5 s steps)", err, attempts)
	}
	_, err = w.assume(ctx, response(t, w.assertion(), w.signer))
	if _, _, msg := stsError(t, err); msg != "Response signature invalid" {
		t.Errorf("old signer after propagation: %q, want Response signature invalid", msg)
	}
}

func TestAssumeRoleAcrossAccounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newSigner(t, "b")
	srv := iamtest.NewServer(t, iamtest.WithAccounts(
		iamtest.Account{ID: "111111111111", AccessKeys: []iamtest.AccessKey{{ID: "AKIAAAAAAAAAAAAAAAAA", Secret: "secret-a", User: "rotator"}}},
		iamtest.Account{ID: "222222222222",
			Providers: []iamtest.Provider{{Name: providerName, Document: metadata(orgIssuer, s.cert)}},
			Roles:     []iamtest.Role{{Name: "VoiceCertRotation", TrustedAccounts: []string{"111111111111"}}, {Name: "Closed", TrustedAccounts: []string{"333333333333"}}}},
		iamtest.Account{ID: "333333333333", Partition: "aws-us-gov", AccessKeys: []iamtest.AccessKey{{ID: "AKIAGGGGGGGGGGGGGGGG", Secret: "secret-g"}}},
	))
	iamA, stsA := clients(srv, "AKIAAAAAAAAAAAAAAAAA", "secret-a")
	id, err := stsA.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("arn:aws:iam::111111111111:user/rotator", aws.ToString(id.Arn)); diff != "" || aws.ToString(id.Account) != "111111111111" || !strings.HasPrefix(aws.ToString(id.UserId), "AIDA") {
		t.Errorf("GetCallerIdentity = %s %s %s", aws.ToString(id.Arn), aws.ToString(id.Account), aws.ToString(id.UserId))
	}

	providerB := srv.ProviderARN("222222222222", providerName)
	_, err = iamA.GetSAMLProvider(ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: aws.String(providerB)})
	if code, status, _ := apiError(t, err); code != "AccessDenied" || status != 403 {
		t.Errorf("another account's provider with account A's key = %s %d, want AccessDenied 403", code, status)
	}

	out, err := stsA.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::222222222222:role/VoiceCertRotation"), RoleSessionName: aws.String("voicecert")})
	if err != nil {
		t.Fatal(err)
	}
	iamB := iam.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: aws.NewCredentialsCache(staticProvider{out.Credentials})})
	list, err := iamB.ListSAMLProviders(ctx, &iam.ListSAMLProvidersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.SAMLProviderList) != 1 || aws.ToString(list.SAMLProviderList[0].Arn) != providerB {
		t.Errorf("account B's providers through the assumed role = %+v, want %s", list.SAMLProviderList, providerB)
	}

	_, err = stsA.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::222222222222:role/Closed"), RoleSessionName: aws.String("voicecert")})
	if code, status, _ := apiError(t, err); code != "AccessDenied" || status != 403 {
		t.Errorf("AssumeRole on a role that does not trust account A = %s %d, want AccessDenied 403", code, status)
	}

	_, stsG := clients(srv, "AKIAGGGGGGGGGGGGGGGG", "secret-g")
	gid, err := stsG.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(gid.Arn); got != "arn:aws-us-gov:iam::333333333333:root" {
		t.Errorf("GovCloud caller = %s, want arn:aws-us-gov:iam::333333333333:root", got)
	}
}

func TestTemporaryCredentialsExpire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	out, err := w.assume(ctx, response(t, w.assertion(), w.signer))
	if err != nil {
		t.Fatal(err)
	}
	client := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(w.srv.URL), RetryMaxAttempts: 1,
		Credentials: staticProvider{out.Credentials}})
	w.clock.Advance(901 * time.Second)
	_, err = client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if code, status, _ := apiError(t, err); code != "ExpiredToken" || status != 403 {
		t.Errorf("expired session = %s %d, want ExpiredToken 403", code, status)
	}
}

func TestAssumeRoleWithSAMLParameters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		edit     func(w *world, in *sts.AssumeRoleWithSAMLInput)
		wantCode string
		wantMsg  string // substring
	}{
		{"DurationSeconds under 900", func(_ *world, in *sts.AssumeRoleWithSAMLInput) { in.DurationSeconds = aws.Int32(600) },
			"ValidationError", "greater than or equal to 900"},
		{"DurationSeconds over the role's maximum", func(_ *world, in *sts.AssumeRoleWithSAMLInput) { in.DurationSeconds = aws.Int32(7200) },
			"ValidationError", "exceeds the MaxSessionDuration"},
		{"Policy too long", func(_ *world, in *sts.AssumeRoleWithSAMLInput) {
			in.Policy = aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"` + strings.Repeat("*", 2100) + `"}]}`)
		}, "ValidationError", "less than or equal to 2048"},
		{"unknown provider", func(w *world, in *sts.AssumeRoleWithSAMLInput) {
			in.PrincipalArn = aws.String(w.srv.ProviderARN(iamtest.DefaultAccountID, "Nope"))
		}, "InvalidIdentityToken", "Specified provider doesn't exist"},
		{"provider of an account the server does not host", func(_ *world, in *sts.AssumeRoleWithSAMLInput) {
			in.PrincipalArn = aws.String("arn:aws:iam::999999999999:saml-provider/SalesforceServiceVoiceIdp")
		}, "InvalidIdentityToken", "Specified provider doesn't exist"},
		{"assertion not base64", func(_ *world, in *sts.AssumeRoleWithSAMLInput) { in.SAMLAssertion = aws.String("!!not base64!!") },
			"InvalidIdentityToken", "Invalid SAML response"},
		{"assertion not a Response", func(_ *world, in *sts.AssumeRoleWithSAMLInput) { in.SAMLAssertion = aws.String(b64([]byte("<x/>"))) },
			"InvalidIdentityToken", "Invalid SAML response"},
		{"RoleArn too short", func(_ *world, in *sts.AssumeRoleWithSAMLInput) { in.RoleArn = aws.String("arn:aws:iam::1:r") },
			"ValidationError", "at 'roleArn'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			in := &sts.AssumeRoleWithSAMLInput{RoleArn: aws.String(w.role), PrincipalArn: aws.String(w.provider),
				SAMLAssertion: aws.String(b64(response(t, w.assertion(), w.signer)))}
			tt.edit(w, in)
			_, err := w.sts.AssumeRoleWithSAML(context.Background(), in)
			code, status, msg := stsError(t, err)
			if code != tt.wantCode || status != 400 || !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("AssumeRoleWithSAML = %s %d %q, want %s 400 containing %q", code, status, msg, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

func TestSessionLength(t *testing.T) {
	t.Parallel()
	w := newWorldWith(t, iamtest.Role{Name: "Long", MaxSessionDuration: 12 * time.Hour})
	w.role = w.srv.RoleARN(iamtest.DefaultAccountID, "Long")
	out, err := w.sts.AssumeRoleWithSAML(context.Background(), &sts.AssumeRoleWithSAMLInput{
		RoleArn: aws.String(w.role), PrincipalArn: aws.String(w.provider),
		SAMLAssertion: aws.String(b64(response(t, w.assertion(), w.signer))), DurationSeconds: aws.Int32(43200),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToTime(out.Credentials.Expiration).Sub(t0); got != 12*time.Hour {
		t.Errorf("session length = %v, want 12h (the role allows it)", got)
	}
	out, err = w.sts.AssumeRoleWithSAML(context.Background(), &sts.AssumeRoleWithSAMLInput{
		RoleArn: aws.String(w.role), PrincipalArn: aws.String(w.provider), SAMLAssertion: aws.String(b64(response(t, w.assertion(), w.signer))),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToTime(out.Credentials.Expiration).Sub(t0); got != time.Hour {
		t.Errorf("default session length = %v, want 1h", got)
	}

	// The assertion can only shorten the session: SessionDuration, then
	// SessionNotOnOrAfter, whichever ends first.
	for _, tt := range []struct {
		name string
		edit func(*assertion)
		want time.Duration
	}{
		{"SessionDuration 2h", func(a *assertion) { a.SessionDuration = "7200" }, 2 * time.Hour},
		{"SessionNotOnOrAfter in 90m", func(a *assertion) { a.SessionNotOnOrAfter = t0.Add(90 * time.Minute) }, 90 * time.Minute},
		{"both, SessionDuration first", func(a *assertion) { a.SessionDuration = "3600"; a.SessionNotOnOrAfter = t0.Add(3 * time.Hour) }, time.Hour},
		{"SessionDuration out of range is ignored", func(a *assertion) { a.SessionDuration = "60" }, 12 * time.Hour},
	} {
		a := w.assertion()
		tt.edit(&a)
		out, err := w.sts.AssumeRoleWithSAML(context.Background(), &sts.AssumeRoleWithSAMLInput{
			RoleArn: aws.String(w.role), PrincipalArn: aws.String(w.provider),
			SAMLAssertion: aws.String(b64(response(t, a, w.signer))), DurationSeconds: aws.Int32(43200),
		})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := aws.ToTime(out.Credentials.Expiration).Sub(t0); got != tt.want {
			t.Errorf("%s: session length = %v, want %v", tt.name, got, tt.want)
		}
	}
}
