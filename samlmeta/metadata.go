package samlmeta

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ProtocolSAML20 is the protocolSupportEnumeration value of a SAML 2.0 role.
const ProtocolSAML20 = nsProtocol

// Document is a parsed metadata document: one EntityDescriptor, or an
// EntitiesDescriptor holding several (one provider document may serve several orgs).
// It keeps the bytes it was parsed from.
type Document struct {
	// Entities lists every EntityDescriptor in document order, nested
	// EntitiesDescriptors flattened.
	Entities []*EntityDescriptor
	// ValidUntil and CacheDuration are the root element's (§2.3.1, §2.3.2); zero and
	// empty when absent.
	ValidUntil    time.Time
	CacheDuration string

	raw []byte
}

// Entity returns the entity with the given entityID, or nil when there is none.
func (d *Document) Entity(entityID string) *EntityDescriptor {
	if d == nil {
		return nil
	}
	for _, e := range d.Entities {
		if e.EntityID == entityID {
			return e
		}
	}
	return nil
}

// Bytes returns the document as it was parsed. The caller must not modify it.
func (d *Document) Bytes() []byte { return d.raw }

// EntitiesDescriptor is a group of entities (§2.3.1).
type EntitiesDescriptor struct {
	XMLName             xml.Name             `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntitiesDescriptor"`
	ID                  string               `xml:"ID,attr"`
	Name                string               `xml:"Name,attr"`
	ValidUntil          time.Time            `xml:"-"`
	CacheDuration       string               `xml:"cacheDuration,attr"`
	EntitiesDescriptors []EntitiesDescriptor `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntitiesDescriptor"`
	EntityDescriptors   []EntityDescriptor   `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntityDescriptor"`
}

// UnmarshalXML reads the element, parsing validUntil as an xs:dateTime.
func (e *EntitiesDescriptor) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	type plain EntitiesDescriptor // without this method
	if err := d.DecodeElement((*plain)(e), &start); err != nil {
		return err
	}
	t, err := parseDateTime(attr(start, "validUntil"), "EntitiesDescriptor validUntil")
	e.ValidUntil = t
	return err
}

// EntityDescriptor describes one SAML entity (§2.3.2). For Salesforce, the entityID
// is the org's My Domain URL.
type EntityDescriptor struct {
	XMLName           xml.Name           `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntityDescriptor"`
	EntityID          string             `xml:"entityID,attr"`
	ID                string             `xml:"ID,attr"`
	ValidUntil        time.Time          `xml:"-"`
	CacheDuration     string             `xml:"cacheDuration,attr"`
	IDPSSODescriptors []IDPSSODescriptor `xml:"urn:oasis:names:tc:SAML:2.0:metadata IDPSSODescriptor"`
	// SPSSODescriptors counts the service-provider roles, which this package does not
	// otherwise read.
	SPSSODescriptors []struct{} `xml:"urn:oasis:names:tc:SAML:2.0:metadata SPSSODescriptor"`
}

// UnmarshalXML reads the element, parsing validUntil as an xs:dateTime.
func (e *EntityDescriptor) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	type plain EntityDescriptor // without this method
	if err := d.DecodeElement((*plain)(e), &start); err != nil {
		return err
	}
	t, err := parseDateTime(attr(start, "validUntil"), "EntityDescriptor validUntil")
	e.ValidUntil = t
	return err
}

