package iamtest

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/jonboulle/clockwork"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// This file checks a SAML Response the way STS does before it looks at any claim:
// shape, then XML signatures against the provider's certificates. It uses goxmldsig
// directly, never samlmeta, so that the verifier under test and this fake cannot
// share a bug.

const (
	samlpNS = "urn:oasis:names:tc:SAML:2.0:protocol"
	samlNS  = "urn:oasis:names:tc:SAML:2.0:assertion"
)

// errSignature is the failure STS reports as "Response signature invalid".
var errSignature = errors.New("response signature invalid")

// verified is the outcome of verifyResponse. Every field comes from signed bytes,
// except response when only the Assertion is signed.
type verified struct {
	response  *etree.Element // the Response; from signed bytes when responseSigned
	assertion *etree.Element // the Assertion, from signed bytes
	signer    *x509.Certificate
	// responseSigned reports whether the Response carried a valid signature.
	responseSigned bool
}

// parseResponse parses a decoded SAMLResponse and returns its root and its one
// Assertion. It refuses a DOCTYPE, a root that is not samlp:Response, encrypted
// assertions (not modelled) and any number of assertions but one.
func parseResponse(data []byte) (*etree.Element, *etree.Element, error) {
	d := etree.NewDocument()
	if err := d.ReadFromBytes(data); err != nil {
		return nil, nil, fmt.Errorf("not well-formed XML: %v", err)
	}
	for _, tok := range d.Child {
		if _, ok := tok.(*etree.Directive); ok {
			return nil, nil, errors.New("has a DOCTYPE or other directive")
		}
	}
	root := d.Root()
	if root == nil || !is(root, samlpNS, "Response") {
		return nil, nil, errors.New("root is not a samlp:Response")
	}
	var assertions []*etree.Element
	for _, c := range root.ChildElements() {
		switch {
		case is(c, samlNS, "Assertion"):
			assertions = append(assertions, c)
		case is(c, samlNS, "EncryptedAssertion"):
			return nil, nil, errors.New("encrypted assertions are not modelled by iamtest")
		case !allowedChild(responseChildren, c):
			return nil, nil, fmt.Errorf("unexpected element {%s}%s in Response", c.NamespaceURI(), c.Tag)
		}
	}
	if len(assertions) != 1 {
		return nil, nil, fmt.Errorf("has %d assertions, want exactly one", len(assertions))
	}
	for _, c := range assertions[0].ChildElements() {
		if !allowedChild(assertionChildren, c) {
			return nil, nil, fmt.Errorf("unexpected element {%s}%s in Assertion", c.NamespaceURI(), c.Tag)
		}
	}
	return root, assertions[0], nil
}

// The content models of samlp:Response and saml:Assertion (SAML core §3.2.2, §2.3.3).
// An element outside them is refused, as a schema-aware parser would: otherwise a
// signature moved out of the XML-DSig namespace would pass for an unsigned extra
// element.
var (
	responseChildren = []struct{ ns, tag string }{
		{samlNS, "Issuer"}, {dsigNS, "Signature"}, {samlpNS, "Extensions"}, {samlpNS, "Status"},
	}
	assertionChildren = []struct{ ns, tag string }{
		{samlNS, "Issuer"}, {dsigNS, "Signature"}, {samlNS, "Subject"}, {samlNS, "Conditions"}, {samlNS, "Advice"},
		{samlNS, "Statement"}, {samlNS, "AuthnStatement"}, {samlNS, "AuthzDecisionStatement"}, {samlNS, "AttributeStatement"},
	}
)

func allowedChild(allowed []struct{ ns, tag string }, el *etree.Element) bool {
	for _, a := range allowed {
		if is(el, a.ns, a.tag) {
			return true
		}
	}
	return false
}

