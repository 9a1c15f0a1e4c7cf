package salesforce

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"
)

// The Metadata API is SOAP 1.1 at /services/Soap/m/{version}. There is no maintained
// Go library for it, so the few calls the rotation needs are written by hand here,
// following the Metadata WSDL: child elements in the order of each xsd:sequence,
// xsi:type on every record sent, and required booleans always sent.

const (
	metadataNS = "http://soap.sforce.com/2006/04/metadata"
	soapenvNS  = "http://schemas.xmlsoap.org/soap/envelope/"
	xsiNS      = "http://www.w3.org/2001/XMLSchema-instance"
	// readBatch is the most fullNames readMetadata accepts in one call.
	readBatch = 10
)

// soapCall sends a Metadata API call whose body element is written by body, and
// returns the answer.
func (c *Client) soapCall(ctx context.Context, op string, write bool, body func(b *bytes.Buffer)) ([]byte, error) {
	return c.do(ctx, call{op: op, soap: true, write: write, maxBody: 64 << 20,
		build: func(s *session) (*http.Request, error) {
			var b bytes.Buffer
			b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
			b.WriteString(`<soapenv:Envelope xmlns:soapenv="` + soapenvNS + `" xmlns:xsi="` + xsiNS + `" xmlns="` + metadataNS + `">`)
			b.WriteString(`<soapenv:Header><SessionHeader><sessionId>`)
			xmlText(&b, s.tok.AccessToken)
			b.WriteString(`</sessionId></SessionHeader><CallOptions><client>voicecert</client></CallOptions></soapenv:Header>`)
			b.WriteString(`<soapenv:Body>`)
			body(&b)
			b.WriteString(`</soapenv:Body></soapenv:Envelope>`)
			req, err := http.NewRequest(http.MethodPost, s.resolve("/services/Soap/m/"+c.version, nil), &b)
			if err != nil {
				return nil, fmt.Errorf("salesforce: building a request: %w", err)
			}
			req.Header.Set("Content-Type", "text/xml; charset=utf-8")
			req.Header.Set("SOAPAction", `""`)
			return req, nil
		}})
}

// xmlText writes s escaped as XML character data.
func xmlText(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s))
}

// element writes <name>text</name>.
func element(b *bytes.Buffer, name, text string) {
	b.WriteString("<" + name + ">")
	xmlText(b, text)
	b.WriteString("</" + name + ">")
}

// boolText returns the xsd:boolean form of v.
func boolText(v bool) string {
	if v {
		return "true"
	}
	return "false"
}

// record is one record of a readMetadata answer, kept as the bytes Salesforce sent so
// that it can be sent back unchanged.
type record struct {
	// Type is the record's xsi:type, without prefix.
	Type string
	// Inner is the XML between <records ...> and </records>, as received.
	Inner []byte
	// Scope holds the namespace declarations in scope at <records>, by prefix ("" is
	// the default namespace), so that Inner can be moved into another document.
	Scope map[string]string
}

// decode unmarshals the record into v (a struct whose fields are the record's
// elements).
func (r *record) decode(v any) error {
	return xml.Unmarshal(r.wrap("records", ""), v)
}

// wrap returns the record as one element named name, with its namespaces declared,
// and attrs (already escaped) added to its start tag.
func (r *record) wrap(name, attrs string) []byte {
	var b bytes.Buffer
	b.WriteString("<" + name)
	prefixes := make([]string, 0, len(r.Scope))
	for p := range r.Scope {
		prefixes = append(prefixes, p)
	}
	sort.Strings(prefixes)
	for _, p := range prefixes {
		if p == "" {
			b.WriteString(` xmlns="`)
		} else {
			b.WriteString(` xmlns:` + p + `="`)
		}
		_ = xml.EscapeText(&b, []byte(r.Scope[p]))
		b.WriteString(`"`)
	}
	if attrs != "" {
		b.WriteString(" " + attrs)
	}
	b.WriteString(">")
	b.Write(r.Inner)
	b.WriteString("</" + name + ">")
	return b.Bytes()
}