// SigningCertificates returns the certificates a service provider would trust for
// this entity's signatures: those of every IDPSSODescriptor's KeyDescriptors with
// use="signing" or no use (§2.4.1.1), in document order, each once.
func (e *EntityDescriptor) SigningCertificates() []*Certificate {
	var out []*Certificate
	seen := map[string]bool{}
	for i := range e.IDPSSODescriptors {
		for _, kd := range e.IDPSSODescriptors[i].KeyDescriptors {
			if !kd.IsSigning() {
				continue
			}
			for _, c := range kd.certs {
				if !seen[c.SHA256] {
					seen[c.SHA256] = true
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// SingleSignOnServices returns the SSO endpoints of every IDPSSODescriptor.
func (e *EntityDescriptor) SingleSignOnServices() []Endpoint {
	var out []Endpoint
	for _, d := range e.IDPSSODescriptors {
		out = append(out, d.SingleSignOnServices...)
	}
	return out
}

// IDPSSODescriptor is an identity provider's single sign-on role (§2.4.3, with the
// RoleDescriptor and SSODescriptor content of §2.4.1 and §2.4.2).
type IDPSSODescriptor struct {
	ProtocolSupportEnumeration string          `xml:"protocolSupportEnumeration,attr"`
	WantAuthnRequestsSigned    bool            `xml:"WantAuthnRequestsSigned,attr"`
	ErrorURL                   string          `xml:"errorURL,attr"`
	KeyDescriptors             []KeyDescriptor `xml:"urn:oasis:names:tc:SAML:2.0:metadata KeyDescriptor"`
	SingleLogoutServices       []Endpoint      `xml:"urn:oasis:names:tc:SAML:2.0:metadata SingleLogoutService"`
	NameIDFormats              []string        `xml:"urn:oasis:names:tc:SAML:2.0:metadata NameIDFormat"`
	SingleSignOnServices       []Endpoint      `xml:"urn:oasis:names:tc:SAML:2.0:metadata SingleSignOnService"`
}

// SupportsSAML20 reports whether protocolSupportEnumeration lists SAML 2.0.
func (d *IDPSSODescriptor) SupportsSAML20() bool {
	for _, p := range strings.Fields(d.ProtocolSupportEnumeration) {
		if p == ProtocolSAML20 {
			return true
		}
	}
	return false
}

// KeyDescriptor holds a key of a role and what it is used for (§2.4.1.1).
type KeyDescriptor struct {
	// Use is "signing", "encryption", or empty, which means both.
	Use     string  `xml:"use,attr"`
	KeyInfo KeyInfo `xml:"http://www.w3.org/2000/09/xmldsig# KeyInfo"`

	certs []*Certificate // parsed by Parse, in X509Certificate order
}

// IsSigning reports whether the key may verify signatures: use="signing" or no use.
func (k *KeyDescriptor) IsSigning() bool { return k.Use == "" || k.Use == "signing" }

// Certificates returns the parsed certificates of the KeyDescriptor.
func (k *KeyDescriptor) Certificates() []*Certificate { return k.certs }

// KeyInfo is XML Signature's KeyInfo (xmldsig-core §4.4), reduced to its X.509 data.
type KeyInfo struct {
	X509Data []X509Data `xml:"http://www.w3.org/2000/09/xmldsig# X509Data"`
}

// X509Data holds X.509 certificates (xmldsig-core §4.4.4), each the base64 of a DER
// certificate, whitespace allowed.
type X509Data struct {
	X509Certificates []string `xml:"http://www.w3.org/2000/09/xmldsig# X509Certificate"`
}

// Endpoint is a protocol endpoint such as SingleSignOnService (§2.2.2).
type Endpoint struct {
	Binding          string `xml:"Binding,attr"`
	Location         string `xml:"Location,attr"`
	ResponseLocation string `xml:"ResponseLocation,attr"`
}

// errNoEntityID lets Check name the rule a document breaks.
var errNoEntityID = errors.New("has no entityID")

// Parse reads SAML 2.0 metadata whose root is an EntityDescriptor or an
// EntitiesDescriptor. It refuses hostile or malformed input with an error naming the
// problem (see [MaxDocumentSize]), an entity without entityID, two entities with one
// entityID, and a certificate that does not parse. It makes no trust decision.
func Parse(data []byte) (*Document, error) {
	doc, err := decodeMetadata(data)
	if err != nil {
		return nil, err
	}
	for _, e := range doc.Entities {
		for i := range e.IDPSSODescriptors {
			kds := e.IDPSSODescriptors[i].KeyDescriptors
			for k := range kds {
				for _, x := range kds[k].KeyInfo.X509Data {
					for _, b64 := range x.X509Certificates {
						c, err := certificateFromBase64(b64)
						if err != nil {
							return nil, fmt.Errorf("samlmeta: metadata entity %q, KeyDescriptor %d: %w", e.EntityID, k+1, err)
						}
						kds[k].certs = append(kds[k].certs, c)
					}
				}
			}
		}
	}
	return doc, nil
}

// decodeMetadata is Parse without certificate parsing, so that Check can name
// certificate problems itself.
func decodeMetadata(data []byte) (*Document, error) {
	root, err := checkXML(data, "metadata")
	if err != nil {
		return nil, err
	}
	if root.Space != nsMetadata || (root.Local != "EntityDescriptor" && root.Local != "EntitiesDescriptor") {
		return nil, fmt.Errorf("samlmeta: metadata root is {%s}%s; want an EntityDescriptor or EntitiesDescriptor in namespace %s", root.Space, root.Local, nsMetadata)
	}
	doc := &Document{raw: data}
	if root.Local == "EntityDescriptor" {
		var e EntityDescriptor
		if err := xml.NewDecoder(bytes.NewReader(data)).Decode(&e); err != nil {
			return nil, fmt.Errorf("samlmeta: read metadata: %w", err)
		}
		doc.Entities = []*EntityDescriptor{&e}
		doc.ValidUntil, doc.CacheDuration = e.ValidUntil, e.CacheDuration
	} else {
		var es EntitiesDescriptor
		if err := xml.NewDecoder(bytes.NewReader(data)).Decode(&es); err != nil {
			return nil, fmt.Errorf("samlmeta: read metadata: %w", err)
		}
		doc.Entities = flatten(&es, nil)
		doc.ValidUntil, doc.CacheDuration = es.ValidUntil, es.CacheDuration
	}
	if len(doc.Entities) == 0 {
		return nil, errors.New("samlmeta: metadata has no EntityDescriptor")
	}
	seen := map[string]bool{}
	for i, e := range doc.Entities {
		if e.EntityID == "" {
			return nil, fmt.Errorf("samlmeta: metadata EntityDescriptor %d %w", i+1, errNoEntityID)
		}
		if seen[e.EntityID] {
			return nil, fmt.Errorf("samlmeta: metadata has two EntityDescriptors with entityID %q", e.EntityID)
		}
		seen[e.EntityID] = true
	}
	return doc, nil
}

// flatten lists the entities of an EntitiesDescriptor tree in document order. The
// order between direct and nested entities follows the struct fields, which is
// document order for the usual documents that use only one of the two.
func flatten(es *EntitiesDescriptor, out []*EntityDescriptor) []*EntityDescriptor {
	for i := range es.EntityDescriptors {
		out = append(out, &es.EntityDescriptors[i])
	}
	for i := range es.EntitiesDescriptors {
		out = flatten(&es.EntitiesDescriptors[i], out)
	}
	return out
}

// parseDateTime parses an xs:dateTime as SAML uses it (UTC, RFC 3339). Empty is the
// zero time.
func parseDateTime(s, what string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		// xs:dateTime allows no zone; SAML requires UTC (SAML core §1.3.3).
		if t2, err2 := time.Parse("2006-01-02T15:04:05.999999999", s); err2 == nil {
			return t2.UTC(), nil
		}
		return time.Time{}, fmt.Errorf("samlmeta: %s %q is not an xs:dateTime", what, s)
	}
	return t.UTC(), nil
}
