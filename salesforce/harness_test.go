package salesforce

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/voicecert/voicecert/internal/fakeclock"
	"github.com/voicecert/voicecert/internal/testenv"
)

const (
	testInstance = "https://acme.my.salesforce.com"
	testOrgID    = "00D5g00000AbCdEEAV"
	testToken    = "00D5g00000AbCdE!AQ0AQstaticSECRETtoken0000000000"
	soapURL      = testInstance + "/services/Soap/m/63.0"
)

var t0 = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

// suite collects, across every test of the package, what TestMain checks once at
// the end: every log line and error string (scanned for the secrets the tests use)
// and every Metadata SOAP body and deployed file (validated against the real
// Metadata schema in one xmllint call).
var suite = &recorder{secrets: map[string]bool{testToken: true}}

type recorder struct {
	mu      sync.Mutex
	logs    bytes.Buffer
	errs    []string
	files   []capturedFile
	secrets map[string]bool
}

type capturedFile struct {
	name string
	data []byte
}

// Write receives the JSON log lines of every test's client.
func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.logs.Write(p)
}

func (r *recorder) secret(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets[s] = true
}

func (r *recorder) err(err error) {
	if err == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err.Error(), fmt.Sprintf("%+v", err))
}

func (r *recorder) file(name string, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.files = append(r.files, capturedFile{name: fmt.Sprintf("%03d-%s", len(r.files), name), data: bytes.Clone(data)})
}

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		code = suite.check()
	}
	os.Exit(code)
}

// check runs the suite-wide checks; it returns the exit code.
func (r *recorder) check() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	failed := false
	text := r.logs.String() + "\n" + strings.Join(r.errs, "\n")
	// A run of the whole suite must have seen enough to make the scan meaningful.
	whole := flag.Lookup("test.run").Value.String() == ""
	if whole && (r.logs.Len() == 0 || len(r.errs) < 20 || len(r.secrets) < 8) {
		fmt.Fprintf(os.Stderr, "FAIL: the secret scan saw %d log bytes, %d errors, %d secrets: it would prove nothing\n",
			r.logs.Len(), len(r.errs), len(r.secrets))
		failed = true
	}
	for s := range r.secrets {
		if strings.Contains(text, s) {
			fmt.Fprintf(os.Stderr, "FAIL: a secret (%d bytes, starting %.6q) appears in a log line or an error\n", len(s), s)
			failed = true
		}
	}
	// Secrets the tests never saw (tokens the fake issued) are caught by their shape.
	for name, shape := range secretShapes {
		if m := shape.FindString(text); m != "" {
			fmt.Fprintf(os.Stderr, "FAIL: something shaped like %s (starting %.6q) appears in a log line or an error\n", name, m)
			failed = true
		}
	}
	if !failed && len(r.files) > 0 {
		failed = !validateCaptured(r.files)
	}
	if failed {
		return 1
	}
	return 0
}

