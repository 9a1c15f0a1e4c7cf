package sftest_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/voicecert/voicecert/internal/keypool"
	"github.com/voicecert/voicecert/salesforce/sftest"
)

var tokenForm = regexp.MustCompile(`^00D[A-Za-z0-9]{12}![A-Za-z0-9._]+$`)

func TestJWTBearerSuccess(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	org := srv.DefaultOrg()
	a := postForm(t, srv.URL+"/services/oauth2/token", url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion": {jwtAssertion(t, org.OAuthKey(), jwt.MapClaims{
			"iss": org.OAuthClientID(), "sub": org.Username(), "aud": "https://login.salesforce.com",
			// Some clients (go-salesforce) send exp as a string.
			"exp": "1772366580",
		})},
	})
	if a.status != http.StatusOK || a.contentType != "application/json;charset=UTF-8" {
		t.Fatalf("got %d %q: %s", a.status, a.contentType, a.body)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(a.body), &got); err != nil {
		t.Fatal(err)
	}
	if !tokenForm.MatchString(got["access_token"]) {
		t.Errorf("access_token %q is not of the form 00D…!…", got["access_token"])
	}
	if !strings.HasPrefix(got["access_token"], org.ID()[:15]+"!") {
		t.Errorf("access_token does not start with the org ID")
	}
	delete(got, "access_token")
	want := map[string]string{
		"scope": "api web full refresh_token openid", "instance_url": org.InstanceURL(),
		"token_type": "Bearer",
	}
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(srv.URL) + `/id/00D[A-Za-z0-9]{15}/005[A-Za-z0-9]{15}$`).MatchString(got["id"]) {
		t.Errorf("id %q is not an identity URL", got["id"])
	}
	delete(got, "id")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("token response (-want +got):\n%s", diff)
	}
	// The key order of Salesforce's JWT answer.
	if i := strings.Index(a.body, `"access_token"`); i != 1 || !strings.Contains(a.body, `"id":`) || strings.Contains(a.body, "issued_at") {
		t.Errorf("body %s is not shaped like Salesforce's JWT bearer answer", a.body)
	}
}

func TestJWTBearerErrors(t *testing.T) {
	t.Parallel()
	srv, clock := newServer(t)
	org := srv.DefaultOrg()
	var pool keypool.Pool
	pool.Offset = 17
	stranger := pool.MustKey(2048)
	exp := clock.Now().Add(3 * time.Minute).Unix()
	claims := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": org.OAuthClientID(), "sub": org.Username(), "aud": "https://login.salesforce.com", "exp": exp}
		change(c)
		return c
	}
	hs256, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(func(jwt.MapClaims) {})).SignedString([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		assertion string
		grant     string
		want      string
	}{
		{"signed by another key", jwtAssertion(t, stranger, claims(func(jwt.MapClaims) {})), "",
			`{"error":"invalid_grant","error_description":"invalid assertion"}`},
		{"HS256", hs256, "", `{"error":"invalid_grant","error_description":"invalid assertion"}`},
		{"unknown consumer key", jwtAssertion(t, org.OAuthKey(), claims(func(c jwt.MapClaims) { c["iss"] = "3MVGunknown" })), "",
			`{"error":"invalid_client_id","error_description":"client identifier invalid"}`},
		{"wrong audience", jwtAssertion(t, org.OAuthKey(), claims(func(c jwt.MapClaims) { c["aud"] = "https://evil.example" })), "",
			`{"error":"invalid_grant","error_description":"audience is invalid"}`},
		{"expired", jwtAssertion(t, org.OAuthKey(), claims(func(c jwt.MapClaims) { c["exp"] = clock.Now().Add(-4 * time.Minute).Unix() })), "",
			`{"error":"invalid_grant","error_description":"expired JWT"}`},
		{"no exp", jwtAssertion(t, org.OAuthKey(), claims(func(c jwt.MapClaims) { delete(c, "exp") })), "",
			`{"error":"invalid_grant","error_description":"invalid assertion"}`},
		{"unknown user", jwtAssertion(t, org.OAuthKey(), claims(func(c jwt.MapClaims) { c["sub"] = "nobody@example.com" })), "",
			`{"error":"invalid_grant","error_description":"user hasn't approved this consumer"}`},
		{"garbage", "not.a.jwt", "", `{"error":"invalid_grant","error_description":"invalid assertion"}`},
		{"password grant", "", "password", `{"error":"unsupported_grant_type","error_description":"grant type not supported"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			grant := tt.grant
			if grant == "" {
				grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
			}
			a := postForm(t, srv.URL+"/services/oauth2/token", url.Values{"grant_type": {grant}, "assertion": {tt.assertion}})
			if a.status != http.StatusBadRequest || a.contentType != "application/json;charset=UTF-8" {
				t.Errorf("got %d %q, want 400 application/json;charset=UTF-8", a.status, a.contentType)
			}
			if diff := cmp.Diff(tt.want, strings.TrimSpace(a.body)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClientCredentials(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	org := srv.DefaultOrg()
	good := url.Values{"grant_type": {"client_credentials"}, "client_id": {org.OAuthClientID()}, "client_secret": {org.OAuthClientSecret()}}
	tests := []struct {
		name   string
		form   url.Values
		basic  bool
		send   string // how the parameters travel: "" a form body, "query" the URL, else a body of that content type
		status int
		want   string // error body, or "" for success
	}{
		{"form", good, false, "", 200, ""},
		{"basic auth", url.Values{"grant_type": {"client_credentials"}}, true, "", 200, ""},
		// salesforce-oauth2 0.2.0 posts its parameters in the query string, with no body.
		{"query string", good, false, "query", 200, ""},
		{"body not a form", good, false, "text/plain", 400,
			`{"error":"unsupported_grant_type","error_description":"grant type not supported"}`},
		{"wrong secret", url.Values{"grant_type": {"client_credentials"}, "client_id": {org.OAuthClientID()}, "client_secret": {"nope"}}, false, "", 400,
			`{"error":"invalid_client","error_description":"invalid client credentials"}`},
		{"unknown client", url.Values{"grant_type": {"client_credentials"}, "client_id": {"x"}, "client_secret": {"y"}}, false, "", 400,
			`{"error":"invalid_client_id","error_description":"client identifier invalid"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target, body := srv.URL+"/services/oauth2/token", tt.form.Encode()
			if tt.send == "query" {
				target, body = target+"?"+body, ""
			}
			req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			switch tt.send {
			case "":
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			case "query":
			default:
				req.Header.Set("Content-Type", tt.send)
			}
			if tt.basic {
				req.SetBasicAuth(org.OAuthClientID(), org.OAuthClientSecret())
			}
			a := do(t, req)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			if tt.want != "" {
				if diff := cmp.Diff(tt.want, strings.TrimSpace(a.body)); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
				return
			}
			var got map[string]string
			if err := json.Unmarshal([]byte(a.body), &got); err != nil {
				t.Fatal(err)
			}
			if !tokenForm.MatchString(got["access_token"]) || len(got["issued_at"]) != 13 {
				t.Errorf("answer %v lacks a token or a 13-digit issued_at", got)
			}
			// The signature is base64(HMAC-SHA256(client secret, id + issued_at)), as
			// Salesforce documents it and salesforce-oauth2 verifies it.
			mac := hmac.New(sha256.New, []byte(org.OAuthClientSecret()))
			mac.Write([]byte(got["id"] + got["issued_at"]))
			if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); got["signature"] != want {
				t.Errorf("signature %q, want %q", got["signature"], want)
			}
		})
	}
}

