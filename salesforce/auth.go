package salesforce

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TokenSource gives access tokens. Token is called for the first call of a [Client]
// and again, once, when Salesforce says the session is invalid; it must return a new
// token each time it is called (sources that cannot, like [StaticToken], return the
// same one, and the second failure is returned).
type TokenSource interface {
	Token(ctx context.Context) (*Token, error)
}

// Token is an OAuth access token and what came with it. Its [Token.LogValue] and
// [Token.String] never show the access token.
type Token struct {
	// AccessToken is the session id (00D...!...). Secret.
	AccessToken string
	// InstanceURL is the org's URL for API calls (its My Domain).
	InstanceURL string
	// ID is the identity URL, https://HOST/id/ORGID/USERID; empty when unknown.
	ID string
	// Scope is the space-separated list of scopes; empty when unknown.
	Scope string
	// IssuedAt is when the token was issued; zero when unknown.
	IssuedAt time.Time
}

// String describes the token without its secret.
func (t Token) String() string {
	return fmt.Sprintf("token{instance=%s id=%s scope=%q access_token=REDACTED}", t.InstanceURL, t.ID, t.Scope)
}

// GoString is String, so that %#v hides the secret too.
func (t Token) GoString() string { return t.String() }

// LogValue logs the token without its secret.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.String("instance_url", t.InstanceURL), slog.String("id", t.ID),
		slog.String("scope", t.Scope), slog.String("access_token", "REDACTED"))
}

