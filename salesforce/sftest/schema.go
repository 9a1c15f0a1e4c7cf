package sftest

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// metadataSubsetXSD is the part of Salesforce's Metadata API schema (version 63.0)
// that the fake serves, copied verbatim by TestSchemaSubset. Requests are checked
// against it the way Salesforce's SOAP stack checks them: element by element, in
// schema order.
//
//go:embed metadata-63-subset.xsd
var metadataSubsetXSD []byte

const (
	nsMetadata = "http://soap.sforce.com/2006/04/metadata"
	nsXSI      = "http://www.w3.org/2001/XMLSchema-instance"
	nsXSD      = "http://www.w3.org/2001/XMLSchema"
	nsSOAPEnv  = "http://schemas.xmlsoap.org/soap/envelope/"
)

// xsdSchema is the parsed schema subset. It is built once and never changed.
type xsdSchema struct {
	complex  map[string]*xsdComplex
	simple   map[string]*xsdSimple
	elements map[string]*xsdElement // top-level elements
}

type xsdComplex struct {
	Name    string       `xml:"name,attr"`
	Seq     []xsdElement `xml:"sequence>element"`
	Any     []struct{}   `xml:"sequence>any"`
	Ext     *xsdExt      `xml:"complexContent>extension"`
	flatten []xsdElement // base sequence first, then own; filled by parse
}

type xsdExt struct {
	Base string       `xml:"base,attr"`
	Seq  []xsdElement `xml:"sequence>element"`
}

type xsdElement struct {
	Name      string      `xml:"name,attr"`
	Type      string      `xml:"type,attr"`
	MinOccurs string      `xml:"minOccurs,attr"`
	MaxOccurs string      `xml:"maxOccurs,attr"`
	Nillable  bool        `xml:"nillable,attr"`
	Anonymous *xsdComplex `xml:"complexType"`
}

func (e *xsdElement) min() int {
	if e.MinOccurs == "" {
		return 1
	}
	n, _ := strconv.Atoi(e.MinOccurs)
	return n
}

func (e *xsdElement) max() int {
	switch e.MaxOccurs {
	case "":
		return 1
	case "unbounded":
		return -1
	}
	n, _ := strconv.Atoi(e.MaxOccurs)
	return n
}

type xsdSimple struct {
	Name  string `xml:"name,attr"`
	Restr struct {
		Base  string `xml:"base,attr"`
		Enums []struct {
			Value string `xml:"value,attr"`
		} `xml:"enumeration"`
		Length *struct {
			Value int `xml:"value,attr"`
		} `xml:"length"`
		Pat *struct {
			Value string `xml:"value,attr"`
		} `xml:"pattern"`
	} `xml:"restriction"`
	enums   map[string]bool
	pattern *regexp.Regexp
}

var loadSchema = sync.OnceValues(func() (*xsdSchema, error) {
	var doc struct {
		Complex  []*xsdComplex `xml:"complexType"`
		Simple   []*xsdSimple  `xml:"simpleType"`
		Elements []*xsdElement `xml:"element"`
	}
	if err := xml.Unmarshal(metadataSubsetXSD, &doc); err != nil {
		return nil, fmt.Errorf("sftest: parse embedded schema: %w", err)
	}
	s := &xsdSchema{complex: map[string]*xsdComplex{}, simple: map[string]*xsdSimple{}, elements: map[string]*xsdElement{}}
	for _, c := range doc.Complex {
		s.complex[c.Name] = c
	}
	for _, st := range doc.Simple {
		st.enums = map[string]bool{}
		for _, e := range st.Restr.Enums {
			st.enums[e.Value] = true
		}
		if st.Restr.Pat != nil {
			st.pattern = regexp.MustCompile("^(?:" + st.Restr.Pat.Value + ")$")
		}
		s.simple[st.Name] = st
	}
	for _, e := range doc.Elements {
		s.elements[e.Name] = e
		if e.Anonymous != nil {
			e.Anonymous.flatten = e.Anonymous.Seq
		}
	}
	var flatten func(c *xsdComplex, depth int) []xsdElement
	flatten = func(c *xsdComplex, depth int) []xsdElement {
		if c.Ext == nil {
			return c.Seq
		}
		base := s.complex[localType(c.Ext.Base)]
		if base == nil || depth > 10 {
			return c.Ext.Seq
		}
		return append(append([]xsdElement(nil), flatten(base, depth+1)...), c.Ext.Seq...)
	}
	for _, c := range s.complex {
		c.flatten = flatten(c, 0)
	}
	return s, nil
})

func localType(qname string) string {
	if i := strings.IndexByte(qname, ':'); i >= 0 {
		return qname[i+1:]
	}
	return qname
}

