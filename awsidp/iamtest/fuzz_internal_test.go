package iamtest

import (
	"testing"

	"github.com/voicecert/voicecert/internal/testenv"
)

// FuzzCheckMetadata feeds hostile documents to IAM's metadata rules: they may be
// refused, never crash the server.
func FuzzCheckMetadata(f *testing.F) {
	f.Add(testenv.ReadShared(f, fixtureMetadata))
	f.Add([]byte(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"><md:EntitiesDescriptor/></md:EntitiesDescriptor>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		_ = checkMetadata(doc)
		if ents, err := parseEntities(doc); err == nil {
			for _, e := range ents {
				_ = (&Server{}).trusted(e)
			}
		}
	})
}

// FuzzVerifyResponse feeds hostile responses to the STS signature check with the
// fixture's certificate trusted: nothing but the real response may verify.
func FuzzVerifyResponse(f *testing.F) {
	original := testenv.ReadShared(f, fixtureResponse)
	f.Add(original)
	f.Add([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"/></samlp:Response>`))
	ents, err := parseEntities(testenv.ReadShared(f, fixtureMetadata))
	if err != nil {
		f.Fatal(err)
	}
	trusted := (&Server{}).trusted(ents[0])
	f.Fuzz(func(t *testing.T, data []byte) {
		root, _, err := parseResponse(data)
		if err != nil {
			return
		}
		v, err := verifyResponse(root, trusted)
		if err != nil {
			return
		}
		if _, err := readClaims(v.assertion); err != nil {
			return
		}
	})
}
