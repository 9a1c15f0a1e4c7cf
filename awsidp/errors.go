package awsidp

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// Sentinel errors. Errors returned by awsidp wrap one of them where the cause
// is known (test with errors.Is); errors answered by IAM or STS are an [*Error]
// that also wraps the SDK's original error (smithy.APIError, the typed
// exceptions of service/iam/types and service/sts/types).
var (
	// ErrProviderNotFound means there is no SAML provider with that ARN or
	// name (IAM's NoSuchEntity, no match in ListSAMLProviders, or STS's
	// "Specified provider doesn't exist").
	ErrProviderNotFound = errors.New("awsidp: SAML provider not found")
	// ErrAmbiguousProvider means several SAML providers match the name given.
	ErrAmbiguousProvider = errors.New("awsidp: several SAML providers match")
	// ErrInvalidMetadata means a metadata document fails a rule checked
	// locally before any write, or IAM refused it with InvalidInput.
	ErrInvalidMetadata = errors.New("awsidp: invalid SAML metadata document")
	// ErrInvalidInput means an argument was malformed, or IAM refused a
	// request with InvalidInput for another reason than the document.
	ErrInvalidInput = errors.New("awsidp: invalid input")
	// ErrDocumentChanged means the provider's document is not the one the
	// caller planned on; nothing was written.
	ErrDocumentChanged = errors.New("awsidp: provider document changed since it was planned on")
	// ErrNotConfirmed means that after a write IAM returned another document
	// than the one written.
	ErrNotConfirmed = errors.New("awsidp: write not confirmed by read-back")
	// ErrLimitExceeded means an IAM quota is reached (IAM's LimitExceeded, or
	// the local quota check). It is never retried.
	ErrLimitExceeded = errors.New("awsidp: IAM limit exceeded")
	// ErrThrottled means IAM or STS still throttled after the SDK retryer's
	// attempts.
	ErrThrottled = errors.New("awsidp: throttled")
	// ErrAccessDenied means IAM (a missing permission) or STS (a trust policy
	// that does not allow the provider, or a wrong role) answered
	// AccessDenied. Not caused by a certificate: a rotation stops without
	// rollback.
	ErrAccessDenied = errors.New("awsidp: access denied")

	// ErrSignatureRejected means STS answered "Response signature invalid":
	// the provider's document does not (yet) trust the certificate that
	// signed the assertion.
	ErrSignatureRejected = errors.New("awsidp: STS rejected the SAML response signature")
	// ErrClaimRejected means STS answered IDPRejectedClaim. Not caused by a
	// certificate: a rotation stops without rollback.
	ErrClaimRejected = errors.New("awsidp: STS rejected a claim of the assertion")
	// ErrIssuerMismatch means the assertion's Issuer is not an entityID of the
	// provider's document. Not caused by a certificate: a rotation stops
	// without rollback.
	ErrIssuerMismatch = errors.New("awsidp: assertion issuer not present in the provider")
	// ErrRoleSessionName means the assertion's RoleSessionName attribute is
	// missing or malformed. Not caused by a certificate: a rotation stops
	// without rollback.
	ErrRoleSessionName = errors.New("awsidp: assertion RoleSessionName missing or invalid")
	// ErrExpired means STS answered ExpiredTokenException: the assertion is
	// outside its validity window.
	ErrExpired = errors.New("awsidp: assertion expired")
	// ErrAssertionRejected means STS rejected the assertion
	// (InvalidIdentityToken) for another reason than those above, such as a
	// wrong audience or recipient.
	ErrAssertionRejected = errors.New("awsidp: STS rejected the assertion")
	// ErrMetadataMismatch means metadata downloaded from the identity provider
	// does not name the expected entityID and certificate.
	ErrMetadataMismatch = errors.New("awsidp: downloaded metadata does not match")
	// ErrRegionDisabled means STS is not activated in the probe's region.
	ErrRegionDisabled = errors.New("awsidp: STS region disabled")
	// ErrNoRolePair means the assertion's Role attribute names no role for the
	// provider under test, or several.
	ErrNoRolePair = errors.New("awsidp: no single role for the provider in the Role attribute")
)

