package sftest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voicecert/voicecert/internal/keypool"
)

// Config configures a [Server]. The zero value serves one default org (see
// [OrgConfig]) on a loopback port, on the wall clock.
type Config struct {
	// Addr is the listen address of [Start]. Zero: "127.0.0.1:0". Only loopback
	// addresses are accepted.
	Addr string
	// Now is the clock of token expiry, certificate validity, assertion windows and
	// the request log. Zero: time.Now. Tests pass a fakeclock shared with the code
	// under test.
	Now func() time.Time
	// Sleep waits for Latency. Zero: a real timer. Tests pass the fake clock's Sleep.
	Sleep func(ctx context.Context, d time.Duration) error
	// Latency is added before every answer.
	Latency time.Duration
	// Orgs are the orgs served. Zero: one default org.
	Orgs []OrgConfig
	// NewKey returns RSA keys for generated certificates. Zero: a pool of
	// pre-generated keys (then freshly generated ones when the pool runs out).
	NewKey func(bits int) (*rsa.PrivateKey, error)
	// Rand is the source of tokens, session IDs, SAML IDs and serial numbers.
	// Zero: crypto/rand.
	Rand io.Reader
	// TokenLifetime is how long an access token and a UI session stay valid after
	// issue. Zero: 2 hours, Salesforce's default session timeout.
	TokenLifetime time.Duration
	// TokensNeverExpire disables expiry (for `rotate sim`).
	TokensNeverExpire bool
	// AssertionLifetime is NotOnOrAfter − IssueInstant of issued assertions.
	// Zero: 5 minutes, as Salesforce.
	AssertionLifetime time.Duration
	// SignerCacheDelay keeps SSO signing with the certificates apps signed with
	// before a change of the IdP setting or of an app, for this long after the
	// change (Salesforce may cache the signer). Zero: changes apply at once.
	SignerCacheDelay time.Duration
	// BatchSize is the number of records per query page. Zero: 2000, Salesforce's
	// maximum; a client's Sforce-Query-Options batchSize may lower it.
	BatchSize int
	// DeployPolls is the number of checkDeployStatus calls that see a deploy
	// unfinished (InProgress) before it completes. Zero: 1.
	DeployPolls int
	// StrictElementOrder rejects Metadata API requests whose elements are out of
	// schema order, with the fault Salesforce gives an unexpected element. Real
	// orgs accept any order (see the package doc); use this to prove a client
	// writes schema order.
	StrictElementOrder bool
	// Faults are injected errors (see [Fault]); more can be added with AddFault.
	Faults []Fault
	// OnRequest runs after every request is answered, with its log entry (for
	// `rotate sim --request-log`).
	OnRequest func(Request)
	// OnWrite runs after each write (deploy, updateMetadata, upsertMetadata,
	// createMetadata) is answered, with its log entry.
	OnWrite func(Request)
	// Logger receives one debug line per request, without secrets. Zero: discard.
	Logger *slog.Logger
}

// Option changes a [Config] for [NewServer].
type Option func(*Config)

// WithConfig replaces the whole config (later options still apply on top).
func WithConfig(cfg Config) Option { return func(c *Config) { *c = cfg } }

// WithNow sets the clock.
func WithNow(now func() time.Time) Option { return func(c *Config) { c.Now = now } }

// WithSleep sets how latency is waited.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Config) { c.Sleep = sleep }
}

// WithLatency adds d before every answer.
func WithLatency(d time.Duration) Option { return func(c *Config) { c.Latency = d } }

// WithOrgs sets the orgs served.
func WithOrgs(orgs ...OrgConfig) Option { return func(c *Config) { c.Orgs = orgs } }

// WithFault injects a fault.
func WithFault(f Fault) Option { return func(c *Config) { c.Faults = append(c.Faults, f) } }

// WithOnWrite sets the hook run after each write.
func WithOnWrite(fn func(Request)) Option { return func(c *Config) { c.OnWrite = fn } }

// WithAssertionLifetime sets the lifetime of issued SAML assertions.
func WithAssertionLifetime(d time.Duration) Option {
	return func(c *Config) { c.AssertionLifetime = d }
}

// WithTokenLifetime sets how long access tokens stay valid.
func WithTokenLifetime(d time.Duration) Option { return func(c *Config) { c.TokenLifetime = d } }

