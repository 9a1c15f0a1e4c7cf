package certrotate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/voicecert/voicecert/awsidp"
	"github.com/voicecert/voicecert/salesforce"
)

// The defaults of [Config]'s zero values.
const (
	DefaultRenewBefore       = 30 * 24 * time.Hour
	DefaultKeySize           = 4096
	DefaultPruneGrace        = 5 * time.Minute // the lifetime of a Salesforce assertion
	DefaultVerifyDeadline    = 2 * time.Minute // IAM changes propagate with a delay
	DefaultCertificatePrefix = "VoiceCert_"
	DefaultConcurrency       = 4
	// DefaultVerifyInterval is the pause between two verification attempts.
	DefaultVerifyInterval = 5 * time.Second
)

// Config says what to rotate and how. The zero value of each field is documented
// next to it; Build validates the whole Config once and reports every problem
// together.
type Config struct {
	// Orgs are the Salesforce orgs to rotate, one client each (see
	// salesforce.New; pin each client's OrgID to refuse a token for another org).
	// At least one is required.
	Orgs []*salesforce.Client
	// AWS returns the IAM and STS clients for one AWS account, given its partition
	// ("aws", "aws-us-gov" or "aws-cn") and 12-digit account ID. It is called once
	// per account. Required.
	AWS func(ctx context.Context, partition, accountID string) (*AWSClients, error)
	// ProviderName is the IAM SAML provider's name, used when a contact center's
	// connected app does not name the provider ARN in its Role attribute (the
	// account is then the role's). Empty means "SalesforceServiceVoiceIdp".
	ProviderName string
	// Providers overrides the provider of contact centers: contact center Name or
	// InternalName → provider ARN.
	Providers map[string]string

	// Select names the contact centers to rotate, each by its Name or InternalName.
	// Empty selects every Amazon Connect contact center of every org.
	Select []string
	// RenewBefore is the renew window: a contact center is due when its
	// certificate expires within it. Zero means 30 days.
	RenewBefore time.Duration
	// Force rotates even when no certificate is due.
	Force bool
	// KeySize is the new certificate's RSA key size, 2048 or 4096. Zero means 4096.
	KeySize int
	// Strategy is overlap or replace. Empty means overlap.
	Strategy Strategy
	// PruneGrace is how long overlap waits after the last switch before removing
	// the old certificate from AWS, so that assertions signed by the old key just
	// before the switch are still accepted. Zero means the assertion lifetime
	// observed by the SSO probe (NotOnOrAfter − IssueInstant), or 5 minutes when no
	// probe can run. Negative means no grace.
	PruneGrace time.Duration
	// VerifyDeadline bounds the retries of each verification (IAM propagation).
	// Zero means 2 minutes.
	VerifyDeadline time.Duration
	// VerifyInterval is the pause between verification attempts. Zero means 5 seconds.
	VerifyInterval time.Duration
	// CertificatePrefix starts the DeveloperName of every certificate voicecert
	// creates; the successor rule finds them by it. Empty means "VoiceCert_".
	CertificatePrefix string

	// AcceptAffected accepts that other SAML apps change signer (DESIGN §4).
	AcceptAffected bool
	// AcceptUnobserved accepts a signer the SSO probe could not confirm; the run
	// then verifies by consistency only, with no automatic rollback.
	AcceptUnobserved bool
	// NoRollback leaves a failed run where it stopped instead of rolling back.
	NoRollback bool

	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Sleep pauses for d or until ctx is done (grace periods, verification
	// retries). Nil means a real timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives one record per event, and debug detail. Nil discards.
	Logger *slog.Logger
	// OnEvent, when set, is called for every [Event], from the goroutine running
	// the step; it must be safe for concurrent use and return quickly.
	OnEvent func(Event)
	// Locker guards against two runs changing the same org or provider at once.
	// Nil means no locking across processes.
	Locker Locker
	// Concurrency bounds how many orgs rotate at once. Zero means 4.
	Concurrency int
}

// validate reports every problem with c together.
func (c *Config) validate() error {
	var errs []error
	if len(c.Orgs) == 0 {
		errs = append(errs, errors.New("certrotate: Config.Orgs is empty; give at least one salesforce.Client"))
	}
	for i, o := range c.Orgs {
		if o == nil {
			errs = append(errs, fmt.Errorf("certrotate: Config.Orgs[%d] is nil", i))
		}
	}
	if c.AWS == nil {
		errs = append(errs, errors.New("certrotate: Config.AWS is nil; give a function returning the IAM and STS clients of an account"))
	}
	for cc, arn := range c.Providers {
		if _, err := awsidp.ParseProviderARN(arn); err != nil {
			errs = append(errs, fmt.Errorf("certrotate: Config.Providers[%q]: %w", cc, err))
		}
	}
	if c.RenewBefore < 0 {
		errs = append(errs, fmt.Errorf("certrotate: RenewBefore %v is negative; use a positive window or zero for 30 days", c.RenewBefore))
	}
	switch c.KeySize {
	case 0, 2048, 4096:
	default:
		errs = append(errs, fmt.Errorf("certrotate: KeySize %d is not supported; use 2048 or 4096", c.KeySize))
	}
	switch c.Strategy {
	case "", StrategyOverlap, StrategyReplace:
	default:
		errs = append(errs, fmt.Errorf("certrotate: unknown Strategy %q; use %q or %q", c.Strategy, StrategyOverlap, StrategyReplace))
	}
	if c.VerifyDeadline < 0 {
		errs = append(errs, fmt.Errorf("certrotate: VerifyDeadline %v is negative", c.VerifyDeadline))
	}
	if c.VerifyInterval < 0 {
		errs = append(errs, fmt.Errorf("certrotate: VerifyInterval %v is negative", c.VerifyInterval))
	}
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("certrotate: Concurrency %d is negative", c.Concurrency))
	}
	if p := c.CertificatePrefix; p != "" && !validDeveloperNamePrefix(p) {
		errs = append(errs, fmt.Errorf("certrotate: CertificatePrefix %q is not a valid DeveloperName start; use a letter, then letters, digits or single underscores", p))
	}
	return errors.Join(errs...)
}

