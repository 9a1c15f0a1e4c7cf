package samlmeta

import (
	"errors"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"
	dsig "github.com/russellhaering/goxmldsig"
)

// canonical returns the exclusive-canonical form of a document's root.
func canonical(t testing.TB, data []byte) string {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		t.Fatal(err)
	}
	out, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(doc.Root())
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func fingerprints(certs []*Certificate) []string {
	out := make([]string, len(certs))
	for i, c := range certs {
		out[i] = c.SHA256
	}
	return out
}

func TestAddRemoveSigningCertificateRoundTrip(t *testing.T) {
	t.Parallel()
	md := fixtureMetadata(t)
	old := fixtureCert(t)
	entityID := "https://kolide-dev-ed.my.salesforce.com"
	added := newTestCert(t, 4096, "VoiceCert_2026", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), 365*24*time.Hour)

	out, changed, err := AddSigningCertificate(md, entityID, added.cert)
	if err != nil || !changed {
		t.Fatalf("add: changed=%v err=%v", changed, err)
	}
	doc, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{old.SHA256, Fingerprint(added.cert.Raw)}
	if diff := cmp.Diff(want, fingerprints(doc.Entity(entityID).SigningCertificates())); diff != "" {
		t.Errorf("signing certificates after add (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"signing certificate added: " + describe(doc.Entity(entityID).SigningCertificates(), want[1])}, CompareDocuments(mustParse(t, md), doc)); diff != "" {
		t.Errorf("CompareDocuments after add (-want +got):\n%s", diff)
	}

	again, changed, err := AddSigningCertificate(out, entityID, added.cert)
	if err != nil || changed || string(again) != string(out) {
		t.Errorf("second add: changed=%v err=%v same=%v; want no change", changed, err, string(again) == string(out))
	}

	back, changed, err := RemoveSigningCertificate(out, entityID, Fingerprint(added.cert.Raw))
	if err != nil || !changed {
		t.Fatalf("remove: changed=%v err=%v", changed, err)
	}
	if diff := cmp.Diff(canonical(t, md), canonical(t, back)); diff != "" {
		t.Errorf("add then remove is not the original, canonically (-want +got):\n%s", diff)
	}
	same, changed, err := RemoveSigningCertificate(back, entityID, Fingerprint(added.cert.Raw))
	if err != nil || changed || string(same) != string(back) {
		t.Errorf("second remove: changed=%v err=%v; want no change", changed, err)
	}
}

func TestEditErrors(t *testing.T) {
	t.Parallel()
	md := fixtureMetadata(t)
	c := newTestCert(t, 2048, "x", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Hour)
	if _, _, err := AddSigningCertificate(md, "https://absent.example", c.cert); !errors.Is(err, ErrEntityNotFound) {
		t.Errorf("add to absent entity: err = %v", err)
	}
	if _, _, err := RemoveSigningCertificate(md, "https://absent.example", Fingerprint(c.cert.Raw)); !errors.Is(err, ErrEntityNotFound) {
		t.Errorf("remove from absent entity: err = %v", err)
	}
	if _, _, err := RemoveSigningCertificate(md, "https://kolide-dev-ed.my.salesforce.com", fixtureCert(t).SHA256); err == nil {
		t.Error("removing the last signing certificate succeeded")
	}
	if _, _, err := RemoveSigningCertificate(md, "https://kolide-dev-ed.my.salesforce.com", "abc"); err == nil {
		t.Error("a malformed fingerprint was accepted")
	}
}

func mustParse(t testing.TB, data []byte) *Document {
	t.Helper()
	doc, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
