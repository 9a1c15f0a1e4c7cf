package salesforce

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicecert/voicecert/internal/testenv"
)

const (
	identityPath = "/idp/login?app=0sp5g000000XyzC"
	uiSession    = "00D5g00000AbCdE!UIsessionCOOKIEsecret42424242"
)

// scopedSource gives the test token with the given scopes.
type scopedSource struct{ scope string }

func (s scopedSource) Token(context.Context) (*Token, error) {
	return &Token{AccessToken: testToken, InstanceURL: testInstance, Scope: s.scope}, nil
}

// frontdoor answers like frontdoor.jsp: it checks that the sid came in the body and
// sets a session cookie (or none, for an API-only user).
// versionsPath and versionsJSON are the API version's resource list, which the probe
// reads to tell an expired session from an API-only user.
const (
	versionsPath = "/services/data/v63.0/"
	versionsJSON = `{"tooling":"/services/data/v63.0/tooling","query":"/services/data/v63.0/query",` +
		`"identity":"https://login.salesforce.com/id/00D5g000000XXXXEAA/0055g000000YYYYAAA"}`
)

func frontdoor(setCookie bool) reply {
	r := reply{status: 302, header: http.Header{"Location": {"/home/home.jsp"}},
		check: func(t *testing.T, req *http.Request, body []byte) {
			if req.URL.RawQuery != "" {
				t.Errorf("frontdoor.jsp called with a query: the sid must not be in the URL")
			}
			form, _ := url.ParseQuery(string(body))
			if form.Get("sid") != testToken {
				t.Errorf("frontdoor.jsp body has no sid")
			}
		}}
	if setCookie {
		r.header["Set-Cookie"] = []string{"sid=" + uiSession + "; Path=/; Secure; HttpOnly"}
	} else {
		r.header["Location"] = []string{"/?ec=302&startURL=%2Fhome%2Fhome.jsp"}
	}
	return r
}

func withSession(t *testing.T, req *http.Request, _ []byte) {
	if c, err := req.Cookie("sid"); err != nil || c.Value != uiSession {
		t.Errorf("identity URL requested without the UI session cookie")
	}
	if req.Header.Get("Authorization") != "" {
		t.Errorf("identity URL requested with an Authorization header")
	}
}

func TestProbeSSO(t *testing.T) {
	t.Parallel()
	suite.secret(uiSession)
	encoded := strings.TrimSpace(string(testenv.ReadShared(t, "fixtures/salesforce-idp-2017/saml-response.b64")))
	encoded = strings.Join(strings.Fields(encoded), "")
	suite.secret(encoded[100:200])
	decoded := testenv.ReadShared(t, "fixtures/salesforce-idp-2017/saml-response.xml")
	form := strings.Replace(fixture(t, "idp_login_form.html"), "{{SAMLResponse}}", encoded, 1)

	h := newHarness(t, func(c *Config) { c.Auth = scopedSource{scope: "web openid api"} })
	h.on(http.MethodPost, "/secur/frontdoor.jsp", frontdoor(true))
	h.on(http.MethodGet, identityPath, reply{status: 302, header: http.Header{"Location": {"/idp/login?app=0sp5g000000XyzC&step=2"}}, check: withSession})
	h.on(http.MethodGet, "/idp/login?app=0sp5g000000XyzC&step=2", reply{status: 200, body: form, check: withSession})
	got, err := h.c.ProbeSSO(context.Background(), testInstance+identityPath)
	if err != nil {
		t.Fatal(err)
	}
	want := &SSOResponse{SAMLResponse: decoded, Encoded: encoded, Action: "https://signin.aws.amazon.com/saml",
		RelayState: "https://us-west-2.console.aws.amazon.com/connect/federate/1a2b3c4d-0000-4000-8000-00000000000w?a=1&b=2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SSO response (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Stats{Reads: 2}, h.c.Stats()); diff != "" {
		t.Errorf("the probe writes nothing (-want +got):\n%s", diff)
	}
}

func TestProbeSSOFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		scope    string
		identity string
		setup    func(h *harness)
		want     []error
		wantText string
		requests int
	}{
		{"token without web scope", "api refresh_token", testInstance + identityPath, func(h *harness) {}, []error{ErrNoWebScope}, "web scope", 0},
		{"identity URL on another host", "web api", "https://evil.example" + identityPath, func(h *harness) {}, nil, "not on the org's URL", 0},
		{"identity URL over plain http", "web api", "http://acme.my.salesforce.com" + identityPath, func(h *harness) {}, []error{ErrInsecureURL}, "", 0},
		// Refused sessions cost one more request: a REST read that shows the session
		// itself is valid (an expired one would be renewed and the probe tried again).
		{"API-only user", "web api", testInstance + identityPath, func(h *harness) {
			h.on(http.MethodPost, "/secur/frontdoor.jsp", frontdoor(false))
			h.on(http.MethodGet, versionsPath, ok(versionsJSON))
		}, []error{ErrAPIOnlyUser}, "API Only User", 2},
		{"no session, scope unknown", "", testInstance + identityPath, func(h *harness) {
			h.on(http.MethodPost, "/secur/frontdoor.jsp", frontdoor(false))
			h.on(http.MethodGet, versionsPath, ok(versionsJSON))
		}, []error{ErrAPIOnlyUser, ErrNoWebScope}, "", 2},
		{"login page instead of the form", "web api", testInstance + identityPath, func(h *harness) {
			h.on(http.MethodPost, "/secur/frontdoor.jsp", frontdoor(true))
			h.on(http.MethodGet, identityPath, reply{status: 302, header: http.Header{"Location": {"/?startURL=%2Fidp%2Flogin"}}})
			h.on(http.MethodGet, "/?startURL=%2Fidp%2Flogin", ok(fixture(h.t, "login_page.html")))
			h.on(http.MethodGet, versionsPath, ok(versionsJSON))
		}, []error{ErrAPIOnlyUser}, "asked for a login", 4},
		{"insufficient privileges", "web api", testInstance + identityPath, func(h *harness) {
			h.on(http.MethodPost, "/secur/frontdoor.jsp", frontdoor(true))
			h.on(http.MethodGet, identityPath, ok(fixture(h.t, "insufficient_privileges.html")))
		}, []error{ErrNoAccess}, "permission set", 2},
		{"redirect to another host", "web api", testInstance + identityPath, func(h *harness) {
			h.on(http.MethodPost, "/secur/frontdoor.jsp", frontdoor(true))
			h.on(http.MethodGet, identityPath, reply{status: 302, header: http.Header{"Location": {"https://evil.example/collect"}}})
		}, nil, "another host", 2},
		{"page without a form", "web api", testInstance + identityPath, func(h *harness) {
			h.on(http.MethodPost, "/secur/frontdoor.jsp", frontdoor(true))
			h.on(http.MethodGet, identityPath, ok("<html><body><p>Maintenance</p></body></html>"))
		}, nil, "no SAMLResponse form", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(c *Config) { c.Auth = scopedSource{scope: tt.scope} })
			tt.setup(h)
			_, err := h.c.ProbeSSO(context.Background(), tt.identity)
			suite.err(err)
			if err == nil {
				t.Fatal("ProbeSSO succeeded")
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("err = %v, want it to match %v", err, w)
				}
			}
			if !strings.Contains(err.Error(), tt.wantText) || !strings.HasPrefix(err.Error(), "salesforce: ") {
				t.Errorf("err = %v, want it to start with the package name and mention %q", err, tt.wantText)
			}
			if got := h.mt.GetTotalCallCount(); got != tt.requests {
				t.Errorf("%d requests, want %d", got, tt.requests)
			}
		})
	}
}

func TestParseAutoPostForm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		page string
		want autoPostForm
	}{
		{"attribute order and quoting", `<FORM METHOD=post ACTION="https://signin.aws.amazon.com/saml"><INPUT value=abc== NAME=SAMLResponse TYPE=hidden><input name='RelayState' value='r&amp;s'></FORM>`,
			autoPostForm{action: "https://signin.aws.amazon.com/saml", inputs: map[string]string{"SAMLResponse": "abc==", "RelayState": "r&s"}}},
		{"extra inputs, first wins", `<form action="/x"><input type="hidden" name="a" value="1"/><input name="SAMLResponse" value="Zm9v"/><input name="SAMLResponse" value="YmFy"/></form>`,
			autoPostForm{action: "/x", inputs: map[string]string{"a": "1", "SAMLResponse": "Zm9v"}}},
		{"no form", `<p>nothing</p>`, autoPostForm{inputs: map[string]string{}}},
	}
	for _, tt := range tests {
		got := parseAutoPostForm(tt.page)
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(autoPostForm{})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

// TestInstanceURLWithPathPrefix: a fake that serves several orgs on one host gives
// each a path prefix; every call, the paths in answers (nextRecordsUrl), the issuer,
// the cookies and the identity URL live under it.
func TestInstanceURLWithPathPrefix(t *testing.T) {
	t.Parallel()
	const base = "http://127.0.0.1:8443/org/acme"
	h := newHarness(t, func(c *Config) {
		c.InstanceURL = base + "/"
		c.Auth = scopedSource{scope: "web api"}
	})
	h.mt.RegisterResponder(http.MethodPost, base+"/services/Soap/m/63.0", h.soap)
	h.on(http.MethodGet, base+toolingQuery, ok(fixture(t, "tooling_certificates_page1.json")))
	h.on(http.MethodGet, base+"/services/data/v63.0/tooling/query/01gRO0000016PIAYA2-2", ok(fixture(t, "tooling_certificates_page2.json")))
	h.onSOAP("readMetadata", ok(fixture(t, "read_idp.xml")))
	h.on(http.MethodPost, base+"/secur/frontdoor.jsp", reply{status: 302, header: http.Header{
		"Location":   {base + "/home/home.jsp"},
		"Set-Cookie": {"sid=" + uiSession + "; Path=/org/acme/; HttpOnly"},
	}})
	encoded := base64.StdEncoding.EncodeToString([]byte("<samlp:Response/>"))
	h.on(http.MethodGet, base+identityPath, reply{status: 200, check: withSession,
		body: strings.Replace(fixture(t, "idp_login_form.html"), "{{SAMLResponse}}", encoded, 1)})

	ctx := context.Background()
	issuer, err := h.c.Issuer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := h.c.ListCertificates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.c.IdentityProvider(ctx); err != nil {
		t.Fatal(err)
	}
	sso, err := h.c.ProbeSSO(ctx, base+identityPath)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{issuer, fmt.Sprint(len(certs)), string(sso.SAMLResponse)}
	want := []string{base, "3", "<samlp:Response/>"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("issuer, certificates, SAMLResponse (-want +got):\n%s", diff)
	}
	_, err = h.c.ProbeSSO(ctx, "http://127.0.0.1:8443/org/other"+identityPath)
	suite.err(err)
	if err == nil {
		t.Errorf("sent the session to another org's prefix")
	}
}
