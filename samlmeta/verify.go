package samlmeta

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// ErrSignature is wrapped by every error of [VerifyResponse] about the response it
// was given: a missing, invalid or untrusted signature, a response shaped to smuggle
// unsigned content (signature wrapping), and input refused as hostile XML.
var ErrSignature = errors.New("samlmeta: SAML response signature not verified")

// VerifyOptions configures [VerifyResponse].
type VerifyOptions struct {
	// Trusted holds the certificates a signature may verify against, tried one at a
	// time. A certificate in the signature's KeyInfo is never trusted for being there.
	Trusted []*x509.Certificate
	// Now is the time certificate validity is judged at. Zero means time.Now().
	Now time.Time
	// AllowExpired accepts a trusted certificate outside its validity period, as AWS
	// does: the signature is then checked as if at a moment inside that validity.
	AllowExpired bool
}

// VerifiedResponse holds what [VerifyResponse] verified. Every value comes from a
// signed, verified tree.
type VerifiedResponse struct {
	// Signer is the trusted certificate that verified the Assertion's signature.
	Signer *Certificate
	// ResponseSigned reports whether the Response itself carried a signature (it was
	// then verified). ID, Destination, InResponseTo, Issuer, IssueInstant and Status
	// are set only when it did: an unsigned Response's values are not trustworthy.
	ResponseSigned bool
	// ResponseSigner is the trusted certificate that verified the Response's
	// signature, when ResponseSigned.
	ResponseSigner *Certificate
	// Warnings lists what was accepted but should be known, such as SHA-1.
	Warnings []string

	ID, Destination, InResponseTo, Issuer string
	IssueInstant                          time.Time
	// Status is the top-level StatusCode value, such as
	// "urn:oasis:names:tc:SAML:2.0:status:Success".
	Status string

	Assertion VerifiedAssertion
}

// VerifiedAssertion holds the verified values of a response's Assertion (SAML core
// §2.3.3). Conditions and SubjectConfirmationData are reported, not enforced: the
// caller decides what time window and audience it accepts.
type VerifiedAssertion struct {
	ID, Issuer, NameID, NameIDFormat      string
	IssueInstant, NotBefore, NotOnOrAfter time.Time // NotBefore and NotOnOrAfter of Conditions
	SubjectNotOnOrAfter                   time.Time // of the bearer SubjectConfirmationData
	Recipient                             string    // of the bearer SubjectConfirmationData
	Audiences                             []string
	Attributes                            []Attribute // in document order
}

// Attribute is a SAML attribute with its values (SAML core §2.7.3.1).
type Attribute struct {
	Name   string
	Values []string
}

// Attribute returns the values of the first attribute with the given name, or nil.
func (a VerifiedAssertion) Attribute(name string) []string {
	for _, x := range a.Attributes {
		if x.Name == name {
			return x.Values
		}
	}
	return nil
}

// VerifyResponse verifies a SAMLResponse (the decoded XML, not base64) against
// trusted certificates. The response must hold exactly one Assertion, a direct child
// of the Response, whose enveloped signature verifies; a Response signature, when
// present, must verify too, and the Assertion is then taken from the verified
// Response. Each trusted certificate is tried on its own, and the one that verified is
// reported. Signatures with RSA-SHA1 or a SHA-1 digest are accepted with a warning.
// Every error about the response wraps [ErrSignature].
func VerifyResponse(xml []byte, opts VerifyOptions) (*VerifiedResponse, error) {
	if len(opts.Trusted) == 0 {
		return nil, errors.New("samlmeta: verify SAML response: no trusted certificates given")
	}
	for i, c := range opts.Trusted {
		if c == nil {
			return nil, fmt.Errorf("samlmeta: verify SAML response: trusted certificate %d is nil", i+1)
		}
	}
	root, err := readResponse(xml)
	if err != nil {
		return nil, err
	}

	if err := refuseLookalikeSignatures(root, "Response"); err != nil {
		return nil, err
	}
	out := &VerifiedResponse{}
	source := root
	if len(directSignatures(root)) > 0 {
		verified, signer, warns, err := verifyElement(root, "Response", opts)
		if err != nil {
			return nil, err
		}
		out.ResponseSigned = true
		out.ResponseSigner = NewCertificate(signer)
		out.Warnings = append(out.Warnings, warns...)
		source = verified
		if err := readResponseValues(verified, out); err != nil {
			return nil, err
		}
	}
	assertion, err := singleAssertion(source)
	if err != nil {
		return nil, err
	}
	verified, signer, warns, err := verifyElement(assertion, "Assertion", opts)
	if err != nil {
		return nil, err
	}
	out.Signer = NewCertificate(signer)
	out.Warnings = append(out.Warnings, warns...)
	if err := readAssertionValues(verified, &out.Assertion); err != nil {
		return nil, err
	}
	return out, nil
}

