package awsidp

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseARN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    ARN
		wantErr string // substring; "" means success
	}{
		{in: "arn:aws:iam::123456789012:saml-provider/SalesforceServiceVoiceIdp",
			want: ARN{Partition: PartitionAWS, AccountID: "123456789012", ResourceType: ResourceSAMLProvider, Name: "SalesforceServiceVoiceIdp"}},
		{in: "arn:aws-us-gov:iam::123456789012:saml-provider/SalesforceVoiceIdp_00D000000000001",
			want: ARN{Partition: PartitionUSGov, AccountID: "123456789012", ResourceType: ResourceSAMLProvider, Name: "SalesforceVoiceIdp_00D000000000001"}},
		{in: "arn:aws-cn:iam::123456789012:role/CC1-SAMLRole",
			want: ARN{Partition: PartitionChina, AccountID: "123456789012", ResourceType: ResourceRole, Path: "/", Name: "CC1-SAMLRole"}},
		{in: "arn:aws:iam::123456789012:role/service/voice/CC1-SAMLRole",
			want: ARN{Partition: PartitionAWS, AccountID: "123456789012", ResourceType: ResourceRole, Path: "/service/voice/", Name: "CC1-SAMLRole"}},
		{in: "arn:aws:iam::123456789012:saml-provider/a+b=c,d.e@f-g_h", want: ARN{Partition: PartitionAWS, AccountID: "123456789012", ResourceType: ResourceSAMLProvider, Name: "a+b=c,d.e@f-g_h"}},
		{in: "", wantErr: "want \"arn:PARTITION"},
		{in: "SalesforceServiceVoiceIdp", wantErr: "want \"arn:PARTITION"},
		{in: "arn:aws-iso:iam::123456789012:saml-provider/X", wantErr: "unknown partition \"aws-iso\""},
		{in: "arn:aws:sts::123456789012:assumed-role/X/y", wantErr: "service is \"sts\""},
		{in: "arn:aws:iam:us-east-1:123456789012:saml-provider/X", wantErr: "no region"},
		{in: "arn:aws:iam::12345678901:saml-provider/X", wantErr: "12 digits"},
		{in: "arn:aws:iam::123456789012:saml-provider/", wantErr: "SAML provider name"},
		{in: "arn:aws:iam::123456789012:saml-provider/a/b", wantErr: "SAML provider name"},
		{in: "arn:aws:iam::123456789012:saml-provider/" + strings.Repeat("x", 129), wantErr: "SAML provider name"},
		{in: "arn:aws:iam::123456789012:role/", wantErr: "role name"},
		{in: "arn:aws:iam::123456789012:role//x", wantErr: "role path"},
		{in: "arn:aws:iam::123456789012:user/bob", wantErr: "resource must be"},
		{in: "arn:aws:iam::123456789012:oidc-provider/x", wantErr: "resource must be"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseARN(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "awsidp: ") {
					t.Fatalf("ParseARN(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseARN(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseARN(%q) (-want +got):\n%s", tt.in, diff)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestParseProviderARNRefusesRole(t *testing.T) {
	t.Parallel()
	if _, err := ParseProviderARN("arn:aws:iam::123456789012:role/X"); err == nil || !strings.Contains(err.Error(), "not a saml-provider ARN") {
		t.Fatalf("ParseProviderARN(role) error = %v, want \"not a saml-provider ARN\"", err)
	}
	got := ProviderARN(PartitionUSGov, "123456789012", DefaultProviderName).String()
	if want := "arn:aws-us-gov:iam::123456789012:saml-provider/SalesforceServiceVoiceIdp"; got != want {
		t.Errorf("ProviderARN = %q, want %q", got, want)
	}
}

func TestPartitions(t *testing.T) {
	t.Parallel()
	type row struct {
		Known                  bool
		Host, Endpoint, Audien string
	}
	tests := []struct {
		p    Partition
		want row
	}{
		{PartitionAWS, row{true, "signin.aws.amazon.com", "https://signin.aws.amazon.com/saml", "https://signin.aws.amazon.com/saml"}},
		{PartitionUSGov, row{true, "signin.amazonaws-us-gov.com", "https://signin.amazonaws-us-gov.com/saml", "https://signin.amazonaws-us-gov.com/saml"}},
		{PartitionChina, row{true, "signin.amazonaws.cn", "https://signin.amazonaws.cn/saml", "https://signin.amazonaws.cn/saml"}},
		{"aws-iso", row{}},
	}
	for _, tt := range tests {
		got := row{tt.p.Known(), tt.p.SignInHost(), tt.p.SAMLEndpoint(), tt.p.Audience()}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("partition %q (-want +got):\n%s", tt.p, diff)
		}
	}
	regions := map[string]Partition{
		"us-east-1": PartitionAWS, "eu-west-2": PartitionAWS, "us-gov-west-1": PartitionUSGov,
		"us-gov-east-1": PartitionUSGov, "cn-north-1": PartitionChina, "cn-northwest-1": PartitionChina,
	}
	for region, want := range regions {
		if got := PartitionForRegion(region); got != want {
			t.Errorf("PartitionForRegion(%q) = %q, want %q", region, got, want)
		}
	}
}