// readMetadata reads components of one type. Names that do not exist are absent from
// the answer (Salesforce sends no record, or a nil one, for them).
func (c *Client) readMetadata(ctx context.Context, typ string, names []string) ([]*record, error) {
	var out []*record
	for len(names) > 0 {
		batch := names[:min(readBatch, len(names))]
		names = names[len(batch):]
		body, err := c.soapCall(ctx, "readMetadata "+typ, false, func(b *bytes.Buffer) {
			b.WriteString("<readMetadata>")
			element(b, "type", typ)
			for _, n := range batch {
				element(b, "fullNames", n)
			}
			b.WriteString("</readMetadata>")
		})
		if err != nil {
			return nil, err
		}
		recs, err := parseRecords(body)
		if err != nil {
			return nil, fmt.Errorf("salesforce: readMetadata %s: %w", typ, err)
		}
		out = append(out, recs...)
	}
	return out, nil
}

// parseRecords finds the records of a readMetadataResponse and keeps their bytes.
func parseRecords(body []byte) ([]*record, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	var (
		path   []string
		scopes []map[string]string // declarations made by each open element
		out    []*record
	)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) && len(path) == 0 {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("decoding the answer: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			decl := map[string]string{}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "xmlns":
					decl[a.Name.Local] = a.Value
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					decl[""] = a.Value
				}
			}
			path = append(path, t.Name.Local)
			scopes = append(scopes, decl)
			if strings.Join(path, "/") != "Envelope/Body/readMetadataResponse/result/records" {
				continue
			}
			if t.Name.Space != metadataNS {
				return nil, fmt.Errorf("records in namespace %q, want %q", t.Name.Space, metadataNS)
			}
			typ, isNil := "", false
			for _, a := range t.Attr {
				if a.Name.Space == xsiNS && a.Name.Local == "type" {
					typ = a.Value[strings.LastIndex(a.Value, ":")+1:]
				}
				if a.Name.Space == xsiNS && a.Name.Local == "nil" && a.Value == "true" {
					isNil = true
				}
			}
			start := d.InputOffset()
			end, err := skipElement(d)
			if err != nil {
				return nil, fmt.Errorf("decoding a record: %w", err)
			}
			path, scopes = path[:len(path)-1], scopes[:len(scopes)-1]
			if isNil || start == end {
				continue
			}
			scope := map[string]string{}
			for _, s := range append(scopes, decl) {
				for p, ns := range s {
					scope[p] = ns
				}
			}
			out = append(out, &record{Type: typ, Inner: bytes.Clone(body[start:end]), Scope: scope})
		case xml.EndElement:
			path, scopes = path[:len(path)-1], scopes[:len(scopes)-1]
		}
	}
	return out, nil
}

// skipElement reads to the end of the element whose start was just read, and
// returns the offset where its end tag starts.
func skipElement(d *xml.Decoder) (int64, error) {
	depth := 1
	for {
		before := d.InputOffset()
		tok, err := d.Token()
		if err != nil {
			return 0, err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
			if depth == 0 {
				return before, nil
			}
		}
	}
}

// saveResult is a SaveResult of updateMetadata.
type saveResult struct {
	Errors   []saveError `xml:"errors"`
	FullName string      `xml:"fullName"`
	Success  bool        `xml:"success"`
}

// updateMetadata sends records (each a complete <metadata xsi:type=...> element) and
// turns a SaveResult with success=false into an error. It is a write.
func (c *Client) updateMetadata(ctx context.Context, typ string, records ...[]byte) error {
	body, err := c.soapCall(ctx, "updateMetadata "+typ, true, func(b *bytes.Buffer) {
		b.WriteString("<updateMetadata>")
		for _, r := range records {
			b.Write(r)
		}
		b.WriteString("</updateMetadata>")
	})
	if err != nil {
		return err
	}
	var env struct {
		Results []saveResult `xml:"Body>updateMetadataResponse>result"`
	}
	if err := xml.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("salesforce: updateMetadata %s: decoding the answer: %w", typ, err)
	}
	if len(env.Results) != len(records) {
		return fmt.Errorf("salesforce: updateMetadata %s: %d results for %d records", typ, len(env.Results), len(records))
	}
	var errs []error
	for _, r := range env.Results {
		if !r.Success {
			errs = append(errs, saveResultError("updateMetadata "+typ, r.FullName, r.Errors))
		}
	}
	return errors.Join(errs...)
}

