package iamtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"time"
)

// The account and access key a Server hosts when its Config names no account. The key
// pair is AWS's own documentation example: it works only against this fake.
const (
	DefaultAccountID       = "123456789012"
	DefaultAccessKeyID     = "AKIAIOSFODNN7EXAMPLE"
	DefaultSecretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// Config configures a [Server]. Every field is optional; the zero value serves one
// account ([DefaultAccountID], key [DefaultAccessKeyID]) with no provider and no role.
type Config struct {
	// Addr is the address Start listens on. Zero: "127.0.0.1:0". It must be a
	// loopback address: the fake is for tests and local simulation only.
	Addr string

	// Now reads the time: provider creation dates, propagation, assertion windows
	// and credential expiry all use it. Zero: time.Now. Tests pass a fakeclock.
	Now func() time.Time
	// Sleep waits for Latency before each answer. Zero: a real, cancellable sleep.
	// Tests pass the fake clock's Sleep, so latency advances fake time.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand is the source of randomness for provider UUIDs and credentials; it must
	// not fail. Zero: crypto/rand.
	Rand io.Reader
	// Logger receives one debug line per request (operation, status, code; never a
	// parameter value). Zero: discard.
	Logger *slog.Logger

	// Accounts are the AWS accounts the server hosts, one or more access keys each.
	// Zero: one account, DefaultAccountID, with DefaultAccessKeyID.
	Accounts []Account

	// Latency is added before every answer (through Sleep).
	Latency time.Duration
	// PropagationDelay is how long a provider write takes to reach STS: an
	// AssumeRoleWithSAML sees the document that was current PropagationDelay ago
	// (a provider created through the API is unknown to STS until then). IAM reads
	// see writes at once, and a deletion takes effect at once everywhere.
	PropagationDelay time.Duration
	// ClockSkew is the tolerance on the assertion's time window. Zero: 1 minute;
	// negative: none.
	ClockSkew time.Duration
	// TrustFirstOnly makes STS trust only the first signing certificate of each
	// entity in a provider's document, modelling an IAM that would ignore the rest.
	// By default every signing certificate is trusted (aws-wire.md §4).
	TrustFirstOnly bool

	// Faults make chosen calls fail (see [Fault]).
	Faults []Fault
	// RequestLog, when set, receives every entry of the request log as one line of
	// JSON, as it happens (rotate sim --request-log). Write errors are ignored.
	RequestLog io.Writer

	// OnWrite, when set, is called after each successful write (Create, Update,
	// Delete, Tag, Untag SAMLProvider), outside the server's lock, before the answer
	// is sent. It may call the Server's methods.
	OnWrite func(Request)
}

// Account is one AWS account hosted by the server.
type Account struct {
	// ID is the 12-digit account ID.
	ID string
	// Partition is "aws" (zero), "aws-us-gov" or "aws-cn". It shapes ARNs and the
	// accepted SAML Recipient and Audience values.
	Partition string
	// AccessKeys authenticate requests as this account. Zero: none (the account is
	// then reachable through AssumeRole only).
	AccessKeys []AccessKey
	// Providers exist when the server starts; each must pass IAM's metadata rules.
	Providers []Provider
	// Roles can be assumed with AssumeRoleWithSAML and AssumeRole.
	Roles []Role
}

// AccessKey is a long-term access key of an [Account].
type AccessKey struct {
	ID     string
	Secret string
	// User is the IAM user that owns the key; zero: the account's root user.
	User string
}

// Provider is a SAML provider an [Account] holds from the start.
type Provider struct {
	Name     string
	Document []byte
	Tags     []Tag
}

// Tag is an IAM tag.
type Tag struct{ Key, Value string }

// Role is an IAM role.
type Role struct {
	// Name is the role name; its ARN is arn:PARTITION:iam::ACCOUNT:role/NAME.
	Name string
	// SAMLProviders names the providers of the same account that the role's trust
	// policy lets federate into it. Zero: every SAML provider of the account.
	SAMLProviders []string
	// TrustedAccounts lists the account IDs whose principals may call AssumeRole on
	// it. Zero: every account the server hosts.
	TrustedAccounts []string
	// MaxSessionDuration caps DurationSeconds. Zero: 1 hour.
	MaxSessionDuration time.Duration
}

// Fault makes calls of one operation fail with an AWS error, before the operation
// runs: the Nth call (counted per operation from the server's start, faulted calls
// included), or with AndAfter every call from the Nth on.
type Fault struct {
	// Operation is the Query Action, such as "UpdateSAMLProvider".
	Operation string
	// Nth is the 1-based call number. Zero: 1. Requests refused before they reach
	// the operation (bad signature, unknown key) are not counted.
	Nth int
	// AndAfter extends the fault to every later call.
	AndAfter bool
	// Code is the wire error code, such as "Throttling" (400), "ServiceFailure"
	// (500), "LimitExceeded" or "InvalidInput". Zero: "ServiceFailure".
	Code string
	// Message is the error message. Zero: a message typical of the code.
	Message string
}

var (
	accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)
	namePattern      = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
	roleNamePattern  = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
)