// validDeveloperNamePrefix reports whether p can start a Salesforce DeveloperName:
// a letter, then letters, digits and underscores, no two underscores in a row.
func validDeveloperNamePrefix(p string) bool {
	if len(p) > 40 || strings.Contains(p, "__") {
		return false
	}
	for i, r := range p {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '_'):
		default:
			return false
		}
	}
	return true
}

func (c *Config) providerName() string {
	if c.ProviderName == "" {
		return awsidp.DefaultProviderName
	}
	return c.ProviderName
}

func (c *Config) renewBefore() time.Duration { return orDefault(c.RenewBefore, DefaultRenewBefore) }
func (c *Config) keySize() int {
	if c.KeySize == 0 {
		return DefaultKeySize
	}
	return c.KeySize
}
func (c *Config) strategy() Strategy {
	if c.Strategy == "" {
		return StrategyOverlap
	}
	return c.Strategy
}
func (c *Config) verifyDeadline() time.Duration {
	return orDefault(c.VerifyDeadline, DefaultVerifyDeadline)
}
func (c *Config) verifyInterval() time.Duration {
	return orDefault(c.VerifyInterval, DefaultVerifyInterval)
}
func (c *Config) prefix() string {
	if c.CertificatePrefix == "" {
		return DefaultCertificatePrefix
	}
	return c.CertificatePrefix
}
func (c *Config) concurrency() int {
	if c.Concurrency == 0 {
		return DefaultConcurrency
	}
	return c.Concurrency
}

// pruneGrace returns the grace to wait before pruning, given the assertion lifetime
// observed by the SSO probe (zero when none was observed).
func (c *Config) pruneGrace(observed time.Duration) time.Duration {
	switch {
	case c.PruneGrace < 0:
		return 0
	case c.PruneGrace > 0:
		return c.PruneGrace
	case observed > 0:
		return observed
	}
	return DefaultPruneGrace
}

func (c *Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Config) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (c *Config) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return discardLogger
}

func (c *Config) locker() Locker {
	if c.Locker != nil {
		return c.Locker
	}
	return NopLocker{}
}

// discardLogger is immutable, so sharing it is safe.
var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