// kinds gives, per sentinel, the short cause printed by [Error.Error] and what
// to do about it.
var kinds = map[error]struct{ cause, hint string }{
	ErrProviderNotFound:  {"SAML provider not found", "check the provider ARN or name, the AWS account and the partition"},
	ErrInvalidMetadata:   {"IAM refused the metadata document", "nothing was changed; run samlmeta's check on the document"},
	ErrInvalidInput:      {"IAM refused the request", "check the provider ARN"},
	ErrLimitExceeded:     {"an IAM quota is reached", "remove unused certificates or providers (IAM allows 10 keys per SAML provider) and run again; awsidp does not retry this"},
	ErrThrottled:         {"throttled after the SDK's retries", "run again later, or give the SDK retryer more attempts"},
	ErrAccessDenied:      {"access denied", "check the caller's IAM permissions, or the role's trust policy for sts:AssumeRoleWithSAML with this provider"},
	ErrSignatureRejected: {"STS rejected the SAML response signature", "the provider's document does not trust the signing certificate, or an update has not propagated yet"},
	ErrClaimRejected:     {"the identity provider rejected a claim", "not a certificate problem: check the connected app's SAML attributes"},
	ErrIssuerMismatch:    {"the assertion issuer is not in the provider", "not a certificate problem: the provider's entityID must equal the org's issuer (My Domain URL)"},
	ErrRoleSessionName:   {"the assertion's RoleSessionName is missing or invalid", "not a certificate problem: check the connected app's RoleSessionName attribute"},
	ErrExpired:           {"the assertion is expired", "fetch a fresh SAMLResponse for every probe and send it at once"},
	ErrAssertionRejected: {"STS rejected the assertion", "check its audience, recipient and Role attribute"},
	ErrRegionDisabled:    {"STS is not active in this region", "activate STS in the region or probe in another region"},
}

// Error is an error answered by IAM or STS. Its message carries AWS's code and
// message and what to do; it unwraps to its sentinel (Kind) and to the SDK's
// error. It never holds a document, an assertion or credentials.
type Error struct {
	Service    string // "IAM" or "STS"
	Operation  string // for example "UpdateSAMLProvider"
	Code       string // AWS's error code, for example "NoSuchEntity"
	Message    string // AWS's error message
	StatusCode int    // HTTP status, 0 when unknown
	RequestID  string // AWS request ID, "" when unknown
	Kind       error  // one of the package's sentinels; nil when AWS's code maps to none
	Err        error  // the SDK's error
}

// Error says which call failed, AWS's code, message, HTTP status and request
// ID, and what to do.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "awsidp: %s %s failed", e.Service, e.Operation)
	k, known := kinds[e.Kind]
	if known {
		b.WriteString(": " + k.cause)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s: %s", e.Code, e.Message)
		if e.StatusCode != 0 {
			fmt.Fprintf(&b, "; HTTP %d", e.StatusCode)
		}
		if e.RequestID != "" {
			fmt.Fprintf(&b, "; request ID %s", e.RequestID)
		}
		b.WriteString(")")
	} else {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if known {
		b.WriteString("; " + k.hint)
	}
	return b.String()
}

// Unwrap returns the sentinel (when there is one) and the SDK's error.
func (e *Error) Unwrap() []error {
	if e.Kind == nil {
		return []error{e.Err}
	}
	return []error{e.Kind, e.Err}
}

// awsError turns an SDK error into an [*Error] with its sentinel. Context
// cancellation and errors without an AWS error code are wrapped as they are.
func awsError(service, op string, err error, kind func(code, message string) error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("awsidp: %s %s: %w", service, op, err)
	}
	e := &Error{Service: service, Operation: op, Err: err}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return e
	}
	e.Code, e.Message = apiErr.ErrorCode(), apiErr.ErrorMessage()
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		e.StatusCode = respErr.HTTPStatusCode()
		e.RequestID = respErr.ServiceRequestID()
	}
	e.Kind = kind(e.Code, e.Message)
	return e
}

