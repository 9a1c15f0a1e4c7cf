package awsidp

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/voicecert/voicecert/samlmeta"
)

// Edit is one change to a provider's document: add a signing certificate to
// the entity whose entityID is EntityID, remove one, or both (a swap: the
// certificate is added, then the other removed). Other entities are not
// touched.
type Edit struct {
	ARN      string // the provider
	EntityID string // the org's issuer (its My Domain URL)

	Add          *x509.Certificate // the certificate to trust; nil: none
	RemoveSHA256 string            // SHA-256 (hex) of the certificate to stop trusting; "": none

	// Expected is the document the caller planned on, as read from IAM. Apply
	// writes nothing unless the provider still holds exactly these bytes.
	Expected []byte

	// RequirePolicy refuses the edit when the result has an error finding of
	// samlmeta's policy group too (an IDPSSODescriptor and a signing
	// certificate per entity, an added certificate RSA 2048 or 4096 bits).
	// The rules IAM enforces are always required.
	RequirePolicy bool
}

// Result is the outcome of [Client.Apply].
type Result struct {
	Previous []byte // the document before the edit: restore it to roll back
	Current  []byte // the document IAM holds now (read back after a write)
	Changed  bool   // a write was made; false when there was nothing to change
}

var sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (e *Edit) validate() error {
	var errs []error
	if _, err := ParseProviderARN(e.ARN); err != nil {
		errs = append(errs, err)
	}
	if e.EntityID == "" {
		errs = append(errs, errors.New("EntityID is empty: give the org's issuer"))
	}
	if e.Add == nil && e.RemoveSHA256 == "" {
		errs = append(errs, errors.New("nothing to do: set Add, RemoveSHA256 or both"))
	}
	if e.RemoveSHA256 != "" && !sha256Pattern.MatchString(e.RemoveSHA256) {
		errs = append(errs, fmt.Errorf("RemoveSHA256 %q is not 64 lowercase hex digits", e.RemoveSHA256))
	}
	if e.Add != nil && samlmeta.Fingerprint(e.Add.Raw) == e.RemoveSHA256 {
		errs = append(errs, errors.New("Add and RemoveSHA256 name the same certificate"))
	}
	if len(e.Expected) == 0 {
		errs = append(errs, errors.New("Expected is empty: pass the document the plan read; awsidp never writes blind"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("awsidp: bad edit: %w: %w", ErrInvalidInput, errors.Join(errs...))
	}
	return nil
}

// Apply edits the provider's current document and writes it back:
//
//  1. read the provider again and require exactly Edit.Expected (else
//     ErrDocumentChanged: IAM has no conditional write, so this read is the
//     guard);
//  2. edit through samlmeta (a certificate already present is not added
//     again, one absent is not removed); if nothing changes, return without
//     writing;
//  3. check the result: samlmeta's IAM-enforced rules (and the policy rules
//     with RequirePolicy), the same entityIDs in the same order, every other
//     entity unchanged, the edited entity's endpoints unchanged and its
//     signing certificates exactly the old ones plus Add minus RemoveSHA256,
//     at least one left; a failure is ErrInvalidMetadata and nothing is
//     written; IAM's quotas (10 keys, 10 entities per provider) hold, else
//     ErrLimitExceeded;
//  4. UpdateSAMLProvider with the ARN and the document only (never
//     AssertionEncryptionMode or private keys);
//  5. read back and compare (ErrNotConfirmed when IAM holds something else).
//
// ErrInvalidMetadata comes either from the local checks (nothing was sent) or
// from IAM refusing the document with InvalidInput; only the latter is an
// [*Error] (errors.As), which tells a caller that IAM itself, not awsidp,
// refused, for instance a document with two signing certificates.
//
// Result.Previous is the document to restore with [Client.Restore]. When
// UpdateSAMLProvider succeeded but the read-back failed or differs, Apply
// returns the Result with the error. When UpdateSAMLProvider itself fails, it
// returns nil and the error; the provider may then hold either document, and
// Edit.Expected is the previous one.
func (c *Client) Apply(ctx context.Context, e Edit) (*Result, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if err := e.validate(); err != nil {
		return nil, err
	}
	log := c.logger().With("arn", e.ARN, "entity_id", e.EntityID)
	current, err := c.document(ctx, e.ARN)
	if err != nil {
		return nil, err
	}
	if err := sameDocument(e.ARN, current, e.Expected); err != nil {
		return nil, err
	}
	out, wantSet, added, err := edit(current, e)
	if err != nil {
		return nil, err
	}
	if bytes.Equal(out, current) {
		log.DebugContext(ctx, "awsidp: nothing to change; no write")
		return &Result{Previous: current, Current: current}, nil
	}
	var newCerts []string
	if added {
		newCerts = []string{samlmeta.Fingerprint(e.Add.Raw)}
	}
	if err := c.checkUpload(e.ARN, current, out, e.EntityID, wantSet, newCerts, e.RequirePolicy); err != nil {
		return nil, err
	}
	res, err := c.write(ctx, e.ARN, current, out)
	if err == nil {
		log.InfoContext(ctx, "awsidp: updated SAML provider", "trusts", strings.Join(wantSet, ","),
			"bytes_before", len(current), "bytes_after", len(res.Current))
	}
	return res, err
}

// edit applies e to doc and returns the new document and the signing
// certificate set the edited entity must end with.
func edit(doc []byte, e Edit) (out []byte, want []string, added bool, err error) {
	parsed, err := samlmeta.Parse(doc)
	if err != nil {
		return nil, nil, false, fmt.Errorf("awsidp: provider %s: its current document does not parse, so it cannot be edited: %w: %w", e.ARN, ErrInvalidMetadata, err)
	}
	entity := parsed.Entity(e.EntityID)
	if entity == nil {
		var ids []string
		for _, x := range parsed.Entities {
			ids = append(ids, x.EntityID)
		}
		return nil, nil, false, fmt.Errorf("awsidp: provider %s has no entity %q (it has: %s); check the org's issuer: %w",
			e.ARN, e.EntityID, strings.Join(ids, ", "), samlmeta.ErrEntityNotFound)
	}
	for _, cert := range entity.SigningCertificates() {
		want = append(want, cert.SHA256)
	}
	out = doc
	if e.Add != nil {
		out, added, err = samlmeta.AddSigningCertificate(out, e.EntityID, e.Add)
		if err != nil {
			return nil, nil, false, fmt.Errorf("awsidp: provider %s: adding the certificate: %w: %w", e.ARN, ErrInvalidMetadata, err)
		}
		if fp := samlmeta.Fingerprint(e.Add.Raw); !slices.Contains(want, fp) {
			want = append(want, fp)
		}
	}
	if e.RemoveSHA256 != "" {
		out, _, err = samlmeta.RemoveSigningCertificate(out, e.EntityID, e.RemoveSHA256)
		if err != nil {
			return nil, nil, false, fmt.Errorf("awsidp: provider %s: removing the certificate: %w: %w", e.ARN, ErrInvalidMetadata, err)
		}
		want = slices.DeleteFunc(want, func(fp string) bool { return fp == e.RemoveSHA256 })
	}
	return out, want, added, nil
}

// checkUpload refuses a document that must not be uploaded in place of old.
// entityID is the edited entity, or "" for a restore (where any entity may
// differ in its certificates, but not in its entityID).
func (c *Client) checkUpload(arn string, old, doc []byte, entityID string, wantSet, newCerts []string, requirePolicy bool) error {
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("awsidp: provider %s: refusing to upload: %w: %s; nothing was written",
			arn, ErrInvalidMetadata, fmt.Sprintf(format, args...))
	}
	findings := samlmeta.Check(doc, samlmeta.CheckOptions{Now: c.now(), NewCertificates: newCerts}).Errors()
	if !requirePolicy {
		findings = findings.InGroup(samlmeta.GroupIAM)
	}
	if err := findings.Err(); err != nil {
		return refuse("%v", err)
	}
	before, err := samlmeta.Parse(old)
	if err != nil {
		// A restore may put back a document that no longer parses with
		// samlmeta but that IAM accepted before; the IAM rules passed above.
		if entityID == "" {
			return nil
		}
		return refuse("the current document does not parse: %v", err)
	}
	after, err := samlmeta.Parse(doc)
	if err != nil {
		return refuse("the new document does not parse: %v", err)
	}
	ids := func(d *samlmeta.Document) []string {
		var s []string
		for _, e := range d.Entities {
			s = append(s, e.EntityID)
		}
		return s
	}
	if n := len(after.Entities); n > maxEntitiesPerProvider {
		return fmt.Errorf("awsidp: provider %s: refusing to upload: %w: the document would hold %d entities; IAM allows %d per SAML provider; nothing was written",
			arn, ErrLimitExceeded, n, maxEntitiesPerProvider)
	}
	if n := countKeys(after); n > maxKeysPerProvider {
		return fmt.Errorf("awsidp: provider %s: refusing to upload: %w: the document would hold %d keys; IAM allows %d per SAML provider: remove certificates no longer used first; nothing was written",
			arn, ErrLimitExceeded, n, maxKeysPerProvider)
	}
	if a, b := ids(before), ids(after); !slices.Equal(a, b) {
		return refuse("the entityIDs would change from [%s] to [%s]", strings.Join(a, ", "), strings.Join(b, ", "))
	}
	if entityID == "" {
		return nil
	}
	for i, x := range before.Entities {
		y := after.Entities[i]
		if x.EntityID != entityID {
			if diffs := samlmeta.CompareEntities(x, y); len(diffs) > 0 {
				return refuse("entity %q would change too: %s", x.EntityID, strings.Join(diffs, "; "))
			}
			continue
		}
		if !slices.Equal(x.SingleSignOnServices(), y.SingleSignOnServices()) {
			return refuse("the SingleSignOnService endpoints of %q would change", entityID)
		}
		var got []string
		for _, cert := range y.SigningCertificates() {
			got = append(got, cert.SHA256)
		}
		if len(got) == 0 {
			return refuse("entity %q would have no signing certificate left", entityID)
		}
		if !sameSet(got, wantSet) {
			return refuse("entity %q would trust [%s], not the planned [%s]", entityID, strings.Join(got, ", "), strings.Join(wantSet, ", "))
		}
	}
	return nil
}

// IAM's quotas on one SAML provider's document ("Keys per SAML provider" and
// "Identity providers associated with an IAM SAML provider object", IAM User
// Guide, IAM quotas). IAM answers LimitExceeded past them; awsidp refuses
// before sending.
const (
	maxKeysPerProvider     = 10
	maxEntitiesPerProvider = 10
)

// countKeys counts the X.509 certificates of every KeyDescriptor of the
// document's identity-provider roles, signing or not.
func countKeys(d *samlmeta.Document) int {
	n := 0
	for _, e := range d.Entities {
		for _, r := range e.IDPSSODescriptors {
			for _, kd := range r.KeyDescriptors {
				n += len(kd.Certificates())
			}
		}
	}
	return n
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// sameDocument returns ErrDocumentChanged, with what differs, unless current
// is byte for byte the document the caller planned on.
func sameDocument(arn string, current, expected []byte) error {
	if bytes.Equal(current, expected) {
		return nil
	}
	detail := "its bytes differ"
	a, errA := samlmeta.Parse(expected)
	b, errB := samlmeta.Parse(current)
	if errA == nil && errB == nil {
		if diffs := samlmeta.CompareDocuments(a, b); len(diffs) > 0 {
			detail = strings.Join(diffs, "; ")
		} else {
			detail = "its bytes differ, though not its entities, endpoints or certificates"
		}
	}
	return fmt.Errorf("%w: provider %s: %s; nothing was written: read the provider and plan again",
		ErrDocumentChanged, arn, detail)
}

// write sends the document with UpdateSAMLProvider (metadata only) and reads it
// back.
func (c *Client) write(ctx context.Context, arn string, previous, doc []byte) (*Result, error) {
	_, err := c.IAM.UpdateSAMLProvider(ctx, &iam.UpdateSAMLProviderInput{
		SAMLProviderArn:      aws.String(arn),
		SAMLMetadataDocument: aws.String(string(doc)),
	}, withoutQuotaRetry)
	if err != nil {
		return nil, awsError("IAM", "UpdateSAMLProvider", err, iamKind("UpdateSAMLProvider"))
	}
	res := &Result{Previous: previous, Changed: true}
	back, err := c.document(ctx, arn)
	if err != nil {
		return res, fmt.Errorf("awsidp: provider %s was updated but could not be read back: %w", arn, err)
	}
	res.Current = back
	if bytes.Equal(back, doc) {
		return res, nil
	}
	a, errA := samlmeta.Parse(doc)
	b, errB := samlmeta.Parse(back)
	if errA == nil && errB == nil {
		diffs := samlmeta.CompareDocuments(a, b)
		if len(diffs) == 0 {
			c.logger().WarnContext(ctx, "awsidp: IAM returned the document with other bytes but the same content", "arn", arn)
			return res, nil
		}
		return res, fmt.Errorf("%w: provider %s holds another document than the one written (%s); another writer may be at work: restore Result.Previous",
			ErrNotConfirmed, arn, strings.Join(diffs, "; "))
	}
	return res, fmt.Errorf("%w: provider %s holds another document than the one written; another writer may be at work: restore Result.Previous",
		ErrNotConfirmed, arn)
}

// Restore puts a previous document back, for a rollback: previous is
// Result.Previous, expected is the document the provider should hold now
// (Result.Current). The same guard as [Client.Apply] applies: the provider is
// read first and must hold exactly expected, or ErrDocumentChanged; if it
// already holds previous, nothing is written. previous must pass the
// IAM-enforced rules and keep the entityIDs. The write is read back and
// compared.
func (c *Client) Restore(ctx context.Context, arn string, previous, expected []byte) error {
	if err := c.check(); err != nil {
		return err
	}
	var errs []error
	if _, err := ParseProviderARN(arn); err != nil {
		errs = append(errs, err)
	}
	if len(previous) == 0 {
		errs = append(errs, errors.New("the previous document is empty"))
	}
	if len(expected) == 0 {
		errs = append(errs, errors.New("the expected current document is empty"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("awsidp: bad restore: %w: %w", ErrInvalidInput, errors.Join(errs...))
	}
	current, err := c.document(ctx, arn)
	if err != nil {
		return err
	}
	if bytes.Equal(current, previous) {
		c.logger().DebugContext(ctx, "awsidp: provider already holds the previous document; no write", "arn", arn)
		return nil
	}
	if err := sameDocument(arn, current, expected); err != nil {
		return err
	}
	if err := c.checkUpload(arn, current, previous, "", nil, nil, false); err != nil {
		return err
	}
	if _, err := c.write(ctx, arn, current, previous); err != nil {
		return err
	}
	c.logger().InfoContext(ctx, "awsidp: restored SAML provider", "arn", arn, "bytes", len(previous))
	return nil
}

// CheckDownloaded cross-checks a metadata document downloaded from the
// identity provider (Salesforce's /.well-known/samlidp.xml): it must parse and
// name entityID with the signing certificate sha256. It is only ever a
// cross-check: never upload those bytes (they are unsigned; HTTPS proves only
// the host). A mismatch wraps ErrMetadataMismatch.
func CheckDownloaded(downloaded []byte, entityID, sha256 string) error {
	doc, err := samlmeta.Parse(downloaded)
	if err != nil {
		return fmt.Errorf("%w: it does not parse: %w", ErrMetadataMismatch, err)
	}
	entity := doc.Entity(entityID)
	if entity == nil {
		var ids []string
		for _, e := range doc.Entities {
			ids = append(ids, e.EntityID)
		}
		return fmt.Errorf("%w: it names entityID %s, not %q", ErrMetadataMismatch, strings.Join(ids, ", "), entityID)
	}
	var fps []string
	for _, cert := range entity.SigningCertificates() {
		if cert.SHA256 == sha256 {
			return nil
		}
		fps = append(fps, cert.SHA256)
	}
	return fmt.Errorf("%w: entity %q signs with [%s], not %s; the identity provider may not have switched yet",
		ErrMetadataMismatch, entityID, strings.Join(fps, ", "), sha256)
}
