package salesforce

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const toolingQuery = "/services/data/v63.0/tooling/query"

func TestListCertificatesFollowsNextRecordsURL(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on(http.MethodGet, toolingQuery, reply{status: 200, body: fixture(t, "tooling_certificates_page1.json"),
		check: func(t *testing.T, req *http.Request, _ []byte) {
			if got := req.Header.Get("Authorization"); got != "Bearer "+testToken {
				t.Errorf("Authorization header missing or wrong")
			}
			want := "SELECT Id, DeveloperName, MasterLabel, ExpirationDate, KeySize FROM Certificate ORDER BY DeveloperName"
			if got := req.URL.Query().Get("q"); got != want {
				t.Errorf("q = %q, want %q", got, want)
			}
		}})
	h.on(http.MethodGet, "/services/data/v63.0/tooling/query/01gRO0000016PIAYA2-2", reply{status: 200,
		body: fixture(t, "tooling_certificates_page2.json"),
		check: func(t *testing.T, req *http.Request, _ []byte) {
			if req.URL.RawQuery != "" {
				t.Errorf("next page requested with a query %q", req.URL.RawQuery)
			}
		}})
	got, err := h.c.ListCertificates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []Certificate{
		{ID: "0P15g000000CaAaCAK", DeveloperName: "SelfSignedCert_24Apr2017_180044", MasterLabel: "SelfSignedCert_24Apr2017_180044",
			ExpirationDate: time.Date(2027, 4, 24, 0, 0, 0, 0, time.UTC), KeySize: 2048},
		{ID: "0P15g000000CaAbCAK", DeveloperName: "VoiceCert_20261203", MasterLabel: "VoiceCert 2026-12-03",
			ExpirationDate: time.Date(2028, 12, 3, 0, 0, 0, 0, time.UTC), KeySize: 4096},
		{ID: "0P15g000000CaAcCAK", DeveloperName: "Zendesk_SSO", MasterLabel: "Zendesk SSO",
			ExpirationDate: time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC), KeySize: 2048},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("certificates (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Stats{Reads: 2}, h.c.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestQueryRefusesForeignNextRecordsURL(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on(http.MethodGet, toolingQuery, ok(`{"done":false,"totalSize":2,"nextRecordsUrl":"https://evil.example/x","records":[]}`))
	_, err := h.c.ListCertificates(context.Background())
	suite.err(err)
	if err == nil {
		t.Fatal("followed a nextRecordsUrl to another host")
	}
}

func TestReadsRetryTemporaryFailures(t *testing.T) {
	t.Parallel()
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	tests := []struct {
		name      string
		replies   []reply
		wantErr   error
		wantCalls int
	}{
		{"503 then success", []reply{{status: 503, body: "<html>Service Unavailable</html>"}, ok(fixture(t, "tooling_empty.json"))}, nil, 2},
		{"request limit then success", []reply{{status: 403, body: fixture(t, "rest_request_limit.json")}, ok(fixture(t, "tooling_empty.json"))}, nil, 2},
		{"connection reset then success", []reply{{err: reset}, ok(fixture(t, "tooling_empty.json"))}, nil, 2},
		{"502 every time", []reply{{status: 502, body: "Bad Gateway"}}, ErrTransient, 5},
		{"request limit every time", []reply{{status: 403, body: fixture(t, "rest_request_limit.json")}}, ErrRequestLimit, 5},
		{"malformed query is not retried", []reply{{status: 400, body: fixture(t, "rest_malformed_query.json")}}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.on(http.MethodGet, toolingQuery, tt.replies...)
			_, err := h.c.ListCertificates(context.Background())
			suite.err(err)
			switch {
			case tt.name == "malformed query is not retried":
				var e *Error
				if !errors.As(err, &e) || e.Code != "INVALID_TYPE" || e.StatusCode != 400 {
					t.Errorf("err = %v, want *Error INVALID_TYPE (HTTP 400)", err)
				}
			case tt.wantErr == nil && err != nil:
				t.Fatalf("err = %v", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got := h.mt.GetTotalCallCount(); got != tt.wantCalls {
				t.Errorf("%d requests, want %d", got, tt.wantCalls)
			}
			if waited := h.clock.Now().Sub(t0); tt.wantCalls > 1 && waited < time.Duration(tt.wantCalls-1)*500*time.Millisecond {
				t.Errorf("waited %v on the fake clock between %d attempts: no backoff", waited, tt.wantCalls)
			}
		})
	}
}

func TestRetriesStopWithContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	h := newHarness(t, func(c *Config) {
		c.Sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	})
	h.on(http.MethodGet, toolingQuery, reply{status: 503, body: "unavailable"})
	_, err := h.c.ListCertificates(ctx)
	suite.err(err)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if got := h.mt.GetTotalCallCount(); got != 1 {
		t.Errorf("%d requests, want 1", got)
	}
}