// WithBatchSize sets the query page size.
func WithBatchSize(n int) Option { return func(c *Config) { c.BatchSize = n } }

// Request is one entry of the request log.
// It holds no secret (no query string, no body), so it can be logged as is.
type Request struct {
	Time      time.Time `json:"time"`
	Org       string    `json:"org,omitempty"` // org ID; "" when the request names none
	Method    string    `json:"method"`
	Path      string    `json:"path"`                // without query string
	Operation string    `json:"operation,omitempty"` // "oauth2/token", "query", "tooling/query", "readMetadata", "idp/login", ...
	Type      string    `json:"type,omitempty"`      // metadata type of a SOAP call, object of a query
	Write     bool      `json:"write"`               // a write call (deploy, update/upsert/createMetadata), whatever its outcome
	Status    int       `json:"status"`
}

// Server is a fake Salesforce: several orgs behind one listener.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:PORT. The first org's instance
	// URL is URL itself; see the package doc for the others.
	URL string

	cfg    Config
	srv    *httptest.Server
	rand   io.Reader
	keys   keypool.Pool
	logger *slog.Logger

	mu       sync.Mutex
	orgs     []*org
	tokens   map[string]*token
	sessions map[string]*session
	cursors  map[string]*cursor
	deploys  map[string]*deployJob
	log      []Request
	faults   []*faultState
	counts   map[string]int // calls per operation/type, for faults
}