// derivesFrom reports whether type name is base or extends it.
func (s *xsdSchema) derivesFrom(name, base string) bool {
	for i := 0; i < 20 && name != ""; i++ {
		if name == base {
			return true
		}
		c := s.complex[name]
		if c == nil || c.Ext == nil {
			return false
		}
		name = localType(c.Ext.Base)
	}
	return false
}

// optionalInPractice are required elements (type/element, or type/* for all of a
// type's elements) that real orgs accept missing: jsforce sends only the
// DeployOptions its caller gives, and listMetadata without asOfVersion works (it
// then defaults to the endpoint's version).
var optionalInPractice = map[string]bool{"DeployOptions/*": true, "listMetadata/asOfVersion": true}

func mayOmit(parent *node, ct *xsdComplex, element string) bool {
	typ := ct.Name
	if typ == "" {
		typ = parent.Name.Local
	}
	return optionalInPractice[typ+"/*"] || optionalInPractice[typ+"/"+element]
}

// schemaError is a request that does not match the schema. Structural errors become
// a SOAP fault; a missing required field inside a metadata record becomes a
// SaveResult error, as Salesforce reports it.
type schemaError struct {
	faultCode string // "soapenv:Client", "sf:INVALID_TYPE", ...
	message   string
	missing   string // the missing required element, when that is the problem
}

func (e *schemaError) Error() string { return e.message }

func invalidLocation(n *node) *schemaError {
	// Real faultstring, seen on Salesforce's SOAP APIs for an unexpected element
	// ("Element {}item invalid at this location"); the fault code soapenv:Client is
	// the one Salesforce uses for the sibling parser error "Must specify a
	// {...}type attribute value".
	return &schemaError{faultCode: "soapenv:Client", message: fmt.Sprintf("Element {%s}%s invalid at this location", n.Name.Space, n.Name.Local)}
}

