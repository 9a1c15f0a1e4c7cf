package sftest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicecert/voicecert/salesforce/sftest"
)

type queryResult struct {
	TotalSize      int              `json:"totalSize"`
	Done           bool             `json:"done"`
	NextRecordsURL string           `json:"nextRecordsUrl"`
	Records        []map[string]any `json:"records"`
}

func query(t *testing.T, org *sftest.Org, token, path, soql string) answer {
	t.Helper()
	return get(t, org.InstanceURL()+path+"?q="+url.QueryEscape(soql), token)
}

func queryOrg() sftest.OrgConfig {
	var centers []sftest.ContactCenterConfig
	for i, name := range []string{"Alpha", "Bravo", "Charlie", "Delta", "Echo"} {
		centers = append(centers, sftest.ContactCenterConfig{InternalName: name, Name: fmt.Sprintf("%s Center %d", name, i)})
	}
	return sftest.OrgConfig{
		ContactCenters: centers,
		Certificates: []sftest.CertificateConfig{
			{DeveloperName: "Soon", ExpiresAt: t0.Add(72 * time.Hour)},
			{DeveloperName: "Later", KeySize: 4096},
		},
	}
}

func TestQuery(t *testing.T) {
	t.Parallel()
	srv, clock := newServer(t, sftest.WithOrgs(queryOrg()))
	org := srv.DefaultOrg()
	token := login(t, org, clock.Now())
	names := func(field string, recs []map[string]any) []string {
		var out []string
		for _, r := range recs {
			out = append(out, fmt.Sprint(r[field]))
		}
		return out
	}
	tests := []struct {
		name  string
		path  string
		soql  string
		field string
		want  []string
	}{
		{"all", "/services/data/v63.0/query", "SELECT Id, Name, InternalName FROM CallCenter", "InternalName", []string{"Alpha", "Bravo", "Charlie", "Delta", "Echo"}},
		{"equals ignores case", "/services/data/v63.0/query", "select internalname from callcenter where INTERNALNAME = 'charlie'", "InternalName", []string{"Charlie"}},
		{"OR", "/services/data/v63.0/query", "SELECT InternalName FROM CallCenter WHERE InternalName = 'Alpha' OR Name = 'Echo Center 4'", "InternalName", []string{"Alpha", "Echo"}},
		{"AND with parentheses", "/services/data/v63.0/query", "SELECT InternalName FROM CallCenter WHERE (InternalName = 'Alpha' OR InternalName = 'Bravo') AND Name LIKE '%1'", "InternalName", []string{"Bravo"}},
		{"IN", "/services/data/v63.0/query", "SELECT InternalName FROM CallCenter WHERE InternalName IN ('Delta', 'Bravo', 'Zulu')", "InternalName", []string{"Bravo", "Delta"}},
		{"NOT IN", "/services/data/v63.0/query", "SELECT InternalName FROM CallCenter WHERE InternalName NOT IN ('Delta', 'Bravo')", "InternalName", []string{"Alpha", "Charlie", "Echo"}},
		{"ORDER BY DESC LIMIT", "/services/data/v63.0/query", "SELECT InternalName FROM CallCenter ORDER BY InternalName DESC LIMIT 2", "InternalName", []string{"Echo", "Delta"}},
		{"OFFSET", "/services/data/v63.0/query", "SELECT InternalName FROM CallCenter ORDER BY Name LIMIT 2 OFFSET 3", "InternalName", []string{"Delta", "Echo"}},
		{"escaped quote", "/services/data/v63.0/query", `SELECT InternalName FROM CallCenter WHERE Name = 'O\'Brien'`, "InternalName", nil},
		{"tooling certificates by date", "/services/data/v63.0/tooling/query", "SELECT DeveloperName FROM Certificate WHERE ExpirationDate < 2026-04-01", "DeveloperName", []string{"Soon"}},
		{"date comparison ignores the time of day", "/services/data/v63.0/tooling/query", "SELECT DeveloperName FROM Certificate WHERE ExpirationDate > 2026-03-04", "DeveloperName", []string{"Later"}},
		{"tooling key size", "/services/data/v63.0/tooling/query", "SELECT DeveloperName, KeySize FROM Certificate WHERE KeySize = 4096", "DeveloperName", []string{"Later"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := query(t, org, token, tt.path, tt.soql)
			if a.status != http.StatusOK || a.contentType != "application/json;charset=UTF-8" {
				t.Fatalf("%d %q: %s", a.status, a.contentType, a.body)
			}
			var res queryResult
			if err := json.Unmarshal([]byte(a.body), &res); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, names(tt.field, res.Records)); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			if !res.Done || res.TotalSize != len(tt.want) {
				t.Errorf("done %v totalSize %d", res.Done, res.TotalSize)
			}
		})
	}

	t.Run("tooling record shape", func(t *testing.T) {
		t.Parallel()
		a := query(t, org, token, "/services/data/v63.0/tooling/query", "SELECT Id, DeveloperName, MasterLabel, ExpirationDate, KeySize FROM Certificate WHERE DeveloperName = 'Soon'")
		var res map[string]any
		if err := json.Unmarshal([]byte(a.body), &res); err != nil {
			t.Fatal(err)
		}
		rec := res["records"].([]any)[0].(map[string]any)
		id := rec["Id"].(string)
		want := map[string]any{
			"size": 1.0, "totalSize": 1.0, "done": true, "queryLocator": nil, "entityTypeName": "Certificate",
			"records": []any{map[string]any{
				"attributes":     map[string]any{"type": "Certificate", "url": "/services/data/v63.0/tooling/sobjects/Certificate/" + id},
				"Id":             id,
				"DeveloperName":  "Soon",
				"MasterLabel":    "Soon",
				"ExpirationDate": "2026-03-04",
				"KeySize":        2048.0,
			}},
		}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("tooling answer (-want +got):\n%s", diff)
		}
		if !strings.HasPrefix(id, "0P1") || len(id) != 18 {
			t.Errorf("Id %q", id)
		}
	})
}

