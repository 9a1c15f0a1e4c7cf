package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxQueryPages bounds how many pages one query may follow, against a server that
// never says done.
const maxQueryPages = 1000

// queryPage is one page of a REST or Tooling query answer.
type queryPage struct {
	Done           bool              `json:"done"`
	TotalSize      int               `json:"totalSize"`
	NextRecordsURL string            `json:"nextRecordsUrl"`
	Records        []json.RawMessage `json:"records"`
}

// query runs a SOQL query on the REST API (or the Tooling API) and decodes every
// record, following nextRecordsUrl until done.
func query[T any](ctx context.Context, c *Client, soql string, tooling bool) ([]T, error) {
	op := "query"
	path := "/services/data/v" + c.version + "/query"
	if tooling {
		op = "tooling query"
		path = "/services/data/v" + c.version + "/tooling/query"
	}
	next := ""
	var out []T
	for page := 0; ; page++ {
		if page >= maxQueryPages {
			return nil, fmt.Errorf("salesforce: %s: more than %d pages; giving up", op, maxQueryPages)
		}
		current := next
		body, err := c.do(ctx, call{op: op, build: func(s *session) (*http.Request, error) {
			target := s.resolve(path, url.Values{"q": {soql}})
			if current != "" {
				target = s.resolve(current, nil)
			}
			return c.restRequest(s, http.MethodGet, target)
		}})
		if err != nil {
			return nil, err
		}
		var p queryPage
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, fmt.Errorf("salesforce: %s: decoding the answer: %w", op, err)
		}
		for _, raw := range p.Records {
			var v T
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, fmt.Errorf("salesforce: %s: decoding a record: %w", op, err)
			}
			out = append(out, v)
		}
		if p.Done || p.NextRecordsURL == "" {
			return out, nil
		}
		if !strings.HasPrefix(p.NextRecordsURL, "/services/data/") || strings.ContainsAny(p.NextRecordsURL, "?#") ||
			p.NextRecordsURL == current {
			return nil, fmt.Errorf("salesforce: %s: unexpected nextRecordsUrl %q", op, p.NextRecordsURL)
		}
		next = p.NextRecordsURL
	}
}

// restRequest makes an authenticated REST request.
func (c *Client) restRequest(s *session, method, target string) (*http.Request, error) {
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		return nil, fmt.Errorf("salesforce: building a request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+s.tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// soqlString quotes a string for a SOQL literal.
func soqlString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return "'" + r.Replace(s) + "'"
}

// sfTime is a Salesforce date or datetime in a JSON answer: "2027-01-01",
// "2027-01-01T00:00:00.000+0000" or RFC 3339.
type sfTime struct{ time.Time }

// UnmarshalJSON accepts the forms Salesforce uses, and null.
func (t *sfTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := parseSFTime(s)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// parseSFTime parses a Salesforce date or datetime.
func parseSFTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700", time.RFC3339Nano, "2006-01-02"} {
		if v, err := time.Parse(layout, s); err == nil {
			return v.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("salesforce: %q is not a date or datetime", s)
}
