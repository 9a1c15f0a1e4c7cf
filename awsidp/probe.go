package awsidp

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// RoleAttribute is the name of the SAML attribute that carries role and
// provider ARN pairs for AWS.
const RoleAttribute = "https://aws.amazon.com/SAML/Attributes/Role"

// ProbeDurationSeconds is the session length the probe asks for: STS's
// minimum.
const ProbeDurationSeconds = 900

// DenyAllPolicy is the inline session policy the probe sends: the
// credentials STS returns can do nothing, even before they are discarded.
const DenyAllPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`

// Probe is one AWS acceptance check: does STS accept this SAML response for
// this role and provider? Its String and LogValue never show the response.
type Probe struct {
	// SAMLResponse is the base64 SAMLResponse exactly as the identity provider
	// posted it. Use each one once: never send one assertion to STS twice.
	SAMLResponse string
	RoleARN      string // the role, from the verified assertion's Role attribute
	ProviderARN  string // the SAML provider under test
	Region       string // the STS region to call, usually the contact center's
}

// String describes p without the SAML response.
func (p Probe) String() string {
	return fmt.Sprintf("awsidp.Probe{RoleARN: %q, ProviderARN: %q, Region: %q, SAMLResponse: %d bytes redacted}",
		p.RoleARN, p.ProviderARN, p.Region, len(p.SAMLResponse))
}

// GoString is String, so %#v redacts too.
func (p Probe) GoString() string { return p.String() }

// LogValue describes p for slog without the SAML response.
func (p Probe) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("role_arn", p.RoleARN),
		slog.String("provider_arn", p.ProviderARN),
		slog.String("region", p.Region),
	)
}

func (p Probe) validate() error {
	var errs []error
	role, err := ParseARN(p.RoleARN)
	if err == nil && role.ResourceType != ResourceRole {
		err = fmt.Errorf("RoleARN %q is not a role ARN", p.RoleARN)
	}
	if err != nil {
		errs = append(errs, err)
	}
	provider, perr := ParseProviderARN(p.ProviderARN)
	if perr != nil {
		errs = append(errs, perr)
	}
	if err == nil && perr == nil && (role.Partition != provider.Partition || role.AccountID != provider.AccountID) {
		errs = append(errs, fmt.Errorf("role %s and provider %s are not in the same account", p.RoleARN, p.ProviderARN))
	}
	switch {
	case p.Region == "":
		errs = append(errs, errors.New("Region is empty"))
	case perr == nil && PartitionForRegion(p.Region) != provider.Partition:
		errs = append(errs, fmt.Errorf("region %s is not in partition %s", p.Region, provider.Partition))
	}
	// STS takes 4 to 100,000 characters of base64.
	switch n := len(p.SAMLResponse); {
	case n == 0:
		errs = append(errs, errors.New("SAMLResponse is empty"))
	case n < 4 || n > 100_000:
		errs = append(errs, fmt.Errorf("SAMLResponse is %d characters; STS takes 4 to 100,000", n))
	default:
		if _, err := base64.StdEncoding.DecodeString(p.SAMLResponse); err != nil {
			errs = append(errs, errors.New("SAMLResponse is not base64 (pass it as posted, not decoded)"))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("awsidp: bad probe: %w: %w", ErrInvalidInput, errors.Join(errs...))
	}
	return nil
}

// ProbeSSO asks STS to exchange the SAML response for credentials of the role,
// through the provider, in p.Region: the proof that AWS accepts what the
// identity provider signs. It asks for the shortest session
// ([ProbeDurationSeconds]) under a session policy that denies everything
// ([DenyAllPolicy]), and discards the credentials at once; they are never
// logged or returned.
//
// AssumeRoleWithSAML needs no AWS credentials (the SDK sends it unsigned), so
// client may be built with aws.AnonymousCredentials. The request is sent once,
// whatever retryer client has: a SAML response is never sent to STS twice, so
// a caller that retries (after ErrThrottled, ErrSignatureRejected during
// propagation, ...) fetches a fresh response. Errors are an [*Error]
// wrapping ErrSignatureRejected ("Response signature invalid": the provider
// does not trust the signer, or an update has not propagated), or one of the
// causes that are not about certificates: ErrAccessDenied, ErrClaimRejected,
// ErrIssuerMismatch, ErrRoleSessionName; or ErrExpired, ErrAssertionRejected,
// ErrProviderNotFound, ErrRegionDisabled, ErrThrottled.
func ProbeSSO(ctx context.Context, client STSAPI, p Probe) error {
	if client == nil {
		return errors.New("awsidp: ProbeSSO: the STS client is nil; build one with sts.NewFromConfig")
	}
	if err := p.validate(); err != nil {
		return err
	}
	out, err := client.AssumeRoleWithSAML(ctx, &sts.AssumeRoleWithSAMLInput{
		RoleArn:         aws.String(p.RoleARN),
		PrincipalArn:    aws.String(p.ProviderARN),
		SAMLAssertion:   aws.String(p.SAMLResponse),
		DurationSeconds: aws.Int32(ProbeDurationSeconds),
		Policy:          aws.String(DenyAllPolicy),
	}, func(o *sts.Options) {
		o.Region = p.Region
		// One assertion goes to STS once (DESIGN §5): the SDK's retryer would
		// resend it after a throttle, a 5xx or a broken connection. The
		// caller retries with a fresh response instead.
		o.Retryer = aws.NopRetryer{}
	})
	if out != nil {
		out.Credentials = nil // never kept, logged or returned
	}
	if err != nil {
		return redact(awsError("STS", "AssumeRoleWithSAML", err, stsKind), p.SAMLResponse)
	}
	return nil
}

// redact keeps the SAML response out of an error's text, should STS quote
// it back (AWS's validation messages quote the values they refuse).
func redact(err error, response string) error {
	var e *Error
	if !errors.As(err, &e) || len(response) < 16 {
		return err
	}
	probe := response[:16]
	if strings.Contains(e.Message, probe) {
		e.Message = "(message withheld: it quotes the SAML response)"
	}
	if strings.Contains(e.Err.Error(), probe) {
		e.Err = redacted{e.Err}
	}
	return err
}

// redacted hides the text of an SDK error that quotes a secret; errors.As and
// errors.Is still reach it.
type redacted struct{ err error }

func (r redacted) Error() string { return "(SDK error withheld: it quotes the SAML response)" }
func (r redacted) Unwrap() error { return r.err }

// RolePair is one value of the [RoleAttribute]: a role and the SAML provider
// allowed to assume it.
type RolePair struct {
	RoleARN     string
	ProviderARN string
}

// ParseRolePair parses one Role attribute value: a role ARN and a SAML
// provider ARN separated by a comma, in either order (AWS documents role
// first; clients accept both).
func ParseRolePair(value string) (RolePair, error) {
	a, b, ok := strings.Cut(value, ",")
	if !ok || strings.Contains(b, ",") {
		return RolePair{}, fmt.Errorf("awsidp: Role attribute value %q is not \"role-ARN,provider-ARN\"", value)
	}
	first, err := ParseARN(strings.TrimSpace(a))
	if err != nil {
		return RolePair{}, fmt.Errorf("awsidp: Role attribute value %q: %w", value, err)
	}
	second, err := ParseARN(strings.TrimSpace(b))
	if err != nil {
		return RolePair{}, fmt.Errorf("awsidp: Role attribute value %q: %w", value, err)
	}
	if first.ResourceType == ResourceSAMLProvider {
		first, second = second, first
	}
	if first.ResourceType != ResourceRole || second.ResourceType != ResourceSAMLProvider {
		return RolePair{}, fmt.Errorf("awsidp: Role attribute value %q does not pair a role with a saml-provider", value)
	}
	return RolePair{RoleARN: first.String(), ProviderARN: second.String()}, nil
}

// FindRolePair picks, from the values of a verified assertion's
// [RoleAttribute], the one pair whose provider is providerARN. Values that do
// not parse are skipped. None, or several different roles for that provider,
// is an error wrapping ErrNoRolePair that lists what the attribute holds.
func FindRolePair(values []string, providerARN string) (RolePair, error) {
	var seen, matches []RolePair
	for _, v := range values {
		pair, err := ParseRolePair(v)
		if err != nil {
			continue
		}
		seen = append(seen, pair)
		if pair.ProviderARN == providerARN && !slices.Contains(matches, pair) {
			matches = append(matches, pair)
		}
	}
	if len(matches) == 1 {
		return matches[0], nil
	}
	list := func(pairs []RolePair) string {
		if len(pairs) == 0 {
			return "none"
		}
		s := make([]string, len(pairs))
		for i, p := range pairs {
			s[i] = p.RoleARN + "," + p.ProviderARN
		}
		return strings.Join(s, "; ")
	}
	if len(matches) == 0 {
		return RolePair{}, fmt.Errorf("%w: none names provider %s (the attribute holds: %s); check the connected app's Role attribute or the provider chosen",
			ErrNoRolePair, providerARN, list(seen))
	}
	return RolePair{}, fmt.Errorf("%w: %d roles for provider %s (%s); pass the role to probe",
		ErrNoRolePair, len(matches), providerARN, list(matches))
}
