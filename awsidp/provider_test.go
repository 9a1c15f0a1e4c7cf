package awsidp

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestProvider(t *testing.T) {
	t.Parallel()
	c := certs()
	doc := metadata(entity{orgA, []*x509.Certificate{c.old, c.new}}, entity{orgB, []*x509.Certificate{c.other}})
	f := newFakeIAM(map[string]string{testProvider: doc})
	p, err := newTestClient(f).Provider(context.Background(), testProvider)
	if err != nil {
		t.Fatal(err)
	}
	type cert struct {
		SHA256   string
		NotAfter time.Time
	}
	type entitySummary struct {
		EntityID string
		Certs    []cert
	}
	var got []entitySummary
	for _, e := range p.Entities {
		s := entitySummary{EntityID: e.EntityID}
		for _, x := range e.Certificates {
			s.Certs = append(s.Certs, cert{x.SHA256, x.NotAfter})
		}
		got = append(got, s)
	}
	expiry := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	want := []entitySummary{
		{orgA, []cert{{sha(c.old), expiry}, {sha(c.new), expiry}}},
		{orgB, []cert{{sha(c.other), expiry}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entities (-want +got):\n%s", diff)
	}
	if p.ARN != testProvider || string(p.Document) != doc || p.UUID != "SAMLSPEXAMPLE0123456789" || !p.CreateDate.Equal(f.created) {
		t.Errorf("Provider = %s %q %s, want the ARN, document, UUID and CreateDate IAM returned", p.ARN, p.UUID, p.CreateDate)
	}
	if p.Parsed == nil || p.ParseError != nil {
		t.Errorf("Parsed = %v, ParseError = %v", p.Parsed, p.ParseError)
	}
	if e := p.Entity(orgA); e == nil || !e.Trusts(sha(c.new)) || e.Trusts(sha(c.other)) {
		t.Errorf("Entity(orgA).Trusts is wrong")
	}
	if p.Entity("https://initech.my.salesforce.com") != nil {
		t.Errorf("Entity(unknown) != nil")
	}
}

func TestProviderUnparseableDocument(t *testing.T) {
	t.Parallel()
	doc := strings.Repeat("not xml ", 200)
	f := newFakeIAM(map[string]string{testProvider: doc})
	p, err := newTestClient(f).Provider(context.Background(), testProvider)
	if err != nil {
		t.Fatal(err)
	}
	if p.ParseError == nil || p.Parsed != nil || len(p.Entities) != 0 || string(p.Document) != doc {
		t.Errorf("Provider = %+v, want the raw document with a ParseError", p)
	}
}

func TestProviderErrors(t *testing.T) {
	t.Parallel()
	f := newFakeIAM(nil)
	client := newTestClient(f)
	if _, err := client.Provider(context.Background(), testProvider); !errors.Is(err, ErrProviderNotFound) {
		t.Errorf("Provider(missing) error = %v, want ErrProviderNotFound", err)
	}
	if _, err := client.Provider(context.Background(), "SalesforceServiceVoiceIdp"); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("Provider(name) error = %v, want ErrInvalidInput", err)
	}
	if n := len(f.callLog()); n != 1 {
		t.Errorf("IAM calls = %d, want 1 (a bad ARN is refused locally)", n)
	}
}

func TestCheckDownloaded(t *testing.T) {
	t.Parallel()
	c := certs()
	downloaded := []byte(metadata(entity{orgA, []*x509.Certificate{c.new}}))
	tests := []struct {
		name     string
		doc      []byte
		entityID string
		sha      string
		want     string // "" for success
	}{
		{"match", downloaded, orgA, sha(c.new), ""},
		{"old certificate", downloaded, orgA, sha(c.old), "signs with [" + sha(c.new) + "], not " + sha(c.old)},
		{"other org", downloaded, orgB, sha(c.new), "names entityID " + orgA},
		{"junk", []byte("<html>login</html>"), orgA, sha(c.new), "does not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckDownloaded(tt.doc, tt.entityID, tt.sha)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckDownloaded: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrMetadataMismatch) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckDownloaded error = %v, want ErrMetadataMismatch containing %q", err, tt.want)
			}
		})
	}
}