// fileProperties is a FileProperties of listMetadata (the fields used here).
type fileProperties struct {
	FullName        string `xml:"fullName"`
	ID              string `xml:"id"`
	FileName        string `xml:"fileName"`
	ManageableState string `xml:"manageableState"`
	NamespacePrefix string `xml:"namespacePrefix"`
	Type            string `xml:"type"`
}

// listMetadata lists the components of one type.
func (c *Client) listMetadata(ctx context.Context, typ string) ([]fileProperties, error) {
	body, err := c.soapCall(ctx, "listMetadata "+typ, false, func(b *bytes.Buffer) {
		b.WriteString("<listMetadata><queries>")
		element(b, "type", typ)
		b.WriteString("</queries>")
		element(b, "asOfVersion", c.version)
		b.WriteString("</listMetadata>")
	})
	if err != nil {
		return nil, err
	}
	var env struct {
		Results []fileProperties `xml:"Body>listMetadataResponse>result"`
	}
	if err := xml.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("salesforce: listMetadata %s: decoding the answer: %w", typ, err)
	}
	return env.Results, nil
}

// asyncResult is the AsyncResult of deploy and retrieve.
type asyncResult struct {
	Done  bool   `xml:"done"`
	ID    string `xml:"id"`
	State string `xml:"state"`
}

// deploy starts a deployment of a zip (one package at its root) and returns its id.
// It is a write.
func (c *Client) deploy(ctx context.Context, zip []byte) (string, error) {
	body, err := c.soapCall(ctx, "deploy", true, func(b *bytes.Buffer) {
		b.WriteString("<deploy>")
		element(b, "ZipFile", base64.StdEncoding.EncodeToString(zip))
		// DeployOptions: every boolean is required by the WSDL, in its order.
		b.WriteString("<DeployOptions>")
		element(b, "allowMissingFiles", "false")
		element(b, "autoUpdatePackage", "false")
		element(b, "checkOnly", "false")
		element(b, "ignoreWarnings", "false")
		element(b, "performRetrieve", "false")
		element(b, "purgeOnDelete", "false")
		element(b, "rollbackOnError", "true")
		element(b, "singlePackage", "true")
		element(b, "testLevel", "NoTestRun")
		b.WriteString("</DeployOptions></deploy>")
	})
	if err != nil {
		return "", err
	}
	var env struct {
		Result asyncResult `xml:"Body>deployResponse>result"`
	}
	if err := xml.Unmarshal(body, &env); err != nil || env.Result.ID == "" {
		return "", fmt.Errorf("salesforce: deploy: the answer has no deployment id")
	}
	return env.Result.ID, nil
}

// deployResult is the DeployResult of checkDeployStatus (the fields used here).
type deployResult struct {
	Done            bool   `xml:"done"`
	ID              string `xml:"id"`
	Status          string `xml:"status"`
	Success         bool   `xml:"success"`
	ErrorMessage    string `xml:"errorMessage"`
	ErrorStatusCode string `xml:"errorStatusCode"`
	Failures        []struct {
		FileName    string `xml:"fileName"`
		FullName    string `xml:"fullName"`
		Problem     string `xml:"problem"`
		ProblemType string `xml:"problemType"`
	} `xml:"details>componentFailures"`
}

// checkDeployStatus reads the state of a deployment. It is not a write.
func (c *Client) checkDeployStatus(ctx context.Context, id string) (*deployResult, error) {
	body, err := c.soapCall(ctx, "checkDeployStatus", false, func(b *bytes.Buffer) {
		b.WriteString("<checkDeployStatus>")
		element(b, "asyncProcessId", id)
		element(b, "includeDetails", "true")
		b.WriteString("</checkDeployStatus>")
	})
	if err != nil {
		return nil, err
	}
	var env struct {
		Result deployResult `xml:"Body>checkDeployStatusResponse>result"`
	}
	if err := xml.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("salesforce: checkDeployStatus: decoding the answer: %w", err)
	}
	return &env.Result, nil
}

// maxAsyncWait bounds how long a deploy or a retrieve is polled (on Config.Now's
// clock), so that one stuck in Salesforce's queue cannot hold a run forever when
// ctx has no deadline. A certificate deploy takes seconds.
const maxAsyncWait = 30 * time.Minute

