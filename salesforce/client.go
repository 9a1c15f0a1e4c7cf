package salesforce

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultAPIVersion is the API version used when [Config.APIVersion] is zero: the
// version of the Metadata schema the tests validate every request against.
const DefaultAPIVersion = "63.0"

// Config configures a [Client]. Only Auth is required.
type Config struct {
	// InstanceURL is the org's My Domain URL (https://MyDomain.my.salesforce.com).
	// Plain http is allowed only for loopback hosts. A path, as a fake serving
	// several orgs on one host gives each org, is kept: every API path lives under
	// it. Zero: the token's instance_url.
	InstanceURL string
	// APIVersion is the REST and Metadata API version, such as "63.0". Zero:
	// [DefaultAPIVersion].
	APIVersion string
	// Auth gives access tokens: [JWTBearer], [ClientCredentials] or [StaticToken].
	Auth TokenSource
	// OrgID pins the org (15 or 18 characters): a token for another org is refused.
	// Zero: any org.
	OrgID string
	// HTTPClient sends every request. Zero: a client with a 2-minute timeout.
	HTTPClient *http.Client
	// Now gives the time. Zero: time.Now.
	Now func() time.Time
	// Sleep waits between polls and retries; it returns early with ctx's error.
	// Zero: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives debug lines about each call (never a secret). Zero: discard.
	Logger *slog.Logger
	// MaxRetries bounds the retries of a call that failed for a temporary reason.
	// Zero: 4. Negative: no retries.
	MaxRetries int
}

// Client is a Salesforce client for one org: OAuth, REST and Tooling queries, the
// Metadata SOAP API, the IdP metadata and the SSO probe. It is safe for concurrent
// use, but the calls of one org are meant to run one at a time.
type Client struct {
	cfg     Config
	hc      *http.Client
	version string
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error
	log     *slog.Logger
	retries int

	mu   sync.Mutex
	sess *session

	reads, writes atomic.Int64
}

// String describes the client without its token source's secrets or its session
// (fmt would otherwise print the unexported fields raw, a StaticToken's access
// token among them).
func (c *Client) String() string {
	return fmt.Sprintf("salesforce.Client{instance=%s api=%s auth=%T}", c.cfg.InstanceURL, c.version, c.cfg.Auth)
}

// GoString is String, so that %#v hides the secrets too.
func (c *Client) GoString() string { return c.String() }

// LogValue logs the client as String describes it.
func (c *Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("instance_url", c.cfg.InstanceURL), slog.String("api_version", c.version),
		slog.String("auth", fmt.Sprintf("%T", c.cfg.Auth)))
}

// session is what a token gives: the token, the URL to call and the org.
type session struct {
	tok   *Token
	base  *url.URL
	orgID string
}

var apiVersionPattern = regexp.MustCompile(`^[1-9][0-9]\.0$`)

// New validates cfg and returns a client. It makes no call: the first call
// authenticates.
func New(cfg Config) (*Client, error) {
	var problems []error
	if cfg.Auth == nil {
		problems = append(problems, errors.New("salesforce: Config.Auth is nil: set a JWTBearer, ClientCredentials or StaticToken"))
	}
	if cfg.InstanceURL != "" {
		if _, err := checkURL("Config.InstanceURL", cfg.InstanceURL); err != nil {
			problems = append(problems, err)
		}
	}
	version := cfg.APIVersion
	if version == "" {
		version = DefaultAPIVersion
	}
	if !apiVersionPattern.MatchString(version) {
		problems = append(problems, fmt.Errorf("salesforce: Config.APIVersion %q is not an API version such as %q", version, DefaultAPIVersion))
	}
	if cfg.OrgID != "" && !isOrgID(cfg.OrgID) {
		problems = append(problems, fmt.Errorf("salesforce: Config.OrgID %q is not an org id (00D and 15 or 18 characters)", cfg.OrgID))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	c := &Client{cfg: cfg, hc: cfg.HTTPClient, version: version, now: cfg.Now, sleep: cfg.Sleep, log: cfg.Logger}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 2 * time.Minute}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = sleepTimer
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.MaxRetries == 0:
		c.retries = 4
	case cfg.MaxRetries > 0:
		c.retries = cfg.MaxRetries
	}
	return c, nil
}

