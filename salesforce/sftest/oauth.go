package sftest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const jwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// jwtClockSkew is the leeway Salesforce allows on a JWT's exp (3 minutes).
const jwtClockSkew = 3 * time.Minute

type token struct {
	value   string
	org     *org
	user    *user
	scopes  []string
	issued  time.Time
	expires time.Time // zero: never
}

func (t *token) hasScope(names ...string) bool {
	for _, s := range t.scopes {
		for _, n := range names {
			if s == n {
				return true
			}
		}
	}
	return false
}

type session struct {
	value   string
	org     *org
	user    *user
	expires time.Time
}

func (s *Server) randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", fmt.Errorf("sftest: random: %w", err)
	}
	v := base64.RawStdEncoding.EncodeToString(b)
	return strings.NewReplacer("+", ".", "/", "_").Replace(v), nil
}

// newToken issues a token like Salesforce's: "<15-char org ID>!<opaque>". The
// caller holds s.mu.
func (s *Server) newToken(o *org, u *user, scopes []string) (*token, error) {
	r, err := s.randomString(72)
	if err != nil {
		return nil, err
	}
	now := s.now()
	t := &token{value: id15(o.id) + "!AQ" + r, org: o, user: u, scopes: scopes, issued: now}
	if !s.cfg.TokensNeverExpire {
		t.expires = now.Add(s.tokenLifetime())
	}
	s.tokens[t.value] = t
	return t, nil
}

func (s *Server) tokenLifetime() time.Duration {
	if s.cfg.TokenLifetime > 0 {
		return s.cfg.TokenLifetime
	}
	return 2 * time.Hour
}

// lookupToken returns the valid token for value in org o, or nil. The caller holds
// s.mu.
func (s *Server) lookupToken(o *org, value string) *token {
	t := s.tokens[value]
	if t == nil || t.org != o {
		return nil
	}
	if !t.expires.IsZero() && !s.now().Before(t.expires) {
		return nil
	}
	return t
}

// ExpireTokens invalidates every token and UI session issued so far, as an admin
// revoking sessions would.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
	clear(s.sessions)
}

// writeJSON answers with Salesforce's JSON content type.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	w.Write(marshalJSON(v))
}

// marshalJSON encodes without escaping <, > and &, as Salesforce writes JSON.
func marshalJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte("null")
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	Signature   string `json:"signature,omitempty"`
	Scope       string `json:"scope"`
	InstanceURL string `json:"instance_url"`
	ID          string `json:"id"`
	TokenType   string `json:"token_type"`
	IssuedAt    string `json:"issued_at,omitempty"`
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request, c *call) {
	fail := func(code, desc string) {
		writeJSON(w, http.StatusBadRequest, oauthError{code, desc})
	}
	if f := s.injected(c.operation, ""); f != nil {
		if f.Status >= 502 {
			writeGatewayError(w, f.Status)
			return
		}
		status := f.Status
		if status == 0 {
			status = http.StatusBadRequest
		}
		msg := f.Message
		if msg == "" {
			msg = "authentication failure"
		}
		writeJSON(w, status, oauthError{f.Code, msg})
		return
	}
	if r.Method != http.MethodPost {
		fail("invalid_request", "must use HTTP POST")
		return
	}
	// Parameters come from a form body or from the URL's query string, which
	// Salesforce also reads (the salesforce-oauth2 npm client posts them there
	// with an empty body). A body of another content type is not read, so its
	// grant_type is missing, which Salesforce answers with unsupported_grant_type.
	if err := r.ParseForm(); err != nil {
		fail("invalid_request", "malformed request body")
		return
	}
	// A token request on an org's own path (its My Domain) serves only that org; on
	// the server's root (the login host) it serves every org.
	var only *org
	if c.org != nil && c.org.prefix != "" {
		only = c.org
	}
	// The log names the org that issued a token, if any.
	c.org = nil
	switch r.Form.Get("grant_type") {
	case jwtBearerGrant:
		s.jwtBearer(w, r, c, only, fail)
	case "client_credentials":
		s.clientCredentials(w, r, c, only, fail)
	case "":
		fail("unsupported_grant_type", "grant type not supported")
	default:
		fail("unsupported_grant_type", "grant type not supported")
	}
}

// findApp returns the OAuth app with the consumer key, and its org.
func (s *Server) findApp(clientID string, only *org) (*org, *oauthApp) {
	for _, o := range s.orgs {
		if only != nil && o != only {
			continue
		}
		for _, a := range o.apps {
			if a.ClientID == clientID {
				return o, a
			}
		}
	}
	return nil, nil
}

func (s *Server) jwtBearer(w http.ResponseWriter, r *http.Request, c *call, only *org, fail func(code, desc string)) {
	assertion := r.Form.Get("assertion")
	if assertion == "" {
		fail("invalid_request", "assertion is required")
		return
	}
	var claims jwt.MapClaims
	unverified, _, err := jwt.NewParser().ParseUnverified(assertion, &claims)
	if err != nil || unverified == nil {
		fail("invalid_grant", "invalid assertion")
		return
	}
	iss, _ := claims["iss"].(string)
	s.mu.Lock()
	o, app := s.findApp(iss, only)
	s.mu.Unlock()
	if app == nil {
		fail("invalid_client_id", "client identifier invalid")
		return
	}
	// Only RS256, verified against the certificate registered on the app.
	_, err = jwt.Parse(assertion, func(*jwt.Token) (any, error) {
		pub, ok := app.Certificate.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("sftest: app certificate has no RSA key")
		}
		return pub, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	if err != nil {
		fail("invalid_grant", "invalid assertion")
		return
	}
	exp, ok := numericClaim(claims["exp"])
	if !ok {
		fail("invalid_grant", "invalid assertion")
		return
	}
	if !s.now().Before(exp.Add(jwtClockSkew)) {
		// No real sample of this answer was found; invalid_grant is the flow's
		// documented error for a rejected assertion.
		fail("invalid_grant", "expired JWT")
		return
	}
	if !s.validAudience(o, claims["aud"]) {
		fail("invalid_grant", "audience is invalid")
		return
	}
	sub, _ := claims["sub"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	u := o.userByName(sub)
	if u == nil {
		fail("invalid_grant", "user hasn't approved this consumer")
		return
	}
	t, err := s.newToken(o, u, app.Scopes)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, oauthError{"server_error", "internal error"})
		return
	}
	c.org = o
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken: t.value, Scope: strings.Join(t.scopes, " "), InstanceURL: o.instanceURL(s.URL),
		ID: s.identityURL(o, u), TokenType: "Bearer",
	})
}

