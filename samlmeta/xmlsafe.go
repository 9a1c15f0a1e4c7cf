package samlmeta

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	xrv "github.com/mattermost/xml-roundtrip-validator"
)

// MaxDocumentSize is the largest input, in bytes, that [Parse], [Check],
// [VerifyResponse] and the edits accept. It is checked before any parsing. IAM's own
// limit is 10,000,000 characters, and a character is at least one byte.
const MaxDocumentSize = 10_000_000

// maxDepth bounds element nesting, so that recursive tree walks (here and in
// goxmldsig) stay shallow on hostile input. Real metadata and responses nest fewer
// than 15 levels.
const maxDepth = 100

// Namespaces used by SAML metadata and responses.
const (
	nsMetadata  = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
	nsExcC14N   = "http://www.w3.org/2001/10/xml-exc-c14n#"
)

// utf8BOM is the UTF-8 encoding of U+FEFF, which IAM refuses at the start of a
// document.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// errBOM, errNotUTF8 and errTooLarge let Check name the rule that a raw-byte
// problem breaks.
var (
	errBOM      = errors.New("starts with a byte-order mark (IAM refuses it: remove the first bytes)")
	errNotUTF8  = errors.New("is not valid UTF-8 (IAM accepts UTF-8 only: re-encode it)")
	errTooLarge = errors.New("is too large")
)

// checkXML refuses input that is hostile or that Go's XML packages could read
// differently from another parser: too large, a byte-order mark, not UTF-8, a DOCTYPE
// or entity declaration (XXE, billion laughs), nesting deeper than maxDepth, or a
// failed round-trip check. It returns the root element's name. what names the input
// in errors ("metadata", "SAML response").
func checkXML(data []byte, what string) (xml.Name, error) {
	if len(data) > MaxDocumentSize {
		return xml.Name{}, fmt.Errorf("samlmeta: %s %w: %d bytes, the limit is %d", what, errTooLarge, len(data), MaxDocumentSize)
	}
	if len(data) == 0 {
		return xml.Name{}, fmt.Errorf("samlmeta: %s is empty", what)
	}
	switch {
	case bytes.HasPrefix(data, utf8BOM):
		return xml.Name{}, fmt.Errorf("samlmeta: %s %w", what, errBOM)
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}), bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		return xml.Name{}, fmt.Errorf("samlmeta: %s starts with a UTF-16 byte-order mark and %w", what, errNotUTF8)
	}
	if !utf8.Valid(data) {
		return xml.Name{}, fmt.Errorf("samlmeta: %s %w", what, errNotUTF8)
	}
	root, err := scanXML(data, what)
	if err != nil {
		return xml.Name{}, err
	}
	if err := xrv.Validate(bytes.NewReader(data)); err != nil {
		return xml.Name{}, fmt.Errorf("samlmeta: %s fails the XML round-trip check (Go's XML parser would read it differently from others): %v", what, err)
	}
	return root, nil
}

