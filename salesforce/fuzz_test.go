package salesforce

import (
	"strings"
	"testing"
)

// FuzzPatchCertificate: on any record, patching never panics, the result parses,
// the certificate read from it is the one set, and patching again changes nothing.
func FuzzPatchCertificate(f *testing.F) {
	f.Add(`<fullName>A</fullName><samlConfig><acsUrl>u</acsUrl><certificate>Old</certificate><entityUrl>e</entityUrl></samlConfig>`, "New")
	f.Add(`<samlConfig><acsUrl>u</acsUrl><certificate/></samlConfig>`, "")
	f.Add(`<samlConfig><acsUrl>a&amp;b</acsUrl></samlConfig><samlConfig/>`, "X")
	f.Add(`<samlConfig><acsUrl>u</acsUrl><!-- c --><![CDATA[x]]><certificate>O</certificate></samlConfig>`, "N_1")
	f.Fuzz(func(t *testing.T, inner, cert string) {
		if cert != "" && checkDeveloperName(cert) != nil {
			return
		}
		rec := &record{Inner: []byte(inner), Scope: map[string]string{"": metadataNS}}
		out, _, err := patchCertificate(rec, cert)
		if err != nil {
			return
		}
		patched := &record{Inner: out, Scope: rec.Scope}
		app, err := connectedApp(patched, "", nil)
		if err != nil {
			t.Fatalf("patched record does not parse: %v\n%s", err, out)
		}
		if app.Certificate != cert {
			t.Fatalf("certificate = %q after setting %q\n%s", app.Certificate, cert, out)
		}
		again, changed, err := patchCertificate(patched, cert)
		if err != nil || changed || string(again) != string(out) {
			t.Fatalf("second patch: changed=%v err=%v", changed, err)
		}
		if strings.Count(string(out), "certificate>") > strings.Count(inner, "certificate>")+2 {
			t.Fatalf("more than one certificate element added")
		}
	})
}