func TestQueryErrors(t *testing.T) {
	t.Parallel()
	srv, clock := newServer(t)
	org := srv.DefaultOrg()
	token := login(t, org, clock.Now())
	tests := []struct {
		name    string
		path    string
		soql    string
		code    string
		message string // suffix of the message
	}{
		{"AND and OR mixed", "/services/data/v63.0/query", "SELECT Id FROM CallCenter WHERE Name = 'a' AND Name = 'b' OR Name = 'c'", "MALFORMED_QUERY",
			"\nSELECT Id FROM CallCenter WHERE Name = 'a' AND Name = 'b' OR Name = 'c'\n" + strings.Repeat(" ", 58) + "^\nERROR at Row:1:Column:59\nunexpected token: 'OR'"},
		{"no FROM", "/services/data/v63.0/query", "SELECT Id CallCenter", "MALFORMED_QUERY", "unexpected token: 'CallCenter'"},
		{"unterminated string", "/services/data/v63.0/query", "SELECT Id FROM CallCenter WHERE Name = 'x", "MALFORMED_QUERY", "mismatched character '<EOF>' expecting '''"},
		{"unknown field", "/services/data/v63.0/query", "SELECT Id, Bogus FROM CallCenter", "INVALID_FIELD",
			"No such column 'Bogus' on entity 'CallCenter'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."},
		{"unknown object", "/services/data/v63.0/query", "SELECT Id FROM Bogus", "INVALID_TYPE",
			"sObject type 'Bogus' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."},
		{"Certificate is a Tooling object", "/services/data/v63.0/query", "SELECT Id FROM Certificate", "INVALID_TYPE", "sObject type 'Certificate' is not supported."},
		{"quoted date", "/services/data/v63.0/tooling/query", "SELECT Id FROM Certificate WHERE ExpirationDate < '2027-01-01'", "INVALID_FIELD",
			"value of filter criterion for field 'ExpirationDate' must be of type date and should not be enclosed in quotes"},
		{"unquoted string", "/services/data/v63.0/query", "SELECT Id FROM CallCenter WHERE Name = 5", "INVALID_FIELD",
			"value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := query(t, org, token, tt.path, tt.soql)
			if a.status != http.StatusBadRequest || a.contentType != "application/json;charset=UTF-8" {
				t.Errorf("got %d %q, want 400 JSON", a.status, a.contentType)
			}
			var got []map[string]string
			if err := json.Unmarshal([]byte(a.body), &got); err != nil {
				t.Fatalf("%v: %s", err, a.body)
			}
			if len(got) != 1 || got[0]["errorCode"] != tt.code || !strings.Contains(got[0]["message"], tt.message) || !strings.HasPrefix(got[0]["message"], "\n"+tt.soql+"\n") {
				t.Errorf("got %q, want one %s error ending in %q", got, tt.code, tt.message)
			}
		})
	}
	t.Run("no token", func(t *testing.T) {
		t.Parallel()
		a := query(t, org, "", "/services/data/v63.0/query", "SELECT Id FROM CallCenter")
		if a.status != http.StatusUnauthorized || strings.TrimSpace(a.body) != `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]` {
			t.Errorf("got %d %s", a.status, a.body)
		}
	})
	t.Run("unknown version", func(t *testing.T) {
		t.Parallel()
		a := query(t, org, token, "/services/data/v99.0/query", "SELECT Id FROM CallCenter")
		if a.status != http.StatusNotFound || !strings.Contains(a.body, `"errorCode":"NOT_FOUND"`) {
			t.Errorf("got %d %s", a.status, a.body)
		}
	})
}