// verifyResponse verifies the enveloped signatures of a Response (root, from
// parseResponse) against trusted, tried one at a time in order. Every signature
// present, on the Response and on the Assertion, must verify with a trusted
// certificate, and at least one must be present. The certificate in KeyInfo is
// ignored: only the trusted keys count. Expired certificates are accepted, as AWS
// does: each is checked at a time inside its own validity.
//
// The returned elements are rebuilt from the canonical bytes the signatures cover,
// so wrapped or unsigned content cannot reach the claim checks.
func verifyResponse(root *etree.Element, trusted []*x509.Certificate) (*verified, error) {
	assertion, err := onlyChild(root, samlNS, "Assertion")
	if err != nil {
		return nil, err
	}
	responseSigned := signatureOf(root) != nil
	assertionSigned := signatureOf(assertion) != nil
	if !responseSigned && !assertionSigned {
		return nil, fmt.Errorf("%w: neither the Response nor the Assertion is signed", errSignature)
	}
	v := &verified{response: root, responseSigned: responseSigned}
	if responseSigned {
		el, cert, err := validateAny(root, trusted)
		if err != nil {
			return nil, fmt.Errorf("%w: Response: %v", errSignature, err)
		}
		v.response, v.signer = el, cert
		if v.assertion, err = onlyChild(el, samlNS, "Assertion"); err != nil {
			return nil, err
		}
	}
	if assertionSigned {
		ctx, err := etreeutils.NSBuildParentContext(assertion)
		if err != nil {
			return nil, fmt.Errorf("%w: Assertion namespaces: %v", errSignature, err)
		}
		detached, err := etreeutils.NSDetatch(ctx, assertion)
		if err != nil {
			return nil, fmt.Errorf("%w: Assertion namespaces: %v", errSignature, err)
		}
		el, cert, err := validateAny(detached, trusted)
		if err != nil {
			return nil, fmt.Errorf("%w: Assertion: %v", errSignature, err)
		}
		v.assertion, v.signer = el, cert
	}
	return v, nil
}

// validateAny returns the element verified by the first trusted certificate that
// verifies el's enveloped signature.
func validateAny(el *etree.Element, trusted []*x509.Certificate) (*etree.Element, *x509.Certificate, error) {
	if len(trusted) == 0 {
		return nil, nil, errors.New("no trusted certificate")
	}
	var errs []error
	for _, cert := range trusted {
		out, err := validateWith(el, cert)
		if err == nil {
			return out, cert, nil
		}
		errs = append(errs, err)
	}
	return nil, nil, errors.Join(errs...)
}

// validateWith verifies el's own enveloped signature with cert's key alone: KeyInfo
// is removed from a copy first, so goxmldsig falls back to its single root.
func validateWith(el *etree.Element, cert *x509.Certificate) (*etree.Element, error) {
	cp := el.Copy()
	sig := signatureOf(cp)
	if sig == nil {
		return nil, errors.New("no signature")
	}
	for _, ki := range sig.ChildElements() {
		if is(ki, dsigNS, "KeyInfo") {
			sig.RemoveChild(ki)
		}
	}
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	ctx.Clock = dsig.NewFakeClock(clockwork.NewFakeClockAt(cert.NotBefore))
	return ctx.Validate(cp)
}

// signatureOf returns el's direct ds:Signature child, or nil.
func signatureOf(el *etree.Element) *etree.Element {
	for _, c := range el.ChildElements() {
		if is(c, dsigNS, "Signature") {
			return c
		}
	}
	return nil
}

func onlyChild(el *etree.Element, ns, tag string) (*etree.Element, error) {
	var found *etree.Element
	for _, c := range el.ChildElements() {
		if is(c, ns, tag) {
			if found != nil {
				return nil, fmt.Errorf("more than one %s", tag)
			}
			found = c
		}
	}
	if found == nil {
		return nil, fmt.Errorf("no %s", tag)
	}
	return found, nil
}

func firstChild(el *etree.Element, ns, tag string) *etree.Element {
	if el == nil {
		return nil
	}
	for _, c := range el.ChildElements() {
		if is(c, ns, tag) {
			return c
		}
	}
	return nil
}

