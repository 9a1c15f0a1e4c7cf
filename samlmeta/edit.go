package samlmeta

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/beevik/etree"
)

// ErrEntityNotFound is returned by the edits when the document has no entity with
// the given entityID.
var ErrEntityNotFound = errors.New("samlmeta: no entity with that entityID in the document")

// AddSigningCertificate adds cert as a new KeyDescriptor use="signing" of the first
// SAML 2.0 IDPSSODescriptor of the entity with the given entityID, after its existing
// KeyDescriptors. The document is edited through a DOM: every other element,
// attribute and text stays as it was (exclusive-canonical XML is unchanged outside
// the new KeyDescriptor). When the entity already has cert as a signing certificate,
// it returns doc unchanged and changed=false.
func AddSigningCertificate(doc []byte, entityID string, cert *x509.Certificate) (out []byte, changed bool, err error) {
	if cert == nil {
		return nil, false, errors.New("samlmeta: add signing certificate: no certificate given")
	}
	parsed, err := Parse(doc)
	if err != nil {
		return nil, false, err
	}
	entity := parsed.Entity(entityID)
	if entity == nil {
		return nil, false, fmt.Errorf("%w: %q", ErrEntityNotFound, entityID)
	}
	fp := Fingerprint(cert.Raw)
	for _, c := range entity.SigningCertificates() {
		if c.SHA256 == fp {
			return doc, false, nil
		}
	}

	tree, el, err := loadEntity(doc, entityID)
	if err != nil {
		return nil, false, err
	}
	idp := firstIDPSSODescriptor(el)
	if idp == nil {
		return nil, false, fmt.Errorf("samlmeta: add signing certificate: entity %q has no IDPSSODescriptor for SAML 2.0", entityID)
	}

	// Place it after the last KeyDescriptor; without one, where the schema puts the
	// first (after ds:Signature and Extensions).
	var after *etree.Element
	for _, c := range idp.ChildElements() {
		switch {
		case isElement(c, nsMetadata, "KeyDescriptor"),
			after == nil && isElement(c, nsDSig, "Signature"),
			after == nil && isElement(c, nsMetadata, "Extensions"):
			after = c
		}
	}
	indent, unit := indentation(idp)
	kd := newKeyDescriptor(idp, cert, indent, unit)
	pos := 0
	if after != nil {
		pos = after.Index() + 1
	}
	idp.InsertChildAt(pos, kd)
	idp.InsertChildAt(pos, etree.NewText(indent))

	out, err = writeConfirmed(tree, "add signing certificate", entityID, fp, true)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// RemoveSigningCertificate removes the KeyDescriptor that holds the signing
// certificate whose SHA-256 fingerprint (hex, any case, colons allowed) is given, from
// the entity with the given entityID. Everything else stays as it was. When the entity
// has no such certificate, it returns doc unchanged and changed=false. It refuses to
// remove the entity's last signing certificate.
func RemoveSigningCertificate(doc []byte, entityID string, sha256 string) (out []byte, changed bool, err error) {
	fp := normalizeFingerprint(sha256)
	if len(fp) != 64 || strings.Trim(fp, "0123456789abcdef") != "" {
		return nil, false, fmt.Errorf("samlmeta: remove signing certificate: %q is not a SHA-256 fingerprint (64 hex digits)", sha256)
	}
	parsed, err := Parse(doc)
	if err != nil {
		return nil, false, err
	}
	entity := parsed.Entity(entityID)
	if entity == nil {
		return nil, false, fmt.Errorf("%w: %q", ErrEntityNotFound, entityID)
	}
	present, others := false, 0
	for _, c := range entity.SigningCertificates() {
		if c.SHA256 == fp {
			present = true
		} else {
			others++
		}
	}
	if !present {
		return doc, false, nil
	}
	// Counted by fingerprint: the same certificate in two KeyDescriptors is still
	// the last one.
	if others == 0 {
		return nil, false, fmt.Errorf("samlmeta: remove signing certificate: sha256 %s is the last signing certificate of entity %q; add its successor first", fp, entityID)
	}

	tree, el, err := loadEntity(doc, entityID)
	if err != nil {
		return nil, false, err
	}
	removed := 0
	for _, role := range el.ChildElements() {
		if !isElement(role, nsMetadata, "IDPSSODescriptor") {
			continue
		}
		for _, kd := range role.ChildElements() {
			if !isElement(kd, nsMetadata, "KeyDescriptor") || !holdsCertificate(kd, fp) {
				continue
			}
			if use := kd.SelectAttrValue("use", ""); use != "" && use != "signing" {
				continue
			}
			if n := countCertificates(kd); n > 1 {
				return nil, false, fmt.Errorf("samlmeta: remove signing certificate: sha256 %s of entity %q shares its KeyDescriptor with %d other certificates, which removing it would drop too; split that KeyDescriptor first", fp, entityID, n-1)
			}
			removeWithIndent(role, kd)
			removed++
		}
	}
	if removed == 0 {
		return nil, false, fmt.Errorf("samlmeta: remove signing certificate: sha256 %s of entity %q was not found in the DOM", fp, entityID)
	}
	out, err = writeConfirmed(tree, "remove signing certificate", entityID, fp, false)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// loadEntity reads doc into a DOM and finds the EntityDescriptor with entityID.
func loadEntity(doc []byte, entityID string) (*etree.Document, *etree.Element, error) {
	tree := etree.NewDocument()
	if err := tree.ReadFromBytes(doc); err != nil {
		return nil, nil, fmt.Errorf("samlmeta: read metadata: %w", err)
	}
	var found *etree.Element
	var walk func(el *etree.Element)
	walk = func(el *etree.Element) {
		switch {
		case found != nil:
		case isElement(el, nsMetadata, "EntityDescriptor"):
			if el.SelectAttrValue("entityID", "") == entityID {
				found = el
			}
		case isElement(el, nsMetadata, "EntitiesDescriptor"):
			for _, c := range el.ChildElements() {
				walk(c)
			}
		}
	}
	if root := tree.Root(); root != nil {
		walk(root)
	}
	if found == nil {
		return nil, nil, fmt.Errorf("%w: %q", ErrEntityNotFound, entityID)
	}
	return tree, found, nil
}

// firstIDPSSODescriptor returns the entity's first IDPSSODescriptor that supports
// SAML 2.0.
func firstIDPSSODescriptor(entity *etree.Element) *etree.Element {
	for _, c := range entity.ChildElements() {
		if !isElement(c, nsMetadata, "IDPSSODescriptor") {
			continue
		}
		d := IDPSSODescriptor{ProtocolSupportEnumeration: c.SelectAttrValue("protocolSupportEnumeration", "")}
		if d.SupportsSAML20() {
			return c
		}
	}
	return nil
}

// newKeyDescriptor builds <KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>
// <ds:X509Certificate> for cert, with the prefixes in scope at parent (declaring the
// XML Signature namespace when none is) and the document's indentation.
func newKeyDescriptor(parent *etree.Element, cert *x509.Certificate, indent, unit string) *etree.Element {
	kd := etree.NewElement("KeyDescriptor")
	kd.Space = parent.Space
	kd.CreateAttr("use", "signing")

	dsPrefix, declared := prefixFor(parent, nsDSig)
	keyInfo := etree.NewElement("KeyInfo")
	if !declared {
		dsPrefix = freePrefix(parent, "ds")
		keyInfo.CreateAttr("xmlns:"+dsPrefix, nsDSig)
	}
	keyInfo.Space = dsPrefix
	x509Data := etree.NewElement("X509Data")
	x509Data.Space = dsPrefix
	x509Cert := etree.NewElement("X509Certificate")
	x509Cert.Space = dsPrefix
	x509Cert.SetText(base64.StdEncoding.EncodeToString(cert.Raw))

	nest := func(outer, inner *etree.Element, depth int) {
		in := indent + strings.Repeat(unit, depth)
		outer.AddChild(etree.NewText(in + unit))
		outer.AddChild(inner)
		outer.AddChild(etree.NewText(in))
	}
	nest(x509Data, x509Cert, 2)
	nest(keyInfo, x509Data, 1)
	nest(kd, keyInfo, 0)
	return kd
}

// indentation returns the whitespace before parent's first child element (the
// indentation of its children) and one indentation step.
func indentation(parent *etree.Element) (indent, unit string) {
	indent, unit = "\n", "  "
	for i, t := range parent.Child {
		if _, ok := t.(*etree.Element); ok {
			if i > 0 {
				if cd, ok := parent.Child[i-1].(*etree.CharData); ok && cd.IsWhitespace() {
					indent = cd.Data
				}
			}
			break
		}
	}
	// The step is the difference between the children's and the parent's indent.
	if p := parent.Parent(); p != nil {
		i := parent.Index()
		if i > 0 {
			if cd, ok := p.Child[i-1].(*etree.CharData); ok && cd.IsWhitespace() && strings.HasPrefix(indent, cd.Data) && len(indent) > len(cd.Data) {
				unit = indent[len(cd.Data):]
			}
		}
	}
	if !strings.Contains(indent, "\n") {
		indent, unit = "", ""
	}
	return indent, unit
}

// removeWithIndent removes child and the whitespace text right before it.
func removeWithIndent(parent, child *etree.Element) {
	i := child.Index()
	parent.RemoveChildAt(i)
	if i > 0 {
		if cd, ok := parent.Child[i-1].(*etree.CharData); ok && cd.IsWhitespace() {
			parent.RemoveChildAt(i - 1)
		}
	}
}

// holdsCertificate reports whether a KeyDescriptor holds the certificate with the
// fingerprint fp.
func holdsCertificate(kd *etree.Element, fp string) bool {
	for _, ki := range kd.ChildElements() {
		if !isElement(ki, nsDSig, "KeyInfo") {
			continue
		}
		for _, xd := range ki.ChildElements() {
			if !isElement(xd, nsDSig, "X509Data") {
				continue
			}
			for _, xc := range xd.ChildElements() {
				if !isElement(xc, nsDSig, "X509Certificate") {
					continue
				}
				if der, err := decodeBase64(xc.Text()); err == nil && Fingerprint(der) == fp {
					return true
				}
			}
		}
	}
	return false
}

// countCertificates counts the X509Certificate elements of a KeyDescriptor.
func countCertificates(kd *etree.Element) int {
	n := 0
	for _, ki := range kd.ChildElements() {
		if !isElement(ki, nsDSig, "KeyInfo") {
			continue
		}
		for _, xd := range ki.ChildElements() {
			if !isElement(xd, nsDSig, "X509Data") {
				continue
			}
			for _, xc := range xd.ChildElements() {
				if isElement(xc, nsDSig, "X509Certificate") {
					n++
				}
			}
		}
	}
	return n
}

// writeConfirmed serializes an edited tree and checks the edit took effect: the
// entity signs with fp exactly when want. op names the edit in errors.
func writeConfirmed(tree *etree.Document, op, entityID, fp string, want bool) ([]byte, error) {
	out, err := tree.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("samlmeta: %s: write: %w", op, err)
	}
	if err := confirmSigning(out, entityID, fp, want); err != nil {
		return nil, err
	}
	return out, nil
}

// confirmSigning re-parses an edited document and checks the edit took effect.
func confirmSigning(out []byte, entityID, fp string, want bool) error {
	doc, err := Parse(out)
	if err != nil {
		return fmt.Errorf("samlmeta: the edited document does not parse (this is a bug): %w", err)
	}
	has := false
	for _, c := range doc.Entity(entityID).SigningCertificates() {
		has = has || c.SHA256 == fp
	}
	if has != want {
		return fmt.Errorf("samlmeta: the edit of entity %q did not take effect (this is a bug)", entityID)
	}
	return nil
}

// isElement reports whether el is the element {ns}local.
func isElement(el *etree.Element, ns, local string) bool {
	return el.Tag == local && el.NamespaceURI() == ns
}

// prefixFor returns a prefix bound to ns at el, and whether there is one. A default
// namespace binding returns "".
func prefixFor(el *etree.Element, ns string) (string, bool) {
	shadowed := map[string]bool{}
	for e := el; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			var prefix string
			switch {
			case a.Space == "xmlns":
				prefix = a.Key
			case a.Space == "" && a.Key == "xmlns":
				prefix = ""
			default:
				continue
			}
			if shadowed[prefix] {
				continue
			}
			shadowed[prefix] = true
			if a.Value == ns {
				return prefix, true
			}
		}
	}
	return "", false
}

// freePrefix returns want, or want with a number, such that it is not bound at el.
func freePrefix(el *etree.Element, want string) string {
	bound := func(p string) bool {
		for e := el; e != nil; e = e.Parent() {
			for _, a := range e.Attr {
				if a.Space == "xmlns" && a.Key == p {
					return true
				}
			}
		}
		return false
	}
	p := want
	for i := 2; bound(p); i++ {
		p = fmt.Sprintf("%s%d", want, i)
	}
	return p
}
