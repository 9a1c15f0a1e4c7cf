package salesforce

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// ConnectedApp is a connected app, as far as SAML single sign-on is concerned.
type ConnectedApp struct {
	// FullName is the app's Metadata API name.
	FullName string
	// Label is the name shown in Setup.
	Label string
	// ID is the app's id (0H4...), as listMetadata reports it.
	ID string
	// Certificate is the DeveloperName in samlConfig/certificate: the certificate the
	// app signs assertions with. Empty means the app follows the org's default IdP
	// certificate ([IdentityProviderSettings.CertificateName]). (Public sources do
	// not confirm that this field is the UI's "IdP Certificate"; voicecert assumes it
	// and checks it live by the signer it observes.)
	Certificate string
	// ManageableState is listMetadata's manageableState ("unmanaged", "installed",
	// ...); empty when Salesforce does not report it. Installed apps cannot be updated.
	ManageableState string
	// EntityURL is the service provider's entity id (samlConfig/entityUrl).
	EntityURL string
	// ACSURL is where assertions are posted (samlConfig/acsUrl).
	ACSURL string
	// SigningAlgorithm is samlConfig/samlSigningAlgoType ("SHA1", "SHA256"), or empty.
	SigningAlgorithm string
	// RoleARN and ProviderARN come from the app's
	// https://aws.amazon.com/SAML/Attributes/Role attribute when its formula is one
	// quoted string literal "role-arn,provider-arn" (in either order); empty otherwise.
	RoleARN, ProviderARN string
	// SAML reports whether the app has a SAML configuration.
	SAML bool
}

// AWSRoleAttribute is the SAML attribute that carries the AWS role and provider.
const AWSRoleAttribute = "https://aws.amazon.com/SAML/Attributes/Role"

// connectedAppXML is the part of a ConnectedApp record read here.
type connectedAppXML struct {
	FullName   string `xml:"fullName"`
	Attributes []struct {
		Formula string `xml:"formula"`
		Key     string `xml:"key"`
	} `xml:"attributes"`
	Label      string `xml:"label"`
	SAMLConfig *struct {
		ACSURL           string  `xml:"acsUrl"`
		Certificate      *string `xml:"certificate"`
		EntityURL        string  `xml:"entityUrl"`
		SigningAlgorithm string  `xml:"samlSigningAlgoType"`
	} `xml:"samlConfig"`
}

// connectedApp decodes a ConnectedApp record; fp, when known, adds id and state.
func connectedApp(rec *record, fullName string, fp *fileProperties) (*ConnectedApp, error) {
	var x connectedAppXML
	if err := rec.decode(&x); err != nil {
		return nil, fmt.Errorf("salesforce: readMetadata ConnectedApp %s: %w", fullName, err)
	}
	app := &ConnectedApp{FullName: fullName, Label: x.Label}
	if x.FullName != "" {
		app.FullName = x.FullName
	}
	if fp != nil {
		app.ID, app.ManageableState = fp.ID, fp.ManageableState
	}
	if s := x.SAMLConfig; s != nil {
		app.SAML = true
		app.ACSURL, app.EntityURL, app.SigningAlgorithm = s.ACSURL, s.EntityURL, s.SigningAlgorithm
		if s.Certificate != nil {
			app.Certificate = strings.TrimSpace(*s.Certificate)
		}
	}
	for _, a := range x.Attributes {
		if a.Key == AWSRoleAttribute {
			app.RoleARN, app.ProviderARN = roleFromFormula(a.Formula)
		}
	}
	return app, nil
}

var (
	roleARNPattern     = regexp.MustCompile(`^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/[\w+=,.@/-]+$`)
	providerARNPattern = regexp.MustCompile(`^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:saml-provider/[\w.-]+$`)
)