// NewServer starts a server for a test and closes it when the test ends. It fails
// the test when the config is invalid.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var cfg Config
	for _, o := range opts {
		o(&cfg)
	}
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a server on cfg.Addr. Call Close when done.
func Start(cfg Config) (*Server, error) {
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("sftest: address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("sftest: address %q is not loopback: the fake serves only this machine", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sftest: listen on %s: %w", addr, err)
	}
	s := &Server{
		cfg:      cfg,
		rand:     cfg.Rand,
		logger:   cfg.Logger,
		tokens:   map[string]*token{},
		sessions: map[string]*session{},
		cursors:  map[string]*cursor{},
		deploys:  map[string]*deployJob{},
		counts:   map[string]int{},
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.srv.Listener.Close()
	s.srv.Listener = ln
	s.URL = "http://" + ln.Addr().String()
	if _, err := loadSchema(); err != nil {
		ln.Close()
		return nil, err
	}
	orgs := cfg.Orgs
	if len(orgs) == 0 {
		orgs = []OrgConfig{{}}
	}
	var errs []error
	seen := map[string]bool{}
	for i, oc := range orgs {
		o, err := s.buildOrg(i, oc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[o.name] || seen[o.id] {
			errs = append(errs, fmt.Errorf("sftest: org %s (%s) is defined twice", o.name, o.id))
		}
		seen[o.name], seen[o.id] = true, true
		s.orgs = append(s.orgs, o)
	}
	for _, f := range cfg.Faults {
		s.faults = append(s.faults, &faultState{Fault: f})
	}
	if err := errors.Join(errs...); err != nil {
		ln.Close()
		return nil, err
	}
	s.srv.Start()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

func (s *Server) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

func (s *Server) newKey(bits int) (*rsa.PrivateKey, error) {
	if s.cfg.NewKey != nil {
		return s.cfg.NewKey(bits)
	}
	return s.keys.Key(bits)
}

func (s *Server) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	if s.cfg.Sleep != nil {
		return s.cfg.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// Writes returns the log entries of writes.
func (s *Server) Writes() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Write {
			out = append(out, r)
		}
	}
	return out
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// recorder captures the status of an answer for the log.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// call is what a handler learns about the request it serves, and fills for the log.
type call struct {
	org       *org
	path      string // path inside the org (prefix removed)
	operation string
	typ       string
	write     bool
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if err := s.sleep(r.Context(), s.cfg.Latency); err != nil {
		return
	}
	rec := &recorder{ResponseWriter: w}
	c := &call{path: r.URL.Path}
	s.mu.Lock()
	c.org = s.orgs[0]
	for _, o := range s.orgs[1:] {
		if r.URL.Path == o.prefix || strings.HasPrefix(r.URL.Path, o.prefix+"/") {
			c.org, c.path = o, strings.TrimPrefix(r.URL.Path, o.prefix)
		}
	}
	if strings.HasPrefix(c.path, "/org/") {
		// The first org is also reachable under its own name.
		rest := strings.TrimPrefix(c.path, "/org/")
		name, tail, _ := strings.Cut(rest, "/")
		if name == s.orgs[0].name {
			c.path = "/" + tail
		}
	}
	s.mu.Unlock()
	s.route(rec, r, c)
	entry := Request{
		Time: s.now(), Method: r.Method, Path: r.URL.Path, Operation: c.operation,
		Type: c.typ, Write: c.write, Status: rec.status,
	}
	if c.org != nil && c.operation != "" {
		entry.Org = c.org.id
	}
	s.mu.Lock()
	s.log = append(s.log, entry)
	s.mu.Unlock()
	s.logger.Debug("sftest", "method", r.Method, "path", r.URL.Path, "operation", c.operation, "type", c.typ, "status", rec.status)
	if s.cfg.OnRequest != nil {
		s.cfg.OnRequest(entry)
	}
	if c.write && s.cfg.OnWrite != nil {
		s.cfg.OnWrite(entry)
	}
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, c *call) {
	p := c.path
	switch {
	case p == "/services/oauth2/token":
		c.operation = "oauth2/token"
		s.handleToken(w, r, c)
	case strings.HasPrefix(p, "/id/"):
		c.operation = "id"
		s.handleIdentity(w, r, c)
	case strings.HasPrefix(p, "/services/data/"):
		s.handleREST(w, r, c)
	case strings.HasPrefix(p, "/services/Soap/m/"):
		s.handleSOAP(w, r, c)
	case p == "/.well-known/samlidp.xml":
		c.operation = "samlidp.xml"
		s.handleIdPMetadata(w, r, c)
	case p == "/secur/frontdoor.jsp":
		c.operation = "frontdoor.jsp"
		s.handleFrontdoor(w, r, c)
	case p == "/idp/login":
		c.operation = "idp/login"
		s.handleIdPLogin(w, r, c)
	case p == "/" || p == "" || p == "/home/home.jsp":
		c.operation = "ui"
		s.handleUI(w, r, c)
	default:
		writeHTML(w, http.StatusNotFound, "<html><body>URL No Longer Exists</body></html>")
	}
}

func writeHTML(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/html;charset=UTF-8")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// Org returns the org with the given name or ID, or nil.
func (s *Server) Org(nameOrID string) *Org {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.orgs {
		if o.name == nameOrID || sameID(o.id, nameOrID) {
			return &Org{s: s, o: o}
		}
	}
	return nil
}

// Orgs returns every org, the first one first.
func (s *Server) Orgs() []*Org {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Org, len(s.orgs))
	for i, o := range s.orgs {
		out[i] = &Org{s: s, o: o}
	}
	return out
}

// DefaultOrg returns the first org.
func (s *Server) DefaultOrg() *Org { return s.Orgs()[0] }

// Org is a handle on one org of a [Server], for tests and the CLI simulator.
type Org struct {
	s *Server
	o *org
}

// ID returns the org ID (18 characters).
func (h *Org) ID() string { return h.o.id }

// Name returns the My Domain name.
func (h *Org) Name() string { return h.o.name }

// InstanceURL returns the org's instance URL, which is also its IdP issuer.
func (h *Org) InstanceURL() string { return h.o.instanceURL(h.s.URL) }

// LoginURL returns the URL clients post token requests to (the server's URL).
func (h *Org) LoginURL() string { return h.s.URL }

// Username returns the org's first user (the admin of the default org).
func (h *Org) Username() string { return h.o.users[0].Username }

// OAuthClientID returns the consumer key of the org's first OAuth app.
func (h *Org) OAuthClientID() string { return h.o.apps[0].ClientID }

// OAuthClientSecret returns the client secret of the org's first OAuth app.
func (h *Org) OAuthClientSecret() string { return h.o.apps[0].ClientSecret }

// OAuthKey returns the private key whose certificate the org's first OAuth app
// trusts for JWT bearer assertions (nil when the config gave the certificate).
func (h *Org) OAuthKey() *rsa.PrivateKey { return h.o.apps[0].key }

// IssueToken returns an access token for a user of the org, as if it had logged
// in, with the first OAuth app's scopes.
func (h *Org) IssueToken(username string) (string, error) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	u := h.o.userByName(username)
	if u == nil {
		return "", fmt.Errorf("sftest: org %s has no user %s", h.o.name, username)
	}
	t, err := h.s.newToken(h.o, u, h.o.apps[0].Scopes)
	if err != nil {
		return "", err
	}
	return t.value, nil
}

// Certificate returns the X.509 certificate of the org's certificate with the
// given DeveloperName, or nil.
func (h *Org) Certificate(name string) *x509.Certificate {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	if c := h.o.cert(name); c != nil {
		return c.cert
	}
	return nil
}

// CertificateNames returns the DeveloperNames of the org's certificates, in
// creation order.
func (h *Org) CertificateNames() []string {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	var out []string
	for _, c := range h.o.certs {
		out = append(out, c.developerName)
	}
	return out
}

// IdPCertificate returns the DeveloperName the identity provider setting names.
func (h *Org) IdPCertificate() string {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	return h.o.idpCert
}

// ConnectedAppCertificate returns samlConfig.certificate of an app ("" for the org
// default) and whether the app exists.
func (h *Org) ConnectedAppCertificate(fullName string) (string, bool) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	a := h.o.app(fullName)
	if a == nil {
		return "", false
	}
	return a.saml().childText("certificate"), true
}

