package awsidp

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

// fakeSTS records the input and options of AssumeRoleWithSAML and answers with
// credentials or an error.
type fakeSTS struct {
	err    error
	in     *sts.AssumeRoleWithSAMLInput
	region string
	calls  int
}

const fakeSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

func (f *fakeSTS) AssumeRoleWithSAML(ctx context.Context, in *sts.AssumeRoleWithSAMLInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithSAMLOutput, error) {
	f.calls++
	f.in = in
	var o sts.Options
	for _, fn := range optFns {
		fn(&o)
	}
	f.region = o.Region
	if f.err != nil {
		return nil, f.err
	}
	return &sts.AssumeRoleWithSAMLOutput{
		Credentials: &ststypes.Credentials{AccessKeyId: aws.String("ASIAEXAMPLE"), SecretAccessKey: aws.String(fakeSecret), SessionToken: aws.String("token")},
		Issuer:      aws.String("https://example.my.salesforce.com"),
	}, nil
}

var testAssertion = base64.StdEncoding.EncodeToString([]byte("<samlp:Response>…</samlp:Response>"))

func TestProbeSSOSendsAProbeThatCanDoNothing(t *testing.T) {
	t.Parallel()
	f := &fakeSTS{}
	p := Probe{SAMLResponse: testAssertion, RoleARN: testRole, ProviderARN: testProvider, Region: "eu-west-2"}
	if err := ProbeSSO(context.Background(), f, p); err != nil {
		t.Fatalf("ProbeSSO: %v", err)
	}
	want := &sts.AssumeRoleWithSAMLInput{
		RoleArn: aws.String(testRole), PrincipalArn: aws.String(testProvider), SAMLAssertion: aws.String(testAssertion),
		DurationSeconds: aws.Int32(900), Policy: aws.String(DenyAllPolicy),
	}
	if diff := cmp.Diff(want, f.in, cmp.AllowUnexported(sts.AssumeRoleWithSAMLInput{})); diff != "" {
		t.Errorf("AssumeRoleWithSAML input (-want +got):\n%s", diff)
	}
	if f.region != "eu-west-2" {
		t.Errorf("region = %q, want eu-west-2", f.region)
	}
}

func TestProbeSSOErrors(t *testing.T) {
	t.Parallel()
	f := &fakeSTS{err: apiError("AssumeRoleWithSAML", 400, &ststypes.InvalidIdentityTokenException{Message: aws.String("Response signature invalid")})}
	err := ProbeSSO(context.Background(), f, Probe{SAMLResponse: testAssertion, RoleARN: testRole, ProviderARN: testProvider, Region: "us-east-1"})
	if !errors.Is(err, ErrSignatureRejected) {
		t.Fatalf("ProbeSSO error = %v, want ErrSignatureRejected", err)
	}
	if strings.Contains(err.Error(), testAssertion) {
		t.Errorf("the error shows the SAML response: %v", err)
	}
}

func TestProbeSSORefusesBadInput(t *testing.T) {
	t.Parallel()
	good := Probe{SAMLResponse: testAssertion, RoleARN: testRole, ProviderARN: testProvider, Region: "us-east-1"}
	tests := []struct {
		name   string
		modify func(*Probe)
		want   string
	}{
		{"no response", func(p *Probe) { p.SAMLResponse = "" }, "SAMLResponse is empty"},
		{"decoded response", func(p *Probe) { p.SAMLResponse = "<samlp:Response/>" }, "not base64"},
		{"huge response", func(p *Probe) { p.SAMLResponse = strings.Repeat("A", 100_004) }, "100,000"},
		{"role is a provider", func(p *Probe) { p.RoleARN = testProvider }, "not a role ARN"},
		{"provider is a role", func(p *Probe) { p.ProviderARN = testRole }, "not a saml-provider ARN"},
		{"other account", func(p *Probe) { p.RoleARN = "arn:aws:iam::210987654321:role/X" }, "not in the same account"},
		{"no region", func(p *Probe) { p.Region = "" }, "Region is empty"},
		{"region of another partition", func(p *Probe) { p.Region = "us-gov-west-1" }, "not in partition aws"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := good
			tt.modify(&p)
			f := &fakeSTS{}
			err := ProbeSSO(context.Background(), f, p)
			if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ProbeSSO error = %v, want ErrInvalidInput containing %q", err, tt.want)
			}
			if f.calls != 0 {
				t.Errorf("STS was called %d times", f.calls)
			}
		})
	}
}

