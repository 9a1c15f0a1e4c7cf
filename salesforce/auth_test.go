package salesforce

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/voicecert/voicecert/internal/keypool"
)

var keys keypool.Pool

const loginURL = "https://login.salesforce.com"

func TestJWTBearer(t *testing.T) {
	t.Parallel()
	key := keys.MustKey(2048)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	suite.secret(base64.StdEncoding.EncodeToString(der)[40:100])
	suite.secret(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))[40:100])
	suite.secret("00D5g00000AbCdE!AQ0AQFIRSTtokenSECRETvalue1234567890")

	var h *harness
	h = newHarness(t, func(c *Config) {
		c.InstanceURL = ""
		c.Auth = JWTBearer{LoginURL: loginURL, ClientID: "3MVG9consumerKey", Username: "integration@acme.example", Key: key}
		c.OrgID = "00D5g00000AbCdE"
	})
	h.on(http.MethodPost, loginURL+"/services/oauth2/token", reply{status: 200, body: fixture(t, "token_jwt.json"),
		check: func(t *testing.T, req *http.Request, body []byte) {
			form, err := url.ParseQuery(string(body))
			if err != nil {
				t.Fatal(err)
			}
			if got := form.Get("grant_type"); got != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
				t.Errorf("grant_type = %q", got)
			}
			assertion := form.Get("assertion")
			suite.secret(assertion)
			tok, err := jwt.Parse(assertion, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
				jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(h.clock.Now))
			if err != nil {
				t.Fatalf("assertion does not verify: %v", err)
			}
			claims := tok.Claims.(jwt.MapClaims)
			exp, _ := claims.GetExpirationTime()
			got := map[string]any{"iss": claims["iss"], "sub": claims["sub"], "aud": claims["aud"], "exp": exp.Time.UTC()}
			want := map[string]any{"iss": "3MVG9consumerKey", "sub": "integration@acme.example", "aud": loginURL,
				"exp": t0.Add(3 * time.Minute)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
			if req.Header.Get("Authorization") != "" {
				t.Errorf("JWT bearer request sent an Authorization header")
			}
		}})
	ctx := context.Background()
	org, err := h.c.OrgID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := h.c.Issuer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{org, issuer}
	want := []string{testOrgID, testInstance}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("org, issuer (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Stats{}, h.c.Stats()); diff != "" {
		t.Errorf("token requests are not API reads or writes (-want +got):\n%s", diff)
	}
}

func TestClientCredentials(t *testing.T) {
	t.Parallel()
	const secret = "C1ientSecretValue-7f3e9a"
	suite.secret(secret)
	suite.secret("00D5g00000AbCdE!AQ0AQCLIENTcredsSECRET0987654321")
	h := newHarness(t, func(c *Config) {
		c.Auth = ClientCredentials{LoginURL: testInstance, ClientID: "3MVG9consumerKey", ClientSecret: secret}
	})
	h.on(http.MethodPost, "/services/oauth2/token", reply{status: 200, body: fixture(t, "token_client_credentials.json"),
		check: func(t *testing.T, req *http.Request, body []byte) {
			user, pass, ok := req.BasicAuth()
			if !ok || user != "3MVG9consumerKey" || pass != secret {
				t.Errorf("Basic auth = %q, ok=%v", user, ok)
			}
			if got := string(body); got != "grant_type=client_credentials" {
				t.Errorf("body = %q", got)
			}
		}})
	org, err := h.c.OrgID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if org != testOrgID {
		t.Errorf("OrgID = %q, want %q", org, testOrgID)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		body    string
		code    string
		hint    string
		isAuthn bool
	}{
		{"not approved", 400, fixture(t, "token_error_unapproved.json"), "invalid_grant", "pre-authorize the user", true},
		{"audience", 400, fixture(t, "token_error_audience.json"), "invalid_grant", "JWT audience", true},
		{"client id", 400, fixture(t, "token_error_client.json"), "invalid_client_id", "consumer key", true},
		{"html page", 404, "<html><body>Not Found</body></html>", "Not Found", "check the login URL", true},
	}
	// An answer past the cap is refused as such, not truncated into "not JSON".
	huge := `{"access_token":"00D000000000001!AQ","instance_url":"` + loginURL + `","pad":"` + strings.Repeat("x", maxTokenBody) + `"}`
	t.Run("answer too large", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, func(c *Config) {
			c.Auth = JWTBearer{LoginURL: loginURL, ClientID: "3MVG9consumerKey", Username: "u@acme.example", Key: keys.MustKey(2048)}
		})
		h.on(http.MethodPost, loginURL+"/services/oauth2/token", reply{status: 200, body: huge})
		_, err := h.c.ListCertificates(context.Background())
		if err == nil || !strings.Contains(err.Error(), "more than 65536 bytes") {
			t.Fatalf("err = %v, want the answer refused for its size", err)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(c *Config) {
				c.Auth = JWTBearer{LoginURL: loginURL, ClientID: "3MVG9consumerKey", Username: "u@acme.example", Key: keys.MustKey(2048)}
			})
			h.on(http.MethodPost, loginURL+"/services/oauth2/token", reply{status: tt.status, body: tt.body,
				check: func(t *testing.T, _ *http.Request, body []byte) {
					form, _ := url.ParseQuery(string(body))
					suite.secret(form.Get("assertion"))
				}})
			_, err := h.c.ListCertificates(context.Background())
			suite.err(err)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Code != tt.code || !strings.Contains(err.Error(), tt.hint) {
				t.Errorf("err = %v, want code %q and hint %q", err, tt.code, tt.hint)
			}
			if errors.Is(err, ErrAuthentication) != tt.isAuthn {
				t.Errorf("errors.Is(err, ErrAuthentication) = %v", !tt.isAuthn)
			}
		})
	}
}

