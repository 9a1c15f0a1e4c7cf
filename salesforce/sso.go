package salesforce

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
)

// SSOResponse is what Salesforce's IdP-initiated SSO page would post to the service
// provider. Its [SSOResponse.LogValue] and [SSOResponse.String] never show the
// assertion: it is a credential until it expires.
type SSOResponse struct {
	// SAMLResponse is the decoded SAML Response XML.
	SAMLResponse []byte
	// Encoded is the SAMLResponse form value as posted (base64).
	Encoded string
	// RelayState is the RelayState form value, if any.
	RelayState string
	// Action is where the form posts to (the ACS URL, such as
	// https://signin.aws.amazon.com/saml).
	Action string
}

// String describes the response without the assertion.
func (r SSOResponse) String() string {
	return fmt.Sprintf("SSOResponse{action=%s relay_state=%q saml_response=REDACTED (%d bytes)}", r.Action, r.RelayState, len(r.SAMLResponse))
}

// GoString is String, so that %#v hides the assertion too.
func (r SSOResponse) GoString() string { return r.String() }

// LogValue logs the response without the assertion.
func (r SSOResponse) LogValue() slog.Value {
	return slog.GroupValue(slog.String("action", r.Action), slog.String("relay_state", r.RelayState),
		slog.String("saml_response", "REDACTED"))
}

// maxSSOPage caps each page the SSO probe reads.
const maxSSOPage = 2 << 20

// ProbeSSO runs the org's IdP-initiated SSO for identityURL (a contact center's
// reqIdentityUrl, on the org's host) the way a user's browser would, without
// submitting the result: it opens a UI session from the token (POST to
// /secur/frontdoor.jsp), GETs identityURL following same-host redirects only, and
// returns the SAMLResponse and RelayState of the auto-post form. Every call gets a
// fresh response.
//
// It needs a token with the web (or full) scope and a user who is not API-only and
// may use the connected app; it returns errors matching [ErrNoWebScope],
// [ErrAPIOnlyUser] or [ErrNoAccess] otherwise.
func (c *Client) ProbeSSO(ctx context.Context, identityURL string) (*SSOResponse, error) {
	s, err := c.session(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := c.probeSSO(ctx, s, identityURL)
	if err == nil || !errors.Is(err, ErrAPIOnlyUser) {
		return resp, err
	}
	// frontdoor.jsp answers an expired or revoked session the way it answers an
	// API-only user. One authenticated REST read tells them apart: it renews the
	// session once on INVALID_SESSION_ID. When it did, the probe is tried again,
	// once; when the session was fine, the diagnosis stands.
	if _, verr := c.do(ctx, call{op: "versions", build: func(s *session) (*http.Request, error) {
		return c.restRequest(s, http.MethodGet, s.resolve("/services/data/v"+c.version+"/", nil))
	}}); verr != nil {
		return nil, verr
	}
	renewed, serr := c.session(ctx)
	if serr != nil {
		return nil, serr
	}
	if renewed == s {
		return nil, err
	}
	return c.probeSSO(ctx, renewed, identityURL)
}

// probeSSO is one attempt of [Client.ProbeSSO] with the session s.
func (c *Client) probeSSO(ctx context.Context, s *session, identityURL string) (*SSOResponse, error) {
	target, err := url.Parse(identityURL)
	if err != nil || !target.IsAbs() {
		return nil, fmt.Errorf("salesforce: identity URL %q is not an absolute URL", identityURL)
	}
	if !strings.EqualFold(target.Host, s.base.Host) || !strings.HasPrefix(target.Path, s.base.Path+"/") {
		return nil, fmt.Errorf("salesforce: identity URL %s%s is not on the org's URL %s: refusing to send a session there",
			target.Host, target.Path, s.base.Host+s.base.Path)
	}
	if err := checkScheme(target); err != nil {
		return nil, fmt.Errorf("salesforce: identity URL: %w", err)
	}
	scopeKnown := s.tok.Scope != ""
	if scopeKnown && !hasScope(s.tok.Scope, "web") && !hasScope(s.tok.Scope, "full") {
		return nil, fmt.Errorf("%w: the token's scopes are %q; add the web scope (\"Provide access to "+
			"the data via the Web\") to the app's OAuth scopes", ErrNoWebScope, s.tok.Scope)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, fmt.Errorf("salesforce: SSO probe: %w", err)
	}
	noSession := func(why string) error {
		if scopeKnown {
			return fmt.Errorf("%w: %s; the SSO probe needs a user without the \"API Only User\" permission",
				ErrAPIOnlyUser, why)
		}
		return fmt.Errorf("salesforce: SSO probe: %s: the user has the \"API Only User\" permission or the token "+
			"lacks the web scope; the probe needs neither to hold (%w; %w)", why, ErrAPIOnlyUser, ErrNoWebScope)
	}

	// Open a UI session. The sid goes in the body, never in the URL.
	front := sameHostClient(c.hc, s.base.Host, jar)
	front.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.resolve("/secur/frontdoor.jsp", nil),
		strings.NewReader(url.Values{"sid": {s.tok.AccessToken}}.Encode()))
	if err != nil {
		return nil, fmt.Errorf("salesforce: SSO probe: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, _, err := c.probeRequest(front, req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		return nil, noSession(fmt.Sprintf("frontdoor.jsp answered HTTP %d", resp.StatusCode))
	}
	if !hasSessionCookie(jar, s.resolve("/", nil)) {
		return nil, noSession("frontdoor.jsp opened no UI session")
	}

	// Ask for the assertion, as the Telephony Provider Settings link does.
	get := sameHostClient(c.hc, s.base.Host, jar)
	req, err = http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("salesforce: SSO probe: %w", err)
	}
	resp, page, err := c.probeRequest(get, req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("salesforce: SSO probe: %s answered HTTP %d", target.Path, resp.StatusCode)
	}
	form := parseAutoPostForm(page)
	encoded, ok := form.inputs["SAMLResponse"]
	if !ok {
		switch {
		case strings.Contains(page, "Insufficient Privileges"):
			return nil, fmt.Errorf("%w: the user may not use this contact center's connected app: assign the "+
				"Service Cloud Voice permission set, or add the profile on the app's Manage page", ErrNoAccess)
		case looksLikeLogin(strings.TrimPrefix(resp.Request.URL.Path, s.base.Path), page):
			return nil, noSession("Salesforce asked for a login instead of issuing an assertion")
		}
		return nil, fmt.Errorf("salesforce: SSO probe: the page at %s has no SAMLResponse form", resp.Request.URL.Path)
	}
	xmlBytes, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(encoded), ""))
	if err != nil {
		return nil, errors.New("salesforce: SSO probe: the SAMLResponse is not base64")
	}
	return &SSOResponse{SAMLResponse: xmlBytes, Encoded: encoded, RelayState: form.inputs["RelayState"],
		Action: form.action}, nil
}

