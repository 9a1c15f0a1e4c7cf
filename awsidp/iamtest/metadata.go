package iamtest

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// This file holds the metadata rules IAM enforces on CreateSAMLProvider and
// UpdateSAMLProvider, and only those (aws-wire.md §1.6, aws-iam.md §1.2): UTF-8
// without a byte order mark, 1,000 to 10,000,000 characters, parseable SAML metadata
// naming an entityID, X.509 keys of at least 1024 bits, no repeated certificate
// extension. It is this package's own code on purpose: the client (awsidp, through
// samlmeta) and this fake must not share a bug.
//
// IAM answers every content rule with the same console text ("Could not parse
// metadata"); the wire code InvalidInput and the exact wire message are [I]
// (aws-wire.md §1.6 recommends them). The rule that failed goes to the request log's
// Detail, never to the wire. The length rule is a parameter constraint; its message
// follows AWS's validation wording, under InvalidInput as the issue asks [I].

const (
	metadataNS = "urn:oasis:names:tc:SAML:2.0:metadata"
	dsigNS     = "http://www.w3.org/2000/09/xmldsig#"

	minDocumentChars = 1000
	maxDocumentChars = 10_000_000

	// maxEntities and maxKeys are IAM quotas: "Identity providers (IdPs) associated
	// with an IAM SAML provider object" and "Keys per SAML provider", 10 each
	// (aws-iam.md §1.2). The LimitExceeded code and message for them are [I].
	maxEntities = 10
	maxKeys     = 10

	parseMetadataMessage = "Could not parse metadata"
)

func parseFailure(detail string) *apiError {
	e := newError("InvalidInput", parseMetadataMessage)
	e.detail = detail
	return e
}

// checkMetadata applies IAM's rules to a document; nil means IAM accepts it.
func checkMetadata(doc []byte) *apiError {
	if !utf8.Valid(doc) {
		return parseFailure("not UTF-8")
	}
	if e := checkDocumentLength(doc); e != nil {
		return e
	}
	if bytes.HasPrefix(doc, []byte("\uFEFF")) {
		return parseFailure("starts with a byte order mark")
	}
	entities, err := parseEntities(doc)
	if err != nil {
		return parseFailure(err.Error())
	}
	if len(entities) > maxEntities {
		e := newError("LimitExceeded", fmt.Sprintf("Cannot exceed quota for IdentityProvidersPerSAMLProvider: %d", maxEntities))
		e.detail = fmt.Sprintf("%d entities", len(entities))
		return e
	}
	keys := 0
	for _, ent := range entities {
		for _, kd := range ent.keyDescriptors {
			for _, der := range kd.certificates {
				keys++
				if err := checkCertificate(der); err != nil {
					return parseFailure(fmt.Sprintf("entity %s: %v", ent.entityID, err))
				}
			}
		}
	}
	if keys > maxKeys {
		e := newError("LimitExceeded", fmt.Sprintf("Cannot exceed quota for KeysPerSAMLProvider: %d", maxKeys))
		e.detail = fmt.Sprintf("%d keys", keys)
		return e
	}
	return nil
}

// checkDocumentLength applies the 1,000 to 10,000,000 character limit to UTF-8 text.
func checkDocumentLength(doc []byte) *apiError {
	n := utf8.RuneCount(doc)
	if n >= minDocumentChars && n <= maxDocumentChars {
		return nil
	}
	bound, word := minDocumentChars, "greater"
	if n > maxDocumentChars {
		bound, word = maxDocumentChars, "less"
	}
	e := newError("InvalidInput", fmt.Sprintf("1 validation error detected: Value at 'sAMLMetadataDocument' failed to satisfy constraint: Member must have length %s than or equal to %d", word, bound))
	e.detail = fmt.Sprintf("document has %d characters", n)
	return e
}

// entity is what the fake reads of an EntityDescriptor.
type entity struct {
	entityID string
	// keyDescriptors are the KeyDescriptors of its IDPSSODescriptors (the keys
	// other role descriptors carry count for the quota and the certificate rules
	// but are never trusted for signing).
	keyDescriptors []keyDescriptor
}

