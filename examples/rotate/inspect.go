package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/voicecert/voicecert/samlmeta"
)

// runMetadata dispatches "rotate metadata SUBCOMMAND".
func runMetadata(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 || args[0] != "inspect" {
		return refused("metadata needs the subcommand inspect: rotate metadata inspect FILE|URL [--json]")
	}
	return runInspect(ctx, c, args[1:])
}

// runInspect is "rotate metadata inspect FILE|URL": it reads a metadata document
// (a file, "-" for stdin, an https URL, or an http URL on loopback), prints its
// entities, SSO endpoints and signing certificates, and the pre-upload check's
// findings by group. It exits 0 without error findings, 1 with error findings or
// a document that cannot be read or parsed.
func runInspect(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("metadata inspect", "metadata inspect FILE|URL [--json]")
	var verbose, asJSON bool
	fs.BoolVar(&verbose, "v", false, "debug logs on stderr")
	fs.BoolVar(&asJSON, "json", false, "print the result as one JSON object")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return refused("metadata inspect takes one FILE or URL, got %d arguments", len(pos))
	}
	data, err := readSource(ctx, c, pos[0], http.DefaultClient)
	if err != nil {
		return err
	}
	source := shownSource(pos[0])
	c.log.Debug("read metadata", "source", source, "bytes", len(data))
	res := inspect(data, time.Now())
	res.Source = source
	if asJSON {
		if err := writeJSON(c.stdout, res); err != nil {
			return failed("metadata inspect: writing the result: %w", err)
		}
	} else if err := res.render(c.stdout); err != nil {
		return failed("metadata inspect: writing the result: %w", err)
	}
	switch {
	case res.parseErr != nil:
		return failed("metadata inspect: %s is not usable SAML metadata: %s", source, strings.TrimPrefix(oneLine(res.parseErr), "samlmeta: "))
	case res.Errors > 0:
		return failed("metadata inspect: %s has %d error finding(s); IAM or voicecert would refuse to upload it: fix them and inspect again", source, res.Errors)
	}
	return nil
}

// maxFetch caps what inspect reads from a file or URL: one byte more than
// samlmeta accepts, so that a larger document is refused rather than cut.
const maxFetch = samlmeta.MaxDocumentSize + 1

// readSource reads a document from a file, stdin ("-") or a URL, at most
// samlmeta.MaxDocumentSize bytes.
func readSource(ctx context.Context, c *cli, source string, client *http.Client) ([]byte, error) {
	switch {
	case source == "-":
		return readCapped(c.stdin, "stdin")
	case strings.Contains(source, "://"):
		return fetch(ctx, source, client)
	}
	f, err := os.Open(source)
	if err != nil {
		return nil, failed("metadata inspect: cannot open %s: %w; give a readable file or an https URL", source, unwrapPath(err))
	}
	defer f.Close()
	return readCapped(f, source)
}

func unwrapPath(err error) error {
	if pe, ok := errors.AsType[*os.PathError](err); ok {
		return pe.Err
	}
	return err
}

func readCapped(r io.Reader, source string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFetch))
	if err != nil {
		return nil, failed("metadata inspect: reading %s: %w", source, unwrapPath(err))
	}
	if len(data) > samlmeta.MaxDocumentSize {
		return nil, failed("metadata inspect: %s is larger than %d bytes, more than IAM accepts; give the IdP metadata document itself", source, samlmeta.MaxDocumentSize)
	}
	return data, nil
}

// fetch GETs a metadata document over https, or over http from a loopback
// address only (a metadata document decides whom AWS trusts: it must not come
// over an unauthenticated network). Redirects must follow the same rule.
func fetch(ctx context.Context, raw string, base *http.Client) ([]byte, error) {
	u, err := url.Parse(raw)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err // without the URL, which may hold credentials
		}
		return nil, refused("metadata inspect: the URL given does not parse (%v); check it", err)
	}
	shown := redactURL(u)
	if err := allowedURL(u); err != nil {
		return nil, refused("metadata inspect: %s: %w", shown, err)
	}
	client := *base
	client.Timeout = 30 * time.Second
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("more than 5 redirects")
		}
		return allowedURL(req.URL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, refused("metadata inspect: %s: %v", shown, err)
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml, text/xml")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, failed("metadata inspect: fetching %s: %v; check the URL and the network", shown, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, failed("metadata inspect: fetching %s: HTTP %s; check the URL", shown, resp.Status)
	}
	return readCapped(resp.Body, shown)
}

// allowedURL accepts https URLs, and http URLs whose host is a loopback address
// or "localhost".
func allowedURL(u *url.URL) error {
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return errors.New("http:// is accepted only for loopback addresses; use https://")
	}
	return fmt.Errorf("scheme %q is not supported; use https://", u.Scheme)
}

// isLoopback reports whether host is "localhost" or a loopback IP address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redactURL returns u without user info or query, which may hold secrets.
// shownSource is source as inspect prints it: a URL without its user
// information, query or fragment, which may hold credentials (DESIGN §7.5).
func shownSource(source string) string {
	if !strings.Contains(source, "://") {
		return source
	}
	u, err := url.Parse(source)
	if err != nil {
		return "the URL given"
	}
	return redactURL(u)
}

func redactURL(u *url.URL) string {
	v := *u
	v.User = nil
	if v.RawQuery != "" {
		v.RawQuery = "…"
	}
	v.Fragment = ""
	return v.String()
}

// inspection is what inspect found: the JSON of --json, and the text output.
type inspection struct {
	Source   string             `json:"source"`
	Bytes    int                `json:"bytes"`
	Entities []inspectedEntity  `json:"entities"`
	Findings inspectionFindings `json:"findings"`
	Errors   int                `json:"errors"`
	Warnings int                `json:"warnings"`
	// Error says why the document could not be parsed, "" when it could.
	Error    string `json:"error"`
	parseErr error
}