func sleepTimer(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Stats counts the requests a Client sent to Salesforce.
type Stats struct {
	// Reads counts every request that changes nothing: queries, readMetadata,
	// listMetadata, checkDeployStatus, retrieve, the IdP metadata and the SSO probe's
	// requests. Token requests are not counted.
	Reads int
	// Writes counts the requests that may change the org (DESIGN §3): deploy and
	// updateMetadata. A retried write counts each time it is sent.
	Writes int
}

// Stats returns the counts of requests sent so far.
func (c *Client) Stats() Stats {
	return Stats{Reads: int(c.reads.Load()), Writes: int(c.writes.Load())}
}

// OrgID returns the id of the org the token belongs to, in its 18-character form.
func (c *Client) OrgID(ctx context.Context) (string, error) {
	s, err := c.session(ctx)
	if err != nil {
		return "", err
	}
	return s.orgID, nil
}

// Issuer returns the org's My Domain URL (the instance URL without a trailing
// slash), which Salesforce uses as its IdP entityID and SAML Issuer.
func (c *Client) Issuer(ctx context.Context) (string, error) {
	s, err := c.session(ctx)
	if err != nil {
		return "", err
	}
	return s.base.String(), nil
}

// session returns the current session, authenticating when there is none.
func (c *Client) session(ctx context.Context) (*session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess != nil {
		return c.sess, nil
	}
	var tok *Token
	var err error
	if s, ok := c.cfg.Auth.(sourceWithDefaults); ok {
		tok, err = s.token(ctx, c.hc, c.now)
	} else {
		tok, err = c.cfg.Auth.Token(ctx)
	}
	if err != nil {
		return nil, err
	}
	s, err := c.checkToken(tok)
	if err != nil {
		return nil, err
	}
	c.log.Debug("salesforce: authenticated", "org", s.orgID, "instance", s.base.Host)
	c.sess = s
	return s, nil
}

// checkToken refuses tokens the client cannot use and finds their org.
func (c *Client) checkToken(tok *Token) (*session, error) {
	if tok == nil || tok.AccessToken == "" {
		return nil, errors.New("salesforce: the token source returned no access token")
	}
	if isJWT(tok.AccessToken) {
		return nil, fmt.Errorf("%w: the Metadata SOAP API refuses it; in the connected app (or external "+
			"client app) OAuth settings, turn off \"Issue JSON Web Token (JWT)-based access tokens\"", ErrJWTAccessToken)
	}
	raw := c.cfg.InstanceURL
	field := "Config.InstanceURL"
	if raw == "" {
		raw, field = tok.InstanceURL, "the token's instance_url"
	}
	base, err := checkURL(field, raw)
	if err != nil {
		return nil, err
	}
	// Real instance URLs have no path; a fake serving several orgs on one host may
	// give each a path prefix, under which every path of the API lives.
	base.Path = strings.TrimRight(base.Path, "/")
	base.RawPath = ""
	org, ok := orgIDFromIdentityURL(tok.ID)
	if !ok {
		org, ok = orgIDFromAccessToken(tok.AccessToken)
	}
	if !ok {
		return nil, errors.New("salesforce: cannot tell the token's org: it has no identity URL and is not a " +
			"session id (00D...!...); use a Salesforce access token")
	}
	org = id18(org)
	if c.cfg.OrgID != "" && !sameOrg(org, c.cfg.OrgID) {
		return nil, fmt.Errorf("%w: the token is for org %s, but Config.OrgID is %s: check the login URL "+
			"and credentials (SF_ORG_ID)", ErrWrongOrg, org, c.cfg.OrgID)
	}
	return &session{tok: tok, base: base, orgID: org}, nil
}

// dropSession forgets s, so that the next call authenticates again.
func (c *Client) dropSession(s *session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == s {
		c.sess = nil
	}
}

// call describes one request to Salesforce.
type call struct {
	op    string // names the call in errors and logs
	soap  bool   // errors are SOAP faults, not REST arrays
	write bool   // counts as a write; never retried blindly
	// build makes the request for a session.
	build func(s *session) (*http.Request, error)
	// maxBody caps the answer; zero: 32 MiB.
	maxBody int64
	// client sends the request; zero: the Client's.
	client *http.Client
}

// do sends a call: the one place where answers become errors, the session is
// renewed once on INVALID_SESSION_ID, and calls safe to repeat are retried with
// backoff on temporary failures. It returns the body of a successful answer.
func (c *Client) do(ctx context.Context, cl call) ([]byte, error) {
	renewed := false
	for attempt := 0; ; attempt++ {
		s, err := c.session(ctx)
		if err != nil {
			// A token request is safe to repeat.
			if !retryable(err) || attempt >= c.retries {
				return nil, err
			}
			if err := c.backoff(ctx, "token", attempt, err); err != nil {
				return nil, err
			}
			continue
		}
		body, err := c.send(ctx, s, cl)
		if err == nil {
			return body, nil
		}
		if errors.Is(err, ErrInvalidSession) && !renewed {
			renewed = true
			c.log.Debug("salesforce: session refused; authenticating again", "op", cl.op)
			c.dropSession(s)
			continue
		}
		if cl.write || !retryable(err) || attempt >= c.retries {
			return nil, err
		}
		if err := c.backoff(ctx, cl.op, attempt, err); err != nil {
			return nil, err
		}
	}
}

// send sends one request and maps the answer.
func (c *Client) send(ctx context.Context, s *session, cl call) ([]byte, error) {
	req, err := cl.build(s)
	if err != nil {
		return nil, err
	}
	req = req.WithContext(ctx)
	if cl.write {
		c.writes.Add(1)
	} else {
		c.reads.Add(1)
	}
	hc := c.hc
	if cl.client != nil {
		hc = cl.client
	}
	start := c.now()
	resp, err := hc.Do(req)
	if err != nil {
		c.log.Debug("salesforce: call failed", "op", cl.op, "method", req.Method, "path", req.URL.Path)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("salesforce: %s: %w", cl.op, ctx.Err())
		}
		cause := scrubURLError(err)
		if connectionReset(cause) {
			return nil, fmt.Errorf("salesforce: %s: %w: %w", cl.op, ErrTransient, cause)
		}
		return nil, fmt.Errorf("salesforce: %s %s%s: %w", cl.op, req.URL.Host, req.URL.Path, cause)
	}
	defer resp.Body.Close()
	limit := cl.maxBody
	if limit == 0 {
		limit = 32 << 20
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		if connectionReset(err) {
			return nil, fmt.Errorf("salesforce: %s: reading the answer: %w: %w", cl.op, ErrTransient, err)
		}
		return nil, fmt.Errorf("salesforce: %s: reading the answer: %w", cl.op, err)
	}
	c.log.Debug("salesforce: call", "op", cl.op, "write", cl.write, "method", req.Method, "path", req.URL.Path,
		"status", resp.StatusCode, "duration", c.now().Sub(start))
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("salesforce: %s: the answer is larger than %d bytes", cl.op, limit)
	}
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if cl.soap {
		ok = resp.StatusCode == http.StatusOK
	}
	if ok {
		return body, nil
	}
	if cl.soap {
		return nil, soapError(cl.op, resp.StatusCode, body)
	}
	return nil, restError(cl.op, resp.StatusCode, body)
}