// claims are what STS reads from a verified Assertion.
type claims struct {
	id            string
	issuer        string
	issueInstant  time.Time
	nameID        string
	nameIDFormat  string
	notBefore     time.Time // zero when absent
	notOnOrAfter  time.Time // zero when absent
	audiences     []string
	confirmations []confirmation
	// sessionNotOnOrAfter is the AuthnStatement's SessionNotOnOrAfter; zero when absent.
	sessionNotOnOrAfter time.Time
	attributes          map[string][]string
}

type confirmation struct {
	method       string
	recipient    string
	notOnOrAfter time.Time
}

// readClaims reads the claims of a verified Assertion.
func readClaims(a *etree.Element) (*claims, error) {
	c := &claims{id: a.SelectAttrValue("ID", ""), attributes: map[string][]string{}}
	var err error
	if c.issueInstant, err = parseTime(a.SelectAttrValue("IssueInstant", "")); err != nil {
		return nil, fmt.Errorf("Assertion IssueInstant: %v", err)
	}
	if iss := firstChild(a, samlNS, "Issuer"); iss != nil {
		c.issuer = strings.TrimSpace(iss.Text())
	}
	if subj := firstChild(a, samlNS, "Subject"); subj != nil {
		if n := firstChild(subj, samlNS, "NameID"); n != nil {
			c.nameID = strings.TrimSpace(n.Text())
			c.nameIDFormat = n.SelectAttrValue("Format", "")
		}
		for _, sc := range subj.ChildElements() {
			if !is(sc, samlNS, "SubjectConfirmation") {
				continue
			}
			conf := confirmation{method: sc.SelectAttrValue("Method", "")}
			if d := firstChild(sc, samlNS, "SubjectConfirmationData"); d != nil {
				conf.recipient = d.SelectAttrValue("Recipient", "")
				if v := d.SelectAttrValue("NotOnOrAfter", ""); v != "" {
					if conf.notOnOrAfter, err = parseTime(v); err != nil {
						return nil, fmt.Errorf("SubjectConfirmationData NotOnOrAfter: %v", err)
					}
				}
			}
			c.confirmations = append(c.confirmations, conf)
		}
	}
	if cond := firstChild(a, samlNS, "Conditions"); cond != nil {
		if v := cond.SelectAttrValue("NotBefore", ""); v != "" {
			if c.notBefore, err = parseTime(v); err != nil {
				return nil, fmt.Errorf("Conditions NotBefore: %v", err)
			}
		}
		if v := cond.SelectAttrValue("NotOnOrAfter", ""); v != "" {
			if c.notOnOrAfter, err = parseTime(v); err != nil {
				return nil, fmt.Errorf("Conditions NotOnOrAfter: %v", err)
			}
		}
		for _, ar := range cond.ChildElements() {
			if !is(ar, samlNS, "AudienceRestriction") {
				continue
			}
			for _, au := range ar.ChildElements() {
				if is(au, samlNS, "Audience") {
					c.audiences = append(c.audiences, strings.TrimSpace(au.Text()))
				}
			}
		}
	}
	if as := firstChild(a, samlNS, "AuthnStatement"); as != nil {
		if v := as.SelectAttrValue("SessionNotOnOrAfter", ""); v != "" {
			if c.sessionNotOnOrAfter, err = parseTime(v); err != nil {
				return nil, fmt.Errorf("AuthnStatement SessionNotOnOrAfter: %v", err)
			}
		}
	}
	for _, st := range a.ChildElements() {
		if !is(st, samlNS, "AttributeStatement") {
			continue
		}
		for _, at := range st.ChildElements() {
			if !is(at, samlNS, "Attribute") {
				continue
			}
			name := at.SelectAttrValue("Name", "")
			for _, v := range at.ChildElements() {
				if is(v, samlNS, "AttributeValue") {
					c.attributes[name] = append(c.attributes[name], strings.TrimSpace(v.Text()))
				}
			}
		}
	}
	return c, nil
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("missing")
	}
	return time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
}
