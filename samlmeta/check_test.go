package samlmeta

import (
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
