package iamtest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a fake IAM + STS Query endpoint. Both services share one URL: a request
// is routed by its Action and Version (IAM 2010-05-08, STS 2011-06-15, as the real
// SDKs send them), and a signed request must also carry the credential scope of the
// service that owns the Action ("iam" or "sts"), as AWS requires.
//
// A Server is safe for concurrent use. Requests are handled one at a time.
type Server struct {
	// URL is the base URL, http://127.0.0.1:PORT, to use as the SDK's BaseEndpoint
	// (or AWS_ENDPOINT_URL).
	URL string

	cfg  Config
	http *http.Server
	done chan struct{}

	mu        sync.Mutex
	accounts  map[string]*account    // by ID
	creds     map[string]*credential // by access key ID
	calls     map[string]int         // per operation
	faults    []Fault
	requests  []Request
	requestNo int
	closeOnce sync.Once
	logMu     sync.Mutex // serializes writes to cfg.RequestLog
}

// Request is one entry of the request log. It holds no parameter value: no
// document, no assertion, no credential.
//
// Its JSON form (one object per line) is what a request-log file holds.
type Request struct {
	Time      time.Time `json:"time"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Service   string    `json:"service,omitempty"` // "iam", "sts", or "" for an unknown action
	Operation string    `json:"operation"`         // the Action
	Account   string    `json:"account,omitempty"` // the caller's account, when authenticated
	// Write marks operations that change IAM state: CreateSAMLProvider,
	// UpdateSAMLProvider, DeleteSAMLProvider, TagSAMLProvider, UntagSAMLProvider
	// (whether or not they succeeded).
	Write     bool   `json:"write"`
	Status    int    `json:"status"`
	Code      string `json:"code,omitempty"`   // the error code; "" on success
	Detail    string `json:"detail,omitempty"` // why, when the wire message does not say (e.g. which metadata rule)
	RequestID string `json:"request_id"`
}

// Option changes the Config of a server made by [NewServer].
type Option func(*Config)

// WithConfig replaces the whole Config; pass it before any other option.
func WithConfig(c Config) Option { return func(dst *Config) { *dst = c } }

// WithClock makes the server read time from now and wait with sleep (either may be
// nil to keep the default). Pass a fakeclock's Now and Sleep.
func WithClock(now func() time.Time, sleep func(context.Context, time.Duration) error) Option {
	return func(c *Config) {
		if now != nil {
			c.Now = now
		}
		if sleep != nil {
			c.Sleep = sleep
		}
	}
}

// WithAccounts sets the hosted accounts.
func WithAccounts(a ...Account) Option { return func(c *Config) { c.Accounts = a } }

// WithPropagationDelay sets Config.PropagationDelay.
func WithPropagationDelay(d time.Duration) Option { return func(c *Config) { c.PropagationDelay = d } }

// WithLatency sets Config.Latency.
func WithLatency(d time.Duration) Option { return func(c *Config) { c.Latency = d } }

// WithTrustFirstOnly sets Config.TrustFirstOnly.
func WithTrustFirstOnly() Option { return func(c *Config) { c.TrustFirstOnly = true } }

// WithFaults appends faults.
func WithFaults(f ...Fault) Option { return func(c *Config) { c.Faults = append(c.Faults, f...) } }

// WithOnWrite sets Config.OnWrite.
func WithOnWrite(fn func(Request)) Option { return func(c *Config) { c.OnWrite = fn } }

// NewServer starts a Server on a loopback port for the test t, and closes it when the
// test ends. An invalid configuration fails the test.
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

// Start validates cfg, listens on cfg.Addr (loopback only) and serves until Close.
func Start(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("iamtest: address %q: %w", cfg.Addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("iamtest: address %q is not loopback; the fake serves only this machine", cfg.Addr)
	}
	s, err := newServer(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("iamtest: listen: %w", err)
	}
	s.URL = "http://" + ln.Addr().String()
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		_ = s.http.Serve(ln)
	}()
	return s, nil
}

// Close stops the server and waits for it. It is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		_ = s.http.Close()
		<-s.done
	})
}

func newServer(cfg Config) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ClockSkew == 0 {
		cfg.ClockSkew = time.Minute
	} else if cfg.ClockSkew < 0 {
		cfg.ClockSkew = 0
	}
	if len(cfg.Accounts) == 0 {
		cfg.Accounts = []Account{{
			ID:         DefaultAccountID,
			AccessKeys: []AccessKey{{ID: DefaultAccessKeyID, Secret: DefaultSecretAccessKey}},
		}}
	}
	s := &Server{
		cfg:      cfg,
		accounts: map[string]*account{},
		creds:    map[string]*credential{},
		calls:    map[string]int{},
		faults:   append([]Fault(nil), cfg.Faults...),
	}
	now := cfg.Now()
	for _, a := range cfg.Accounts {
		acct := newAccount(a)
		s.accounts[a.ID] = acct
		for _, k := range a.AccessKeys {
			s.creds[k.ID] = longTermCredential(acct, k)
		}
		for _, p := range a.Providers {
			if _, err := s.createProvider(acct, p.Name, p.Document, p.Tags, now, true); err != nil {
				return nil, fmt.Errorf("iamtest: account %s: provider %s: %s", a.ID, p.Name, err.Message)
			}
		}
	}
	return s, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// operation describes one Query action.
type operation struct {
	service string // "iam" or "sts"
	write   bool
	// anonymous operations accept unsigned requests (a signed one is verified).
	anonymous bool
	// noResult operations answer with ResponseMetadata only.
	noResult bool
	handle   func(s *Server, c *call) ([]byte, *apiError)
}

var versions = map[string]string{"iam": "2010-05-08", "sts": "2011-06-15"}

var operations = map[string]operation{
	"ListSAMLProviders":    {service: "iam", handle: (*Server).listSAMLProviders},
	"GetSAMLProvider":      {service: "iam", handle: (*Server).getSAMLProvider},
	"CreateSAMLProvider":   {service: "iam", write: true, handle: (*Server).createSAMLProvider},
	"UpdateSAMLProvider":   {service: "iam", write: true, handle: (*Server).updateSAMLProvider},
	"DeleteSAMLProvider":   {service: "iam", write: true, handle: (*Server).deleteSAMLProvider},
	"TagSAMLProvider":      {service: "iam", write: true, handle: (*Server).tagSAMLProvider},
	"UntagSAMLProvider":    {service: "iam", write: true, handle: (*Server).untagSAMLProvider},
	"ListSAMLProviderTags": {service: "iam", handle: (*Server).listSAMLProviderTags},
	"AssumeRoleWithSAML":   {service: "sts", anonymous: true, handle: (*Server).assumeRoleWithSAML},
	"AssumeRole":           {service: "sts", handle: (*Server).assumeRole},
	"GetCallerIdentity":    {service: "sts", handle: (*Server).getCallerIdentity},
}

// call is one request being served.
type call struct {
	op     string
	params url.Values
	caller *credential // nil for an unsigned anonymous call
	now    time.Time
}

// maxBody bounds a request body: a 10,000,000-character document, form-encoded.
const maxBody = 64 << 20

// ServeHTTP serves the Query API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Latency > 0 {
		if err := s.cfg.Sleep(r.Context(), s.cfg.Latency); err != nil {
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	params := url.Values{}
	if err == nil {
		params, err = url.ParseQuery(string(body))
	}
	for k, v := range r.URL.Query() {
		params[k] = append(params[k], v...)
	}

	s.mu.Lock()
	s.requestNo++
	rec := Request{
		Time:      s.cfg.Now(),
		Method:    r.Method,
		Path:      r.URL.Path,
		Operation: params.Get("Action"),
		RequestID: fmt.Sprintf("%08x-1a2b-4c3d-8e4f-%012x", s.requestNo, s.requestNo),
	}
	var result []byte
	var apiErr *apiError
	ns := iamNamespace
	op, known := operations[rec.Operation]
	switch version := params.Get("Version"); {
	case err != nil:
		apiErr = newError("InvalidInput", "The request body could not be read as a form.")
	case r.Method != http.MethodPost && r.Method != http.MethodGet:
		apiErr = &apiError{Code: "InvalidAction", Message: "Only POST and GET are supported.", Status: http.StatusMethodNotAllowed}
	case rec.Operation == "":
		apiErr = newError("InvalidAction", "Request is missing the Action parameter.")
	case !known || versions[op.service] != version:
		if version == versions["sts"] {
			ns = stsNamespace
		}
		apiErr = newError("InvalidAction", fmt.Sprintf("Could not find operation %s for version %s", rec.Operation, version))
	default:
		if op.service == "sts" {
			ns = stsNamespace
		}
		rec.Service, rec.Write = op.service, op.write
		result, apiErr = s.dispatch(r, body, params, op, &rec)
	}
	rec.Status = http.StatusOK
	if apiErr != nil {
		rec.Status, rec.Code, rec.Detail = apiErr.Status, apiErr.Code, apiErr.detail
	}
	s.requests = append(s.requests, rec)
	onWrite := s.cfg.OnWrite
	s.mu.Unlock()

	if s.cfg.RequestLog != nil {
		line, _ := json.Marshal(rec)
		s.logMu.Lock()
		_, _ = s.cfg.RequestLog.Write(append(line, '\n'))
		s.logMu.Unlock()
	}
	s.cfg.Logger.LogAttrs(r.Context(), slog.LevelDebug, "iamtest request",
		slog.String("operation", rec.Operation), slog.Int("status", rec.Status), slog.String("code", rec.Code),
		slog.String("account", rec.Account), slog.String("request_id", rec.RequestID))
	if apiErr == nil && rec.Write && onWrite != nil {
		onWrite(rec)
	}
	if apiErr != nil {
		writeError(w, ns, rec.RequestID, apiErr)
		return
	}
	writeResult(w, ns, rec.Operation, rec.RequestID, result, !op.noResult)
}

// dispatch authenticates a routed request, counts it, applies any fault, and runs
// the operation. The caller holds s.mu.
func (s *Server) dispatch(r *http.Request, body []byte, params url.Values, op operation, rec *Request) ([]byte, *apiError) {
	caller, apiErr := s.authenticate(r, body, op, rec.Time)
	if apiErr != nil {
		return nil, apiErr
	}
	if caller != nil {
		rec.Account = caller.account.id
	}
	s.calls[rec.Operation]++
	if f := s.fault(rec.Operation, s.calls[rec.Operation]); f != nil {
		return nil, f
	}
	return op.handle(s, &call{op: rec.Operation, params: params, caller: caller, now: rec.Time})
}

// fault returns the injected error for the n-th call of op, or nil.
func (s *Server) fault(op string, n int) *apiError {
	for _, f := range s.faults {
		nth := max(f.Nth, 1)
		if f.Operation != op || n < nth || (n > nth && !f.AndAfter) {
			continue
		}
		code := f.Code
		if code == "" {
			code = "ServiceFailure"
		}
		msg := f.Message
		if msg == "" {
			msg = defaultMessages[code]
		}
		if msg == "" {
			msg = "Injected fault."
		}
		e := newError(code, msg)
		e.detail = fmt.Sprintf("injected fault on call %d", n)
		return e
	}
	return nil
}

// defaultMessages are messages typical of codes a test is likely to inject.
// Throttling's is the real one (aws-wire.md §1.7); the others are [I].
var defaultMessages = map[string]string{
	"Throttling":             "Rate exceeded",
	"ServiceFailure":         "Request processing has failed due to some unknown error, exception or failure.",
	"LimitExceeded":          "Cannot exceed quota for SAMLProvidersPerAccount: 100",
	"ConcurrentModification": "Rate exceeded",
	"InvalidInput":           "Could not parse metadata",
	"AccessDenied":           "Not authorized to perform sts:AssumeRoleWithSAML",
	"InvalidIdentityToken":   "Response signature invalid",
}

// InjectFault adds a fault while the server runs.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Requests returns a copy of the request log, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ResetRequests empties the request log (call counts and faults are kept).
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// Writes returns the log entries of successful writes, oldest first.
func (s *Server) Writes() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Write && r.Status == http.StatusOK {
			out = append(out, r)
		}
	}
	return out
}

// Calls returns how many times op was called (faulted calls included,
// unauthenticated ones not).
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// ProviderARN returns the ARN of the provider name in the given account, whether or
// not it exists.
func (s *Server) ProviderARN(accountID, name string) string {
	return fmt.Sprintf("arn:%s:iam::%s:saml-provider/%s", s.partitionOf(accountID), accountID, name)
}

// RoleARN returns the ARN of the role name in the given account, whether or not it
// exists.
func (s *Server) RoleARN(accountID, name string) string {
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", s.partitionOf(accountID), accountID, name)
}

func (s *Server) partitionOf(accountID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.accounts[accountID]; a != nil {
		return a.partition
	}
	return "aws"
}

// Document returns the provider's current document as IAM reads it, and false when
// the provider does not exist.
func (s *Server) Document(arn string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.providerByARN(arn)
	if p == nil {
		return nil, false
	}
	return append([]byte(nil), p.current().doc...), true
}

// SetDocument replaces a provider's document behind every client's back, as another
// administrator would: the IAM metadata rules apply and propagation to STS takes
// PropagationDelay, but the request log and OnWrite do not see it.
func (s *Server) SetDocument(arn string, doc []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.providerByARN(arn)
	if p == nil {
		return fmt.Errorf("iamtest: no provider %s", arn)
	}
	if e := checkMetadata(doc); e != nil {
		return fmt.Errorf("iamtest: IAM would refuse the document: %s (%s)", e.Message, e.detail)
	}
	p.write(doc, s.cfg.Now(), s.cfg.PropagationDelay)
	return nil
}

// AddProvider creates a provider out of band (not logged), as [Account.Providers]
// does at start, and returns its ARN.
func (s *Server) AddProvider(accountID string, p Provider) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[accountID]
	if a == nil {
		return "", fmt.Errorf("iamtest: no account %s", accountID)
	}
	if !namePattern.MatchString(p.Name) {
		return "", fmt.Errorf("iamtest: provider name %q must match [\\w+=,.@-]{1,128}", p.Name)
	}
	prov, e := s.createProvider(a, p.Name, p.Document, p.Tags, s.cfg.Now(), true)
	if e != nil {
		return "", errors.New("iamtest: " + e.Message + " (" + e.detail + ")")
	}
	return prov.arn, nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// trimAll collapses runs of spaces and trims, as SigV4 canonical header values do.
func trimAll(s string) string { return strings.Join(strings.Fields(s), " ") }

// AddRole creates a role out of band, as [Account.Roles] does at start.
func (s *Server) AddRole(accountID string, r Role) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[accountID]
	if a == nil {
		return fmt.Errorf("iamtest: no account %s", accountID)
	}
	if !roleNamePattern.MatchString(r.Name) {
		return fmt.Errorf("iamtest: role name %q must match [\\w+=,.@-]{1,64}", r.Name)
	}
	if _, ok := a.roles[r.Name]; ok {
		return fmt.Errorf("iamtest: account %s already has a role %s", accountID, r.Name)
	}
	for name, ro := range newAccount(Account{ID: a.id, Partition: a.partition, Roles: []Role{r}}).roles {
		a.roles[name] = ro
	}
	return nil
}
