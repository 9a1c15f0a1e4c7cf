package sftest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicecert/voicecert/salesforce/sftest"
)

func TestFaults(t *testing.T) {
	t.Parallel()
	read := func(typ string) string {
		return `<met:readMetadata><met:type>` + typ + `</met:type><met:fullNames>IdentityProvider</met:fullNames></met:readMetadata>`
	}
	tests := []struct {
		name  string
		fault sftest.Fault
		calls []string // metadata types read, in order
		want  []int    // status of each call
	}{
		{"second call", sftest.Fault{Operation: "readMetadata", Nth: 2, Code: "REQUEST_LIMIT_EXCEEDED"},
			[]string{"IdentityProviderSettings", "IdentityProviderSettings", "IdentityProviderSettings"}, []int{200, 500, 200}},
		{"from the second call on", sftest.Fault{Operation: "readMetadata", Nth: 2, AndAfter: true, Code: "UNKNOWN_EXCEPTION"},
			[]string{"IdentityProviderSettings", "IdentityProviderSettings", "IdentityProviderSettings"}, []int{200, 500, 500}},
		{"one type only", sftest.Fault{Operation: "readMetadata", Type: "ConnectedApp", Code: "INVALID_SESSION_ID"},
			[]string{"IdentityProviderSettings", "ConnectedApp", "ConnectedApp"}, []int{200, 500, 200}},
		{"gateway", sftest.Fault{Operation: "readMetadata", Status: http.StatusServiceUnavailable},
			[]string{"IdentityProviderSettings", "IdentityProviderSettings"}, []int{503, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, clock := newServer(t, sftest.WithFault(tt.fault))
			org := srv.DefaultOrg()
			token := login(t, org, clock.Now())
			var got []int
			for _, typ := range tt.calls {
				a := soap(t, org.InstanceURL(), envelope(token, read(typ)))
				got = append(got, a.status)
				if a.status == 500 {
					f := decodeFault(t, a)
					if f.Code != "sf:"+tt.fault.Code || !strings.HasPrefix(f.String, tt.fault.Code+": ") {
						t.Errorf("fault %+v, want %s", f, tt.fault.Code)
					}
				}
				if a.status == 503 && a.contentType != "text/html;charset=UTF-8" {
					t.Errorf("gateway error content type %q", a.contentType)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRESTFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code       string
		wantStatus int
		wantBody   string
	}{
		{"REQUEST_LIMIT_EXCEEDED", 403, `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`},
		{"INVALID_SESSION_ID", 401, `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			srv, clock := newServer(t, sftest.WithFault(sftest.Fault{Operation: "tooling/query", Type: "Certificate", Code: tt.code}))
			org := srv.DefaultOrg()
			token := login(t, org, clock.Now())
			a := query(t, org, token, "/services/data/v63.0/tooling/query", "SELECT Id FROM Certificate")
			if a.status != tt.wantStatus || strings.TrimSpace(a.body) != tt.wantBody {
				t.Errorf("got %d %s", a.status, a.body)
			}
			if a := query(t, org, token, "/services/data/v63.0/tooling/query", "SELECT Id FROM Certificate"); a.status != 200 {
				t.Errorf("second call: %d", a.status)
			}
		})
	}
}

func TestRequestLogAndWriteHook(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var hooked, all []sftest.Request
	srv, clock := newServer(t, sftest.WithOnWrite(func(r sftest.Request) {
		mu.Lock()
		defer mu.Unlock()
		hooked = append(hooked, r)
	}), func(c *sftest.Config) {
		c.OnRequest = func(r sftest.Request) {
			mu.Lock()
			defer mu.Unlock()
			all = append(all, r)
		}
	})
	org := srv.DefaultOrg()
	token := login(t, org, clock.Now())
	cert := org.IdPCertificate()
	soap(t, org.InstanceURL(), envelope(token, `<met:readMetadata><met:type>IdentityProviderSettings</met:type><met:fullNames>IdentityProvider</met:fullNames></met:readMetadata>`))
	soap(t, org.InstanceURL(), envelope(token, `<met:updateMetadata><met:metadata xsi:type="met:IdentityProviderSettings"><met:fullName>IdentityProvider</met:fullName><met:certificateName>`+cert+`</met:certificateName><met:enableIdentityProvider>true</met:enableIdentityProvider></met:metadata></met:updateMetadata>`))
	query(t, org, token, "/services/data/v63.0/query", "SELECT Id FROM CallCenter")
	type entry struct {
		Operation, Type string
		Write           bool
		Status          int
	}
	var got []entry
	for _, r := range srv.Requests() {
		got = append(got, entry{r.Operation, r.Type, r.Write, r.Status})
		if !r.Time.Equal(t0) {
			t.Errorf("request time %v, want the fake clock's", r.Time)
		}
	}
	want := []entry{
		{"oauth2/token", "", false, 200},
		{"readMetadata", "IdentityProviderSettings", false, 200},
		{"updateMetadata", "IdentityProviderSettings", true, 200},
		{"query", "CallCenter", false, 200},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request log (-want +got):\n%s", diff)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(hooked) != 1 || hooked[0].Operation != "updateMetadata" || !hooked[0].Write {
		t.Errorf("write hook saw %+v", hooked)
	}
	if diff := cmp.Diff(srv.Requests(), all); diff != "" {
		t.Errorf("request hook (-log +hook):\n%s", diff)
	}
	line, err := json.Marshal(all[2])
	if err != nil || !strings.Contains(string(line), `"operation":"updateMetadata","type":"IdentityProviderSettings","write":true,"status":200`) {
		t.Errorf("JSON line %s (%v)", line, err)
	}
}

func TestLatencyUsesTheClock(t *testing.T) {
	t.Parallel()
	srv, clock := newServer(t, sftest.WithLatency(3*time.Second))
	get(t, srv.URL+"/.well-known/samlidp.xml", "")
	get(t, srv.URL+"/.well-known/samlidp.xml", "")
	if got := clock.Now().Sub(t0); got != 6*time.Second {
		t.Errorf("two requests advanced the fake clock by %v, want 6s", got)
	}
}

func TestStartRefusesOtherAddresses(t *testing.T) {
	t.Parallel()
	if _, err := sftest.Start(sftest.Config{Addr: "0.0.0.0:0"}); err == nil || !strings.Contains(err.Error(), "not loopback") {
		t.Errorf("Start on 0.0.0.0: %v", err)
	}
	srv, err := sftest.Start(sftest.Config{Orgs: []sftest.OrgConfig{{Certificates: []sftest.CertificateConfig{{DeveloperName: "X", KeySize: 1024}}}}})
	if err == nil {
		srv.Close()
		t.Fatal("a 1024-bit certificate was accepted")
	}
	if !strings.Contains(err.Error(), "key size 1024: use 2048 or 4096") {
		t.Errorf("error %v", err)
	}
}
