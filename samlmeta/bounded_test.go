package samlmeta

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"strings"
	"testing"
)

// The tests in this file count allocations with testing.AllocsPerRun, which reads
// process-wide counters, so they do not call t.Parallel: top-level tests that are
// not parallel run alone.

func TestBoundedWorkSizeCapBeforeParsing(t *testing.T) {
	oversize := bytes.Repeat([]byte(" "), MaxDocumentSize+1)
	opts := VerifyOptions{Trusted: []*x509.Certificate{fixtureCert(t).X509}}
	for name, f := range map[string]func(){
		"Parse":          func() { Parse(oversize) },
		"Check":          func() { Check(oversize, CheckOptions{Now: fixtureTime}) },
		"VerifyResponse": func() { VerifyResponse(oversize, opts) },
	} {
		if _, err := Parse(oversize); err == nil || !strings.Contains(err.Error(), "too large") {
			t.Fatalf("Parse: err = %v", err)
		}
		// A fixed handful of allocations (the error), none for the 10 MB.
		if n := testing.AllocsPerRun(5, f); n > 40 {
			t.Errorf("%s of an oversize document: %v allocations; the cap must be checked before reading", name, n)
		}
	}
}

func TestBoundedWorkBillionLaughs(t *testing.T) {
	md := string(fixtureMetadata(t))
	doc := []byte(billionLaughs + md[strings.Index(md, "?>")+2:])
	if _, err := Parse(doc); err == nil || !strings.Contains(err.Error(), "DOCTYPE") {
		t.Fatalf("Parse: err = %v", err)
	}
	// Refused at the first token: no entity is ever expanded.
	if n := testing.AllocsPerRun(5, func() { Parse(doc) }); n > 100 {
		t.Errorf("Parse of a billion laughs: %v allocations", n)
	}
	if n := testing.AllocsPerRun(5, func() { Check(doc, CheckOptions{Now: fixtureTime}) }); n > 150 {
		t.Errorf("Check of a billion laughs: %v allocations", n)
	}
}

// manyEntities returns an EntitiesDescriptor with n copies of the fixture's entity.
func manyEntities(t testing.TB, n int) []byte {
	md := string(fixtureMetadata(t))
	entity := strings.TrimSpace(md[strings.Index(md, "<md:EntityDescriptor"):])
	entity = strings.Replace(entity, ` xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"`, "", 1)
	var b strings.Builder
	b.WriteString(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">`)
	for i := range n {
		b.WriteString(strings.ReplaceAll(entity, "kolide-dev-ed.my.salesforce.com", fmt.Sprintf("org%d.my.salesforce.com", i)))
	}
	b.WriteString(`</md:EntitiesDescriptor>`)
	return []byte(b.String())
}

func TestBoundedWorkLinearInSize(t *testing.T) {
	small, large := manyEntities(t, 50), manyEntities(t, 200)
	for name, run := range map[string]func([]byte){
		"Parse": func(d []byte) {
			if _, err := Parse(d); err != nil {
				t.Fatal(err)
			}
		},
		"Check": func(d []byte) { Check(d, CheckOptions{Now: fixtureTime}) },
		"CompareDocuments": func(d []byte) {
			doc := mustParse(t, d)
			CompareDocuments(doc, doc)
		},
	} {
		a := testing.AllocsPerRun(3, func() { run(small) })
		b := testing.AllocsPerRun(3, func() { run(large) })
		// Four times the input may cost at most about four times the allocations.
		if b > 4.4*a {
			t.Errorf("%s: %v allocations for 50 entities, %v for 200: not linear", name, a, b)
		}
	}
}