// probeRequest sends one request of the SSO probe and reads the page. Errors never
// include the request body or the page.
func (c *Client) probeRequest(hc *http.Client, req *http.Request) (*http.Response, string, error) {
	c.reads.Add(1)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("salesforce: SSO probe: %s %s: %w", req.Method, req.URL.Path, scrubURLError(err))
	}
	defer resp.Body.Close()
	c.log.Debug("salesforce: SSO probe", "method", req.Method, "path", req.URL.Path,
		"final_path", resp.Request.URL.Path, "status", resp.StatusCode)
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSSOPage+1))
	if err != nil {
		return nil, "", fmt.Errorf("salesforce: SSO probe: reading %s: %w", req.URL.Path, err)
	}
	if len(body) > maxSSOPage {
		return nil, "", fmt.Errorf("salesforce: SSO probe: the page at %s is larger than %d bytes", req.URL.Path, maxSSOPage)
	}
	return resp, string(body), nil
}

// hasScope reports whether a space-separated scope list holds scope.
func hasScope(list, scope string) bool {
	for _, s := range strings.Fields(list) {
		if s == scope {
			return true
		}
	}
	return false
}

// hasSessionCookie reports whether the jar holds a sid cookie for the org's URL.
func hasSessionCookie(jar http.CookieJar, orgURL string) bool {
	u, err := url.Parse(orgURL)
	if err != nil {
		return false
	}
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "sid" && ck.Value != "" {
			return true
		}
	}
	return false
}

// looksLikeLogin reports whether a page (at path, relative to the instance URL) is
// Salesforce's login page.
func looksLikeLogin(path, page string) bool {
	p := strings.ToLower(path)
	if p == "/" || p == "" || (strings.Contains(p, "login") && !strings.HasPrefix(p, "/idp/")) {
		return true
	}
	return strings.Contains(page, `name="pw"`) || strings.Contains(page, `id="password"`)
}

// autoPostForm is the first form of a page with its hidden inputs.
type autoPostForm struct {
	action string
	inputs map[string]string
}

var (
	formTag  = regexp.MustCompile(`(?is)<form\b[^>]*>`)
	inputTag = regexp.MustCompile(`(?is)<input\b[^>]*>`)
	attr     = regexp.MustCompile(`(?is)([a-z_:][-a-z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))`)
)

// parseAutoPostForm reads the form of a SAML HTTP-POST binding page. Inputs are found
// by name, whatever the attribute order, quoting or other inputs.
func parseAutoPostForm(page string) autoPostForm {
	f := autoPostForm{inputs: map[string]string{}}
	if tag := formTag.FindString(page); tag != "" {
		f.action = tagAttrs(tag)["action"]
	}
	for _, tag := range inputTag.FindAllString(page, -1) {
		a := tagAttrs(tag)
		name, ok := a["name"]
		if !ok {
			continue
		}
		if _, dup := f.inputs[name]; !dup {
			f.inputs[name] = a["value"]
		}
	}
	return f
}

// tagAttrs returns the attributes of a start tag, names lower-cased, values
// unescaped.
func tagAttrs(tag string) map[string]string {
	out := map[string]string{}
	for _, m := range attr.FindAllStringSubmatch(tag, -1) {
		name := strings.ToLower(m[1])
		if _, dup := out[name]; dup {
			continue
		}
		out[name] = html.UnescapeString(m[2] + m[3] + m[4])
	}
	return out
}