// secretShapes match secrets by their form: Salesforce session ids, JWTs, base64 of
// a SAML Response, PEM private keys.
var secretShapes = map[string]*regexp.Regexp{
	"a session id":      regexp.MustCompile(`00D[A-Za-z0-9]{12}![A-Za-z0-9._]{8,}`),
	"a JWT":             regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.`),
	"a SAMLResponse":    regexp.MustCompile(`PHNhbWxwOlJlc3BvbnNl|PD94bWwgdmVyc2lvbj0i`),
	"a PEM private key": regexp.MustCompile(`BEGIN (RSA )?PRIVATE KEY`),
}

// validateCaptured validates the captured SOAP bodies and deployed files against
// testdata/soap-envelope.xsd (the real Metadata schema, included unchanged, under a
// strict envelope) in one xmllint call. A missing xmllint is a failure in CI and a
// note elsewhere, as internal/testenv does for tests.
func validateCaptured(files []capturedFile) bool {
	if _, err := os.Stat("../../shared/schemas/salesforce/metadata-63.xsd"); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: ../shared/schemas/salesforce/metadata-63.xsd is missing beside the checkout")
		return false
	}
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if testenv.InCI() {
			fmt.Fprintln(os.Stderr, "FAIL: xmllint is required in CI (apt-get install -y libxml2-utils)")
			return false
		}
		fmt.Fprintln(os.Stderr, "note: xmllint not installed; the Metadata requests were not validated")
		return true
	}
	dir, err := os.MkdirTemp("", "salesforce-xsd-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return false
	}
	defer os.RemoveAll(dir)
	args := []string{"--noout", "--nonet", "--schema", filepath.Join("testdata", "soap-envelope.xsd")}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, f.data, 0o600); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			return false
		}
		args = append(args, p)
	}
	out, err := exec.Command(xmllint, args...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: Metadata requests do not validate against metadata-63.xsd: %v\n%s\n", err, out)
		return false
	}
	if n := strings.Count(string(out), " validates"); n != len(files) {
		fmt.Fprintf(os.Stderr, "FAIL: xmllint validated %d of %d files:\n%s\n", n, len(files), out)
		return false
	}
	return true
}

// reply is one canned answer of the mock.
type reply struct {
	status int
	body   string
	err    error
	header http.Header
	check  func(t *testing.T, req *http.Request, body []byte)
}

func ok(body string) reply { return reply{status: 200, body: body} }

// fixture reads testdata/name.
func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// harness is a client wired to its own httpmock transport and fake clock.
type harness struct {
	t     *testing.T
	mt    *httpmock.MockTransport
	clock *fakeclock.Clock
	c     *Client

	mu     sync.Mutex
	queues map[string][]reply // by "METHOD path" or "SOAP op"
	calls  []string           // what was called, in order
}

// newHarness returns a client for testInstance with a static token; opts may change
// the config before New.
func newHarness(t *testing.T, opts ...func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, mt: httpmock.NewMockTransport(), clock: fakeclock.New(t0), queues: map[string][]reply{}}
	cfg := Config{
		InstanceURL: testInstance,
		Auth:        StaticToken{AccessToken: testToken},
		HTTPClient:  &http.Client{Transport: h.mt},
		Now:         h.clock.Now,
		Sleep:       h.clock.Sleep,
		Logger:      slog.New(slog.NewJSONHandler(suite, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name()),
	}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	h.mt.RegisterResponder(http.MethodPost, soapURL, h.soap)
	h.mt.RegisterNoResponder(func(req *http.Request) (*http.Response, error) {
		t.Errorf("unexpected request %s %s", req.Method, req.URL.Redacted())
		return httpmock.NewStringResponse(599, "no responder"), nil
	})
	return h
}

// on queues answers for METHOD URL (a path on testInstance, or an absolute URL). The
// last answer repeats.
func (h *harness) on(method, target string, replies ...reply) {
	if strings.HasPrefix(target, "/") {
		target = testInstance + target
	}
	key := method + " " + target
	h.mu.Lock()
	_, registered := h.queues[key]
	h.queues[key] = append(h.queues[key], replies...)
	h.mu.Unlock()
	if !registered {
		h.mt.RegisterResponder(method, target, func(req *http.Request) (*http.Response, error) {
			return h.answer(key, req)
		})
	}
}

// onSOAP queues answers for a Metadata SOAP operation ("readMetadata", ...).
func (h *harness) onSOAP(op string, replies ...reply) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.queues["SOAP "+op] = append(h.queues["SOAP "+op], replies...)
}

// soap answers a Metadata SOAP request: it records the body for the schema check
// and answers from the queue of its operation.
func (h *harness) soap(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	op := soapOperation(body)
	if op == "" {
		h.t.Errorf("SOAP request without a body element")
	}
	if got := req.Header.Get("SOAPAction"); got != `""` {
		h.t.Errorf("SOAPAction = %q, want \"\"", got)
	}
	suite.file(fileName(h.t.Name(), op)+".xml", body)
	if op == "deploy" {
		captureZip(h.t, body)
	}
	return h.answer("SOAP "+op, req)
}

func (h *harness) answer(key string, req *http.Request) (*http.Response, error) {
	h.mu.Lock()
	q := h.queues[key]
	h.calls = append(h.calls, key)
	if len(q) == 0 {
		h.mu.Unlock()
		h.t.Errorf("no answer queued for %s", key)
		return httpmock.NewStringResponse(599, "no answer queued"), nil
	}
	r := q[0]
	if len(q) > 1 {
		h.queues[key] = q[1:]
	}
	h.mu.Unlock()
	if r.check != nil {
		var body []byte
		if req.Body != nil {
			body, _ = io.ReadAll(req.Body)
		}
		r.check(h.t, req, body)
	}
	if r.err != nil {
		return nil, r.err
	}
	resp := httpmock.NewStringResponse(r.status, r.body)
	switch {
	case strings.HasPrefix(key, "SOAP "):
		resp.Header.Set("Content-Type", "text/xml;charset=UTF-8")
	case strings.HasPrefix(strings.TrimSpace(r.body), "<"):
		resp.Header.Set("Content-Type", "text/html;charset=UTF-8")
	default:
		resp.Header.Set("Content-Type", "application/json;charset=UTF-8")
	}
	for k, v := range r.header {
		resp.Header[k] = v
	}
	resp.Request = req
	return resp, nil
}

// called returns the calls made so far.
func (h *harness) called() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.calls...)
}

// count returns how many times key was called.
func (h *harness) count(key string) int {
	n := 0
	for _, c := range h.called() {
		if c == key {
			n++
		}
	}
	return n
}

// soapOperation returns the local name of the first element of the SOAP Body.
func soapOperation(body []byte) string {
	d := xml.NewDecoder(bytes.NewReader(body))
	inBody := false
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			if inBody {
				return se.Name.Local
			}
			inBody = se.Name.Local == "Body"
		}
	}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func fileName(parts ...string) string {
	return unsafeName.ReplaceAllString(strings.Join(parts, "-"), "_")
}

// captureZip records the XML files of a deploy's zip for the schema check.
func captureZip(t *testing.T, body []byte) {
	var env struct {
		Zip string `xml:"Body>deploy>ZipFile"`
	}
	if err := xml.Unmarshal(body, &env); err != nil {
		t.Errorf("deploy body: %v", err)
		return
	}
	files := unzip(t, env.Zip)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if strings.HasSuffix(n, ".xml") {
			suite.file(fileName(t.Name(), "zip", n), files[n])
		}
	}
}

// unzip decodes a base64 zip into its files.
func unzip(t *testing.T, b64 string) map[string][]byte {
	t.Helper()
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("zip is not base64: %v", err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = b
	}
	return out
}

// countingSource is a token source that hands out the given tokens in turn (the
// last one repeats) and counts the calls.
type countingSource struct {
	mu     sync.Mutex
	tokens []string
	n      int
}

func (s *countingSource) Token(ctx context.Context) (*Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := s.tokens[min(s.n, len(s.tokens)-1)]
	s.n++
	return &Token{AccessToken: tok, InstanceURL: testInstance}, nil
}

func (s *countingSource) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}
