package awsidp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// DefaultProviderName is the name Salesforce's Service Cloud Voice setup gives
// the IAM SAML provider (one per AWS account).
const DefaultProviderName = "SalesforceServiceVoiceIdp"

// Client reads and edits IAM SAML providers of one AWS account. The zero value
// is not usable: IAM must be set. A Client is safe for concurrent use, but it
// does not serialize writes to one provider; callers do (IAM has no
// conditional write, and [Client.Apply]'s re-read only narrows the race).
type Client struct {
	// IAM is the IAM API, usually an *iam.Client built from the caller's
	// aws.Config (loading credentials, region and endpoints is the caller's
	// job).
	IAM IAMAPI

	// Logger receives debug lines about calls and decisions (ARNs, sizes,
	// fingerprints; never a document's bytes). Nil discards them.
	Logger *slog.Logger

	// Now is the time the pre-upload check evaluates certificates at. Nil
	// means time.Now.
	Now func() time.Time
}

func (c *Client) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

func (c *Client) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *Client) check() error {
	if c == nil || c.IAM == nil {
		return fmt.Errorf("awsidp: Client.IAM is nil; set it to an *iam.Client built from your aws.Config")
	}
	return nil
}

// withoutQuotaRetry is passed on every IAM call: IAM's LimitExceeded is a quota,
// not throttling, and is never retried.
func withoutQuotaRetry(o *iam.Options) { o.Retryer = noQuotaRetry(o.Retryer) }

// LookupError reports that a provider lookup found no match or several. Found
// lists every SAML provider ARN the account has, so the message can say what
// to pass instead.
type LookupError struct {
	Query   string   // the ARN or name looked for
	Matches []string // the matching ARNs (several) or none
	Found   []string // every provider ARN in the account
	Kind    error    // ErrProviderNotFound or ErrAmbiguousProvider
}

// Error says what was looked for and what the account has instead.
func (e *LookupError) Error() string {
	found := "the account has no SAML provider"
	if len(e.Found) > 0 {
		found = "the account has: " + strings.Join(e.Found, ", ")
	}
	if len(e.Matches) > 1 {
		return fmt.Sprintf("awsidp: %d SAML providers match %q (%s); pass the full ARN of the one to use",
			len(e.Matches), e.Query, strings.Join(e.Matches, ", "))
	}
	return fmt.Sprintf("awsidp: no SAML provider matches %q (%s); pass one of these ARNs or names, or check the account and partition", e.Query, found)
}

// Unwrap returns ErrProviderNotFound or ErrAmbiguousProvider.
func (e *LookupError) Unwrap() error { return e.Kind }

// FindProvider returns the ARN of the SAML provider with the given ARN or
// name; "" means [DefaultProviderName].
//
// An ARN is checked with GetSAMLProvider, so that it works with no more than
// Salesforce's provisioning policy grants (iam:*SAMLProvider on that one
// provider). A name is looked up with ListSAMLProviders and matches the last
// part of a provider ARN, ignoring case (IAM does not tell names apart by
// case). No match or several is a [*LookupError] wrapping ErrProviderNotFound
// or ErrAmbiguousProvider that lists the account's providers (when listing is
// allowed).
func (c *Client) FindProvider(ctx context.Context, arnOrName string) (string, error) {
	if err := c.check(); err != nil {
		return "", err
	}
	query := arnOrName
	if query == "" {
		query = DefaultProviderName
	}
	if strings.HasPrefix(query, "arn:") {
		return c.findByARN(ctx, query)
	}
	if !providerNamePattern.MatchString(query) {
		return "", fmt.Errorf("awsidp: %q is not a SAML provider name: want 1 to 128 letters, digits and _+=,.@-, or a full ARN", query)
	}
	found, err := c.listProviders(ctx)
	if err != nil {
		if errors.Is(err, ErrAccessDenied) {
			return "", fmt.Errorf("%w; to find a provider by name awsidp needs iam:ListSAMLProviders on \"*\": pass the provider's full ARN instead", err)
		}
		return "", err
	}
	var matches []string
	for _, a := range found {
		if parsed, err := ParseProviderARN(a); err == nil && strings.EqualFold(parsed.Name, query) {
			matches = append(matches, a)
		}
	}
	switch len(matches) {
	case 1:
		c.logger().DebugContext(ctx, "awsidp: found SAML provider", "query", query, "arn", matches[0])
		return matches[0], nil
	case 0:
		return "", &LookupError{Query: query, Found: found, Kind: ErrProviderNotFound}
	default:
		return "", &LookupError{Query: query, Matches: matches, Found: found, Kind: ErrAmbiguousProvider}
	}
}

func (c *Client) findByARN(ctx context.Context, arn string) (string, error) {
	if _, err := ParseProviderARN(arn); err != nil {
		return "", err
	}
	_, err := c.get(ctx, arn)
	if err == nil {
		return arn, nil
	}
	if !errors.Is(err, ErrProviderNotFound) {
		return "", err
	}
	// Say what exists instead, when the caller may list.
	found, listErr := c.listProviders(ctx)
	if listErr != nil {
		return "", err
	}
	return "", &LookupError{Query: arn, Found: found, Kind: ErrProviderNotFound}
}

// listProviders returns the ARNs of the account's SAML providers, sorted.
func (c *Client) listProviders(ctx context.Context) ([]string, error) {
	out, err := c.IAM.ListSAMLProviders(ctx, &iam.ListSAMLProvidersInput{}, withoutQuotaRetry)
	if err != nil {
		return nil, awsError("IAM", "ListSAMLProviders", err, iamKind("ListSAMLProviders"))
	}
	var found []string
	for _, p := range out.SAMLProviderList {
		found = append(found, aws.ToString(p.Arn))
	}
	slices.Sort(found)
	return found, nil
}
