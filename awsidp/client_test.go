package awsidp

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

const (
	testAccount  = "123456789012"
	testProvider = "arn:aws:iam::123456789012:saml-provider/SalesforceServiceVoiceIdp"
	testRole     = "arn:aws:iam::123456789012:role/CC1-SAMLRole"
)

func TestFindProvider(t *testing.T) {
	t.Parallel()
	other := "arn:aws:iam::123456789012:saml-provider/Okta"
	perOrg := "arn:aws:iam::123456789012:saml-provider/SalesforceVoiceIdp_00D000000000001"
	tests := []struct {
		name      string
		providers []string
		query     string
		want      string
		wantErr   error
		wantText  []string // substrings of the error
	}{
		{name: "default name", providers: []string{other, testProvider}, query: "", want: testProvider},
		{name: "by name", providers: []string{other, perOrg}, query: "SalesforceVoiceIdp_00D000000000001", want: perOrg},
		{name: "name ignores case", providers: []string{testProvider}, query: "salesforceservicevoiceidp", want: testProvider},
		{name: "by ARN", providers: []string{other, testProvider}, query: testProvider, want: testProvider},
		{name: "none", providers: []string{other, perOrg}, query: "", wantErr: ErrProviderNotFound,
			wantText: []string{`no SAML provider matches "SalesforceServiceVoiceIdp"`, other, perOrg}},
		{name: "empty account", query: "", wantErr: ErrProviderNotFound, wantText: []string{"the account has no SAML provider"}},
		{name: "ARN from another account", providers: []string{testProvider}, query: "arn:aws:iam::210987654321:saml-provider/SalesforceServiceVoiceIdp",
			wantErr: ErrProviderNotFound, wantText: []string{testProvider}},
		{name: "several", providers: []string{testProvider, "arn:aws:iam::123456789012:saml-provider/SALESFORCESERVICEVOICEIDP"}, query: "",
			wantErr: ErrAmbiguousProvider, wantText: []string{"2 SAML providers match", "pass the full ARN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			docs := map[string]string{}
			for _, p := range tt.providers {
				docs[p] = "<doc/>"
			}
			c := &Client{IAM: newFakeIAM(docs)}
			got, err := c.FindProvider(context.Background(), tt.query)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("FindProvider(%q) error = %v, want %v", tt.query, err, tt.wantErr)
				}
				for _, s := range tt.wantText {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("FindProvider(%q): %v", tt.query, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FindProvider(%q) (-want +got):\n%s", tt.query, diff)
			}
		})
	}
}

func TestFindProviderBadInput(t *testing.T) {
	t.Parallel()
	f := newFakeIAM(map[string]string{testProvider: "<doc/>"})
	c := &Client{IAM: f}
	for _, q := range []string{"arn:aws:iam::123456789012:role/X", "has space", "arn:aws:iam::1:saml-provider/X"} {
		if _, err := c.FindProvider(context.Background(), q); err == nil {
			t.Errorf("FindProvider(%q) succeeded", q)
		}
	}
	if n := len(f.callLog()); n != 0 {
		t.Errorf("bad input made %d IAM calls, want 0", n)
	}
	if _, err := (&Client{}).FindProvider(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "Client.IAM is nil") {
		t.Errorf("FindProvider on a zero Client: %v", err)
	}
}

func TestFindProviderWithoutListPermission(t *testing.T) {
	t.Parallel()
	f := newFakeIAM(map[string]string{testProvider: "<doc/>"})
	f.fail["ListSAMLProviders"] = apiError("ListSAMLProviders", 403, &smithy.GenericAPIError{Code: "AccessDenied", Message: "no iam:ListSAMLProviders"})
	c := &Client{IAM: f}
	// By name, listing is needed; the error says to pass the ARN.
	_, err := c.FindProvider(context.Background(), "")
	if !errors.Is(err, ErrAccessDenied) || !strings.Contains(err.Error(), "pass the provider's full ARN") {
		t.Fatalf("error = %v, want ErrAccessDenied telling to pass the ARN", err)
	}
	// By ARN, a GetSAMLProvider suffices.
	got, err := c.FindProvider(context.Background(), testProvider)
	if err != nil || got != testProvider {
		t.Fatalf("FindProvider(ARN) = %q, %v", got, err)
	}
	// A missing ARN is still reported as not found.
	_, err = c.FindProvider(context.Background(), "arn:aws:iam::123456789012:saml-provider/Gone")
	if !errors.Is(err, ErrProviderNotFound) {
		t.Fatalf("FindProvider(missing ARN) error = %v, want ErrProviderNotFound", err)
	}
	want := []string{"ListSAMLProviders", "GetSAMLProvider", "GetSAMLProvider", "ListSAMLProviders"}
	if diff := cmp.Diff(want, f.callLog()); diff != "" {
		t.Errorf("IAM calls (-want +got):\n%s", diff)
	}
}