func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    []sftest.Option
		advance time.Duration
		wantOK  bool
	}{
		{"fresh", nil, time.Hour, true},
		{"expired after 2 hours", nil, 2 * time.Hour, false},
		{"shorter lifetime", []sftest.Option{sftest.WithTokenLifetime(10 * time.Minute)}, 10 * time.Minute, false},
		{"never expires", []sftest.Option{func(c *sftest.Config) { c.TokensNeverExpire = true }}, 1000 * time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, clock := newServer(t, tt.opts...)
			org := srv.DefaultOrg()
			token := login(t, org, clock.Now())
			clock.Advance(tt.advance)
			rest := get(t, org.InstanceURL()+"/services/data/v63.0/query?q="+url.QueryEscape("SELECT Id FROM CallCenter"), token)
			sp := soap(t, org.InstanceURL(), envelope(token, `<met:listMetadata><met:queries><met:type>Certificate</met:type></met:queries></met:listMetadata>`))
			if tt.wantOK {
				if rest.status != 200 || sp.status != 200 {
					t.Fatalf("REST %d, SOAP %d; want both 200", rest.status, sp.status)
				}
				return
			}
			if rest.status != http.StatusUnauthorized || rest.contentType != "application/json;charset=UTF-8" {
				t.Errorf("REST: got %d %q, want 401 JSON", rest.status, rest.contentType)
			}
			if diff := cmp.Diff(`[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`, strings.TrimSpace(rest.body)); diff != "" {
				t.Errorf("REST body (-want +got):\n%s", diff)
			}
			if sp.status != http.StatusInternalServerError || sp.contentType != "text/xml;charset=UTF-8" {
				t.Errorf("SOAP: got %d %q, want 500 text/xml;charset=UTF-8", sp.status, sp.contentType)
			}
			// jsforce's test for an expired session.
			if !regexp.MustCompile(`<faultcode>[a-zA-Z]+:INVALID_SESSION_ID</faultcode>`).MatchString(sp.body) {
				t.Errorf("SOAP body lacks a prefixed INVALID_SESSION_ID faultcode:\n%s", sp.body)
			}
		})
	}
}