func TestTokensRefused(t *testing.T) {
	t.Parallel()
	jwtToken := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1QGFjbWUuZXhhbXBsZSJ9.c2lnbmF0dXJlU0VDUkVU"
	suite.secret(jwtToken)
	tests := []struct {
		name     string
		instance string
		orgID    string
		token    string
		want     error
	}{
		{"JWT-format access token", testInstance, "", jwtToken, ErrJWTAccessToken},
		{"token for another org", testInstance, "00D000000000001", testToken, ErrWrongOrg},
		{"plain http to a remote host", "http://acme.my.salesforce.com", "", testToken, ErrInsecureURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(c *Config) {
				c.InstanceURL = ""
				c.OrgID = tt.orgID
				c.Auth = StaticToken{AccessToken: tt.token, InstanceURL: tt.instance}
			})
			_, err := h.c.ListCertificates(context.Background())
			suite.err(err)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if n := h.mt.GetTotalCallCount(); n != 0 {
				t.Errorf("%d requests sent, want none", n)
			}
		})
	}
}

func TestLoopbackHTTPAllowed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.InstanceURL = "http://127.0.0.1:8443" })
	h.on(http.MethodGet, "http://127.0.0.1:8443/services/data/v63.0/tooling/query", ok(fixture(t, "tooling_empty.json")))
	if _, err := h.c.ListCertificates(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := New(Config{InstanceURL: "http://acme.example.com", APIVersion: "v63", OrgID: "001xx"})
	suite.err(err)
	if err == nil {
		t.Fatal("New accepted a bad config")
	}
	for _, want := range []string{"Config.Auth", "Config.InstanceURL", "APIVersion", "Config.OrgID"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestReauthenticatesOnceOnInvalidSession(t *testing.T) {
	t.Parallel()
	const second = "00D5g00000AbCdE!AQ0AQsecondSECRETtoken111111111"
	suite.secret(second)
	tests := []struct {
		name       string
		setup      func(h *harness)
		wantErr    error
		wantTokens int
	}{
		{"REST 401, then success", func(h *harness) {
			h.on(http.MethodGet, "/services/data/v63.0/tooling/query",
				reply{status: 401, body: fixture(h.t, "rest_invalid_session.json")}, ok(fixture(h.t, "tooling_empty.json")))
		}, nil, 2},
		{"REST 401 twice", func(h *harness) {
			h.on(http.MethodGet, "/services/data/v63.0/tooling/query", reply{status: 401, body: fixture(h.t, "rest_invalid_session.json")})
		}, ErrInvalidSession, 2},
		{"SOAP fault, then success", func(h *harness) {
			h.onSOAP("readMetadata", reply{status: 500, body: fixture(h.t, "fault_invalid_session.xml")}, ok(fixture(h.t, "read_idp.xml")))
		}, nil, 2},
		{"SOAP fault twice", func(h *harness) {
			h.onSOAP("readMetadata", reply{status: 500, body: fixture(h.t, "fault_invalid_session.xml")})
		}, ErrInvalidSession, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := &countingSource{tokens: []string{testToken, second}}
			h := newHarness(t, func(c *Config) { c.Auth = src })
			tt.setup(h)
			var err error
			if strings.HasPrefix(tt.name, "SOAP") {
				_, err = h.c.IdentityProvider(context.Background())
			} else {
				_, err = h.c.ListCertificates(context.Background())
			}
			suite.err(err)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if got := src.count(); got != tt.wantTokens {
				t.Errorf("token source called %d times, want %d", got, tt.wantTokens)
			}
			if got := h.mt.GetTotalCallCount(); got != 2 {
				t.Errorf("%d requests, want 2 (one retry, never a loop)", got)
			}
		})
	}
}

func TestSecretsRedacted(t *testing.T) {
	t.Parallel()
	tok := &Token{AccessToken: testToken, InstanceURL: testInstance, Scope: "api web"}
	sso := &SSOResponse{SAMLResponse: []byte("<samlp:Response>SECRETASSERTION</samlp:Response>"), Encoded: "PHNhbWxwOlJlc3BvbnNlPlNFQ1JFVEFTU0VSVElPTjwvc2FtbHA6UmVzcG9uc2U+", RelayState: "https://x"}
	suite.secret("SECRETASSERTION")
	suite.secret(sso.Encoded)
	var b strings.Builder
	logger := slog.New(slog.NewTextHandler(&b, nil))
	logger.Info("values", "token", tok, "sso", sso)
	logger.Info("values", "token", *tok, "sso", *sso)
	out := b.String() + fmt.Sprint(tok, sso) + fmt.Sprintf("%v %+v %s", *tok, *sso, tok)
	if !strings.Contains(out, "REDACTED") {
		t.Fatalf("output %q shows no redaction at all", out)
	}
	for _, s := range []string{testToken, "SECRETASSERTION", sso.Encoded} {
		if strings.Contains(out, s) {
			t.Errorf("secret %.8q shown in %q", s, out)
		}
	}
}

func TestTokenRequestRetriedWhenUnavailable(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) {
		c.Auth = ClientCredentials{LoginURL: testInstance, ClientID: "3MVG9consumerKey", ClientSecret: "C1ientSecretValue-7f3e9a"}
	})
	h.on(http.MethodPost, "/services/oauth2/token", reply{status: 503, body: "<html>Service Unavailable</html>"},
		ok(fixture(t, "token_client_credentials.json")))
	h.on(http.MethodGet, toolingQuery, ok(fixture(t, "tooling_empty.json")))
	if _, err := h.c.ListCertificates(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := h.count("POST " + testInstance + "/services/oauth2/token"); got != 2 {
		t.Errorf("%d token requests, want 2", got)
	}
}

