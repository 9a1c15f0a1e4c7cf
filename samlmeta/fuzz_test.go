package samlmeta

import (
	"crypto/x509"
	"errors"
	"os"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse and Check. Neither may panic; a document
// Parse accepts must have an entityID per entity, compare equal to itself, and pass
// the IAM rules Parse already enforces.
func FuzzParse(f *testing.F) {
	f.Add(fixtureMetadata(f))
	f.Add(entitiesDocument(f, "second-org.my.salesforce.com"))
	for _, name := range []string{"weak-key-512.pem", "repeated-extension.pem"} {
		pemData, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(withExtraKey(f, pemData))
	}
	f.Add([]byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&a;"/>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		findings := Check(data, CheckOptions{Now: fixtureTime})
		doc, err := Parse(data)
		if err != nil {
			return
		}
		for _, e := range doc.Entities {
			if e.EntityID == "" {
				t.Fatal("Parse accepted an entity without entityID")
			}
			for _, c := range e.SigningCertificates() {
				if len(c.SHA256) != 64 || c.X509 == nil {
					t.Fatalf("bad certificate facts %+v", c)
				}
			}
		}
		if diff := CompareDocuments(doc, doc); diff != nil {
			t.Fatalf("a document differs from itself: %q", diff)
		}
		for _, x := range findings.InGroup(GroupIAM) {
			switch x.Rule {
			case RuleParseable, RuleEntityID, RuleUTF8, RuleBOM:
				t.Fatalf("Parse accepted what Check calls %s: %s", x.Rule, x.Message)
			}
		}
	})
}

// FuzzVerifyResponse feeds arbitrary bytes to VerifyResponse with the fixture's
// certificate trusted. It may not panic, and whatever it verifies must name that
// certificate as the signer and carry the fixture's signed Assertion ID and NameID.
func FuzzVerifyResponse(f *testing.F) {
	f.Add(fixtureResponse(f))
	f.Add([]byte(responseOnlyAssertionSigned(f)))
	cert := fixtureCert(f)
	opts := VerifyOptions{Trusted: []*x509.Certificate{cert.X509}, Now: fixtureTime}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := VerifyResponse(data, opts)
		if err != nil {
			if !errors.Is(err, ErrSignature) {
				t.Fatalf("error does not wrap ErrSignature: %v", err)
			}
			return
		}
		if v.Signer == nil || v.Signer.SHA256 != cert.SHA256 {
			t.Fatalf("verified with signer %v", v.Signer)
		}
		if v.Assertion.ID != fixtureAssertionID || v.Assertion.NameID != fixtureNameID {
			t.Fatalf("verified an Assertion with ID %q and NameID %q", v.Assertion.ID, v.Assertion.NameID)
		}
	})
}