// retryable reports whether a failed call may succeed when sent again.
func retryable(err error) bool {
	return errors.Is(err, ErrRequestLimit) || errors.Is(err, ErrTransient)
}

// connectionReset reports whether a transport error means the connection broke
// (reset or closed early): the request may or may not have been processed.
func connectionReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// backoff waits before retry number attempt+1: exponential from 1 s, capped at 30 s,
// with full jitter on the upper half.
func (c *Client) backoff(ctx context.Context, op string, attempt int, cause error) error {
	d := time.Second << min(attempt, 5)
	d = min(d, 30*time.Second)
	d = d/2 + rand.N(d/2+1)
	c.log.Debug("salesforce: retrying", "op", op, "attempt", attempt+1, "wait", d, "cause", cause.Error())
	if err := c.sleep(ctx, d); err != nil {
		return fmt.Errorf("salesforce: %s: %w (while retrying after: %w)", op, err, cause)
	}
	return nil
}

// writeChecked sends a write. When it fails for a temporary reason, applied re-reads
// the org: when the write took effect it is done, otherwise it is sent again (with
// backoff, at most MaxRetries times). A write is never repeated blindly.
func (c *Client) writeChecked(ctx context.Context, op string, send func() error, applied func() (bool, error)) error {
	for attempt := 0; ; attempt++ {
		err := send()
		if err == nil || !retryable(err) || attempt >= c.retries {
			return err
		}
		done, rerr := applied()
		if rerr != nil {
			return fmt.Errorf("%w (and re-reading to see whether %s took effect failed: %w)", err, op, rerr)
		}
		if done {
			c.log.Debug("salesforce: write took effect despite the error", "op", op)
			return nil
		}
		if err := c.backoff(ctx, op, attempt, err); err != nil {
			return err
		}
	}
}

// resolve returns the absolute URL of a path on the instance (under the instance
// URL's path, if it has one).
func (s *session) resolve(path string, query url.Values) string {
	u := *s.base
	u.Path = s.base.Path + path
	u.RawQuery = query.Encode()
	return u.String()
}