func TestTokenSourcesReportEveryMissingField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  TokenSource
		want []string
	}{
		{"JWT bearer", JWTBearer{}, []string{"ClientID", "Username", "Key", "LoginURL"}},
		{"JWT bearer over http", JWTBearer{LoginURL: "http://login.example", ClientID: "c", Username: "u", Key: keys.MustKey(2048)}, []string{"https"}},
		{"client credentials", ClientCredentials{}, []string{"ClientID", "ClientSecret", "LoginURL"}},
		{"static", StaticToken{}, []string{"AccessToken"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.src.Token(context.Background())
			suite.err(err)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
		})
	}
}

func TestOrgIDs(t *testing.T) {
	t.Parallel()
	// The 18-character forms were computed independently of id18.
	tests := []struct{ in, want string }{
		{"00D5g00000AbCdE", "00D5g00000AbCdEEAV"},
		{"00D000000000001", "00D000000000001EAA"},
		{"00D5g00000AbCdEEAV", "00D5g00000AbCdEEAV"},
	}
	for _, tt := range tests {
		if got := id18(tt.in); got != tt.want {
			t.Errorf("id18(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if !sameOrg("00D5g00000AbCdE", "00D5g00000AbCdEEAV") || sameOrg("00D5g00000AbCdE", "00D5g00000AbCde") {
		t.Errorf("sameOrg compares wrongly")
	}
	got, ok := orgIDFromAccessToken(testToken)
	if !ok || got != testOrgID {
		t.Errorf("orgIDFromAccessToken = %q, %v", got, ok)
	}
	if _, ok := orgIDFromAccessToken("eyJhbGciOiJSUzI1NiJ9.e30.x"); ok {
		t.Errorf("a JWT gave an org id")
	}
}

// TestFormattingHidesSecrets: every value that holds a secret (a token source, a
// Config, a Client with a session, a token, an SSO response) prints and logs
// without it, with %v, %+v and %#v alike.
func TestFormattingHidesSecrets(t *testing.T) {
	t.Parallel()
	const secret = "C1ientSecretValue-7f3e9a"
	key := keys.MustKey(2048)
	keyDigits := key.D.String()[:24]
	static := StaticToken{AccessToken: testToken, InstanceURL: testInstance}
	jwtSrc := JWTBearer{LoginURL: loginURL, ClientID: "3MVG9consumerKey", Username: "u@acme.example", Key: key}
	cc := ClientCredentials{LoginURL: testInstance, ClientID: "3MVG9consumerKey", ClientSecret: secret}
	client, err := New(Config{Auth: static, InstanceURL: testInstance})
	if err != nil {
		t.Fatal(err)
	}
	values := []any{
		static, &static, jwtSrc, cc, Config{Auth: static}, Config{Auth: jwtSrc}, Config{Auth: cc}, client,
		Token{AccessToken: testToken}, SSOResponse{Encoded: "PHNhbWxwOlJlc3BvbnNlPlNFQ1JF", SAMLResponse: []byte("SECRETASSERTION")},
	}
	var b strings.Builder
	logger := slog.New(slog.NewJSONHandler(&b, nil))
	for _, v := range values {
		fmt.Fprintf(&b, "%v|%+v|%#v|%s\n", v, v, v, v)
		logger.Info("value", "v", v)
	}
	out := b.String()
	for _, s := range []string{testToken, secret, keyDigits, "SECRETASSERTION", "PHNhbWxwOlJlc3BvbnNlPlNFQ1JF"} {
		if strings.Contains(out, s) {
			t.Errorf("secret %.12q shown in:\n%s", s, out)
		}
	}
}

// TestURLErrorsHideUserinfo: a configured URL that does not parse is quoted in the
// error without the password it carries.
func TestURLErrorsHideUserinfo(t *testing.T) {
	t.Parallel()
	tests := []struct{ raw, want string }{
		{"https://admin:hunter2 x@acme.my.salesforce.com", `"https://REDACTED@acme.my.salesforce.com"`},
		{"https://admin:hunter2@acme.my.salesforce.com/%zz", `"https://REDACTED@acme.my.salesforce.com/%zz"`},
		{"https://acme.my.salesforce.com/%zz", `"https://acme.my.salesforce.com/%zz"`},
	}
	for _, tt := range tests {
		_, err := New(Config{InstanceURL: tt.raw, Auth: StaticToken{AccessToken: testToken}})
		if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(InstanceURL %q) error = %v, want it to quote %s and no password", tt.raw, err, tt.want)
		}
	}
}

// TestJWTAudience pins the default aud claim: Salesforce accepts only its
// authorization servers (or an Experience Cloud site) as the audience, never a My
// Domain URL, even when the token is requested from that My Domain.
func TestJWTAudience(t *testing.T) {
	t.Parallel()
	tests := []struct{ login, want string }{
		{"https://login.salesforce.com", "https://login.salesforce.com"},
		{"https://test.salesforce.com/", "https://test.salesforce.com"},
		{"https://acme.my.salesforce.com", "https://login.salesforce.com"},
		{"https://ACME--uat.sandbox.my.salesforce.com", "https://test.salesforce.com"},
		{"https://acme.my.site.com/customers", "https://acme.my.site.com/customers"},
		{"http://127.0.0.1:8080/org/beta", "http://127.0.0.1:8080/org/beta"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.login)
		if err != nil {
			t.Fatal(err)
		}
		if got := jwtAudience(u); got != tt.want {
			t.Errorf("jwtAudience(%s) = %q, want %q", tt.login, got, tt.want)
		}
	}
}