// orgIDFromIdentityURL returns the org id of an identity URL
// (https://login.salesforce.com/id/00D.../005...).
func orgIDFromIdentityURL(id string) (string, bool) {
	u, err := url.Parse(id)
	if err != nil {
		return "", false
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 3 || parts[0] != "id" || !isOrgID(parts[1]) {
		return "", false
	}
	return parts[1], true
}

// orgIDFromAccessToken returns the org id that prefixes a Salesforce session id
// (00Dxx0000001gPL!AR8AQ...), in its 18-character form.
func orgIDFromAccessToken(tok string) (string, bool) {
	prefix, _, ok := strings.Cut(tok, "!")
	if !ok || len(prefix) != 15 || !isOrgID(prefix) {
		return "", false
	}
	return id18(prefix), true
}

// isOrgID reports whether s looks like an org id: 00D and 15 or 18 alphanumerics.
func isOrgID(s string) bool {
	if (len(s) != 15 && len(s) != 18) || !strings.HasPrefix(s, "00D") {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// id18 returns the 18-character, case-insensitive form of a 15-character Salesforce
// id: each block of five characters adds one suffix character whose bits mark the
// upper-case letters of the block.
func id18(id string) string {
	if len(id) != 15 {
		return id
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	suffix := make([]byte, 3)
	for block := range 3 {
		n := 0
		for i := range 5 {
			c := id[block*5+i]
			if c >= 'A' && c <= 'Z' {
				n |= 1 << i
			}
		}
		suffix[block] = alphabet[n]
	}
	return id + string(suffix)
}

// sameOrg reports whether two org ids (15 or 18 characters) name the same org.
func sameOrg(a, b string) bool {
	if len(a) < 15 || len(b) < 15 {
		return false
	}
	return id18(a[:15]) == id18(b[:15])
}

// StaticToken is a given access token, for example from `sf org display`. It cannot
// be renewed: when Salesforce refuses it, the call fails.
type StaticToken struct {
	// AccessToken is the session id (00D...!...). Secret.
	AccessToken string
	// InstanceURL is the org's URL; zero: [Config.InstanceURL].
	InstanceURL string
	// ID is the identity URL, when known; it gives the org id. Zero: the org id is
	// read from the access token's prefix.
	ID string
}

// String describes the source without the access token.
func (s StaticToken) String() string {
	return fmt.Sprintf("salesforce.StaticToken{instance=%s id=%s access_token=REDACTED}", s.InstanceURL, s.ID)
}

// GoString is String, so that %#v hides the secret too.
func (s StaticToken) GoString() string { return s.String() }

// LogValue logs the source without the access token.
func (s StaticToken) LogValue() slog.Value {
	return slog.GroupValue(slog.String("instance_url", s.InstanceURL), slog.String("id", s.ID),
		slog.String("access_token", "REDACTED"))
}

// Token returns the given token.
func (s StaticToken) Token(ctx context.Context) (*Token, error) {
	if s.AccessToken == "" {
		return nil, errors.New("salesforce: StaticToken.AccessToken is empty: set it (SF_ACCESS_TOKEN)")
	}
	return &Token{AccessToken: s.AccessToken, InstanceURL: s.InstanceURL, ID: s.ID}, nil
}

// JWTBearer gets tokens with the OAuth 2.0 JWT bearer flow (as `sf org login jwt`
// does): an RS256 assertion signed with Key is posted to {LoginURL}/services/oauth2/token.
// The user must be pre-authorized for the app, and the app must hold the certificate
// of Key.
type JWTBearer struct {
	// LoginURL is where the token is requested: the org's My Domain URL (advised), or
	// https://login.salesforce.com or https://test.salesforce.com. Required.
	LoginURL string
	// ClientID is the consumer key of the connected app or external client app (iss).
	ClientID string
	// Username is the user to act as (sub).
	Username string
	// Key signs the assertion. Secret.
	Key *rsa.PrivateKey
	// Audience is the aud claim. Zero means the authorization server Salesforce
	// documents for the login URL: https://test.salesforce.com for a sandbox My Domain
	// (*.sandbox.my.salesforce.com), https://login.salesforce.com for any other My
	// Domain (*.my.salesforce.com), and LoginURL itself otherwise (login.salesforce.com,
	// test.salesforce.com, an Experience Cloud site). Salesforce refuses a My Domain
	// URL as the audience ("audience is invalid"), even when the token is requested
	// from that My Domain.
	Audience string
	// Lifetime is how long the assertion is valid; zero: 3 minutes.
	Lifetime time.Duration
	// HTTPClient sends the request; zero: the [Client]'s, or a client with a 30 s timeout.
	HTTPClient *http.Client
	// Now gives the time for the assertion; zero: the [Client]'s, or time.Now.
	Now func() time.Time
}

// String describes the source without the private key.
func (j JWTBearer) String() string {
	return fmt.Sprintf("salesforce.JWTBearer{login=%s client_id=%s username=%s key=REDACTED}", j.LoginURL, j.ClientID, j.Username)
}

// GoString is String, so that %#v hides the key too.
func (j JWTBearer) GoString() string { return j.String() }

// LogValue logs the source without the private key.
func (j JWTBearer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("login_url", j.LoginURL), slog.String("client_id", j.ClientID),
		slog.String("username", j.Username), slog.String("key", "REDACTED"))
}

// Token requests a new access token.
func (j JWTBearer) Token(ctx context.Context) (*Token, error) {
	return j.token(ctx, nil, nil)
}

func (j JWTBearer) token(ctx context.Context, hc *http.Client, now func() time.Time) (*Token, error) {
	var problems []error
	if j.ClientID == "" {
		problems = append(problems, errors.New("salesforce: JWTBearer.ClientID is empty: set the consumer key"))
	}
	if j.Username == "" {
		problems = append(problems, errors.New("salesforce: JWTBearer.Username is empty: set the user to act as"))
	}
	if j.Key == nil {
		problems = append(problems, errors.New("salesforce: JWTBearer.Key is nil: load the private key of the app's certificate"))
	}
	login, err := checkURL("JWTBearer.LoginURL", j.LoginURL)
	if err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	if j.Now != nil {
		now = j.Now
	}
	if now == nil {
		now = time.Now
	}
	if j.HTTPClient != nil {
		hc = j.HTTPClient
	}
	aud := j.Audience
	if aud == "" {
		aud = jwtAudience(login)
	}
	life := j.Lifetime
	if life <= 0 {
		life = 3 * time.Minute
	}
	claims := jwt.MapClaims{
		"iss": j.ClientID,
		"sub": j.Username,
		"aud": aud,
		"exp": now().Add(life).Unix(),
	}
	assertion, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(j.Key)
	if err != nil {
		return nil, fmt.Errorf("salesforce: signing the JWT assertion: %w", err)
	}
	form := url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion":  {assertion},
	}
	return requestToken(ctx, hc, login, form, nil)
}

// jwtAudience is the default aud claim for a login URL (see [JWTBearer.Audience]).
func jwtAudience(login *url.URL) string {
	host := strings.ToLower(login.Hostname())
	switch {
	case strings.HasSuffix(host, ".sandbox.my.salesforce.com"):
		return "https://test.salesforce.com"
	case strings.HasSuffix(host, ".my.salesforce.com"):
		return "https://login.salesforce.com"
	}
	return strings.TrimRight(login.String(), "/")
}

// ClientCredentials gets tokens with the OAuth 2.0 client credentials flow. The app
// must have the flow enabled with a run-as user, and LoginURL must be the org's My
// Domain URL (login.salesforce.com does not serve this flow).
type ClientCredentials struct {
	// LoginURL is the org's My Domain URL. Required.
	LoginURL string
	// ClientID is the consumer key.
	ClientID string
	// ClientSecret is the consumer secret. Secret.
	ClientSecret string
	// HTTPClient sends the request; zero: the [Client]'s, or a client with a 30 s timeout.
	HTTPClient *http.Client
}

// String describes the source without the client secret.
func (c ClientCredentials) String() string {
	return fmt.Sprintf("salesforce.ClientCredentials{login=%s client_id=%s client_secret=REDACTED}", c.LoginURL, c.ClientID)
}

// GoString is String, so that %#v hides the secret too.
func (c ClientCredentials) GoString() string { return c.String() }

// LogValue logs the source without the client secret.
func (c ClientCredentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("login_url", c.LoginURL), slog.String("client_id", c.ClientID),
		slog.String("client_secret", "REDACTED"))
}

// Token requests a new access token.
func (c ClientCredentials) Token(ctx context.Context) (*Token, error) {
	return c.token(ctx, nil, nil)
}

func (c ClientCredentials) token(ctx context.Context, hc *http.Client, _ func() time.Time) (*Token, error) {
	var problems []error
	if c.ClientID == "" {
		problems = append(problems, errors.New("salesforce: ClientCredentials.ClientID is empty: set the consumer key"))
	}
	if c.ClientSecret == "" {
		problems = append(problems, errors.New("salesforce: ClientCredentials.ClientSecret is empty: set the consumer secret"))
	}
	login, err := checkURL("ClientCredentials.LoginURL", c.LoginURL)
	if err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	if c.HTTPClient != nil {
		hc = c.HTTPClient
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	basic := [2]string{c.ClientID, c.ClientSecret}
	return requestToken(ctx, hc, login, form, &basic)
}

// sourceWithDefaults is a token source that can use the Client's HTTP client and
// clock when its own are not set.
type sourceWithDefaults interface {
	token(ctx context.Context, hc *http.Client, now func() time.Time) (*Token, error)
}

// maxTokenBody caps a token endpoint answer.
const maxTokenBody = 64 << 10

// requestToken posts a token request and reads the answer. basic, when given, holds
// the client id and secret for an HTTP Basic header.
func requestToken(ctx context.Context, hc *http.Client, login *url.URL, form url.Values, basic *[2]string) (*Token, error) {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	endpoint := login.JoinPath("services", "oauth2", "token")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("salesforce: token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic != nil {
		req.SetBasicAuth(basic[0], basic[1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		cause := scrubURLError(err)
		if connectionReset(cause) {
			return nil, fmt.Errorf("salesforce: token request to %s: %w: %w", endpoint.Redacted(), ErrTransient, cause)
		}
		return nil, fmt.Errorf("salesforce: token request to %s: %w", endpoint.Redacted(), cause)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody+1))
	if err != nil {
		return nil, fmt.Errorf("salesforce: reading the token answer from %s: %w", endpoint.Redacted(), err)
	}
	if len(body) > maxTokenBody {
		return nil, fmt.Errorf("salesforce: the token endpoint %s answered with more than %d bytes: check the login URL",
			endpoint.Redacted(), maxTokenBody)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, tokenError(resp.StatusCode, body)
	}
	var r struct {
		AccessToken string `json:"access_token"`
		InstanceURL string `json:"instance_url"`
		ID          string `json:"id"`
		Scope       string `json:"scope"`
		IssuedAt    string `json:"issued_at"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("salesforce: the token endpoint %s answered with something other than JSON: "+
			"check the login URL", endpoint.Redacted())
	}
	if r.AccessToken == "" || r.InstanceURL == "" {
		return nil, fmt.Errorf("salesforce: the token endpoint %s answered without access_token or instance_url",
			endpoint.Redacted())
	}
	t := &Token{AccessToken: r.AccessToken, InstanceURL: r.InstanceURL, ID: r.ID, Scope: r.Scope}
	if ms, err := strconv.ParseInt(r.IssuedAt, 10, 64); err == nil {
		t.IssuedAt = time.UnixMilli(ms).UTC()
	}
	return t, nil
}

// isJWT reports whether an access token is a JWT (three base64url parts, header
// starting eyJ), which Salesforce issues when the app enables JWT-based access
// tokens. SOAP calls refuse those with INVALID_SESSION_ID.
func isJWT(tok string) bool {
	return strings.HasPrefix(tok, "eyJ") && strings.Count(tok, ".") == 2
}

// scrubURLError keeps the cause of a transport error but drops the URL (which may
// hold a query with a session id, as frontdoor.jsp's GET form does).
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// checkURL parses a configured URL and enforces https, except for loopback hosts.
func checkURL(field, raw string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("salesforce: %s is empty: set the org's URL (https://MyDomain.my.salesforce.com)", field)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("salesforce: %s %q is not an absolute URL", field, withoutUserinfo(raw))
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("salesforce: %s must be a plain origin without credentials, query or fragment", field)
	}
	if err := checkScheme(u); err != nil {
		return nil, fmt.Errorf("salesforce: %s: %w", field, err)
	}
	return u, nil
}

// withoutUserinfo returns a URL that failed to parse with any user:password@ of
// its authority replaced, so that it can be quoted in an error.
func withoutUserinfo(raw string) string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return raw
	}
	start := len(raw) - len(rest)
	return raw[:start] + "REDACTED" + raw[start+at:]
}

// checkScheme allows https, and http only for loopback hosts.
func checkScheme(u *url.URL) error {
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s://%s: use https (http is allowed only for loopback)", ErrInsecureURL, u.Scheme, u.Host)
}

// isLoopback reports whether a host is localhost or a loopback address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