type keyDescriptor struct {
	use          string // "signing", "encryption" or ""
	idp          bool   // inside an IDPSSODescriptor
	certificates [][]byte
}

// signingCertificates returns the DER certificates STS trusts for the entity:
// those of IDPSSODescriptor KeyDescriptors whose use is "signing" or absent, in
// document order.
func (e entity) signingCertificates() [][]byte {
	var out [][]byte
	for _, kd := range e.keyDescriptors {
		if kd.idp && (kd.use == "" || kd.use == "signing") {
			out = append(out, kd.certificates...)
		}
	}
	return out
}

// parseEntities parses a metadata document: an EntityDescriptor, or an
// EntitiesDescriptor (nesting allowed) holding at least one. A DOCTYPE is refused.
func parseEntities(doc []byte) ([]entity, error) {
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		return nil, fmt.Errorf("not well-formed XML: %v", err)
	}
	for _, tok := range d.Child {
		if dir, ok := tok.(*etree.Directive); ok && strings.HasPrefix(strings.TrimSpace(dir.Data), "DOCTYPE") {
			return nil, fmt.Errorf("has a DOCTYPE")
		}
	}
	root := d.Root()
	if root == nil {
		return nil, fmt.Errorf("no root element")
	}
	var out []entity
	var walk func(el *etree.Element, depth int) error
	walk = func(el *etree.Element, depth int) error {
		if depth > 16 {
			return fmt.Errorf("EntitiesDescriptor nested too deep")
		}
		switch {
		case is(el, metadataNS, "EntityDescriptor"):
			ent, err := parseEntity(el)
			if err != nil {
				return err
			}
			out = append(out, ent)
		case is(el, metadataNS, "EntitiesDescriptor"):
			for _, c := range el.ChildElements() {
				if is(c, metadataNS, "EntityDescriptor") || is(c, metadataNS, "EntitiesDescriptor") {
					if err := walk(c, depth+1); err != nil {
						return err
					}
				}
			}
		default:
			return fmt.Errorf("root element {%s}%s is not SAML metadata", el.NamespaceURI(), el.Tag)
		}
		return nil
	}
	if err := walk(root, 0); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no EntityDescriptor")
	}
	return out, nil
}

func parseEntity(el *etree.Element) (entity, error) {
	ent := entity{entityID: strings.TrimSpace(el.SelectAttrValue("entityID", ""))}
	if ent.entityID == "" {
		return ent, fmt.Errorf("an EntityDescriptor has no entityID")
	}
	for _, rd := range el.ChildElements() {
		if rd.NamespaceURI() != metadataNS {
			continue
		}
		for _, kdEl := range rd.ChildElements() {
			if !is(kdEl, metadataNS, "KeyDescriptor") {
				continue
			}
			kd := keyDescriptor{use: kdEl.SelectAttrValue("use", ""), idp: rd.Tag == "IDPSSODescriptor"}
			for _, ki := range kdEl.ChildElements() {
				if !is(ki, dsigNS, "KeyInfo") {
					continue
				}
				for _, xd := range ki.ChildElements() {
					if !is(xd, dsigNS, "X509Data") {
						continue
					}
					for _, xc := range xd.ChildElements() {
						if !is(xc, dsigNS, "X509Certificate") {
							continue
						}
						der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(xc.Text()), ""))
						if err != nil {
							return ent, fmt.Errorf("entity %s: an X509Certificate is not base64", ent.entityID)
						}
						kd.certificates = append(kd.certificates, der)
					}
				}
			}
			ent.keyDescriptors = append(ent.keyDescriptors, kd)
		}
	}
	return ent, nil
}

// is reports whether el is the element {ns}tag.
func is(el *etree.Element, ns, tag string) bool {
	return el.Tag == tag && el.NamespaceURI() == ns
}

// The certificate rules read the DER with encoding/asn1 rather than crypto/x509:
// Go's parser refuses RSA keys under 1024 bits and repeated extensions itself, with
// its own messages and GODEBUG switches, and the fake must not depend on either.

type asnCertificate struct {
	TBS       asnTBSCertificate
	Algorithm asn1.RawValue
	Signature asn1.BitString
}

