package certrotate

import (
	"encoding/json"
	"time"
)

// Outcome is the result of a Build, Apply, Status or Verify, as the report's
// "outcome".
type Outcome string

// The outcomes (DESIGN §8).
const (
	OutcomePlanned     Outcome = "planned"       // a plan with changes pending
	OutcomeNothingToDo Outcome = "nothing-to-do" // a plan, or an apply, with nothing to change
	OutcomeApplied     Outcome = "applied"       // applied and verified
	OutcomeRefused     Outcome = "refused"       // refused before any write (consent, bad input)
	OutcomeFailed      Outcome = "failed"        // an error; the steps say what changed
	OutcomeRolledBack  Outcome = "rolled_back"   // failed, then restored the previous state
)

// Strategy is how a rotation moves AWS trust and the Salesforce signer (DESIGN §4).
type Strategy string

// The strategies.
const (
	// StrategyOverlap adds the new certificate to AWS before any switch and prunes
	// the old one after a grace: no SSO downtime. The default.
	StrategyOverlap Strategy = "overlap"
	// StrategyReplace is the documented manual procedure: switch Salesforce, then
	// replace the AWS metadata. SSO fails in between; the report measures the window.
	StrategyReplace Strategy = "replace"
)

// Consent names a risk that Apply refuses to take until the caller accepts it
// (DESIGN §4).
type Consent string

// The consents.
const (
	// ConsentAffectedApps: other SAML apps change signer with the org setting.
	// Accepted with Config.AcceptAffected.
	ConsentAffectedApps Consent = "affected-apps"
	// ConsentUnobservedSigner: the SSO probe cannot run, so the configured signer is
	// not confirmed. Accepted with Config.AcceptUnobserved.
	ConsentUnobservedSigner Consent = "unobserved-signer"
)

// Verification says how a contact center was verified.
type Verification string

// The verifications.
const (
	VerificationSSOProbe        Verification = "sso-probe"        // an SSO probe signed by the expected certificate, accepted by AWS
	VerificationConsistencyOnly Verification = "consistency-only" // Salesforce and AWS agree; no probe could run
	VerificationNone            Verification = "none"             // not verified
)

// Report is what Build, Apply, Status and Verify return. Its JSON is the --json
// report of the reference CLI (DESIGN §8): every key is always present, lists are
// [] rather than null, and times are RFC 3339 strings ("" when unknown).
type Report struct {
	Outcome Outcome `json:"outcome"`
	// Error is the failure that ended the run, "" when none. It never holds a secret.
	Error    string   `json:"error"`
	Strategy Strategy `json:"strategy"`
	// Changed says whether anything was (or, in a plan, would be) changed.
	Changed bool `json:"changed"`
	// Fallback is "" or says why overlap finished as replace.
	Fallback       string                `json:"fallback"`
	ConsentNeeded  []Consent             `json:"consent_needed"`
	ContactCenters []ContactCenterReport `json:"contact_centers"`
	AffectedApps   []AffectedApp         `json:"affected_apps"`
	Steps          []StepReport          `json:"steps"`
	APICalls       APICalls              `json:"api_calls"`
}

// ContactCenterReport is one contact center in a [Report].
type ContactCenterReport struct {
	Name            string          `json:"name"`
	OrgID           string          `json:"org_id"`
	SAMLProviderARN string          `json:"saml_provider_arn"`
	OldCertificate  CertificateInfo `json:"old_certificate"`
	NewCertificate  CertificateInfo `json:"new_certificate"`
	// ObservedSigner is the SHA-256 of the certificate the SSO probe saw signing,
	// "" when no probe ran.
	ObservedSigner string `json:"observed_signer"`
	// AWSTrusts lists the SHA-256 of the signing certificates the provider trusts
	// for the org's entity.
	AWSTrusts    []string     `json:"aws_trusts"`
	Verified     bool         `json:"verified"`
	Verification Verification `json:"verification"`
	// SSOUnavailableMS is how long SSO failed for this contact center during the
	// run; 0 for a clean overlap.
	SSOUnavailableMS int64     `json:"sso_unavailable_ms"`
	SSOWindow        SSOWindow `json:"sso_window"`
}

// CertificateInfo names a certificate in a [Report]: its DeveloperName, expiry and
// the SHA-256 of its DER.
type CertificateInfo struct {
	Name    string    `json:"name"`
	Expires Timestamp `json:"expires"`
	SHA256  string    `json:"sha256"`
}

// SSOWindow is when SSO was measured unavailable; both ends are zero when it never was.
type SSOWindow struct {
	Start Timestamp `json:"start"`
	End   Timestamp `json:"end"`
}

// AffectedApp is a SAML connected app that is not a contact center but changes
// signer (or keeps an expiring one) because of the rotation.
type AffectedApp struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// StepReport is one step in a [Report].
type StepReport struct {
	Name       string    `json:"name"`
	Target     string    `json:"target"`
	Action     Action    `json:"action"`
	Status     EventKind `json:"status"` // planned, applied, skipped, failed, rolled_back
	DurationMS int64     `json:"duration_ms"`
	Detail     string    `json:"detail"`
}

// APICalls counts the calls of a run; writes are counted as DESIGN §3 defines them.
type APICalls struct {
	SalesforceReads  int `json:"salesforce_reads"`
	SalesforceWrites int `json:"salesforce_writes"`
	AWSReads         int `json:"aws_reads"`
	AWSWrites        int `json:"aws_writes"`
}

// sub returns the calls of a minus those of b.
func sub(a, b APICalls) APICalls {
	return APICalls{SalesforceReads: a.SalesforceReads - b.SalesforceReads, SalesforceWrites: a.SalesforceWrites - b.SalesforceWrites,
		AWSReads: a.AWSReads - b.AWSReads, AWSWrites: a.AWSWrites - b.AWSWrites}
}

// add returns the calls of a plus those of b.
func add(a, b APICalls) APICalls {
	return APICalls{SalesforceReads: a.SalesforceReads + b.SalesforceReads, SalesforceWrites: a.SalesforceWrites + b.SalesforceWrites,
		AWSReads: a.AWSReads + b.AWSReads, AWSWrites: a.AWSWrites + b.AWSWrites}
}

// Timestamp is a time that marshals as an RFC 3339 string, or "" when zero.
type Timestamp time.Time

// MarshalJSON returns t in RFC 3339 (with fractional seconds when present), or "".
func (t Timestamp) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	if tt.IsZero() {
		return []byte(`""`), nil
	}
	return json.Marshal(tt.UTC().Format(time.RFC3339Nano))
}

// UnmarshalJSON reads what MarshalJSON writes.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == "" {
		*t = Timestamp{}
		return nil
	}
	tt, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	*t = Timestamp(tt)
	return nil
}

// MarshalJSON writes r with every list as [] rather than null.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report // without this method
	p := plain(r)
	if p.ConsentNeeded == nil {
		p.ConsentNeeded = []Consent{}
	}
	if p.ContactCenters == nil {
		p.ContactCenters = []ContactCenterReport{}
	}
	if p.AffectedApps == nil {
		p.AffectedApps = []AffectedApp{}
	}
	if p.Steps == nil {
		p.Steps = []StepReport{}
	}
	return json.Marshal(p)
}

// MarshalJSON writes c with aws_trusts as [] rather than null, and an empty
// verification as "none".
func (c ContactCenterReport) MarshalJSON() ([]byte, error) {
	type plain ContactCenterReport
	p := plain(c)
	if p.AWSTrusts == nil {
		p.AWSTrusts = []string{}
	}
	if p.Verification == "" {
		p.Verification = VerificationNone
	}
	return json.Marshal(p)
}
