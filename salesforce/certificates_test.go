package salesforce

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// wantVoiceCert is the certificate of the fixtures.
func wantVoiceCert(t *testing.T) *Certificate {
	return &Certificate{ID: "0P15g000000CaAbCAK", DeveloperName: "VoiceCert_20261203", MasterLabel: "VoiceCert 2026-12-03",
		ExpirationDate: time.Date(2028, 12, 3, 0, 0, 0, 0, time.UTC), KeySize: 4096, PEM: []byte(fixture(t, "certificate.pem"))}
}

// readBody decodes a readMetadata request.
func readRequest(t *testing.T, body []byte) (typ string, names []string) {
	t.Helper()
	var env struct {
		Type  string   `xml:"Body>readMetadata>type"`
		Names []string `xml:"Body>readMetadata>fullNames"`
	}
	if err := xml.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	return env.Type, env.Names
}

func expectRead(wantType string, wantNames ...string) func(t *testing.T, _ *http.Request, body []byte) {
	return func(t *testing.T, _ *http.Request, body []byte) {
		typ, names := readRequest(t, body)
		if diff := cmp.Diff(append([]string{wantType}, wantNames...), append([]string{typ}, names...)); diff != "" {
			t.Errorf("readMetadata type, names (-want +got):\n%s", diff)
		}
	}
}

func TestCertificateWithPEM(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on(http.MethodGet, toolingQuery, reply{status: 200, body: fixture(t, "tooling_certificate_voicecert.json"),
		check: func(t *testing.T, req *http.Request, _ []byte) {
			want := "SELECT Id, DeveloperName, MasterLabel, ExpirationDate, KeySize FROM Certificate WHERE DeveloperName = 'VoiceCert_20261203'"
			if got := req.URL.Query().Get("q"); got != want {
				t.Errorf("q = %q, want %q", got, want)
			}
		}})
	h.onSOAP("readMetadata", reply{status: 200, body: fixture(t, "read_certificate.xml"), check: expectRead("Certificate", "VoiceCert_20261203")})
	got, err := h.c.Certificate(context.Background(), "VoiceCert_20261203")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantVoiceCert(t), got); diff != "" {
		t.Errorf("certificate (-want +got):\n%s", diff)
	}
}

func TestCertificatePEMByRetrieve(t *testing.T) {
	t.Parallel()
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, _ := zw.Create("certs/VoiceCert_20261203.crt")
	w.Write([]byte(fixture(t, "certificate.pem")))
	w, _ = zw.Create("package.xml")
	w.Write([]byte(`<Package xmlns="http://soap.sforce.com/2006/04/metadata"><version>63.0</version></Package>`))
	zw.Close()
	done := strings.Replace(fixture(t, "retrieve_status_succeeded.xml"), "{{ZIP}}", base64.StdEncoding.EncodeToString(zbuf.Bytes()), 1)

	h := newHarness(t)
	h.on(http.MethodGet, toolingQuery, ok(fixture(t, "tooling_certificate_voicecert.json")))
	h.onSOAP("readMetadata", ok(fixture(t, "read_certificate_nocontent.xml")))
	h.onSOAP("retrieve", reply{status: 200, body: fixture(t, "retrieve.xml"), check: func(t *testing.T, _ *http.Request, body []byte) {
		var env struct {
			Members []string `xml:"Body>retrieve>retrieveRequest>unpackaged>types>members"`
			Name    string   `xml:"Body>retrieve>retrieveRequest>unpackaged>types>name"`
		}
		xml.Unmarshal(body, &env)
		if diff := cmp.Diff([]string{"Certificate", "VoiceCert_20261203"}, append([]string{env.Name}, env.Members...)); diff != "" {
			t.Errorf("retrieve (-want +got):\n%s", diff)
		}
	}})
	h.onSOAP("checkRetrieveStatus", ok(fixture(t, "retrieve_status_inprogress.xml")), ok(done))
	got, err := h.c.Certificate(context.Background(), "VoiceCert_20261203")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantVoiceCert(t), got); diff != "" {
		t.Errorf("certificate (-want +got):\n%s", diff)
	}
	if h.clock.Now().Equal(t0) {
		t.Errorf("polled checkRetrieveStatus without sleeping")
	}
}