// validate checks n's children against the complex type ct: unknown elements,
// repeated single elements, missing required elements, simple values and the
// xsi:type of polymorphic elements. Salesforce's SOAP stack binds elements by name,
// not by position (public requests with elements out of schema order, such as
// createMetadata of a CustomObject with fullName after label, work against real
// orgs), so order is checked only when strictOrder is set. Either way the children
// are put back into schema order, the order in which Salesforce stores and returns
// them.
func (s *xsdSchema) validate(n *node, ct *xsdComplex, strictOrder bool) *schemaError {
	if strictOrder {
		if err := s.checkOrder(n, ct); err != nil {
			return err
		}
	}
	seq := ct.flatten
	counts := make([]int, len(seq))
	pos := make(map[*node]int, len(n.Children))
	for _, child := range n.Children {
		j := 0
		for j < len(seq) && (child.Name.Space != nsMetadata || child.Name.Local != seq[j].Name) {
			j++
		}
		if j == len(seq) {
			if len(ct.Any) > 0 {
				pos[child] = len(seq)
				continue
			}
			return invalidLocation(child)
		}
		counts[j]++
		if max := seq[j].max(); max >= 0 && counts[j] > max {
			return invalidLocation(child)
		}
		pos[child] = j
	}
	for j := range seq {
		if counts[j] < seq[j].min() && !mayOmit(n, ct, seq[j].Name) {
			return missingElement(n, seq[j].Name)
		}
	}
	sort.SliceStable(n.Children, func(a, b int) bool { return pos[n.Children[a]] < pos[n.Children[b]] })
	for _, child := range n.Children {
		if j := pos[child]; j < len(seq) {
			if err := s.validateElement(child, &seq[j], strictOrder); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkOrder rejects an element that comes before one the schema puts ahead of it.
func (s *xsdSchema) checkOrder(n *node, ct *xsdComplex) *schemaError {
	seq := ct.flatten
	last := -1
	for _, child := range n.Children {
		j := 0
		for j < len(seq) && (child.Name.Space != nsMetadata || child.Name.Local != seq[j].Name) {
			j++
		}
		if j == len(seq) {
			continue // unknown: reported by validate
		}
		if j < last {
			// Real faultstring for an element where the parser does not expect it.
			return invalidLocation(child)
		}
		last = j
	}
	return nil
}

func missingElement(parent *node, name string) *schemaError {
	// No real sample of this fault was found; Salesforce's SOAP stack names the
	// element the way it does for an unexpected one, so the fault follows that form.
	// Inside a metadata record the caller turns it into REQUIRED_FIELD_MISSING.
	return &schemaError{
		faultCode: "soapenv:Client",
		message:   fmt.Sprintf("Element {%s}%s is required in {%s}%s", nsMetadata, name, parent.Name.Space, parent.Name.Local),
		missing:   name,
	}
}

func (s *xsdSchema) validateElement(n *node, decl *xsdElement, strictOrder bool) *schemaError {
	if decl.Nillable && n.Nil {
		if len(n.Children) > 0 || strings.TrimSpace(n.Text) != "" {
			return &schemaError{faultCode: "soapenv:Client", message: fmt.Sprintf("Element {%s}%s is nil but has content", n.Name.Space, n.Name.Local)}
		}
		return nil
	}
	if decl.Anonymous != nil {
		return s.validate(n, decl.Anonymous, strictOrder)
	}
	typ := decl.Type
	if strings.HasPrefix(typ, "xsd:") {
		if len(n.Children) > 0 {
			return invalidLocation(n.Children[0])
		}
		return checkBuiltin(n.Text, typ)
	}
	name := localType(typ)
	if st := s.simple[name]; st != nil {
		if len(n.Children) > 0 {
			return invalidLocation(n.Children[0])
		}
		return st.check(n.Text)
	}
	ct := s.complex[name]
	if ct == nil {
		return &schemaError{faultCode: "sf:UNKNOWN_EXCEPTION", message: "UNKNOWN_EXCEPTION: schema has no type " + name}
	}
	if name == "Metadata" && n.Type.Local == "" {
		// Real fault, seen on createMetadata without xsi:type.
		return &schemaError{faultCode: "soapenv:Client", message: fmt.Sprintf("Must specify a {%s}type attribute value for the {%s}%s element", nsXSI, n.Name.Space, n.Name.Local)}
	}
	if n.Type.Local != "" {
		if n.Type.Space != nsMetadata || s.complex[n.Type.Local] == nil || !s.derivesFrom(n.Type.Local, name) {
			// No real sample of a bad xsi:type was found. INVALID_TYPE is the
			// Metadata API's documented code for an unknown type, and "Unknown
			// type:" is its real wording on listMetadata.
			return &schemaError{faultCode: "sf:INVALID_TYPE", message: "INVALID_TYPE: Unknown type:" + n.Type.Local}
		}
		ct = s.complex[n.Type.Local]
	}
	err := s.validate(n, ct, strictOrder)
	if err != nil && err.missing != "" && name == "Metadata" {
		// A record without a required field is refused per record, with a
		// SaveResult error, not by the SOAP stack.
		n.missing = err.missing
		return nil
	}
	return err
}

func checkBuiltin(v, typ string) *schemaError {
	ok := true
	switch typ {
	case "xsd:boolean":
		switch strings.TrimSpace(v) {
		case "true", "false", "1", "0":
		default:
			ok = false
		}
	case "xsd:int":
		_, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		ok = err == nil
	case "xsd:double":
		_, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		ok = err == nil
	case "xsd:dateTime":
		_, err := parseDateTime(strings.TrimSpace(v))
		ok = err == nil
	case "xsd:date":
		_, err := time.Parse("2006-01-02", strings.TrimSpace(v))
		ok = err == nil
	case "xsd:base64Binary":
		_, err := base64.StdEncoding.DecodeString(stripSpace(v))
		ok = err == nil
	}
	if !ok {
		// Salesforce's SOAP stack rejects an unparsable simple value before the
		// call runs; no real sample of the wording was found.
		return &schemaError{faultCode: "soapenv:Client", message: fmt.Sprintf("'%s' is not a valid value for the type %s", v, typ)}
	}
	return nil
}

func (st *xsdSimple) check(v string) *schemaError {
	bad := len(st.enums) > 0 && !st.enums[v] ||
		st.Restr.Length != nil && len(v) != st.Restr.Length.Value ||
		st.pattern != nil && !st.pattern.MatchString(v)
	if bad {
		// As checkBuiltin: rejected by the SOAP stack; wording inferred.
		return &schemaError{faultCode: "soapenv:Client", message: fmt.Sprintf("'%s' is not a valid value for the enum '%s'", v, st.Name)}
	}
	return nil
}

func parseDateTime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("sftest: %q is not an xsd:dateTime", v)
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
}

// node is one element of a parsed request or stored record. Names carry namespace
// URIs, never prefixes, so any client's choice of prefixes decodes the same.
type node struct {
	Name     xml.Name
	Type     xml.Name // resolved xsi:type, if any
	Nil      bool     // xsi:nil="true"
	missing  string   // a required element a metadata record lacks
	Children []*node
	Text     string
}

// child returns the first child with the local name, in the metadata namespace.
func (n *node) child(local string) *node {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if c.Name.Local == local && c.Name.Space == nsMetadata {
			return c
		}
	}
	return nil
}

func (n *node) childText(local string) string {
	if c := n.child(local); c != nil {
		return c.Text
	}
	return ""
}

func (n *node) all(local string) []*node {
	var out []*node
	for _, c := range n.Children {
		if c.Name.Local == local && c.Name.Space == nsMetadata {
			out = append(out, c)
		}
	}
	return out
}

func (n *node) clone() *node {
	c := *n
	c.Children = make([]*node, len(n.Children))
	for i, ch := range n.Children {
		c.Children[i] = ch.clone()
	}
	return &c
}

// parseXML parses a document into nodes. DOCTYPE declarations are refused (no entity
// expansion, no external references).
func parseXML(data []byte) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	type frame struct {
		n   *node
		ns  map[string]string
		txt strings.Builder
	}
	var stack []*frame
	var root *node
	for {
		tok, err := d.RawToken()
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			return nil, err
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, fmt.Errorf("DOCTYPE is not allowed")
		case xml.StartElement:
			ns := map[string]string{}
			if len(stack) > 0 {
				for k, v := range stack[len(stack)-1].ns {
					ns[k] = v
				}
			} else {
				ns["xml"] = "http://www.w3.org/XML/1998/namespace"
			}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "xmlns":
					ns[a.Name.Local] = a.Value
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					ns[""] = a.Value
				}
			}
			resolve := func(prefix, local string, isAttr bool) (xml.Name, error) {
				if prefix == "" && isAttr {
					return xml.Name{Local: local}, nil
				}
				uri, ok := ns[prefix]
				if !ok && prefix != "" {
					return xml.Name{}, fmt.Errorf("undeclared namespace prefix %q", prefix)
				}
				return xml.Name{Space: uri, Local: local}, nil
			}
			name, err := resolve(t.Name.Space, t.Name.Local, false)
			if err != nil {
				return nil, err
			}
			n := &node{Name: name}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns" {
					continue
				}
				an, err := resolve(a.Name.Space, a.Name.Local, true)
				if err != nil {
					return nil, err
				}
				if an.Space != nsXSI {
					continue
				}
				switch an.Local {
				case "type":
					prefix, local, found := strings.Cut(a.Value, ":")
					if !found {
						prefix, local = "", a.Value
					}
					tn, err := resolve(prefix, local, false)
					if err != nil {
						return nil, err
					}
					n.Type = tn
				case "nil":
					n.Nil = a.Value == "true" || a.Value == "1"
				}
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1].n
				p.Children = append(p.Children, n)
			} else if root != nil {
				return nil, fmt.Errorf("more than one root element")
			} else {
				root = n
			}
			stack = append(stack, &frame{n: n, ns: ns})
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, fmt.Errorf("unexpected end element")
			}
			f := stack[len(stack)-1]
			if len(f.n.Children) == 0 {
				f.n.Text = f.txt.String()
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].txt.Write(t)
			} else if strings.TrimSpace(string(t)) != "" {
				return nil, fmt.Errorf("text outside the root element")
			}
		}
	}
	if root == nil || len(stack) > 0 {
		return nil, fmt.Errorf("incomplete document")
	}
	return root, nil
}

