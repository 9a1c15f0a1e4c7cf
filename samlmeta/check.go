package samlmeta

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Severity says whether a [Finding] blocks an upload.
type Severity string

// The severities of a finding.
const (
	SeverityError   Severity = "error"   // the document must not be uploaded
	SeverityWarning Severity = "warning" // the document may be uploaded; a person should know
)

// Group says whose rule a [Finding] is. The groups are never mixed: a fake IAM
// enforces exactly GroupIAM.
type Group string

// The groups of findings.
const (
	GroupIAM    Group = "iam"    // rules AWS IAM itself enforces on SAMLMetadataDocument
	GroupPolicy Group = "policy" // voicecert's own rules
)

// Rule names of [Check]. They are stable: reports and tests use them.
const (
	// GroupIAM.
	RuleBOM               = "utf8-no-bom"        // no byte-order mark
	RuleUTF8              = "utf8"               // valid UTF-8
	RuleLength            = "length"             // 1,000 to 10,000,000 characters
	RuleParseable         = "parseable-metadata" // SAML metadata that parses
	RuleEntityID          = "entity-id"          // every entity has an entityID
	RuleKeySize           = "key-size"           // X.509 keys of at least 1024 bits
	RuleRepeatedExtension = "repeated-extension" // no certificate extension twice
	RuleCertificate       = "certificate"        // every X509Certificate parses

	// GroupPolicy.
	RuleIDPSSODescriptor      = "idp-sso-descriptor"      // an IDPSSODescriptor for SAML 2.0 per entity
	RuleSigningCertificate    = "signing-certificate"     // at least one signing certificate per entity
	RuleNewCertificateKey     = "new-certificate-key"     // a new certificate is RSA 2048 or 4096
	RuleNewCertificatePresent = "new-certificate-present" // a new certificate is in the document
	RuleWeakKey               = "weak-key"                // an existing key is not RSA 2048 or 4096
	RuleCertificateExpired    = "certificate-expired"     // a certificate has expired
	RuleCertificateExpiring   = "certificate-expiring"    // a certificate expires soon
	RuleValidUntil            = "valid-until"             // validUntil has passed
)

// IAM's document length limits, in characters (IAM User Guide; aws-iam.md §1.2).
const (
	iamMinLength = 1000
	iamMaxLength = 10_000_000
	iamMinBits   = 1024
)

// Finding is one result of [Check].
type Finding struct {
	Severity Severity // SeverityError refuses the upload; SeverityWarning informs
	Group    Group    // GroupIAM (IAM enforces it) or GroupPolicy (voicecert's own)
	Rule     string   // one of the Rule constants, such as RuleKeySize
	Message  string   // what is wrong and where, in words; never a key or a document
}

// String formats the finding as "error iam/key-size: message".
func (f Finding) String() string {
	return fmt.Sprintf("%s %s/%s: %s", f.Severity, f.Group, f.Rule, f.Message)
}

// Findings is the result of [Check], in the order the rules ran.
type Findings []Finding

// Errors returns the findings of severity error.
func (f Findings) Errors() Findings {
	var out Findings
	for _, x := range f {
		if x.Severity == SeverityError {
			out = append(out, x)
		}
	}
	return out
}

// InGroup returns the findings of group g.
func (f Findings) InGroup(g Group) Findings {
	var out Findings
	for _, x := range f {
		if x.Group == g {
			out = append(out, x)
		}
	}
	return out
}

// Err returns nil when there is no error finding, else one error that lists them.
func (f Findings) Err() error {
	errs := f.Errors()
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, x := range errs {
		msgs[i] = fmt.Sprintf("%s/%s: %s", x.Group, x.Rule, x.Message)
	}
	return fmt.Errorf("samlmeta: metadata fails %d check(s): %s", len(errs), strings.Join(msgs, "; "))
}

// CheckOptions configures [Check].
type CheckOptions struct {
	// Now is the time expiry is judged at. Zero means time.Now().
	Now time.Time
	// NewCertificates holds the SHA-256 fingerprints (lowercase hex) of certificates
	// being added: each must be in the document and be RSA 2048 or 4096 bits.
	NewCertificates []string
	// ExpiryWarning is how long before expiry a certificate gets a warning. Zero
	// means 30 days.
	ExpiryWarning time.Duration
}