// readResponse refuses hostile XML and returns the root, which must be a
// samlp:Response.
func readResponse(data []byte) (*etree.Element, error) {
	name, err := checkXML(data, "SAML response")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	if name.Space != nsProtocol || name.Local != "Response" {
		return nil, fmt.Errorf("%w: the root is {%s}%s, not a SAML 2.0 protocol Response", ErrSignature, name.Space, name.Local)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("%w: read SAML response: %v", ErrSignature, err)
	}
	return doc.Root(), nil
}

// singleAssertion returns the one Assertion of a Response. Any other count of
// Assertion elements anywhere in the tree, an Assertion that is not a direct child,
// or an EncryptedAssertion is refused: these are the shapes of signature wrapping.
func singleAssertion(response *etree.Element) (*etree.Element, error) {
	var found []*etree.Element
	encrypted := false
	var walk func(el *etree.Element)
	walk = func(el *etree.Element) {
		for _, c := range el.ChildElements() {
			if c.Tag == "Assertion" && c.NamespaceURI() == nsAssertion {
				found = append(found, c)
			}
			if c.Tag == "EncryptedAssertion" && c.NamespaceURI() == nsAssertion {
				encrypted = true
			}
			walk(c)
		}
	}
	walk(response)
	switch {
	case encrypted:
		return nil, fmt.Errorf("%w: the response holds an EncryptedAssertion, which this package does not decrypt", ErrSignature)
	case len(found) == 0:
		return nil, fmt.Errorf("%w: the response holds no Assertion", ErrSignature)
	case len(found) > 1:
		return nil, fmt.Errorf("%w: the response holds %d Assertion elements; exactly one is allowed (more is the shape of signature wrapping)", ErrSignature, len(found))
	case found[0].Parent() != response:
		return nil, fmt.Errorf("%w: the Assertion is not a direct child of the Response (the shape of signature wrapping)", ErrSignature)
	}
	return found[0], nil
}

// directSignatures returns the ds:Signature children of el.
func directSignatures(el *etree.Element) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if isElement(c, nsDSig, "Signature") {
			out = append(out, c)
		}
	}
	return out
}

// refuseLookalikeSignatures refuses a child named Signature outside the XML
// Signature namespace: no real response has one, and it would otherwise pass for an
// unsigned element whose signature is simply absent.
func refuseLookalikeSignatures(el *etree.Element, what string) error {
	for _, c := range el.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() != nsDSig {
			return fmt.Errorf("%w: the %s has a Signature element in namespace %q, not %s", ErrSignature, what, c.NamespaceURI(), nsDSig)
		}
	}
	return nil
}

