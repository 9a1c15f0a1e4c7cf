package sftest_test

import (
	"crypto/rsa"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/voicecert/voicecert/internal/fakeclock"
	"github.com/voicecert/voicecert/salesforce/sftest"
)

// t0 is the fake clock's start in every test.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newServer starts a server on a fresh fake clock.
func newServer(t *testing.T, opts ...sftest.Option) (*sftest.Server, *fakeclock.Clock) {
	t.Helper()
	clock := fakeclock.New(t0)
	opts = append([]sftest.Option{sftest.WithNow(clock.Now), sftest.WithSleep(clock.Sleep)}, opts...)
	return sftest.NewServer(t, opts...), clock
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type answer struct {
	status      int
	contentType string
	body        string
	header      http.Header
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header.Get("Content-Type"), string(b), resp.Header}
}

func postForm(t *testing.T, u string, form url.Values) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, req)
}

func get(t *testing.T, u, token string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

// jwtAssertion signs claims with key (RS256).
func jwtAssertion(t *testing.T, key *rsa.PrivateKey, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// login gets a token for the org's first user through the JWT bearer flow.
func login(t *testing.T, org *sftest.Org, now time.Time) string {
	t.Helper()
	return loginAs(t, org, org.Username(), now)
}

func loginAs(t *testing.T, org *sftest.Org, username string, now time.Time) string {
	t.Helper()
	a := postForm(t, org.LoginURL()+"/services/oauth2/token", url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion": {jwtAssertion(t, org.OAuthKey(), jwt.MapClaims{
			"iss": org.OAuthClientID(), "sub": username, "aud": "https://login.salesforce.com",
			"exp": now.Add(3 * time.Minute).Unix(),
		})},
	})
	if a.status != http.StatusOK {
		t.Fatalf("token: %d %s", a.status, a.body)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(a.body), &tr); err != nil {
		t.Fatal(err)
	}
	return tr.AccessToken
}

// envelope builds a Metadata API request the way simple-salesforce does: prefix
// "met" for the metadata namespace, CallOptions then SessionHeader.
func envelope(token, body string) string {
	return `<?xml version="1.0" encoding="utf-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:met="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Header><met:CallOptions><met:client>sftest</met:client></met:CallOptions><met:SessionHeader><met:sessionId>` + token + `</met:sessionId></met:SessionHeader></soapenv:Header>
<soapenv:Body>` + body + `</soapenv:Body></soapenv:Envelope>`
}

func soap(t *testing.T, instanceURL, body string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, instanceURL+"/services/Soap/m/63.0", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `""`)
	return do(t, req)
}

// fault decodes a SOAP fault answer.
type fault struct {
	Code   string `xml:"Body>Fault>faultcode"`
	String string `xml:"Body>Fault>faultstring"`
	Detail string `xml:"Body>Fault>detail>UnexpectedErrorFault>exceptionCode"`
}

func decodeFault(t *testing.T, a answer) fault {
	t.Helper()
	var f fault
	if err := xml.Unmarshal([]byte(a.body), &f); err != nil {
		t.Fatalf("fault: %v\n%s", err, a.body)
	}
	return f
}

// saveResult decodes the results of updateMetadata/upsertMetadata.
type saveResult struct {
	Created  bool   `xml:"created"`
	FullName string `xml:"fullName"`
	Success  bool   `xml:"success"`
	Errors   []struct {
		Fields     []string `xml:"fields"`
		Message    string   `xml:"message"`
		StatusCode string   `xml:"statusCode"`
	} `xml:"errors"`
}

func decodeResults(t *testing.T, a answer) []saveResult {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	var env struct {
		Body struct {
			Inner struct {
				Results []saveResult `xml:"result"`
			} `xml:",any"`
		} `xml:"Body"`
	}
	if err := xml.Unmarshal([]byte(a.body), &env); err != nil {
		t.Fatal(err)
	}
	return env.Body.Inner.Results
}