// waitDeploy polls checkDeployStatus until the deployment is done, with backoff from
// 1 s to 10 s through Config.Sleep, bounded by ctx and by maxAsyncWait. A deployment
// that is done without success is an error naming each component's problem.
func (c *Client) waitDeploy(ctx context.Context, id string) error {
	wait := time.Second
	start := c.now()
	for {
		r, err := c.checkDeployStatus(ctx, id)
		if err != nil {
			return err
		}
		if r.Done {
			if r.Success && (r.Status == "Succeeded" || r.Status == "") {
				return nil
			}
			var problems []string
			for _, f := range r.Failures {
				problems = append(problems, fmt.Sprintf("%s: %s", f.FileName, f.Problem))
			}
			if r.ErrorMessage != "" {
				problems = append(problems, r.ErrorMessage)
			}
			return fmt.Errorf("%w: deployment %s ended %s: %s", ErrDeployFailed, id, r.Status, strings.Join(problems, "; "))
		}
		c.log.Debug("salesforce: deployment running", "id", id, "status", r.Status, "wait", wait)
		if c.now().Sub(start) >= maxAsyncWait {
			return fmt.Errorf("salesforce: deployment %s is still %s after %s: see Setup > Deployment Status; "+
				"if it completes later, a new run finds its certificate", id, r.Status, maxAsyncWait)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return fmt.Errorf("salesforce: waiting for deployment %s: %w", id, err)
		}
		wait = min(wait*3/2, 10*time.Second)
	}
}

// retrieveResult is the RetrieveResult of checkRetrieveStatus (the fields used here).
type retrieveResult struct {
	Done         bool   `xml:"done"`
	ErrorMessage string `xml:"errorMessage"`
	Status       string `xml:"status"`
	Success      bool   `xml:"success"`
	ZipFile      string `xml:"zipFile"`
	Messages     []struct {
		FileName string `xml:"fileName"`
		Problem  string `xml:"problem"`
	} `xml:"messages"`
}

// retrieve retrieves components of one type and returns the zip, polling
// checkRetrieveStatus like waitDeploy.
func (c *Client) retrieve(ctx context.Context, typ string, names ...string) ([]byte, error) {
	body, err := c.soapCall(ctx, "retrieve", false, func(b *bytes.Buffer) {
		b.WriteString("<retrieve><retrieveRequest>")
		element(b, "apiVersion", c.version)
		element(b, "singlePackage", "true")
		b.WriteString("<unpackaged><types>")
		for _, n := range names {
			element(b, "members", n)
		}
		element(b, "name", typ)
		b.WriteString("</types>")
		element(b, "version", c.version)
		b.WriteString("</unpackaged></retrieveRequest></retrieve>")
	})
	if err != nil {
		return nil, err
	}
	var env struct {
		Result asyncResult `xml:"Body>retrieveResponse>result"`
	}
	if err := xml.Unmarshal(body, &env); err != nil || env.Result.ID == "" {
		return nil, fmt.Errorf("salesforce: retrieve: the answer has no retrieve id")
	}
	id := env.Result.ID
	wait := time.Second
	start := c.now()
	for {
		body, err := c.soapCall(ctx, "checkRetrieveStatus", false, func(b *bytes.Buffer) {
			b.WriteString("<checkRetrieveStatus>")
			element(b, "asyncProcessId", id)
			element(b, "includeZip", "true")
			b.WriteString("</checkRetrieveStatus>")
		})
		if err != nil {
			return nil, err
		}
		var env struct {
			Result retrieveResult `xml:"Body>checkRetrieveStatusResponse>result"`
		}
		if err := xml.Unmarshal(body, &env); err != nil {
			return nil, fmt.Errorf("salesforce: checkRetrieveStatus: decoding the answer: %w", err)
		}
		r := env.Result
		if r.Done {
			if !r.Success || r.Status != "Succeeded" {
				return nil, fmt.Errorf("salesforce: retrieve %s ended %s: %s", id, r.Status, r.ErrorMessage)
			}
			zip, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(r.ZipFile), ""))
			if err != nil {
				return nil, fmt.Errorf("salesforce: retrieve %s: the zip is not base64: %w", id, err)
			}
			return zip, nil
		}
		if c.now().Sub(start) >= maxAsyncWait {
			return nil, fmt.Errorf("salesforce: retrieve %s is still %s after %s: run again later", id, r.Status, maxAsyncWait)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("salesforce: waiting for retrieve %s: %w", id, err)
		}
		wait = min(wait*3/2, 10*time.Second)
	}
}