func TestProbeNeverShowsTheResponse(t *testing.T) {
	t.Parallel()
	p := Probe{SAMLResponse: testAssertion, RoleARN: testRole, ProviderARN: testProvider, Region: "us-east-1"}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("probe", "probe", p)
	for _, s := range []string{fmt.Sprint(p), fmt.Sprintf("%+v", p), fmt.Sprintf("%#v", p), logs.String()} {
		if strings.Contains(s, testAssertion) {
			t.Errorf("the SAML response shows in %q", s)
		}
		if !strings.Contains(s, testRole) {
			t.Errorf("the role is missing from %q", s)
		}
	}
}

func TestParseRolePair(t *testing.T) {
	t.Parallel()
	want := RolePair{RoleARN: testRole, ProviderARN: testProvider}
	for _, v := range []string{testRole + "," + testProvider, testProvider + "," + testRole, " " + testRole + " , " + testProvider + " "} {
		got, err := ParseRolePair(v)
		if err != nil {
			t.Fatalf("ParseRolePair(%q): %v", v, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ParseRolePair(%q) (-want +got):\n%s", v, diff)
		}
	}
	for _, v := range []string{"", testRole, testRole + "," + testRole, testProvider + "," + testProvider, testRole + "," + testProvider + ",x", "x," + testProvider} {
		if _, err := ParseRolePair(v); err == nil {
			t.Errorf("ParseRolePair(%q) succeeded", v)
		}
	}
}

func TestFindRolePair(t *testing.T) {
	t.Parallel()
	otherProvider := "arn:aws:iam::123456789012:saml-provider/Other"
	otherRole := "arn:aws:iam::123456789012:role/CC2-SAMLRole"
	tests := []struct {
		name    string
		values  []string
		want    RolePair
		wantErr string
	}{
		{name: "one value", values: []string{testRole + "," + testProvider}, want: RolePair{testRole, testProvider}},
		{name: "provider first, among others", values: []string{otherRole + "," + otherProvider, testProvider + "," + testRole, "junk"}, want: RolePair{testRole, testProvider}},
		{name: "same pair twice", values: []string{testRole + "," + testProvider, testProvider + "," + testRole}, want: RolePair{testRole, testProvider}},
		{name: "none", values: []string{otherRole + "," + otherProvider}, wantErr: "none names provider " + testProvider + " (the attribute holds: " + otherRole + "," + otherProvider + ")"},
		{name: "empty", values: nil, wantErr: "holds: none"},
		{name: "two roles", values: []string{testRole + "," + testProvider, otherRole + "," + testProvider}, wantErr: "2 roles for provider"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := FindRolePair(tt.values, testProvider)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrNoRolePair) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("FindRolePair error = %v, want ErrNoRolePair containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FindRolePair (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProbeSSOErrorsNeverQuoteTheResponse(t *testing.T) {
	t.Parallel()
	quoted := &smithy.GenericAPIError{Code: "ValidationError", Message: "1 validation error detected: Value '" + testAssertion + "' at 'sAMLAssertion' failed to satisfy constraint"}
	f := &fakeSTS{err: apiError("AssumeRoleWithSAML", 400, quoted)}
	err := ProbeSSO(context.Background(), f, Probe{SAMLResponse: testAssertion, RoleARN: testRole, ProviderARN: testProvider, Region: "us-east-1"})
	if err == nil {
		t.Fatal("ProbeSSO succeeded")
	}
	if strings.Contains(err.Error(), testAssertion[:16]) || strings.Contains(fmt.Sprintf("%+v", err), testAssertion[:16]) {
		t.Errorf("the error quotes the SAML response: %v", err)
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ValidationError" {
		t.Errorf("the SDK's error is no longer reachable: %v", err)
	}
}