// roleFromFormula reads the role and provider ARNs from a Role attribute formula
// that is one quoted string literal, "role-arn,provider-arn" in either order. Any
// other formula (a field reference, a concatenation) gives empty strings: the value
// is then known only at sign-in.
func roleFromFormula(formula string) (role, provider string) {
	f := strings.TrimSpace(formula)
	if len(f) < 2 || (f[0] != '"' && f[0] != '\'') || f[len(f)-1] != f[0] {
		return "", ""
	}
	lit := f[1 : len(f)-1]
	if strings.ContainsAny(lit, `"'\`) {
		return "", ""
	}
	parts := strings.Split(lit, ",")
	if len(parts) != 2 {
		return "", ""
	}
	for _, p := range parts {
		p = strings.TrimSpace(p)
		switch {
		case roleARNPattern.MatchString(p) && role == "":
			role = p
		case providerARNPattern.MatchString(p) && provider == "":
			provider = p
		}
	}
	if role == "" || provider == "" {
		return "", ""
	}
	return role, provider
}

// connectedAppFiles lists the connected apps, by fullName.
func (c *Client) connectedAppFiles(ctx context.Context) (map[string]fileProperties, error) {
	files, err := c.listMetadata(ctx, "ConnectedApp")
	if err != nil {
		return nil, err
	}
	out := make(map[string]fileProperties, len(files))
	for _, f := range files {
		out[f.FullName] = f
	}
	return out, nil
}

// readConnectedApp reads one app's record.
func (c *Client) readConnectedApp(ctx context.Context, fullName string) (*record, error) {
	recs, err := c.readMetadata(ctx, "ConnectedApp", []string{fullName})
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%w: connected app %q", ErrNotFound, fullName)
	}
	return recs[0], nil
}

// ConnectedApp reads a connected app by its Metadata API fullName. It returns an
// error matching [ErrNotFound] when there is none.
func (c *Client) ConnectedApp(ctx context.Context, fullName string) (*ConnectedApp, error) {
	if fullName == "" {
		return nil, errors.New("salesforce: connected app name is empty")
	}
	files, err := c.connectedAppFiles(ctx)
	if err != nil {
		return nil, err
	}
	rec, err := c.readConnectedApp(ctx, fullName)
	if err != nil {
		return nil, err
	}
	var fp *fileProperties
	if f, ok := files[fullName]; ok {
		fp = &f
	}
	return connectedApp(rec, fullName, fp)
}

// ListSAMLConnectedApps lists every connected app with a SAML configuration, with
// the certificate it signs with (empty: the org default), sorted by fullName.
func (c *Client) ListSAMLConnectedApps(ctx context.Context) ([]ConnectedApp, error) {
	files, err := c.connectedAppFiles(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	recs, err := c.readMetadata(ctx, "ConnectedApp", names)
	if err != nil {
		return nil, err
	}
	var out []ConnectedApp
	for _, rec := range recs {
		app, err := connectedApp(rec, "", nil)
		if err != nil {
			return nil, err
		}
		if f, ok := files[app.FullName]; ok {
			app.ID, app.ManageableState = f.ID, f.ManageableState
		}
		if app.SAML {
			out = append(out, *app)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FullName < out[j].FullName })
	return out, nil
}

// SetConnectedAppCertificate sets the certificate a connected app signs with
// (certificate "" returns it to the org default). The app is patched, not rewritten:
// its record is read as XML, only samlConfig/certificate changes and every other byte
// goes back as read; then the record is read again, and any difference from what was
// sent is an error matching [ErrUnexpectedChange] (the caller undoes the change).
// The certificate must exist (an error matching [ErrNotFound] otherwise). When the
// app already signs with certificate, nothing is written.
func (c *Client) SetConnectedAppCertificate(ctx context.Context, fullName, certificate string) error {
	if certificate != "" {
		if err := checkDeveloperName(certificate); err != nil {
			return err
		}
	}
	rec, err := c.readConnectedApp(ctx, fullName)
	if err != nil {
		return err
	}
	patched, changed, err := patchCertificate(rec, certificate)
	if err != nil {
		return fmt.Errorf("salesforce: connected app %s: %w", fullName, err)
	}
	if !changed {
		return nil
	}
	if certificate != "" {
		if _, err := c.findCertificate(ctx, certificate); err != nil {
			return fmt.Errorf("%w; connected app %s cannot be pointed at it", err, fullName)
		}
	}
	if ns, ok := rec.Scope[""]; ok && ns != metadataNS {
		return fmt.Errorf("salesforce: connected app %s: the record is not in the default metadata namespace", fullName)
	}
	want := &record{Type: rec.Type, Inner: patched, Scope: rec.Scope}
	body := want.wrap("metadata", `xsi:type="ConnectedApp"`)
	err = c.writeChecked(ctx, "updateMetadata ConnectedApp "+fullName, func() error {
		return c.updateMetadata(ctx, "ConnectedApp", body)
	}, func() (bool, error) {
		now, err := c.readConnectedApp(ctx, fullName)
		if err != nil {
			return false, err
		}
		return len(compareRecords(want, now)) == 0, nil
	})
	if err != nil {
		return err
	}
	got, err := c.readConnectedApp(ctx, fullName)
	if err != nil {
		return fmt.Errorf("%w (reading connected app %s back after its update)", err, fullName)
	}
	if diffs := compareRecords(want, got); len(diffs) > 0 {
		return fmt.Errorf("%w: connected app %s differs from what was sent: %s", ErrUnexpectedChange, fullName,
			strings.Join(diffs, "; "))
	}
	return nil
}

// patchCertificate returns the record's bytes with samlConfig/certificate set to
// cert (removed when cert is empty), every other byte unchanged.
func patchCertificate(rec *record, cert string) (out []byte, changed bool, err error) {
	const closing = "</records>"
	doc := rec.wrap("records", "")
	// shift is where Inner starts in doc, after the wrapping start tag.
	shift := len(doc) - len(rec.Inner) - len(closing)
	d := xml.NewDecoder(bytes.NewReader(doc))
	var (
		depth                   int
		inSAML, samlSeen, found bool
		certSelfClosing         bool
		certStart, certTagEnd   int64
		certTextEnd, certEnd    int64
		acsEnd                  int64
		acsTag, current         string
	)
	for {
		before := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, false, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 2 && t.Name.Local == "samlConfig" && t.Name.Space == metadataNS:
				if samlSeen {
					return nil, false, errors.New("the record has two samlConfig elements")
				}
				inSAML, samlSeen = true, true
			case depth == 3 && inSAML:
				current = t.Name.Local
				switch current {
				case "certificate":
					if found {
						return nil, false, errors.New("its samlConfig has two certificate elements")
					}
					found = true
					certStart, certTagEnd = before, d.InputOffset()
					certSelfClosing = bytes.HasSuffix(doc[certStart:certTagEnd], []byte("/>"))
				case "acsUrl":
					acsTag = string(doc[before:d.InputOffset()])
				}
			}
		case xml.EndElement:
			if depth == 3 && inSAML {
				switch current {
				case "certificate":
					certTextEnd, certEnd = before, d.InputOffset()
				case "acsUrl":
					acsEnd = d.InputOffset()
				}
				current = ""
			}
			if depth == 2 && inSAML {
				inSAML = false
			}
			depth--
		}
	}
	if !samlSeen {
		return nil, false, errors.New("it has no SAML configuration (samlConfig)")
	}
	var text bytes.Buffer
	xmlText(&text, cert)
	var b bytes.Buffer
	switch {
	case found && cert == "":
		b.Write(doc[:certStart])
		b.Write(doc[certEnd:])
	case found && certSelfClosing:
		name := tagName(string(doc[certStart:certTagEnd]))
		b.Write(doc[:certStart])
		b.WriteString("<" + name + ">" + text.String() + "</" + name + ">")
		b.Write(doc[certEnd:])
	case found:
		if strings.TrimSpace(string(doc[certTagEnd:certTextEnd])) == cert {
			return rec.Inner, false, nil
		}
		b.Write(doc[:certTagEnd])
		b.Write(text.Bytes())
		b.Write(doc[certTextEnd:])
	case cert == "":
		return rec.Inner, false, nil
	default:
		if acsEnd == 0 {
			return nil, false, errors.New("its samlConfig has no acsUrl to place the certificate after")
		}
		name := strings.Replace(tagName(acsTag), "acsUrl", "certificate", 1)
		b.Write(doc[:acsEnd])
		b.WriteString("<" + name + ">" + text.String() + "</" + name + ">")
		b.Write(doc[acsEnd:])
	}
	whole := b.Bytes()
	return bytes.Clone(whole[shift : len(whole)-len(closing)]), true, nil
}

// tagName returns the (possibly prefixed) element name of a start tag.
func tagName(tag string) string {
	tag = strings.TrimPrefix(tag, "<")
	if i := strings.IndexAny(tag, " \t\r\n/>"); i >= 0 {
		tag = tag[:i]
	}
	return tag
}

// node is an element reduced to what an XML reader sees: namespace-qualified names,
// attributes other than namespace declarations, and text (whitespace trimmed).
type node struct {
	name     xml.Name
	attrs    []string
	text     string
	children []*node
}

// parseNode reads a record into a node tree.
func parseNode(r *record) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(r.wrap("records", "")))
	var stack []*node
	var root *node
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{name: t.Name}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				n.attrs = append(n.attrs, a.Name.Space+" "+a.Name.Local+"="+a.Value)
			}
			sort.Strings(n.attrs)
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		case xml.EndElement:
			n := stack[len(stack)-1]
			n.text = strings.TrimSpace(n.text)
			stack = stack[:len(stack)-1]
		}
	}
	if root == nil {
		return nil, errors.New("empty record")
	}
	return root, nil
}

// compareRecords lists the differences between two records, by element path.
func compareRecords(want, got *record) []string {
	a, err := parseNode(want)
	if err != nil {
		return []string{"the record sent does not parse: " + err.Error()}
	}
	b, err := parseNode(got)
	if err != nil {
		return []string{"the record read back does not parse: " + err.Error()}
	}
	// The roots are the wrappers made by parseNode; only what they hold is compared.
	a.name, b.name = xml.Name{}, xml.Name{}
	var diffs []string
	compareNodes("", a, b, &diffs)
	return diffs
}

func compareNodes(path string, a, b *node, diffs *[]string) {
	const maxDiffs = 10
	if len(*diffs) >= maxDiffs {
		return
	}
	if a.name != b.name {
		*diffs = append(*diffs, fmt.Sprintf("%s: element %s became %s", path, a.name.Local, b.name.Local))
		return
	}
	// The root wrapper has no name (compareRecords clears it): its path is "".
	here := ""
	if a.name.Local != "" {
		here = path + "/" + a.name.Local
	}
	if strings.Join(a.attrs, " ") != strings.Join(b.attrs, " ") {
		*diffs = append(*diffs, fmt.Sprintf("%s: attributes changed", orRoot(here)))
	}
	if len(a.children) == 0 && len(b.children) == 0 && a.text != b.text {
		if secretElement(a.name.Local) {
			*diffs = append(*diffs, fmt.Sprintf("%s: changed (value withheld: it may be a secret)", orRoot(here)))
		} else {
			*diffs = append(*diffs, fmt.Sprintf("%s: %q became %q", orRoot(here), a.text, b.text))
		}
	}
	for i := 0; i < max(len(a.children), len(b.children)); i++ {
		switch {
		case i >= len(a.children):
			*diffs = append(*diffs, fmt.Sprintf("%s/%s: added", here, b.children[i].name.Local))
		case i >= len(b.children):
			*diffs = append(*diffs, fmt.Sprintf("%s/%s: removed", here, a.children[i].name.Local))
		default:
			compareNodes(here, a.children[i], b.children[i], diffs)
		}
	}
}

// secretElement reports whether an element of a record may hold a secret whose
// value must stay out of errors, such as oauthConfig/consumerSecret.
func secretElement(local string) bool {
	l := strings.ToLower(local)
	for _, w := range []string{"secret", "password", "token", "privatekey"} {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

func orRoot(p string) string {
	if p == "" {
		return "record"
	}
	return p
}
