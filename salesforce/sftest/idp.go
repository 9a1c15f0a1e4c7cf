package sftest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/voicecert/voicecert/samlmeta"
)

// Salesforce as a SAML identity provider: the published metadata, the UI session
// bridged from an access token (frontdoor.jsp), and IdP-initiated SSO
// (/idp/login?app=0sp...) answering with an auto-post form.

const (
	nsSAMLProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsSAMLAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	attrUnspecified = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"
)

// xmlAttr escapes s for an attribute value or text node.
func xmlAttr(s string) string {
	var b strings.Builder
	xmlEscape(&b, s)
	return b.String()
}

// samlTime formats a SAML instant with milliseconds, as Salesforce does.
func samlTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (s *Server) handleIdPMetadata(w http.ResponseWriter, r *http.Request, c *call) {
	if f := s.injected(c.operation, ""); f != nil {
		s.htmlFault(w, f)
		return
	}
	s.mu.Lock()
	o := c.org
	cert := o.cert(o.idpCert)
	enabled := o.idpEnabled
	issuer := o.instanceURL(s.URL)
	now := s.now()
	s.mu.Unlock()
	if !enabled || cert == nil {
		writeHTML(w, http.StatusNotFound, "<html><body>The identity provider is not enabled for this organization.</body></html>")
		return
	}
	// The layout and indentation of a real Salesforce samlidp.xml (2017);
	// validUntil is ten years ahead.
	body := `<?xml version="1.0" encoding="UTF-8"?>
  <md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + xmlAttr(issuer) + `" validUntil="` + samlTime(now.AddDate(10, 0, 0)) + `" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
      <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
         <md:KeyDescriptor use="signing">
            <ds:KeyInfo>
               <ds:X509Data>
                  <ds:X509Certificate>` + base64.StdEncoding.EncodeToString(cert.cert.Raw) + `</ds:X509Certificate>
               </ds:X509Data>
            </ds:KeyInfo>
         </md:KeyDescriptor>
         <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>
         <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="` + xmlAttr(issuer) + `/idp/endpoint/HttpPost"/>
         <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="` + xmlAttr(issuer) + `/idp/endpoint/HttpRedirect"/>
      </md:IDPSSODescriptor>
   </md:EntityDescriptor>`
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, body)
}

func (s *Server) htmlFault(w http.ResponseWriter, f *Fault) {
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if status >= 502 {
		writeGatewayError(w, status)
		return
	}
	msg := f.Message
	if msg == "" {
		msg = f.Code
	}
	writeHTML(w, status, "<html><body>"+html.EscapeString(msg)+"</body></html>")
}

// loginRedirect sends a request without a UI session to the login page, as
// Salesforce does, with the page it wanted as startURL.
func (s *Server) loginRedirect(w http.ResponseWriter, o *org, start string) {
	w.Header().Set("Location", o.instanceURL(s.URL)+"/?ec=302&startURL="+url.QueryEscape(start))
	w.Header().Set("Content-Type", "text/html;charset=UTF-8")
	w.WriteHeader(http.StatusFound)
}

// safeRetURL accepts only a path on the same host.
func safeRetURL(v string) string {
	if v == "" || !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//") || strings.Contains(v, "\\") {
		return "/home/home.jsp"
	}
	return v
}

func (s *Server) handleFrontdoor(w http.ResponseWriter, r *http.Request, c *call) {
	if f := s.injected(c.operation, ""); f != nil {
		s.htmlFault(w, f)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeHTML(w, http.StatusBadRequest, "<html><body>Bad request</body></html>")
		return
	}
	sid := r.Form.Get("sid")
	ret := safeRetURL(r.Form.Get("retURL"))
	s.mu.Lock()
	defer s.mu.Unlock()
	o := c.org
	t := s.lookupToken(o, sid)
	// A UI session needs the web or full scope and a user who is not API-only.
	if t == nil || !t.hasScope("web", "full") || t.user.APIOnly {
		s.loginRedirect(w, o, ret)
		return
	}
	value, err := s.randomString(72)
	if err != nil {
		writeHTML(w, http.StatusInternalServerError, "<html><body>Internal error</body></html>")
		return
	}
	sess := &session{value: id15(o.id) + "!AQ" + value, org: o, user: t.user, expires: s.now().Add(s.tokenLifetime())}
	s.sessions[sess.value] = sess
	cookiePath := o.prefix + "/"
	http.SetCookie(w, &http.Cookie{Name: "sid", Value: sess.value, Path: cookiePath, HttpOnly: true})
	http.SetCookie(w, &http.Cookie{Name: "oid", Value: id15(o.id), Path: cookiePath})
	w.Header().Set("Location", o.instanceURL(s.URL)+ret)
	w.Header().Set("Content-Type", "text/html;charset=UTF-8")
	w.WriteHeader(http.StatusFound)
}

// uiSession returns the request's valid UI session for org o, or nil. The caller
// holds s.mu.
func (s *Server) uiSession(r *http.Request, o *org) *session {
	for _, ck := range r.Cookies() {
		if ck.Name != "sid" {
			continue
		}
		sess := s.sessions[ck.Value]
		if sess != nil && sess.org == o && s.now().Before(sess.expires) {
			return sess
		}
	}
	return nil
}

func (s *Server) handleUI(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	sess := s.uiSession(r, c.org)
	s.mu.Unlock()
	if c.path == "/home/home.jsp" {
		if sess == nil {
			s.loginRedirect(w, c.org, c.path)
			return
		}
		writeHTML(w, http.StatusOK, "<html><head><title>Home</title></head><body>Home</body></html>")
		return
	}
	writeHTML(w, http.StatusOK, `<html><head><title>Login | Salesforce</title></head><body><form name="login" method="post" action="/"><input type="text" name="username"/><input type="password" name="pw"/><input type="submit" name="Login" value="Log In"/></form></body></html>`)
}

func (s *Server) handleIdPLogin(w http.ResponseWriter, r *http.Request, c *call) {
	if f := s.injected(c.operation, ""); f != nil {
		s.htmlFault(w, f)
		return
	}
	q := r.URL.Query()
	appID := q.Get("app")
	s.mu.Lock()
	defer s.mu.Unlock()
	o := c.org
	sess := s.uiSession(r, o)
	if sess == nil {
		s.loginRedirect(w, o, strings.TrimPrefix(r.URL.RequestURI(), o.prefix))
		return
	}
	var app *connectedApp
	for _, a := range o.connected {
		if appID != "" && sameID(a.spID, appID) {
			app = a
		}
	}
	if app == nil || app.saml() == nil {
		writeHTML(w, http.StatusNotFound, "<html><body>Error: No service provider found for this app ID.</body></html>")
		return
	}
	if !o.idpEnabled {
		writeHTML(w, http.StatusForbidden, "<html><body>Error: The identity provider is not enabled.</body></html>")
		return
	}
	signer := o.effectiveSigner(app)
	if cached, ok := o.cachedSigners[app.fullName]; ok && s.now().Before(o.signersChangedAt.Add(s.cfg.SignerCacheDelay)) {
		signer = cached
	}
	cert := o.cert(signer)
	if cert == nil {
		writeHTML(w, http.StatusInternalServerError, "<html><body>Error: The signing certificate is missing.</body></html>")
		return
	}
	response, err := s.samlResponse(o, app, sess.user)
	if err == nil {
		alg := samlmeta.RSASHA256
		if app.saml().childText("samlSigningAlgoType") == "SHA1" {
			alg = samlmeta.RSASHA1
		}
		response, err = samlmeta.SignResponse(response, cert.key, cert.cert, alg)
	}
	if err != nil {
		writeHTML(w, http.StatusInternalServerError, "<html><body>Error: the SAML response could not be built.</body></html>")
		return
	}
	relay := q.Get("RelayState")
	if relay == "" {
		relay = app.record.childText("startUrl")
	}
	acs := app.saml().childText("acsUrl")
	page := `<html><body onload="document.forms[0].submit()">
<form method="POST" action="` + html.EscapeString(acs) + `">
<input type="hidden" name="SAMLResponse" value="` + base64.StdEncoding.EncodeToString(response) + `"/>
<input type="hidden" name="RelayState" value="` + html.EscapeString(relay) + `"/>
<noscript><input type="submit" value="Continue"/></noscript></form></body></html>`
	writeHTML(w, http.StatusOK, page)
}

// samlID returns "_" + 32 hex digits + the epoch milliseconds, the form of
// Salesforce's Response and Assertion IDs.
func (s *Server) samlID(t time.Time) (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", fmt.Errorf("sftest: random: %w", err)
	}
	return fmt.Sprintf("_%s%d", hex.EncodeToString(b), t.UnixMilli()), nil
}

var nameIDFormats = map[string]string{
	"":             "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
	"Unspecified":  "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
	"EmailAddress": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
	"Persistent":   "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
	"Transient":    "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
}

// evalFormula evaluates the formulas the fake understands: one string literal,
// and the $User and $Organization fields below. Others yield ok=false.
func evalFormula(f string, o *org, u *user) (string, bool) {
	if v, ok := stringLiteral(f); ok {
		return v, true
	}
	switch strings.TrimSpace(f) {
	case "$User.Email":
		return u.Email, true
	case "$User.Username":
		return u.Username, true
	case "$User.Id":
		return id15(u.id), true
	case "$Organization.Id":
		return id15(o.id), true
	}
	return "", false
}

// samlResponse builds the unsigned Response, shaped like the real one in
// ../shared/fixtures/salesforce-idp-2017 (IdP-initiated: no InResponseTo).
func (s *Server) samlResponse(o *org, app *connectedApp, u *user) ([]byte, error) {
	now := s.now().UTC().Truncate(time.Millisecond)
	respID, err := s.samlID(now)
	if err != nil {
		return nil, err
	}
	assertID, err := s.samlID(now)
	if err != nil {
		return nil, err
	}
	lifetime := s.cfg.AssertionLifetime
	if lifetime <= 0 {
		lifetime = 5 * time.Minute
	}
	cfg := app.saml()
	issuer := xmlAttr(o.instanceURL(s.URL))
	acs := xmlAttr(cfg.childText("acsUrl"))
	notOnOrAfter := samlTime(now.Add(lifetime))
	var nameID string
	switch cfg.childText("samlSubjectType") {
	case "UserId":
		nameID = id15(u.id)
	case "PersistentId":
		sum := sha256.Sum256([]byte(o.id + u.id + app.id))
		nameID = hex.EncodeToString(sum[:20])
	case "CustomAttribute":
		nameID, _ = evalFormula(cfg.childText("samlSubjectCustomAttr"), o, u)
	default: // Username, FederationId
		nameID = u.Username
	}
	format := nameIDFormats[cfg.childText("samlNameIdFormat")]
	attr := func(b *strings.Builder, name, value string) {
		b.WriteString(`<saml:Attribute Name="` + xmlAttr(name) + `" NameFormat="` + attrUnspecified + `"><saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:anyType">` + xmlAttr(value) + `</saml:AttributeValue></saml:Attribute>`)
	}
	var attrs strings.Builder
	attr(&attrs, "userId", id15(u.id))
	attr(&attrs, "username", u.Username)
	attr(&attrs, "email", u.Email)
	attr(&attrs, "is_portal_user", "false")
	for _, a := range app.record.all("attributes") {
		if v, ok := evalFormula(a.childText("formula"), o, u); ok {
			attr(&attrs, a.childText("key"), v)
		}
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><samlp:Response xmlns:samlp="` + nsSAMLProtocol + `" Destination="` + acs + `" ID="` + respID + `" IssueInstant="` + samlTime(now) + `" Version="2.0">`)
	b.WriteString(`<saml:Issuer xmlns:saml="` + nsSAMLAssertion + `" Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">` + issuer + `</saml:Issuer>`)
	b.WriteString(`<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>`)
	b.WriteString(`<saml:Assertion xmlns:saml="` + nsSAMLAssertion + `" ID="` + assertID + `" IssueInstant="` + samlTime(now) + `" Version="2.0">`)
	b.WriteString(`<saml:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">` + issuer + `</saml:Issuer>`)
	b.WriteString(`<saml:Subject><saml:NameID Format="` + format + `">` + xmlAttr(nameID) + `</saml:NameID>`)
	b.WriteString(`<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="` + notOnOrAfter + `" Recipient="` + acs + `"/></saml:SubjectConfirmation></saml:Subject>`)
	b.WriteString(`<saml:Conditions NotBefore="` + samlTime(now.Add(-30*time.Second)) + `" NotOnOrAfter="` + notOnOrAfter + `"><saml:AudienceRestriction><saml:Audience>` + xmlAttr(cfg.childText("entityUrl")) + `</saml:Audience></saml:AudienceRestriction></saml:Conditions>`)
	b.WriteString(`<saml:AuthnStatement AuthnInstant="` + samlTime(now) + `"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`)
	b.WriteString(`<saml:AttributeStatement>` + attrs.String() + `</saml:AttributeStatement></saml:Assertion></samlp:Response>`)
	return []byte(b.String()), nil
}