// writeRecord writes n and its children, unprefixed, in the default (metadata)
// namespace of the enclosing envelope. xsi:type is written with no prefix, as
// Salesforce writes it (records xsi:type="ConnectedApp").
func writeRecord(b *strings.Builder, n *node, name string) {
	b.WriteString("<" + name)
	if n.Type.Local != "" {
		b.WriteString(` xsi:type="` + n.Type.Local + `"`)
	}
	if n.Nil {
		b.WriteString(` xsi:nil="true"/>`)
		return
	}
	b.WriteString(">")
	if len(n.Children) == 0 {
		xmlEscape(b, n.Text)
	}
	for _, c := range n.Children {
		writeRecord(b, c, c.Name.Local)
	}
	b.WriteString("</" + name + ">")
}

func xmlEscape(b *strings.Builder, s string) {
	var buf bytes.Buffer
	_ = xml.EscapeText(&buf, []byte(s))
	b.Write(buf.Bytes())
}

// el builds a metadata-namespace element with text.
func el(local, text string) *node {
	return &node{Name: xml.Name{Space: nsMetadata, Local: local}, Text: text}
}

// elc builds a metadata-namespace element with children (nil children are skipped).
func elc(local string, children ...*node) *node {
	n := &node{Name: xml.Name{Space: nsMetadata, Local: local}}
	for _, c := range children {
		if c != nil {
			n.Children = append(n.Children, c)
		}
	}
	return n
}