// iamKind maps IAM's error codes. InvalidInput from UpdateSAMLProvider is about
// the document (the ARN was parsed locally before).
func iamKind(op string) func(code, message string) error {
	return func(code, _ string) error {
		switch {
		case strings.EqualFold(code, "NoSuchEntity"):
			return ErrProviderNotFound
		case strings.EqualFold(code, "InvalidInput") && op == "UpdateSAMLProvider":
			return ErrInvalidMetadata
		case strings.EqualFold(code, "InvalidInput"):
			return ErrInvalidInput
		case strings.EqualFold(code, "LimitExceeded"):
			return ErrLimitExceeded
		case strings.EqualFold(code, "Throttling"):
			return ErrThrottled
		case strings.EqualFold(code, "AccessDenied"):
			return ErrAccessDenied
		}
		return nil
	}
}

// stsKind maps STS's answers to AssumeRoleWithSAML. InvalidIdentityToken
// covers several causes that only the message tells apart (IAM's
// troubleshooting guide quotes them): "Response signature invalid",
// "RoleSessionName is required in AuthnResponse", "RoleSessionName in
// AuthnResponse must match …", "Issuer not present in specified provider",
// "Specified provider doesn't exist".
func stsKind(code, message string) error {
	msg := strings.ToLower(message)
	switch {
	case strings.Contains(msg, "issuer not present"):
		return ErrIssuerMismatch
	case strings.Contains(msg, "provider doesn't exist"), strings.Contains(msg, "provider does not exist"):
		return ErrProviderNotFound
	case strings.EqualFold(code, "InvalidIdentityToken") && strings.Contains(msg, "signature"):
		return ErrSignatureRejected
	case strings.EqualFold(code, "InvalidIdentityToken") && strings.Contains(msg, "rolesessionname"):
		return ErrRoleSessionName
	case strings.EqualFold(code, "InvalidIdentityToken") && strings.Contains(msg, "issuer"):
		return ErrIssuerMismatch
	case strings.EqualFold(code, "InvalidIdentityToken"):
		return ErrAssertionRejected
	case strings.EqualFold(code, "IDPRejectedClaim"):
		return ErrClaimRejected
	case strings.EqualFold(code, "ExpiredTokenException"), strings.EqualFold(code, "ExpiredToken"):
		return ErrExpired
	case strings.EqualFold(code, "AccessDenied"):
		return ErrAccessDenied
	case strings.EqualFold(code, "RegionDisabledException"):
		return ErrRegionDisabled
	case strings.EqualFold(code, "Throttling"):
		return ErrThrottled
	}
	return nil
}

// noQuotaRetry makes the SDK's retryer never retry IAM's LimitExceeded, what
// ever retryer the caller configured: a quota does not lift by asking again.
// (The SDK's standard retryer already leaves it alone; a custom one might not.)
func noQuotaRetry(r aws.Retryer) aws.Retryer {
	if r == nil {
		return nil
	}
	if v2, ok := r.(aws.RetryerV2); ok {
		return quotaRetryerV2{v2}
	}
	return quotaRetryer{r}
}

type quotaRetryer struct{ aws.Retryer }

func (r quotaRetryer) IsErrorRetryable(err error) bool {
	return !isQuotaError(err) && r.Retryer.IsErrorRetryable(err)
}

type quotaRetryerV2 struct{ aws.RetryerV2 }

func (r quotaRetryerV2) IsErrorRetryable(err error) bool {
	return !isQuotaError(err) && r.RetryerV2.IsErrorRetryable(err)
}

func isQuotaError(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && strings.EqualFold(apiErr.ErrorCode(), "LimitExceeded")
}