func TestQueryPagination(t *testing.T) {
	t.Parallel()
	srv, clock := newServer(t, sftest.WithOrgs(queryOrg()), sftest.WithBatchSize(2))
	org := srv.DefaultOrg()
	token := login(t, org, clock.Now())
	a := query(t, org, token, "/services/data/v63.0/query", "SELECT InternalName FROM CallCenter ORDER BY InternalName")
	var got []string
	var pages int
	for {
		var res queryResult
		if err := json.Unmarshal([]byte(a.body), &res); err != nil || a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		pages++
		if res.TotalSize != 5 {
			t.Errorf("totalSize %d on page %d", res.TotalSize, pages)
		}
		for _, r := range res.Records {
			got = append(got, r["InternalName"].(string))
		}
		if res.Done {
			if res.NextRecordsURL != "" || strings.Contains(a.body, "nextRecordsUrl") {
				t.Errorf("a done page has nextRecordsUrl")
			}
			break
		}
		if !strings.HasPrefix(res.NextRecordsURL, "/services/data/v63.0/query/01g") {
			t.Fatalf("nextRecordsUrl %q", res.NextRecordsURL)
		}
		a = get(t, org.InstanceURL()+res.NextRecordsURL, token)
	}
	if diff := cmp.Diff([]string{"Alpha", "Bravo", "Charlie", "Delta", "Echo"}, got); diff != "" || pages != 3 {
		t.Errorf("%d pages, records (-want +got):\n%s", pages, diff)
	}
	if a := get(t, org.InstanceURL()+"/services/data/v63.0/query/01gBOGUS-2", token); a.status != http.StatusBadRequest || !strings.Contains(a.body, "INVALID_QUERY_LOCATOR") {
		t.Errorf("bad locator: %d %s", a.status, a.body)
	}
}

// TestQueryCount answers SELECT count() as Salesforce does, with totalSize and no
// records: jsforce's sobject(...).count() sends exactly "SELECT count() FROM User"
// and reads totalSize.
func TestQueryCount(t *testing.T) {
	t.Parallel()
	srv, clock := newServer(t, sftest.WithOrgs(queryOrg()), sftest.WithBatchSize(2))
	org := srv.DefaultOrg()
	token := login(t, org, clock.Now())
	tests := []struct {
		path, soql string
		want       string
	}{
		{"/services/data/v63.0/query", "SELECT count() FROM User", `{"totalSize":2,"done":true,"records":[]}`},
		{"/services/data/v63.0/query", "SELECT COUNT() FROM CallCenter WHERE InternalName IN ('Alpha', 'Echo', 'Zulu')", `{"totalSize":2,"done":true,"records":[]}`},
		{"/services/data/v63.0/tooling/query", "SELECT count() FROM Certificate",
			`{"size":2,"totalSize":2,"done":true,"queryLocator":null,"entityTypeName":"Certificate","records":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.soql, func(t *testing.T) {
			t.Parallel()
			a := query(t, org, token, tt.path, tt.soql)
			if a.status != http.StatusOK {
				t.Fatalf("status %d: %s", a.status, a.body)
			}
			if diff := cmp.Diff(tt.want, strings.TrimSpace(a.body)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
	a := query(t, org, token, "/services/data/v63.0/query", "SELECT count( FROM User")
	if a.status != http.StatusBadRequest || !strings.Contains(a.body, `"errorCode":"MALFORMED_QUERY"`) {
		t.Errorf("a broken count(: %d %s", a.status, a.body)
	}
}