// ConnectedAppXML returns the app's record as readMetadata would serve it.
func (h *Org) ConnectedAppXML(fullName string) (string, bool) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	a := h.o.app(fullName)
	if a == nil {
		return "", false
	}
	var b strings.Builder
	writeRecord(&b, a.record, "records")
	return b.String(), true
}

// SetSigner makes an app sign with the named certificate whatever samlConfig names
// (the misconfigured-signer knob); "" restores normal signing.
func (h *Org) SetSigner(appFullName, certificate string) error {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	a := h.o.app(appFullName)
	if a == nil {
		return fmt.Errorf("sftest: org %s has no connected app %s", h.o.name, appFullName)
	}
	if certificate != "" && h.o.cert(certificate) == nil {
		return fmt.Errorf("sftest: org %s has no certificate %s", h.o.name, certificate)
	}
	h.o.noteSigners(h.s.now(), h.s.cfg.SignerCacheDelay)
	a.signWith = certificate
	return nil
}

// ContactCenter describes a contact center as a test or the CLI simulator needs it.
type ContactCenter struct {
	Name, InternalName string
	ConnectedApp       string // fullName
	ConnectedAppID     string // 0H4...
	IdentityURL        string
	RelayState         string
	Region             string
	RoleARN            string
	ProviderARN        string
}

// ContactCenters returns the org's contact centers.
func (h *Org) ContactCenters() []ContactCenter {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	var out []ContactCenter
	for _, cc := range h.o.callCenters {
		items := hvccItems(cc.record)
		c := ContactCenter{
			Name: cc.record.childText("displayName"), InternalName: cc.record.childText("fullName"),
			ConnectedAppID: items["reqConnectedAppId"], IdentityURL: items["reqIdentityUrl"],
			RelayState: items["reqSettingsRelayState"], Region: items["reqRegion"],
		}
		for _, a := range h.o.connected {
			if sameID(a.id, c.ConnectedAppID) {
				c.ConnectedApp = a.fullName
				c.RoleARN, c.ProviderARN = roleAttribute(a)
			}
		}
		out = append(out, c)
	}
	return out
}

func hvccItems(rec *node) map[string]string {
	out := map[string]string{}
	for _, sec := range rec.all("sections") {
		if sec.childText("name") != "reqHvcc" {
			continue
		}
		for _, it := range sec.all("items") {
			out[it.childText("name")] = it.childText("value")
		}
	}
	return out
}

func roleAttribute(a *connectedApp) (role, provider string) {
	for _, at := range a.record.all("attributes") {
		if at.childText("key") != "https://aws.amazon.com/SAML/Attributes/Role" {
			continue
		}
		v, ok := stringLiteral(at.childText("formula"))
		if !ok {
			return "", ""
		}
		role, provider, _ = strings.Cut(v, ",")
		return role, provider
	}
	return "", ""
}

// stringLiteral returns the value of a formula that is one double-quoted string.
func stringLiteral(formula string) (string, bool) {
	f := strings.TrimSpace(formula)
	if len(f) < 2 || f[0] != '"' || f[len(f)-1] != '"' || strings.Contains(f[1:len(f)-1], `"`) {
		return "", false
	}
	return f[1 : len(f)-1], true
}
