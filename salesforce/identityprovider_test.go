package salesforce

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestIdentityProvider(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		answer  string
		want    *IdentityProviderSettings
		wantErr error
	}{
		{"enabled", "read_idp.xml", &IdentityProviderSettings{CertificateName: "SelfSignedCert_24Apr2017_180044", Enabled: true}, nil},
		{"nil record", "read_nil.xml", nil, ErrNotFound},
		{"empty result", "read_empty.xml", nil, ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.onSOAP("readMetadata", reply{status: 200, body: fixture(t, tt.answer), check: expectRead("IdentityProviderSettings", "IdentityProvider")})
			got, err := h.c.IdentityProvider(context.Background())
			suite.err(err)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("settings (-want +got):\n%s", diff)
			}
		})
	}
}

// updatedIdP decodes the IdentityProviderSettings record of an updateMetadata request.
func updatedIdP(t *testing.T, body []byte) []string {
	t.Helper()
	var env struct {
		Metadata []struct {
			Type     string `xml:"http://www.w3.org/2001/XMLSchema-instance type,attr"`
			FullName string `xml:"fullName"`
			Cert     string `xml:"certificateName"`
			Enable   string `xml:"enableIdentityProvider"`
		} `xml:"Body>updateMetadata>metadata"`
	}
	if err := xml.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	if len(env.Metadata) != 1 {
		t.Fatalf("%d records sent, want 1", len(env.Metadata))
	}
	m := env.Metadata[0]
	return []string{m.Type, m.FullName, m.Cert, m.Enable}
}

func TestSetIdentityProviderCertificate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(h *harness)
		wantErr error
		writes  int
	}{
		{"switches, sending enable as read", func(h *harness) {
			disabled := strings.Replace(fixture(h.t, "read_idp.xml"), "<enableIdentityProvider>true", "<enableIdentityProvider>false", 1)
			h.onSOAP("readMetadata", ok(disabled))
			h.onSOAP("updateMetadata", reply{status: 200, body: fixture(h.t, "update_idp_ok.xml"),
				check: func(t *testing.T, _ *http.Request, body []byte) {
					want := []string{"IdentityProviderSettings", "IdentityProvider", "VoiceCert_20261203", "false"}
					if diff := cmp.Diff(want, updatedIdP(t, body)); diff != "" {
						t.Errorf("record (-want +got):\n%s", diff)
					}
				}})
		}, nil, 1},
		{"already set: no write", func(h *harness) {
			h.onSOAP("readMetadata", ok(fixture(h.t, "read_idp_switched.xml")))
		}, nil, 0},
		{"unknown certificate: no write", func(h *harness) {
			h.onSOAP("readMetadata", ok(fixture(h.t, "read_idp.xml")))
			h.on(http.MethodGet, toolingQuery, ok(fixture(h.t, "tooling_empty.json")))
		}, ErrNotFound, 0},
		{"SaveResult error", func(h *harness) {
			h.onSOAP("readMetadata", ok(fixture(h.t, "read_idp.xml")))
			h.onSOAP("updateMetadata", ok(fixture(h.t, "update_failed.xml")))
		}, nil, 1},
		{"limit hit but the write took effect: not sent again", func(h *harness) {
			h.onSOAP("readMetadata", ok(fixture(h.t, "read_idp.xml")), ok(fixture(h.t, "read_idp_switched.xml")))
			h.onSOAP("updateMetadata", reply{status: 500, body: fixture(h.t, "fault_request_limit.xml")})
		}, nil, 1},
		{"limit hit and the write did not happen: sent again", func(h *harness) {
			h.onSOAP("readMetadata", ok(fixture(h.t, "read_idp.xml")))
			h.onSOAP("updateMetadata", reply{status: 500, body: fixture(h.t, "fault_request_limit.xml")}, ok(fixture(h.t, "update_idp_ok.xml")))
		}, nil, 2},
		{"session refused: renewed once, write sent again", func(h *harness) {
			h.onSOAP("readMetadata", ok(fixture(h.t, "read_idp.xml")))
			h.onSOAP("updateMetadata", reply{status: 500, body: fixture(h.t, "fault_invalid_session.xml")}, ok(fixture(h.t, "update_idp_ok.xml")))
		}, nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			tt.setup(h)
			h.on(http.MethodGet, toolingQuery, ok(fixture(t, "tooling_certificate_voicecert.json")))
			err := h.c.SetIdentityProviderCertificate(context.Background(), "VoiceCert_20261203")
			suite.err(err)
			if tt.name == "SaveResult error" {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("err = %v, want *Error", err)
				}
				want := &Error{Op: "updateMetadata IdentityProviderSettings", Code: "FIELD_INTEGRITY_EXCEPTION",
					Message: "IdentityProvider: Certificate not found: NoSuchCert", Fields: []string{"certificateName"}, StatusCode: 200}
				if diff := cmp.Diff(want, e); diff != "" {
					t.Errorf("error (-want +got):\n%s", diff)
				}
			} else if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got := h.c.Stats().Writes; got != tt.writes {
				t.Errorf("%d writes, want %d", got, tt.writes)
			}
		})
	}
}

func TestMetadataReadsRetryRequestLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.onSOAP("readMetadata", reply{status: 500, body: fixture(t, "fault_request_limit.xml")},
		reply{status: 503, body: "<html>Service Unavailable</html>"}, ok(fixture(t, "read_idp.xml")))
	got, err := h.c.IdentityProvider(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.CertificateName != "SelfSignedCert_24Apr2017_180044" {
		t.Errorf("CertificateName = %q", got.CertificateName)
	}
	if diff := cmp.Diff(Stats{Reads: 3}, h.c.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	if h.clock.Now().Sub(t0) < time.Second {
		t.Errorf("retried without backoff")
	}
}