// verifyElement verifies the enveloped signature of el, a direct child ds:Signature
// with one Reference to el's ID, against each trusted certificate in turn. It
// returns the verified tree (parsed from the canonical bytes the digest covered), the
// certificate that verified it, and warnings.
func verifyElement(el *etree.Element, what string, opts VerifyOptions) (*etree.Element, *x509.Certificate, []string, error) {
	id := el.SelectAttrValue("ID", "")
	if id == "" {
		return nil, nil, nil, fmt.Errorf("%w: the %s has no ID", ErrSignature, what)
	}
	if err := refuseLookalikeSignatures(el, what); err != nil {
		return nil, nil, nil, err
	}
	sigs := directSignatures(el)
	switch len(sigs) {
	case 0:
		return nil, nil, nil, fmt.Errorf("%w: the %s is not signed", ErrSignature, what)
	case 1:
	default:
		return nil, nil, nil, fmt.Errorf("%w: the %s has %d signatures; one is allowed", ErrSignature, what, len(sigs))
	}
	warns, err := checkSignedInfo(sigs[0], id, what)
	if err != nil {
		return nil, nil, nil, err
	}

	// A standalone copy with every namespace in scope declared, so canonicalization
	// sees what it would see in place; without KeyInfo, so the trusted certificate
	// is the only key goxmldsig can use.
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: the %s: %v", ErrSignature, what, err)
	}
	detached, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: the %s: %v", ErrSignature, what, err)
	}
	for _, s := range directSignatures(detached) {
		for _, ki := range s.ChildElements() {
			if isElement(ki, nsDSig, "KeyInfo") {
				s.RemoveChild(ki)
			}
		}
	}

	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	var reasons []string
	for i, cert := range opts.Trusted {
		at := now
		if outside(cert, now) {
			if !opts.AllowExpired {
				reasons = append(reasons, fmt.Sprintf("trusted certificate %d (sha256 %s) is not valid at %s", i+1, Fingerprint(cert.Raw), now.UTC().Format(time.RFC3339)))
				continue
			}
			at = cert.NotAfter
			if now.Before(cert.NotBefore) {
				at = cert.NotBefore
			}
		}
		vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
		vc.Clock = dsig.NewFakeClockAt(at)
		verified, err := vc.Validate(detached)
		if err != nil {
			reasons = append(reasons, fmt.Sprintf("trusted certificate %d (sha256 %s): %v", i+1, Fingerprint(cert.Raw), err))
			continue
		}
		if verified.Tag != el.Tag || verified.SelectAttrValue("ID", "") != id {
			return nil, nil, nil, fmt.Errorf("%w: the verified %s is not the element that was signed", ErrSignature, what)
		}
		if at != now {
			warns = append(warns, fmt.Sprintf("the %s was signed by certificate sha256 %s, valid %s to %s, outside that time (accepted: expired certificates allowed)",
				what, Fingerprint(cert.Raw), cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339)))
		}
		return verified, cert, warns, nil
	}
	return nil, nil, nil, fmt.Errorf("%w: the %s signature verifies with no trusted certificate: %s", ErrSignature, what, strings.Join(reasons, "; "))
}

// outside reports whether t is outside the certificate's validity.
func outside(c *x509.Certificate, t time.Time) bool {
	return t.Before(c.NotBefore) || t.After(c.NotAfter)
}

// SHA-1 identifiers of XML Signature.
const (
	algRSASHA1   = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	algRSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	algSHA1      = "http://www.w3.org/2000/09/xmldsig#sha1"
	algSHA256    = "http://www.w3.org/2001/04/xmlenc#sha256"
)

// checkSignedInfo requires exactly one Reference, to #id, and reports SHA-1 use.
func checkSignedInfo(sig *etree.Element, id, what string) ([]string, error) {
	var signedInfo *etree.Element
	for _, c := range sig.ChildElements() {
		if isElement(c, nsDSig, "SignedInfo") {
			if signedInfo != nil {
				return nil, fmt.Errorf("%w: the %s signature has two SignedInfo elements", ErrSignature, what)
			}
			signedInfo = c
		}
	}
	if signedInfo == nil {
		return nil, fmt.Errorf("%w: the %s signature has no SignedInfo", ErrSignature, what)
	}
	var refs []*etree.Element
	var warns []string
	for _, c := range signedInfo.ChildElements() {
		switch {
		case isElement(c, nsDSig, "Reference"):
			refs = append(refs, c)
		case isElement(c, nsDSig, "SignatureMethod") && c.SelectAttrValue("Algorithm", "") == algRSASHA1:
			warns = append(warns, fmt.Sprintf("the %s is signed with RSA-SHA1; SHA-1 is deprecated: switch the signer to RSA-SHA256", what))
		}
	}
	if len(refs) != 1 {
		return nil, fmt.Errorf("%w: the %s signature has %d References; one is allowed", ErrSignature, what, len(refs))
	}
	if uri := refs[0].SelectAttrValue("URI", ""); uri != "#"+id {
		return nil, fmt.Errorf("%w: the %s signature references %q, not the %s's ID", ErrSignature, what, uri, what)
	}
	for _, c := range refs[0].ChildElements() {
		if isElement(c, nsDSig, "DigestMethod") && c.SelectAttrValue("Algorithm", "") == algSHA1 {
			warns = append(warns, fmt.Sprintf("the %s signature digests with SHA-1, which is deprecated", what))
		}
	}
	return warns, nil
}