func TestCertificateNotFound(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on(http.MethodGet, toolingQuery, ok(fixture(t, "tooling_empty.json")))
	_, err := h.c.Certificate(context.Background(), "Missing_Cert")
	suite.err(err)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

// deployCheck checks a deploy request: the options and the zip's files.
func deployCheck(keySize string) func(t *testing.T, _ *http.Request, body []byte) {
	return func(t *testing.T, _ *http.Request, body []byte) {
		var env struct {
			Zip     string `xml:"Body>deploy>ZipFile"`
			Options struct {
				Inner string `xml:",innerxml"`
			} `xml:"Body>deploy>DeployOptions"`
		}
		if err := xml.Unmarshal(body, &env); err != nil {
			t.Fatal(err)
		}
		files := unzip(t, env.Zip)
		var names []string
		for n := range files {
			names = append(names, n)
		}
		wantNames := []string{"certs/VoiceCert_20261203.crt", "certs/VoiceCert_20261203.crt-meta.xml", "package.xml"}
		sort.Strings(names)
		if diff := cmp.Diff(wantNames, names); diff != "" {
			t.Errorf("zip files (-want +got):\n%s", diff)
		}
		if n := len(files["certs/VoiceCert_20261203.crt"]); n != 0 {
			t.Errorf("the .crt has %d bytes, want empty (Salesforce generates the key)", n)
		}
		var meta struct {
			CASigned             string `xml:"caSigned"`
			KeySize              string `xml:"keySize"`
			MasterLabel          string `xml:"masterLabel"`
			PrivateKeyExportable string `xml:"privateKeyExportable"`
		}
		if err := xml.Unmarshal(files["certs/VoiceCert_20261203.crt-meta.xml"], &meta); err != nil {
			t.Fatal(err)
		}
		want := []string{"false", keySize, "VoiceCert 2026-12-03 <rotation>", "false"}
		got := []string{meta.CASigned, meta.KeySize, meta.MasterLabel, meta.PrivateKeyExportable}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("crt-meta.xml caSigned, keySize, masterLabel, privateKeyExportable (-want +got):\n%s", diff)
		}
		for _, opt := range []string{"<checkOnly>false</checkOnly>", "<rollbackOnError>true</rollbackOnError>",
			"<singlePackage>true</singlePackage>", "<testLevel>NoTestRun</testLevel>"} {
			if !strings.Contains(env.Options.Inner, opt) {
				t.Errorf("DeployOptions lack %s", opt)
			}
		}
	}
}

func TestCreateCertificate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		keySize int
		setup   func(h *harness)
		wantErr error
		writes  int
	}{
		{"deploys and reads back", 4096, func(h *harness) {
			h.on(http.MethodGet, toolingQuery, ok(fixture(h.t, "tooling_empty.json")), ok(fixture(h.t, "tooling_certificate_voicecert.json")))
			h.onSOAP("deploy", reply{status: 200, body: fixture(h.t, "deploy.xml"), check: deployCheck("4096")})
			h.onSOAP("checkDeployStatus", ok(fixture(h.t, "deploy_status_pending.xml")), ok(fixture(h.t, "deploy_status_inprogress.xml")),
				ok(fixture(h.t, "deploy_status_succeeded.xml")))
			h.onSOAP("readMetadata", ok(fixture(h.t, "read_certificate.xml")))
		}, nil, 1},
		{"2048-bit", 2048, func(h *harness) {
			h.on(http.MethodGet, toolingQuery, ok(fixture(h.t, "tooling_empty.json")), ok(fixture(h.t, "tooling_certificate_voicecert.json")))
			h.onSOAP("deploy", reply{status: 200, body: fixture(h.t, "deploy.xml"), check: deployCheck("2048")})
			h.onSOAP("checkDeployStatus", ok(fixture(h.t, "deploy_status_succeeded.xml")))
			h.onSOAP("readMetadata", ok(fixture(h.t, "read_certificate.xml")))
		}, nil, 1},
		{"name already exists", 4096, func(h *harness) {
			h.on(http.MethodGet, toolingQuery, ok(fixture(h.t, "tooling_certificate_voicecert.json")))
		}, ErrCertificateExists, 0},
		{"deploy fails", 4096, func(h *harness) {
			h.on(http.MethodGet, toolingQuery, ok(fixture(h.t, "tooling_empty.json")))
			h.onSOAP("deploy", ok(fixture(h.t, "deploy.xml")))
			h.onSOAP("checkDeployStatus", ok(fixture(h.t, "deploy_status_failed.xml")))
		}, ErrDeployFailed, 1},
		{"deploy answer lost, re-read shows nothing: deploy again", 4096, func(h *harness) {
			h.on(http.MethodGet, toolingQuery, ok(fixture(h.t, "tooling_empty.json")), ok(fixture(h.t, "tooling_empty.json")),
				ok(fixture(h.t, "tooling_certificate_voicecert.json")))
			h.onSOAP("deploy", reply{status: 503, body: "Service Unavailable"}, ok(fixture(h.t, "deploy.xml")))
			h.onSOAP("checkDeployStatus", ok(fixture(h.t, "deploy_status_succeeded.xml")))
			h.onSOAP("readMetadata", ok(fixture(h.t, "read_certificate.xml")))
		}, nil, 2},
		{"deploy answer lost, the first deploy ran late: the second fails on the name, the certificate exists", 4096, func(h *harness) {
			h.on(http.MethodGet, toolingQuery, ok(fixture(h.t, "tooling_empty.json")), ok(fixture(h.t, "tooling_empty.json")),
				ok(fixture(h.t, "tooling_certificate_voicecert.json")))
			h.onSOAP("deploy", reply{status: 503, body: "Service Unavailable"}, ok(fixture(h.t, "deploy.xml")))
			h.onSOAP("checkDeployStatus", ok(fixture(h.t, "deploy_status_duplicate.xml")))
			h.onSOAP("readMetadata", ok(fixture(h.t, "read_certificate.xml")))
		}, nil, 2},
		{"deploy answer lost, re-read shows the certificate: no second deploy", 4096, func(h *harness) {
			h.on(http.MethodGet, toolingQuery, ok(fixture(h.t, "tooling_empty.json")), ok(fixture(h.t, "tooling_certificate_voicecert.json")))
			h.onSOAP("deploy", reply{status: 500, body: fixture(h.t, "fault_request_limit.xml")})
			h.onSOAP("readMetadata", ok(fixture(h.t, "read_certificate.xml")))
		}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			tt.setup(h)
			got, err := h.c.CreateCertificate(context.Background(), "VoiceCert_20261203", "VoiceCert 2026-12-03 <rotation>", tt.keySize)
			suite.err(err)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(wantVoiceCert(t), got); diff != "" {
					t.Errorf("certificate (-want +got):\n%s", diff)
				}
			}
			if got := h.c.Stats().Writes; got != tt.writes {
				t.Errorf("%d writes, want %d", got, tt.writes)
			}
		})
	}
}

func TestCreateCertificateValidatesInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, devName, label string
		keySize              int
		want                 []string
	}{
		{"key size", "VoiceCert_1", "VoiceCert 1", 1024, []string{"1024", "2048 or 4096"}},
		{"name", "1bad__name_", "x", 2048, []string{"1bad__name_"}},
		{"everything", "bad-name", "", 3072, []string{"bad-name", "label", "3072"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			_, err := h.c.CreateCertificate(context.Background(), tt.devName, tt.label, tt.keySize)
			suite.err(err)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if n := h.mt.GetTotalCallCount(); n != 0 {
				t.Errorf("%d requests sent for bad input", n)
			}
		})
	}
}

func TestDeployPollingStopsWithContext(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) {
		c.Sleep = func(context.Context, time.Duration) error { return context.DeadlineExceeded }
	})
	h.on(http.MethodGet, toolingQuery, ok(fixture(t, "tooling_empty.json")))
	h.onSOAP("deploy", ok(fixture(t, "deploy.xml")))
	h.onSOAP("checkDeployStatus", ok(fixture(t, "deploy_status_pending.xml")))
	_, err := h.c.CreateCertificate(context.Background(), "VoiceCert_20261203", "VoiceCert", 4096)
	suite.err(err)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "0Af3B00001CMyfASAT") {
		t.Errorf("err = %v, want the deadline, naming the deployment", err)
	}
	if got := h.count("SOAP checkDeployStatus"); got != 1 {
		t.Errorf("checkDeployStatus called %d times, want 1", got)
	}
}

// TestDeployPollingIsBounded: a deployment that never finishes is given up after
// maxAsyncWait on the client's clock, even when ctx has no deadline.
func TestDeployPollingIsBounded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on(http.MethodGet, toolingQuery, ok(fixture(t, "tooling_empty.json")))
	h.onSOAP("deploy", ok(fixture(t, "deploy.xml")))
	h.onSOAP("checkDeployStatus", ok(fixture(t, "deploy_status_pending.xml")))
	_, err := h.c.CreateCertificate(context.Background(), "VoiceCert_20261203", "VoiceCert", 4096)
	suite.err(err)
	if err == nil || !strings.Contains(err.Error(), "0Af3B00001CMyfASAT is still") {
		t.Fatalf("err = %v, want the deployment given up on, by id", err)
	}
	if waited := h.clock.Now().Sub(t0); waited < 30*time.Minute || waited > 30*time.Minute+10*time.Second {
		t.Errorf("gave up after %s of polling, want 30m0s", waited)
	}
}
