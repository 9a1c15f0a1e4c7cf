package samlmeta

import (
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