// readResponseValues reads the Response's own values from its verified tree.
func readResponseValues(r *etree.Element, out *VerifiedResponse) error {
	var err error
	out.ID = r.SelectAttrValue("ID", "")
	out.Destination = r.SelectAttrValue("Destination", "")
	out.InResponseTo = r.SelectAttrValue("InResponseTo", "")
	if out.IssueInstant, err = parseDateTime(r.SelectAttrValue("IssueInstant", ""), "Response IssueInstant"); err != nil {
		return fmt.Errorf("%w: %w", ErrSignature, err)
	}
	if iss := child(r, nsAssertion, "Issuer"); iss != nil {
		out.Issuer = text(iss)
	}
	if st := child(r, nsProtocol, "Status"); st != nil {
		if code := child(st, nsProtocol, "StatusCode"); code != nil {
			out.Status = code.SelectAttrValue("Value", "")
		}
	}
	return nil
}

// readAssertionValues reads an Assertion's values from its verified tree.
func readAssertionValues(a *etree.Element, out *VerifiedAssertion) error {
	var errs []error
	readTime := func(el *etree.Element, attr string, dst *time.Time) {
		t, err := parseDateTime(el.SelectAttrValue(attr, ""), el.Tag+" "+attr)
		*dst = t
		errs = append(errs, err)
	}
	out.ID = a.SelectAttrValue("ID", "")
	readTime(a, "IssueInstant", &out.IssueInstant)
	if iss := child(a, nsAssertion, "Issuer"); iss != nil {
		out.Issuer = text(iss)
	}
	if subject := child(a, nsAssertion, "Subject"); subject != nil {
		if n := child(subject, nsAssertion, "NameID"); n != nil {
			out.NameID = text(n)
			out.NameIDFormat = n.SelectAttrValue("Format", "")
		}
		for _, sc := range children(subject, nsAssertion, "SubjectConfirmation") {
			if sc.SelectAttrValue("Method", "") != "urn:oasis:names:tc:SAML:2.0:cm:bearer" {
				continue
			}
			if d := child(sc, nsAssertion, "SubjectConfirmationData"); d != nil {
				out.Recipient = d.SelectAttrValue("Recipient", "")
				readTime(d, "NotOnOrAfter", &out.SubjectNotOnOrAfter)
			}
			break
		}
	}
	if cond := child(a, nsAssertion, "Conditions"); cond != nil {
		readTime(cond, "NotBefore", &out.NotBefore)
		readTime(cond, "NotOnOrAfter", &out.NotOnOrAfter)
		for _, ar := range children(cond, nsAssertion, "AudienceRestriction") {
			for _, au := range children(ar, nsAssertion, "Audience") {
				out.Audiences = append(out.Audiences, text(au))
			}
		}
	}
	for _, st := range children(a, nsAssertion, "AttributeStatement") {
		for _, at := range children(st, nsAssertion, "Attribute") {
			attr := Attribute{Name: at.SelectAttrValue("Name", "")}
			for _, v := range children(at, nsAssertion, "AttributeValue") {
				attr.Values = append(attr.Values, text(v))
			}
			out.Attributes = append(out.Attributes, attr)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrSignature, err)
	}
	return nil
}

// child returns the first child {ns}local of el, or nil.
func child(el *etree.Element, ns, local string) *etree.Element {
	for _, c := range el.ChildElements() {
		if isElement(c, ns, local) {
			return c
		}
	}
	return nil
}

// children returns the children {ns}local of el.
func children(el *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if isElement(c, ns, local) {
			out = append(out, c)
		}
	}
	return out
}

// text returns all the character data directly inside el, joined. Reading only the
// first text node would let a comment split a value (the NameID comment attack).
func text(el *etree.Element) string {
	var b strings.Builder
	for _, t := range el.Child {
		if cd, ok := t.(*etree.CharData); ok {
			b.WriteString(cd.Data)
		}
	}
	return strings.TrimSpace(b.String())
}
