package awsidp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
)

func TestIAMErrorMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		op       string
		err      error
		status   int
		want     error  // sentinel; nil: none
		wantText string // substring of Error()
	}{
		{"no such entity", "GetSAMLProvider", &iamtypes.NoSuchEntityException{Message: aws.String("gone")}, 404, ErrProviderNotFound, "SAML provider not found (NoSuchEntity: gone; HTTP 404; request ID 3a8a2d33"},
		{"invalid input on update", "UpdateSAMLProvider", &iamtypes.InvalidInputException{Message: aws.String("Could not parse metadata.")}, 400, ErrInvalidMetadata, "IAM refused the metadata document (InvalidInput: Could not parse metadata."},
		{"invalid input on get", "GetSAMLProvider", &iamtypes.InvalidInputException{Message: aws.String("bad arn")}, 400, ErrInvalidInput, "IAM refused the request"},
		{"limit exceeded", "UpdateSAMLProvider", &iamtypes.LimitExceededException{Message: aws.String("too many keys")}, 409, ErrLimitExceeded, "awsidp does not retry this"},
		{"throttling", "ListSAMLProviders", &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}, 400, ErrThrottled, "Throttling: Rate exceeded"},
		{"access denied", "UpdateSAMLProvider", &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized"}, 403, ErrAccessDenied, "access denied"},
		{"service failure has no sentinel", "GetSAMLProvider", &iamtypes.ServiceFailureException{Message: aws.String("oops")}, 500, nil, "awsidp: IAM GetSAMLProvider failed (ServiceFailure: oops; HTTP 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sdkErr := apiError(tt.op, tt.status, tt.err)
			got := awsError("IAM", tt.op, sdkErr, iamKind(tt.op))
			var e *Error
			if !errors.As(got, &e) {
				t.Fatalf("awsError = %T, want *Error", got)
			}
			if tt.want != nil && !errors.Is(got, tt.want) {
				t.Errorf("errors.Is(%v, %v) = false", got, tt.want)
			}
			if tt.want == nil && e.Kind != nil {
				t.Errorf("Kind = %v, want none", e.Kind)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("the SDK's error is not wrapped: %v", got)
			}
			var apiErr smithy.APIError
			if !errors.As(got, &apiErr) {
				t.Errorf("errors.As(smithy.APIError) fails on %v", got)
			}
			if !strings.Contains(got.Error(), tt.wantText) {
				t.Errorf("Error() = %q, want it to contain %q", got, tt.wantText)
			}
			if e.StatusCode != tt.status {
				t.Errorf("StatusCode = %d, want %d", e.StatusCode, tt.status)
			}
		})
	}
}

func TestSTSErrorMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"signature", &ststypes.InvalidIdentityTokenException{Message: aws.String("Response signature invalid")}, ErrSignatureRejected},
		{"session name missing", &ststypes.InvalidIdentityTokenException{Message: aws.String("RoleSessionName is required in AuthnResponse")}, ErrRoleSessionName},
		{"session name malformed", &ststypes.InvalidIdentityTokenException{Message: aws.String("RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}")}, ErrRoleSessionName},
		{"issuer", &ststypes.InvalidIdentityTokenException{Message: aws.String("Issuer not present in specified provider")}, ErrIssuerMismatch},
		{"issuer other code", &smithy.GenericAPIError{Code: "AuthSamlInvalidSamlResponseException", Message: "Issuer not present in specified provider"}, ErrIssuerMismatch},
		{"audience", &ststypes.InvalidIdentityTokenException{Message: aws.String("Response does not contain the required audience")}, ErrAssertionRejected},
		{"no provider", &ststypes.InvalidIdentityTokenException{Message: aws.String("Specified provider doesn't exist")}, ErrProviderNotFound},
		{"claim", &ststypes.IDPRejectedClaimException{Message: aws.String("rejected")}, ErrClaimRejected},
		{"expired", &ststypes.ExpiredTokenException{Message: aws.String("Token is expired")}, ErrExpired},
		{"access denied", &smithy.GenericAPIError{Code: "AccessDenied", Message: "Not authorized to perform sts:AssumeRoleWithSAML"}, ErrAccessDenied},
		{"region", &ststypes.RegionDisabledException{Message: aws.String("off")}, ErrRegionDisabled},
	}
	sentinels := []error{ErrSignatureRejected, ErrRoleSessionName, ErrIssuerMismatch, ErrAssertionRejected,
		ErrClaimRejected, ErrExpired, ErrAccessDenied, ErrRegionDisabled, ErrProviderNotFound}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := awsError("STS", "AssumeRoleWithSAML", apiError("AssumeRoleWithSAML", 400, tt.err), stsKind)
			for _, s := range sentinels {
				if errors.Is(got, s) != (s == tt.want) {
					t.Errorf("errors.Is(%v, %v) = %v", got, s, errors.Is(got, s))
				}
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("the SDK's error is not wrapped: %v", got)
			}
		})
	}
}

func TestAWSErrorPassesContextAndTransportErrors(t *testing.T) {
	t.Parallel()
	got := awsError("IAM", "GetSAMLProvider", fmt.Errorf("op: %w", context.DeadlineExceeded), iamKind("GetSAMLProvider"))
	if !errors.Is(got, context.DeadlineExceeded) || !strings.HasPrefix(got.Error(), "awsidp: IAM GetSAMLProvider: ") {
		t.Errorf("awsError(deadline) = %v", got)
	}
	dial := errors.New("dial tcp 127.0.0.1:1: connection refused")
	got = awsError("IAM", "GetSAMLProvider", dial, iamKind("GetSAMLProvider"))
	if !errors.Is(got, dial) || !strings.Contains(got.Error(), "connection refused") {
		t.Errorf("awsError(dial) = %v", got)
	}
}

func TestNoQuotaRetry(t *testing.T) {
	t.Parallel()
	r := noQuotaRetry(retry.NewStandard(func(o *retry.StandardOptions) {
		o.Retryables = append(o.Retryables, retry.RetryableErrorCode{Codes: map[string]struct{}{"LimitExceeded": {}}})
	}))
	if _, ok := r.(aws.RetryerV2); !ok {
		t.Errorf("noQuotaRetry lost RetryerV2")
	}
	if r.IsErrorRetryable(&iamtypes.LimitExceededException{}) {
		t.Errorf("LimitExceeded is retried")
	}
	if !r.IsErrorRetryable(&smithy.GenericAPIError{Code: "Throttling"}) {
		t.Errorf("Throttling is not retried")
	}
	if noQuotaRetry(nil) != nil {
		t.Errorf("noQuotaRetry(nil) != nil")
	}
}
