package samlmeta

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// SignatureAlgorithm names an XML signature algorithm that [SignResponse] uses.
type SignatureAlgorithm string

// The algorithms a Salesforce connected app can sign with.
const (
	RSASHA256 SignatureAlgorithm = "RSA-SHA256" // the default
	RSASHA1   SignatureAlgorithm = "RSA-SHA1"
)

// The InclusiveNamespaces PrefixLists Salesforce writes (salesforce-wire.md §4.2).
const (
	responsePrefixList  = "ds saml samlp xs xsi"
	assertionPrefixList = "ds saml xs xsi"
)

// SignResponse signs a SAML Response and its one Assertion the way Salesforce does:
// the Assertion first, then the Response; each enveloped ds:Signature inserted right
// after its Issuer, declaring xmlns:ds itself, with exclusive canonicalization and an
// InclusiveNamespaces PrefixList, the chosen algorithm (empty means RSA-SHA256) with
// the matching digest, and KeyInfo holding cert. Both elements must carry an ID and an
// Issuer and no signature yet. It is meant for fakes and tests.
func SignResponse(xml []byte, key *rsa.PrivateKey, cert *x509.Certificate, alg SignatureAlgorithm) ([]byte, error) {
	if key == nil || cert == nil {
		return nil, errors.New("samlmeta: sign response: a key and its certificate are required")
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("samlmeta: sign response: the certificate is not for this key")
	}
	var hash crypto.Hash
	var sigMethod, digestMethod string
	switch alg {
	case "", RSASHA256:
		hash, sigMethod, digestMethod = crypto.SHA256, algRSASHA256, algSHA256
	case RSASHA1:
		hash, sigMethod, digestMethod = crypto.SHA1, algRSASHA1, algSHA1
	default:
		return nil, fmt.Errorf("samlmeta: sign response: unknown algorithm %q (want %s or %s)", alg, RSASHA256, RSASHA1)
	}
	name, err := checkXML(xml, "SAML response")
	if err != nil {
		return nil, err
	}
	if name.Space != nsProtocol || name.Local != "Response" {
		return nil, fmt.Errorf("samlmeta: sign response: the root is {%s}%s, not a SAML 2.0 protocol Response", name.Space, name.Local)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(xml); err != nil {
		return nil, fmt.Errorf("samlmeta: sign response: %w", err)
	}
	response := doc.Root()
	assertion, err := singleAssertion(response)
	if err != nil {
		return nil, fmt.Errorf("samlmeta: sign response: %w", errors.Unwrap(err))
	}
	s := signer{key: key, cert: cert, hash: hash, sigMethod: sigMethod, digestMethod: digestMethod}
	if err := s.sign(assertion, "Assertion", assertionPrefixList); err != nil {
		return nil, err
	}
	if err := s.sign(response, "Response", responsePrefixList); err != nil {
		return nil, err
	}
	out, err := doc.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("samlmeta: sign response: write: %w", err)
	}
	return out, nil
}

// signer makes enveloped signatures with one key and algorithm.
type signer struct {
	key                     *rsa.PrivateKey
	cert                    *x509.Certificate
	hash                    crypto.Hash
	sigMethod, digestMethod string
}

// sign inserts an enveloped signature of el right after its saml:Issuer.
func (s signer) sign(el *etree.Element, what, prefixList string) error {
	id := el.SelectAttrValue("ID", "")
	if id == "" {
		return fmt.Errorf("samlmeta: sign response: the %s has no ID", what)
	}
	if len(directSignatures(el)) > 0 {
		return fmt.Errorf("samlmeta: sign response: the %s is already signed", what)
	}
	issuer := child(el, nsAssertion, "Issuer")
	if issuer == nil {
		return fmt.Errorf("samlmeta: sign response: the %s has no Issuer to place the signature after", what)
	}

	// Digest el as the verifier will see it: detached with its namespace context,
	// without the signature (the enveloped-signature transform), exclusive C14N.
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return fmt.Errorf("samlmeta: sign response: %w", err)
	}
	detached, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		return fmt.Errorf("samlmeta: sign response: %w", err)
	}
	canonical, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(prefixList).Canonicalize(detached)
	if err != nil {
		return fmt.Errorf("samlmeta: sign response: canonicalize the %s: %w", what, err)
	}
	h := s.hash.New()
	h.Write(canonical)
	digest := h.Sum(nil)

	sig := etree.NewElement("ds:Signature")
	sig.CreateAttr("xmlns:ds", nsDSig)
	signedInfo := sig.CreateElement("ds:SignedInfo")
	signedInfo.CreateElement("ds:CanonicalizationMethod").CreateAttr("Algorithm", nsExcC14N)
	signedInfo.CreateElement("ds:SignatureMethod").CreateAttr("Algorithm", s.sigMethod)
	ref := signedInfo.CreateElement("ds:Reference")
	ref.CreateAttr("URI", "#"+id)
	transforms := ref.CreateElement("ds:Transforms")
	transforms.CreateElement("ds:Transform").CreateAttr("Algorithm", string(dsig.EnvelopedSignatureAltorithmId))
	excC14N := transforms.CreateElement("ds:Transform")
	excC14N.CreateAttr("Algorithm", nsExcC14N)
	inclusive := excC14N.CreateElement("ec:InclusiveNamespaces")
	inclusive.CreateAttr("xmlns:ec", nsExcC14N)
	inclusive.CreateAttr("PrefixList", prefixList)
	ref.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", s.digestMethod)
	ref.CreateElement("ds:DigestValue").SetText(base64.StdEncoding.EncodeToString(digest))

	// Sign the canonical SignedInfo, as the verifier computes it.
	sigCtx, err := etreeutils.NSBuildParentContext(signedInfo)
	if err != nil {
		return fmt.Errorf("samlmeta: sign response: %w", err)
	}
	detachedInfo, err := etreeutils.NSDetatch(sigCtx, signedInfo)
	if err != nil {
		return fmt.Errorf("samlmeta: sign response: %w", err)
	}
	canonicalInfo, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(detachedInfo)
	if err != nil {
		return fmt.Errorf("samlmeta: sign response: canonicalize SignedInfo: %w", err)
	}
	h = s.hash.New()
	h.Write(canonicalInfo)
	value, err := rsa.SignPKCS1v15(rand.Reader, s.key, s.hash, h.Sum(nil))
	if err != nil {
		return fmt.Errorf("samlmeta: sign response: %w", err)
	}
	sig.CreateElement("ds:SignatureValue").SetText(base64.StdEncoding.EncodeToString(value))
	sig.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").
		SetText(base64.StdEncoding.EncodeToString(s.cert.Raw))

	el.InsertChildAt(issuer.Index()+1, sig)
	return nil
}