type inspectedEntity struct {
	EntityID            string                 `json:"entity_id"`
	ValidUntil          string                 `json:"valid_until"`
	SSOEndpoints        []inspectedEndpoint    `json:"sso_endpoints"`
	SigningCertificates []inspectedCertificate `json:"signing_certificates"`
}

type inspectedEndpoint struct {
	Binding  string `json:"binding"`
	Location string `json:"location"`
}

type inspectedCertificate struct {
	Subject  string `json:"subject"`
	NotAfter string `json:"not_after"`
	KeyType  string `json:"key_type"`
	KeyBits  int    `json:"key_bits"`
	SHA256   string `json:"sha256"`
}

type inspectionFindings struct {
	IAM    []inspectedFinding `json:"iam"`
	Policy []inspectedFinding `json:"policy"`
}

type inspectedFinding struct {
	Severity string `json:"severity"`
	Rule     string `json:"rule"`
	Message  string `json:"message"`
}

// inspect parses data and runs the pre-upload check at now.
func inspect(data []byte, now time.Time) *inspection {
	res := &inspection{Bytes: len(data), Entities: []inspectedEntity{}}
	findings := samlmeta.Check(data, samlmeta.CheckOptions{Now: now})
	res.Findings.IAM = toFindings(findings.InGroup(samlmeta.GroupIAM))
	res.Findings.Policy = toFindings(findings.InGroup(samlmeta.GroupPolicy))
	res.Errors = len(findings.Errors())
	res.Warnings = len(findings) - res.Errors
	doc, err := samlmeta.Parse(data)
	if err != nil {
		res.parseErr = err
		res.Error = oneLine(err)
		return res
	}
	for _, e := range doc.Entities {
		ie := inspectedEntity{EntityID: e.EntityID, SSOEndpoints: []inspectedEndpoint{}, SigningCertificates: []inspectedCertificate{}}
		if !e.ValidUntil.IsZero() {
			ie.ValidUntil = e.ValidUntil.UTC().Format(time.RFC3339)
		}
		for _, ep := range e.SingleSignOnServices() {
			ie.SSOEndpoints = append(ie.SSOEndpoints, inspectedEndpoint{Binding: ep.Binding, Location: ep.Location})
		}
		for _, cert := range e.SigningCertificates() {
			ie.SigningCertificates = append(ie.SigningCertificates, inspectedCertificate{
				Subject: cert.Subject, NotAfter: cert.NotAfter.UTC().Format(time.RFC3339),
				KeyType: cert.KeyType, KeyBits: cert.KeyBits, SHA256: cert.SHA256,
			})
		}
		res.Entities = append(res.Entities, ie)
	}
	return res
}

func toFindings(fs samlmeta.Findings) []inspectedFinding {
	out := []inspectedFinding{}
	for _, f := range fs {
		out = append(out, inspectedFinding{Severity: string(f.Severity), Rule: f.Rule, Message: f.Message})
	}
	return out
}

// render prints the inspection as text.
func (r *inspection) render(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("Metadata %s (%d bytes)\n", r.Source, r.Bytes)
	for _, e := range r.Entities {
		ew.printf("\nEntity %s\n", e.EntityID)
		if e.ValidUntil != "" {
			ew.printf("  valid until %s\n", e.ValidUntil)
		}
		ew.printf("  SSO endpoints:\n")
		if len(e.SSOEndpoints) == 0 {
			ew.printf("    none\n")
		}
		for _, ep := range e.SSOEndpoints {
			ew.printf("    %-14s %s\n", shortBinding(ep.Binding), ep.Location)
		}
		ew.printf("  Signing certificates:\n")
		if len(e.SigningCertificates) == 0 {
			ew.printf("    none\n")
		}
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		for i, cert := range e.SigningCertificates {
			fmt.Fprintf(tw, "    %d.\t%s\n", i+1, cert.Subject)
			fmt.Fprintf(tw, "\tnot after %s\n", cert.NotAfter)
			fmt.Fprintf(tw, "\tkey %s %d\n", cert.KeyType, cert.KeyBits)
			fmt.Fprintf(tw, "\tSHA-256 %s\n", cert.SHA256)
		}
		tw.Flush()
	}
	if r.Error != "" {
		ew.printf("\nNot parseable: %s\n", r.Error)
	}
	ew.printf("\nPre-upload check\n")
	for _, g := range []struct {
		title string
		fs    []inspectedFinding
	}{{"IAM-enforced", r.Findings.IAM}, {"voicecert policy", r.Findings.Policy}} {
		ew.printf("  %s:", g.title)
		if len(g.fs) == 0 {
			ew.printf(" no findings\n")
			continue
		}
		ew.printf("\n")
		for _, f := range g.fs {
			ew.printf("    %-7s %s: %s\n", f.Severity, f.Rule, f.Message)
		}
	}
	ew.printf("\n%d error(s), %d warning(s).\n", r.Errors, r.Warnings)
	return ew.err
}

// shortBinding names a SAML binding by its last part (HTTP-POST, HTTP-Redirect).
func shortBinding(b string) string {
	if i := strings.LastIndex(b, ":"); i >= 0 && strings.HasPrefix(b, "urn:oasis:names:tc:SAML:2.0:bindings:") {
		return b[i+1:]
	}
	return b
}

// writeJSON writes v as one compact JSON line.
func writeJSON(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}

// errWriter keeps the first write error, so that text output can be printed
// line by line and checked once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }
