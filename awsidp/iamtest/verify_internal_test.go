package iamtest

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/voicecert/voicecert/internal/fakeclock"
	"github.com/voicecert/voicecert/internal/testenv"
)

// The real Salesforce response and metadata (../shared/fixtures/salesforce-idp-2017):
// both the Response and the Assertion are signed, RSA-SHA1, exclusive C14N with an
// InclusiveNamespaces PrefixList, by a certificate that expired in 2018.
const (
	fixtureResponse = "fixtures/salesforce-idp-2017/saml-response.xml"
	fixtureBase64   = "fixtures/salesforce-idp-2017/saml-response.b64"
	fixtureMetadata = "fixtures/salesforce-idp-2017/idp-metadata.xml"
)

// fixtureTime is when the fixture response was redeemable.
var fixtureTime = time.Date(2017, 4, 30, 22, 9, 50, 0, time.UTC)

func fixtureTrust(t *testing.T) []*x509.Certificate {
	t.Helper()
	ents, err := parseEntities(testenv.ReadShared(t, fixtureMetadata))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Fatalf("fixture metadata has %d entities, want 1", len(ents))
	}
	trusted := (&Server{}).trusted(ents[0])
	if len(trusted) != 1 {
		t.Fatalf("fixture metadata has %d signing certificates, want 1", len(trusted))
	}
	return trusted
}

func verifyBytes(data []byte, trusted []*x509.Certificate) (*verified, error) {
	root, _, err := parseResponse(data)
	if err != nil {
		return nil, err
	}
	return verifyResponse(root, trusted)
}

func TestSalesforceFixtureSignature(t *testing.T) {
	t.Parallel()
	trusted := fixtureTrust(t)
	v, err := verifyBytes(testenv.ReadShared(t, fixtureResponse), trusted)
	if err != nil {
		t.Fatalf("the real Salesforce response does not verify: %v", err)
	}
	if !v.responseSigned || !v.signer.Equal(trusted[0]) {
		t.Errorf("verified: response signed %v, signer %v; want both signatures checked by the metadata certificate", v.responseSigned, v.signer.Subject)
	}
	if got := firstChild(firstChild(v.assertion, samlNS, "Subject"), samlNS, "NameID"); got == nil || got.Text() == "" {
		t.Error("the verified assertion has no NameID")
	}
}

// TestSalesforceFixtureAnyChange changes every signed attribute and text of the real
// response, one at a time, and expects each change to be refused. The only bytes
// that may change are the KeyInfo of the Response's own signature: no signature
// covers them, and STS trusts the provider's keys, never KeyInfo.
func TestSalesforceFixtureAnyChange(t *testing.T) {
	t.Parallel()
	trusted := fixtureTrust(t)
	original := testenv.ReadShared(t, fixtureResponse)

	type site struct {
		path     string
		attr     string // "" for the element's text
		unsigned bool   // inside the Response signature's KeyInfo
	}
	var sites []site
	d := etree.NewDocument()
	if err := d.ReadFromBytes(original); err != nil {
		t.Fatal(err)
	}
	var walk func(el *etree.Element, path string, inKeyInfo bool)
	walk = func(el *etree.Element, path string, inKeyInfo bool) {
		if is(el, dsigNS, "KeyInfo") && el.Parent() != nil && el.Parent().Parent() == d.Root() {
			inKeyInfo = true
		}
		for _, a := range el.Attr {
			sites = append(sites, site{path, a.FullKey(), inKeyInfo})
		}
		if strings.TrimSpace(el.Text()) != "" {
			sites = append(sites, site{path, "", inKeyInfo})
		}
		for i, c := range el.ChildElements() {
			walk(c, fmt.Sprintf("%s/%d", path, i), inKeyInfo)
		}
	}
	walk(d.Root(), "", false)
	if len(sites) < 60 {
		t.Fatalf("only %d mutation sites found", len(sites))
	}

	for _, s := range sites {
		d := etree.NewDocument()
		if err := d.ReadFromBytes(original); err != nil {
			t.Fatal(err)
		}
		el := d.Root()
		for _, p := range strings.Split(strings.TrimPrefix(s.path, "/"), "/") {
			if p == "" {
				break
			}
			var i int
			fmt.Sscan(p, &i)
			el = el.ChildElements()[i]
		}
		if s.attr == "" {
			el.SetText(mutate(el.Text()))
		} else {
			a := el.SelectAttr(s.attr)
			a.Value = mutate(a.Value)
		}
		changed, err := d.WriteToBytes()
		if err != nil {
			t.Fatal(err)
		}
		_, err = verifyBytes(changed, trusted)
		name := fmt.Sprintf("<%s>%s @%s", el.FullTag(), s.path, s.attr)
		switch {
		case s.unsigned && err != nil:
			t.Errorf("%s: change in unsigned KeyInfo refused: %v", name, err)
		case !s.unsigned && err == nil:
			t.Errorf("%s: change accepted", name)
		}
	}
}

// mutate changes one meaningful character of s (the first non-space one).
func mutate(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return r != ' ' && r != '\n' && r != '\t' && r != '\r' })
	if i < 0 {
		return s + "x"
	}
	r := "A"
	if s[i] == 'A' {
		r = "B"
	}
	return s[:i] + r + s[i+1:]
}

// TestSalesforceFixtureThroughSTS sends the real response to the fake STS with the
// org's real metadata as the provider document and the clock pinned to the
// response's time: the signature passes, and the claims that were never meant for
// AWS (Audience "kolide", a localhost Recipient) are what STS refuses.
func TestSalesforceFixtureThroughSTS(t *testing.T) {
	t.Parallel()
	clock := fakeclock.New(fixtureTime)
	srv, err := Start(Config{
		Now: clock.Now,
		Accounts: []Account{{
			ID:        "123456789012",
			Providers: []Provider{{Name: "SalesforceServiceVoiceIdp", Document: testenv.ReadShared(t, fixtureMetadata)}},
			Roles:     []Role{{Name: "SCV"}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	form := url.Values{
		"Action":        {"AssumeRoleWithSAML"},
		"Version":       {"2011-06-15"},
		"RoleArn":       {"arn:aws:iam::123456789012:role/SCV"},
		"PrincipalArn":  {"arn:aws:iam::123456789012:saml-provider/SalesforceServiceVoiceIdp"},
		"SAMLAssertion": {strings.TrimSpace(string(testenv.ReadShared(t, fixtureBase64)))},
	}
	resp, err := http.PostForm(srv.URL, form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "<Message>"+msgRecipient+"</Message>") {
		t.Errorf("STS answered %d %s; want 400 %q (the signature and time window pass)", resp.StatusCode, body, msgRecipient)
	}

	// The same response with one changed byte in the signed assertion is refused
	// for its signature.
	raw := testenv.ReadShared(t, fixtureResponse)
	tampered := strings.Replace(string(raw), "kolide</saml:Audience>", "kolidf</saml:Audience>", 1)
	if _, err := verifyBytes([]byte(tampered), fixtureTrust(t)); !errors.Is(err, errSignature) {
		t.Errorf("tampered fixture: %v, want a signature failure", err)
	}
}