func TestOrgsAreSeparate(t *testing.T) {
	t.Parallel()
	srv, clock := newServer(t, sftest.WithOrgs(sftest.OrgConfig{Name: "acme"}, sftest.OrgConfig{Name: "globex"}))
	acme, globex := srv.Org("acme"), srv.Org("globex")
	if acme.InstanceURL() != srv.URL || globex.InstanceURL() != srv.URL+"/org/globex" {
		t.Fatalf("instance URLs %q, %q", acme.InstanceURL(), globex.InstanceURL())
	}
	token := login(t, globex, clock.Now())
	q := "/services/data/v63.0/query?q=" + url.QueryEscape("SELECT Id FROM Organization")
	if a := get(t, globex.InstanceURL()+q, token); a.status != 200 || !strings.Contains(a.body, globex.ID()) {
		t.Errorf("own org: %d %s", a.status, a.body)
	}
	if a := get(t, acme.InstanceURL()+q, token); a.status != http.StatusUnauthorized {
		t.Errorf("another org's token: got %d, want 401", a.status)
	}
	sp := soap(t, acme.InstanceURL(), envelope(token, `<met:readMetadata><met:type>Certificate</met:type></met:readMetadata>`))
	if f := decodeFault(t, sp); sp.status != 500 || f.Code != "sf:INVALID_SESSION_ID" {
		t.Errorf("another org's token on SOAP: %d %+v", sp.status, f)
	}
	if r := srv.Requests()[0]; r.Operation != "oauth2/token" || r.Org != globex.ID() {
		t.Errorf("token request logged as %+v, want globex's", r)
	}
	if a := get(t, srv.URL+"/org/acme"+q, login(t, acme, clock.Now())); a.status != 200 {
		t.Errorf("first org under its own prefix: %d", a.status)
	}
	if acme.ID() == globex.ID() {
		t.Error("two orgs share an ID")
	}
}

func TestIdentityURL(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	org := srv.DefaultOrg()
	a := postForm(t, srv.URL+"/services/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {org.OAuthClientID()}, "client_secret": {org.OAuthClientSecret()},
	})
	var tr map[string]string
	if err := json.Unmarshal([]byte(a.body), &tr); err != nil {
		t.Fatal(err)
	}
	id := get(t, tr["id"], tr["access_token"])
	var got map[string]any
	if err := json.Unmarshal([]byte(id.body), &got); err != nil || id.status != 200 {
		t.Fatalf("%d %s", id.status, id.body)
	}
	if got["organization_id"] != org.ID() || got["username"] != org.Username() || got["id"] != tr["id"] {
		t.Errorf("identity %v", got)
	}
	if a := get(t, tr["id"], "00D000000000000!nope"); a.status != http.StatusForbidden || a.body != "Bad_OAuth_Token" {
		t.Errorf("bad token: %d %q", a.status, a.body)
	}
}

// TestResourcesLeadToIdentity follows jsforce's Connection.identity() when it was
// given a bare access token: GET /services/data/vXX.X, then the "identity" URL it
// names with ?format=json&oauth_token=. Without a valid token the resource list is
// an INVALID_SESSION_ID error, which jsforce reports by errorCode.
func TestResourcesLeadToIdentity(t *testing.T) {
	t.Parallel()
	srv, clock := newServer(t, sftest.WithOrgs(sftest.OrgConfig{Name: "acme"}, sftest.OrgConfig{Name: "globex"}))
	for _, org := range srv.Orgs() {
		token := login(t, org, clock.Now())
		for _, path := range []string{"/services/data/v63.0", "/services/data/v63.0/"} {
			a := get(t, org.InstanceURL()+path, token)
			var res map[string]string
			if err := json.Unmarshal([]byte(a.body), &res); err != nil || a.status != http.StatusOK || a.contentType != "application/json;charset=UTF-8" {
				t.Fatalf("%s %s: %d %q %s", org.Name(), path, a.status, a.contentType, a.body)
			}
			if res["query"] != "/services/data/v63.0/query" || res["tooling"] != "/services/data/v63.0/tooling" {
				t.Errorf("%s %s: resources %v", org.Name(), path, res)
			}
			id := get(t, res["identity"]+"?format=json&oauth_token="+url.QueryEscape(token), token)
			var who map[string]any
			if err := json.Unmarshal([]byte(id.body), &who); err != nil || id.status != http.StatusOK {
				t.Fatalf("%s identity %q: %d %s", org.Name(), res["identity"], id.status, id.body)
			}
			if who["organization_id"] != org.ID() || who["username"] != org.Username() {
				t.Errorf("%s identity %v", org.Name(), who)
			}
		}
		a := get(t, org.InstanceURL()+"/services/data/v63.0", "00D000000000000!nope")
		want := `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`
		if a.status != http.StatusUnauthorized || a.body != want {
			t.Errorf("%s bad token: %d %s, want 401 %s", org.Name(), a.status, a.body, want)
		}
	}
}