// Check runs the pre-upload rules on a metadata document's raw bytes, so that it can
// name a problem that [Parse] would only refuse. Findings of [GroupIAM] are the rules
// IAM enforces (UTF-8 without BOM, 1,000 to 10,000,000 characters, parseable
// metadata with an entityID, X.509 keys of at least 1024 bits, no repeated
// certificate extension); findings of [GroupPolicy] are voicecert's (an
// IDPSSODescriptor for SAML 2.0 and a signing certificate per entity, new
// certificates RSA 2048 or 4096 bits; warnings for weaker existing keys, expired or
// soon-expiring certificates and a past validUntil).
func Check(data []byte, opts CheckOptions) Findings {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	soon := opts.ExpiryWarning
	if soon == 0 {
		soon = 30 * 24 * time.Hour
	}
	var f Findings
	add := func(s Severity, g Group, rule, format string, args ...any) {
		f = append(f, Finding{Severity: s, Group: g, Rule: rule, Message: fmt.Sprintf(format, args...)})
	}

	// Raw bytes.
	if bytes.HasPrefix(data, utf8BOM) {
		add(SeverityError, GroupIAM, RuleBOM, "the document starts with a UTF-8 byte-order mark; IAM refuses it: remove the first 3 bytes")
	}
	valid := utf8.Valid(data)
	if !valid {
		add(SeverityError, GroupIAM, RuleUTF8, "the document is not valid UTF-8; IAM accepts UTF-8 only: re-encode it")
	}
	n := len(data)
	if valid {
		n = utf8.RuneCount(data)
	}
	if n < iamMinLength || n > iamMaxLength {
		add(SeverityError, GroupIAM, RuleLength, "the document has %d characters; IAM accepts %d to %d", n, iamMinLength, iamMaxLength)
	}
	if len(data) > MaxDocumentSize {
		return f
	}

	// Parse without the byte-order mark, so that one problem is reported once.
	body := bytes.TrimPrefix(data, utf8BOM)
	doc, err := decodeMetadata(body)
	if err != nil {
		if !errors.Is(err, errNotUTF8) {
			rule := RuleParseable
			if errors.Is(err, errNoEntityID) {
				rule = RuleEntityID
			}
			add(SeverityError, GroupIAM, rule, "%s", strings.TrimPrefix(err.Error(), "samlmeta: "))
		}
		return f
	}

	// Certificates, IAM rules first: every X509Certificate of every KeyDescriptor.
	newSet := map[string]bool{}
	for _, fp := range opts.NewCertificates {
		newSet[normalizeFingerprint(fp)] = true
	}
	found := map[string]bool{}
	type certAt struct {
		entity string
		cert   *Certificate
		use    string
	}
	var certs []certAt
	byEntity := keyCertificates(body)
	for _, e := range doc.Entities {
		for _, b64 := range byEntity[e.EntityID] {
			where := fmt.Sprintf("entity %q", e.EntityID)
			der, err := decodeBase64(b64.data)
			if err != nil {
				add(SeverityError, GroupIAM, RuleCertificate, "%s: an X509Certificate is not base64", where)
				continue
			}
			fp := Fingerprint(der)
			where = fmt.Sprintf("entity %q: certificate sha256 %s", e.EntityID, fp)
			if rep, err := repeatedExtensions(der); err == nil && len(rep) > 0 {
				add(SeverityError, GroupIAM, RuleRepeatedExtension, "%s repeats extension %s; IAM refuses it", where, strings.Join(rep, ", "))
				continue
			}
			c, err := certificateFromBase64(b64.data)
			if err != nil {
				add(SeverityError, GroupIAM, RuleCertificate, "%s: %v", where, err)
				continue
			}
			if c.KeyType == "RSA" && c.KeyBits < iamMinBits {
				add(SeverityError, GroupIAM, RuleKeySize, "%s has a %d-bit RSA key; IAM requires at least %d bits", where, c.KeyBits, iamMinBits)
			}
			certs = append(certs, certAt{entity: e.EntityID, cert: c, use: b64.use})
			found[c.SHA256] = true
		}
	}

	// voicecert policy.
	signing := map[string]int{}
	for _, c := range certs {
		if c.use == "" || c.use == "signing" {
			signing[c.entity]++
		}
	}
	for _, e := range doc.Entities {
		saml20 := false
		for i := range e.IDPSSODescriptors {
			saml20 = saml20 || e.IDPSSODescriptors[i].SupportsSAML20()
		}
		if !saml20 {
			add(SeverityError, GroupPolicy, RuleIDPSSODescriptor, "entity %q has no IDPSSODescriptor for SAML 2.0 (protocolSupportEnumeration %s)", e.EntityID, ProtocolSAML20)
		}
		if saml20 && signing[e.EntityID] == 0 {
			add(SeverityError, GroupPolicy, RuleSigningCertificate, "entity %q has no signing certificate; a service provider could verify nothing", e.EntityID)
		}
		if !e.ValidUntil.IsZero() && !now.Before(e.ValidUntil) {
			add(SeverityWarning, GroupPolicy, RuleValidUntil, "entity %q validUntil %s has passed", e.EntityID, e.ValidUntil.Format(time.RFC3339))
		}
	}
	if !doc.ValidUntil.IsZero() && !now.Before(doc.ValidUntil) && len(doc.Entities) > 1 {
		add(SeverityWarning, GroupPolicy, RuleValidUntil, "EntitiesDescriptor validUntil %s has passed", doc.ValidUntil.Format(time.RFC3339))
	}
	for _, fp := range opts.NewCertificates {
		if !found[normalizeFingerprint(fp)] {
			add(SeverityError, GroupPolicy, RuleNewCertificatePresent, "new certificate sha256 %s is not in the document", normalizeFingerprint(fp))
		}
	}
	reported := map[string]bool{}
	for _, ca := range certs {
		c := ca.cert
		if reported[c.SHA256] {
			continue
		}
		reported[c.SHA256] = true
		strong := c.KeyType == "RSA" && (c.KeyBits == 2048 || c.KeyBits == 4096)
		switch {
		case newSet[c.SHA256] && !strong:
			add(SeverityError, GroupPolicy, RuleNewCertificateKey, "new certificate %s has a %d-bit %s key; a new certificate must be RSA 2048 or 4096 bits", c, c.KeyBits, c.KeyType)
		case !strong && !(c.KeyType == "RSA" && c.KeyBits < iamMinBits): // else IAM's rule already said it
			add(SeverityWarning, GroupPolicy, RuleWeakKey, "certificate %s has a %d-bit %s key; new certificates must be RSA 2048 or 4096 bits", c, c.KeyBits, c.KeyType)
		}
		switch {
		case now.After(c.NotAfter):
			add(SeverityWarning, GroupPolicy, RuleCertificateExpired, "certificate %s expired on %s (AWS still accepts it; Salesforce may not sign with it)", c, c.NotAfter.UTC().Format(time.RFC3339))
		case now.Add(soon).After(c.NotAfter):
			add(SeverityWarning, GroupPolicy, RuleCertificateExpiring, "certificate %s expires on %s, in %s", c, c.NotAfter.UTC().Format(time.RFC3339), c.NotAfter.Sub(now).Round(time.Hour))
		}
	}
	return f
}

