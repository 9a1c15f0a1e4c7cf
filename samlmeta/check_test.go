package samlmeta

import (
	"bytes"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// rules returns "group/rule" of each finding.
func rules(f Findings) []string {
	var out []string
	for _, x := range f {
		out = append(out, string(x.Severity)+" "+string(x.Group)+"/"+x.Rule)
	}
	return out
}

func TestCheckSalesforceFixture(t *testing.T) {
	t.Parallel()
	md := fixtureMetadata(t)
	tests := []struct {
		name string
		data []byte
		opts CheckOptions
		want []string
	}{
		{"fresh", md, CheckOptions{Now: fixtureTime}, nil},
		{"expiring", md, CheckOptions{Now: time.Date(2018, 4, 1, 0, 0, 0, 0, time.UTC)}, []string{"warning policy/certificate-expiring"}},
		{"expired and past validUntil", md, CheckOptions{Now: time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC)}, []string{"warning policy/valid-until", "warning policy/certificate-expired"}},
		{"byte-order mark", append([]byte{0xEF, 0xBB, 0xBF}, md...), CheckOptions{Now: fixtureTime}, []string{"error iam/utf8-no-bom"}},
		{"too short", []byte(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>`), CheckOptions{Now: fixtureTime},
			[]string{"error iam/length", "error policy/idp-sso-descriptor"}},
		{"new certificate absent", md, CheckOptions{Now: fixtureTime, NewCertificates: []string{"00"}}, []string{"error policy/new-certificate-present"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := Check(tc.data, tc.opts)
			if diff := cmp.Diff(tc.want, rules(got)); diff != "" {
				t.Errorf("findings (-want +got):\n%s\n%v", diff, got)
			}
			if (got.Errors().Err() == nil) != (len(got.Errors()) == 0) {
				t.Errorf("Err() disagrees with Errors()")
			}
		})
	}
}

// iamRules and policyRules list each group's rules: a rule in the wrong group
// would let the fake IAM enforce voicecert policy, or miss an IAM rule.
var (
	iamRules    = []string{RuleBOM, RuleUTF8, RuleLength, RuleParseable, RuleEntityID, RuleKeySize, RuleRepeatedExtension, RuleCertificate}
	policyRules = []string{RuleIDPSSODescriptor, RuleSigningCertificate, RuleNewCertificateKey, RuleNewCertificatePresent, RuleWeakKey, RuleCertificateExpired, RuleCertificateExpiring, RuleValidUntil}
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestCheckRules(t *testing.T) {
	t.Parallel()
	md := string(fixtureMetadata(t))
	weak1024 := newTestCert(t, 1024, "weak-1024", fixtureTime.Add(-time.Hour), 100*365*24*time.Hour)
	strong4096 := newTestCert(t, 4096, "strong-4096", fixtureTime.Add(-time.Hour), 100*365*24*time.Hour)
	pemOf := func(c testCert) []byte { return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw}) }
	oversize := append([]byte(md), bytes.Repeat([]byte(" "), MaxDocumentSize)...)
	tests := []struct {
		name string
		data []byte
		opts CheckOptions
		want []string
	}{
		{"512-bit key", withExtraKey(t, readTestdata(t, "weak-key-512.pem")), CheckOptions{}, []string{"error iam/key-size"}},
		{"repeated extension", withExtraKey(t, readTestdata(t, "repeated-extension.pem")), CheckOptions{}, []string{"error iam/repeated-extension"}},
		{"1024-bit key already there", withExtraKey(t, pemOf(weak1024)), CheckOptions{}, []string{"warning policy/weak-key"}},
		{"1024-bit key as the new certificate", withExtraKey(t, pemOf(weak1024)), CheckOptions{NewCertificates: []string{Fingerprint(weak1024.cert.Raw)}}, []string{"error policy/new-certificate-key"}},
		{"4096-bit key as the new certificate", withExtraKey(t, pemOf(strong4096)), CheckOptions{NewCertificates: []string{strings.ToUpper(Fingerprint(strong4096.cert.Raw))}}, nil},
		{"not UTF-8", []byte(strings.Replace(md, "unspecified</md:NameIDFormat>", "unspecified\xe9</md:NameIDFormat>", 1)), CheckOptions{}, []string{"error iam/utf8"}},
		{"UTF-16 byte-order mark", append([]byte{0xFF, 0xFE}, md...), CheckOptions{}, []string{"error iam/utf8"}},
		{"DOCTYPE", []byte(strings.Replace(md, "?>", "?><!DOCTYPE md:EntityDescriptor>", 1)), CheckOptions{}, []string{"error iam/parseable-metadata"}},
		{"no entityID", []byte(strings.Replace(md, ` entityID="https://kolide-dev-ed.my.salesforce.com"`, "", 1)), CheckOptions{}, []string{"error iam/entity-id"}},
		{"wrong root namespace", []byte(strings.ReplaceAll(md, "urn:oasis:names:tc:SAML:2.0:metadata", "urn:example:metadata")), CheckOptions{}, []string{"error iam/parseable-metadata"}},
		{"over the size limit", oversize, CheckOptions{}, []string{"error iam/length"}},
		{"encryption key only", []byte(strings.Replace(md, `use="signing"`, `use="encryption"`, 1)), CheckOptions{}, []string{"error policy/signing-certificate"}},
		{"SAML 1.1 only", []byte(strings.Replace(md, `protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"`, `protocolSupportEnumeration="urn:oasis:names:tc:SAML:1.1:protocol"`, 1)), CheckOptions{}, []string{"error policy/idp-sso-descriptor"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.Now = fixtureTime
			got := Check(tc.data, tc.opts)
			if diff := cmp.Diff(tc.want, rules(got)); diff != "" {
				t.Errorf("findings (-want +got):\n%s\n%v", diff, got)
			}
			for _, f := range got {
				if (f.Group == GroupIAM) != slices.Contains(iamRules, f.Rule) || (f.Group == GroupPolicy) != slices.Contains(policyRules, f.Rule) {
					t.Errorf("rule %s is in group %s", f.Rule, f.Group)
				}
			}
			if err := got.Err(); (err != nil) != (len(got.Errors()) > 0) {
				t.Errorf("Err() = %v with %d errors", err, len(got.Errors()))
			}
		})
	}
}

func TestFindingsFilters(t *testing.T) {
	t.Parallel()
	f := Findings{
		{SeverityError, GroupIAM, RuleKeySize, "a"},
		{SeverityWarning, GroupPolicy, RuleWeakKey, "b"},
		{SeverityError, GroupPolicy, RuleSigningCertificate, "c"},
	}
	if diff := cmp.Diff(Findings{f[0], f[2]}, f.Errors()); diff != "" {
		t.Errorf("Errors (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Findings{f[1], f[2]}, f.InGroup(GroupPolicy)); diff != "" {
		t.Errorf("InGroup (-want +got):\n%s", diff)
	}
	want := "samlmeta: metadata fails 2 check(s): iam/key-size: a; policy/signing-certificate: c"
	if err := f.Err(); err == nil || err.Error() != want {
		t.Errorf("Err() = %v, want %q", err, want)
	}
	if err := f.InGroup(GroupPolicy)[:1].Err(); err != nil {
		t.Errorf("Err() of warnings = %v", err)
	}
}