type asnTBSCertificate struct {
	Version    int `asn1:"optional,explicit,default:0,tag:0"`
	Serial     asn1.RawValue
	Algorithm  asn1.RawValue
	Issuer     asn1.RawValue
	Validity   asn1.RawValue
	Subject    asn1.RawValue
	PublicKey  asnPublicKeyInfo
	IssuerUID  asn1.BitString `asn1:"optional,tag:1"`
	SubjectUID asn1.BitString `asn1:"optional,tag:2"`
	Extensions []asnExtension `asn1:"optional,explicit,tag:3"`
}

type asnPublicKeyInfo struct {
	Algorithm asnAlgorithm
	PublicKey asn1.BitString
}

type asnAlgorithm struct {
	OID        asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type asnExtension struct {
	ID       asn1.ObjectIdentifier
	Critical bool `asn1:"optional"`
	Value    []byte
}

type asnRSAPublicKey struct {
	N *big.Int
	E int
}

var (
	oidRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidDSA = asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 1}
)

// minKeyBits is IAM's minimum key size (aws-iam.md §1.2). It applies to RSA (and DSA)
// moduli; elliptic-curve keys are accepted whatever their size [I: AWS states the
// rule without naming key types].
const minKeyBits = 1024

// checkCertificate applies IAM's certificate rules to one DER certificate.
func checkCertificate(der []byte) error {
	var c asnCertificate
	rest, err := asn1.Unmarshal(der, &c)
	if err != nil {
		return fmt.Errorf("certificate is not DER X.509: %v", err)
	}
	if len(rest) != 0 {
		return fmt.Errorf("certificate has trailing data")
	}
	seen := map[string]bool{}
	for _, ext := range c.TBS.Extensions {
		id := ext.ID.String()
		if seen[id] {
			return fmt.Errorf("certificate repeats extension %s", id)
		}
		seen[id] = true
	}
	alg := c.TBS.PublicKey.Algorithm.OID
	switch {
	case alg.Equal(oidRSA):
		var k asnRSAPublicKey
		if _, err := asn1.Unmarshal(c.TBS.PublicKey.PublicKey.RightAlign(), &k); err != nil {
			return fmt.Errorf("RSA public key does not parse: %v", err)
		}
		if bits := k.N.BitLen(); bits < minKeyBits {
			return fmt.Errorf("RSA key has %d bits, under %d", bits, minKeyBits)
		}
	case alg.Equal(oidDSA):
		// The DSA modulus p is in the algorithm parameters: SEQUENCE { p, q, g }.
		var params struct{ P, Q, G *big.Int }
		if _, err := asn1.Unmarshal(c.TBS.PublicKey.Algorithm.Parameters.FullBytes, &params); err != nil {
			return fmt.Errorf("DSA parameters do not parse: %v", err)
		}
		if bits := params.P.BitLen(); bits < minKeyBits {
			return fmt.Errorf("DSA key has %d bits, under %d", bits, minKeyBits)
		}
	}
	return nil
}

// parseSigningCertificate parses a trusted certificate for signature checks.
func parseSigningCertificate(der []byte) (*x509.Certificate, error) {
	return x509.ParseCertificate(der)
}

// checkTags applies IAM's tag limits: at most 50, keys 1–128 and values 0–256
// characters.
func checkTags(tags []Tag) *apiError {
	if len(tags) > 50 {
		return newError("LimitExceeded", "The number of tags has reached the maximum limit.")
	}
	keys := map[string]bool{}
	for _, t := range tags {
		if n := utf8.RuneCountInString(t.Key); n < 1 || n > 128 {
			return newError("ValidationError", "1 validation error detected: Value at 'tags.member.key' failed to satisfy constraint: Member must have length between 1 and 128")
		}
		if utf8.RuneCountInString(t.Value) > 256 {
			return newError("ValidationError", "1 validation error detected: Value at 'tags.member.value' failed to satisfy constraint: Member must have length less than or equal to 256")
		}
		if keys[strings.ToLower(t.Key)] {
			return newError("InvalidInput", "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		keys[strings.ToLower(t.Key)] = true
	}
	return nil
}