// scanXML reads every token once: it refuses directives (DOCTYPE, ENTITY), an XML
// declaration naming another encoding than UTF-8, names that are not well-formed
// qualified names and repeated attributes (which parsers read differently), end
// tags that do not match, deep nesting, more than one root and text outside the
// root, and returns the root element's name.
func scanXML(data []byte, what string) (xml.Name, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.CharsetReader = func(charset string, _ io.Reader) (io.Reader, error) {
		return nil, fmt.Errorf("declares encoding %q (only UTF-8 is accepted)", charset)
	}
	var open []xml.Name // RawToken checks neither nesting nor prefixes; this does
	roots := 0
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return xml.Name{}, fmt.Errorf("samlmeta: %s is not well-formed XML: %v", what, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return xml.Name{}, fmt.Errorf("samlmeta: %s contains a DOCTYPE or entity declaration (<!%s...>); SAML never needs one and it enables XXE and entity-expansion attacks", what, firstWord(t))
		case xml.ProcInst:
			if t.Target == "xml" {
				if enc := procInstParam(string(t.Inst), "encoding"); enc != "" && !strings.EqualFold(enc, "UTF-8") {
					return xml.Name{}, fmt.Errorf("samlmeta: %s declares encoding %q; IAM accepts UTF-8 only: re-encode it", what, enc)
				}
			}
		case xml.StartElement:
			if len(open) == 0 {
				roots++
				if roots > 1 {
					return xml.Name{}, fmt.Errorf("samlmeta: %s has more than one root element", what)
				}
			}
			if err := checkName(t.Name); err != nil {
				return xml.Name{}, fmt.Errorf("samlmeta: %s has an element %w", what, err)
			}
			for i, a := range t.Attr {
				if err := checkName(a.Name); err != nil {
					return xml.Name{}, fmt.Errorf("samlmeta: %s has an attribute %w", what, err)
				}
				// Parsers keep the first or the last of a repeated attribute.
				for _, b := range t.Attr[:i] {
					if a.Name == b.Name {
						return xml.Name{}, fmt.Errorf("samlmeta: %s is not well-formed XML: element <%s> repeats attribute %s", what, qname(t.Name), qname(a.Name))
					}
				}
			}
			open = append(open, t.Name)
			if len(open) > maxDepth {
				return xml.Name{}, fmt.Errorf("samlmeta: %s nests elements more than %d deep", what, maxDepth)
			}
		case xml.EndElement:
			if len(open) == 0 || open[len(open)-1] != t.Name {
				return xml.Name{}, fmt.Errorf("samlmeta: %s is not well-formed XML: end tag </%s> does not match", what, qname(t.Name))
			}
			open = open[:len(open)-1]
		case xml.CharData:
			if len(open) == 0 && len(bytes.TrimSpace(t)) > 0 {
				return xml.Name{}, fmt.Errorf("samlmeta: %s has text outside its root element", what)
			}
		}
	}
	if len(open) > 0 {
		return xml.Name{}, fmt.Errorf("samlmeta: %s is not well-formed XML: it ends before </%s>", what, qname(open[len(open)-1]))
	}
	if roots == 0 {
		return xml.Name{}, fmt.Errorf("samlmeta: %s has no root element", what)
	}
	// RawToken does not resolve prefixes; resolve the root's with a second, short
	// pass that stops at the first element.
	d = xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err != nil {
			return xml.Name{}, fmt.Errorf("samlmeta: %s is not well-formed XML: %v", what, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name, nil
		}
	}
}

// checkName refuses a raw name that is not a qualified name of Namespaces in XML
// (prefix:local, each part non-empty, one colon at most). Go keeps the extra colons
// in the local part where other parsers fail or split differently: the round-trip
// problem xml-roundtrip-validator was written for, which its checks no longer catch
// with Go 1.26's parser.
func checkName(n xml.Name) error {
	if n.Local == "" || strings.Contains(n.Local, ":") || (n.Space == "" && strings.HasPrefix(n.Local, ":")) {
		return fmt.Errorf("name %q that is not a well-formed qualified name (a round-trip risk)", qname(n))
	}
	return nil
}

// qname formats a raw name as prefix:local.
func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// firstWord returns the directive's keyword, such as DOCTYPE or ENTITY.
func firstWord(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexAny(s, " \t\r\n["); i >= 0 {
		s = s[:i]
	}
	if len(s) > 16 {
		s = s[:16]
	}
	return s
}

// procInstParam returns a pseudo-attribute of an XML declaration, such as encoding.
func procInstParam(inst, name string) string {
	i := strings.Index(inst, name)
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(inst[i+len(name):], " \t\r\n")
	if !strings.HasPrefix(rest, "=") {
		return ""
	}
	rest = strings.TrimLeft(rest[1:], " \t\r\n")
	if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
		return ""
	}
	q := rest[0]
	end := strings.IndexByte(rest[1:], q)
	if end < 0 {
		return ""
	}
	return rest[1 : 1+end]
}