// validAudience accepts the audiences Salesforce accepts: the production and
// sandbox login hosts, and the host the fake serves (the server URL or the org's
// instance URL, with or without the token path).
func (s *Server) validAudience(o *org, aud any) bool {
	var list []string
	switch v := aud.(type) {
	case string:
		list = []string{v}
	case []any:
		for _, x := range v {
			if str, ok := x.(string); ok {
				list = append(list, str)
			}
		}
	}
	ok := map[string]bool{
		"https://login.salesforce.com": true, "https://test.salesforce.com": true,
		s.URL: true, o.instanceURL(s.URL): true,
		s.URL + "/services/oauth2/token": true, o.instanceURL(s.URL) + "/services/oauth2/token": true,
	}
	for _, a := range list {
		if ok[strings.TrimSuffix(a, "/")] {
			return true
		}
	}
	return false
}

// numericClaim reads a NumericDate, as a JSON number or (as some clients send it) a
// string of digits.
func numericClaim(v any) (time.Time, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return time.Time{}, false
		}
	case string:
		var err error
		if f, err = strconv.ParseFloat(x, 64); err != nil {
			return time.Time{}, false
		}
	default:
		return time.Time{}, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// tokenSignature is the signature of a token response, as Salesforce documents
// it: the standard base64 of HMAC-SHA256 over the identity URL followed by
// issued_at, keyed with the client secret. Clients such as the salesforce-oauth2
// npm package verify it and refuse the token otherwise.
func tokenSignature(clientSecret, id, issuedAt string) string {
	mac := hmac.New(sha256.New, []byte(clientSecret))
	io.WriteString(mac, id+issuedAt)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func (s *Server) clientCredentials(w http.ResponseWriter, r *http.Request, c *call, only *org, fail func(code, desc string)) {
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.Form.Get("client_id"), r.Form.Get("client_secret")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, app := s.findApp(id, only)
	if app == nil {
		fail("invalid_client_id", "client identifier invalid")
		return
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(app.ClientSecret)) != 1 {
		fail("invalid_client", "invalid client credentials")
		return
	}
	u := o.userByName(app.RunAs)
	if u == nil {
		fail("invalid_grant", "no client credentials user enabled")
		return
	}
	t, err := s.newToken(o, u, app.Scopes)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, oauthError{"server_error", "internal error"})
		return
	}
	c.org = o
	id, issuedAt := s.identityURL(o, u), strconv.FormatInt(t.issued.UnixMilli(), 10)
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken: t.value, Signature: tokenSignature(app.ClientSecret, id, issuedAt), Scope: strings.Join(t.scopes, " "),
		InstanceURL: o.instanceURL(s.URL), ID: id, TokenType: "Bearer", IssuedAt: issuedAt,
	})
}

func (s *Server) identityURL(o *org, u *user) string {
	return s.URL + "/id/" + o.id + "/" + u.id
}

// bearer returns the access token of a REST request.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	for _, scheme := range []string{"Bearer ", "OAuth "} {
		if len(h) > len(scheme) && strings.EqualFold(h[:len(scheme)], scheme) {
			return strings.TrimSpace(h[len(scheme):])
		}
	}
	return ""
}

// restError is one element of Salesforce's REST error array.
type restError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

func writeRESTError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, []restError{{Message: message, ErrorCode: code}})
}

func writeInvalidSession(w http.ResponseWriter) {
	writeRESTError(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
}

// handleIdentity serves the identity URL (/id/<org>/<user>) to a token of that org.
func (s *Server) handleIdentity(w http.ResponseWriter, r *http.Request, c *call) {
	parts := strings.Split(strings.TrimPrefix(c.path, "/id/"), "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	var o *org
	for _, x := range s.orgs {
		if len(parts) == 2 && sameID(x.id, parts[0]) {
			o = x
		}
	}
	if o == nil {
		writeRESTError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	c.org = o
	t := s.lookupToken(o, bearer(r))
	if t == nil {
		w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, "Bad_OAuth_Token")
		return
	}
	var u *user
	for _, x := range o.users {
		if sameID(x.id, parts[1]) {
			u = x
		}
	}
	if u == nil {
		writeRESTError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	base := o.instanceURL(s.URL)
	writeJSON(w, http.StatusOK, map[string]any{
		"id": s.identityURL(o, u), "asserted_user": t.user == u, "user_id": u.id,
		"organization_id": o.id, "username": u.Username, "display_name": u.Username,
		"email": u.Email, "active": true, "user_type": "STANDARD",
		"urls": map[string]string{
			"metadata":     base + "/services/Soap/m/{version}/" + o.id,
			"rest":         base + "/services/data/v{version}/",
			"tooling_rest": base + "/services/data/v{version}/tooling/",
			"query":        base + "/services/data/v{version}/query/",
		},
	})
}