// partitionDNS holds, per partition, the sign-in host used in SAML Recipient values
// and the audience URN. The aws values are documented (aws-wire.md §3); the
// GovCloud and China ones are [I]: from AWS's partition documentation as recalled,
// not re-read for this fake.
var partitionDNS = map[string]struct{ signin, urn string }{
	"aws":        {"signin.aws.amazon.com", "urn:amazon:webservices"},
	"aws-us-gov": {"signin.amazonaws-us-gov.com", "urn:amazon:webservices:govcloud"},
	"aws-cn":     {"signin.amazonaws.cn", "urn:amazon:webservices:cn-north-1"},
}

// validate reports every problem of c at once.
func (c *Config) validate() error {
	var errs []error
	ids := map[string]bool{}
	keys := map[string]bool{}
	for i, a := range c.Accounts {
		if !accountIDPattern.MatchString(a.ID) {
			errs = append(errs, fmt.Errorf("iamtest: account %d: ID %q is not 12 digits", i, a.ID))
		}
		if ids[a.ID] {
			errs = append(errs, fmt.Errorf("iamtest: account %s appears twice", a.ID))
		}
		ids[a.ID] = true
		if _, ok := partitionDNS[a.Partition]; !ok && a.Partition != "" {
			errs = append(errs, fmt.Errorf("iamtest: account %s: unknown partition %q (want aws, aws-us-gov or aws-cn)", a.ID, a.Partition))
		}
		for _, k := range a.AccessKeys {
			if k.ID == "" || k.Secret == "" {
				errs = append(errs, fmt.Errorf("iamtest: account %s: an access key needs an ID and a secret", a.ID))
			}
			if keys[k.ID] {
				errs = append(errs, fmt.Errorf("iamtest: access key %s is given twice: one account per key", k.ID))
			}
			keys[k.ID] = true
		}
		for _, p := range a.Providers {
			if !namePattern.MatchString(p.Name) {
				errs = append(errs, fmt.Errorf("iamtest: account %s: provider name %q must match [\\w+=,.@-]{1,128}", a.ID, p.Name))
			}
			if e := checkMetadata(p.Document); e != nil {
				errs = append(errs, fmt.Errorf("iamtest: account %s: provider %s: IAM would refuse its document: %s (%s)", a.ID, p.Name, e.Message, e.detail))
			}
		}
		for _, r := range a.Roles {
			if !roleNamePattern.MatchString(r.Name) {
				errs = append(errs, fmt.Errorf("iamtest: account %s: role name %q must match [\\w+=,.@-]{1,64}", a.ID, r.Name))
			}
			if r.MaxSessionDuration != 0 && (r.MaxSessionDuration < time.Hour || r.MaxSessionDuration > 12*time.Hour) {
				errs = append(errs, fmt.Errorf("iamtest: account %s: role %s: MaxSessionDuration must be 1h to 12h", a.ID, r.Name))
			}
		}
	}
	for i, f := range c.Faults {
		if f.Operation == "" {
			errs = append(errs, fmt.Errorf("iamtest: fault %d: Operation is required", i))
		}
		if f.Nth < 0 {
			errs = append(errs, fmt.Errorf("iamtest: fault %d: Nth must not be negative", i))
		}
	}
	if c.Latency < 0 || c.PropagationDelay < 0 {
		errs = append(errs, errors.New("iamtest: Latency and PropagationDelay must not be negative"))
	}
	return errors.Join(errs...)
}