// normalizeFingerprint lowercases a hex fingerprint and drops colons and spaces.
func normalizeFingerprint(fp string) string {
	return strings.ToLower(strings.NewReplacer(":", "", " ", "").Replace(fp))
}

// keyCert is the base64 of one X509Certificate inside a KeyDescriptor, with the
// KeyDescriptor's use.
type keyCert struct {
	data string
	use  string
}

// keyCertificates returns, by entityID, every X509Certificate inside a
// KeyDescriptor of any role, in document order, reading the document once. The
// document has already passed decodeMetadata.
func keyCertificates(data []byte) map[string][]keyCert {
	d := xml.NewDecoder(bytes.NewReader(data))
	out := map[string][]keyCert{}
	var entity string // entityID of the enclosing EntityDescriptor
	var inEntity, inCert bool
	var use []string // use of the enclosing KeyDescriptors
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			return out
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case t.Name.Space == nsMetadata && t.Name.Local == "EntityDescriptor":
				entity, inEntity = attr(t, "entityID"), true
			case inEntity && t.Name.Space == nsMetadata && t.Name.Local == "KeyDescriptor":
				use = append(use, attr(t, "use"))
			case len(use) > 0 && t.Name.Space == nsDSig && t.Name.Local == "X509Certificate":
				inCert = true
				text.Reset()
			}
		case xml.EndElement:
			switch {
			case inCert && t.Name.Space == nsDSig && t.Name.Local == "X509Certificate":
				inCert = false
				out[entity] = append(out[entity], keyCert{data: text.String(), use: use[len(use)-1]})
			case len(use) > 0 && t.Name.Space == nsMetadata && t.Name.Local == "KeyDescriptor":
				use = use[:len(use)-1]
			case t.Name.Space == nsMetadata && t.Name.Local == "EntityDescriptor":
				inEntity = false
			}
		case xml.CharData:
			if inCert {
				text.Write(t)
			}
		}
	}
}

// attr returns the value of an unqualified attribute of a start element.
func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}
