package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/voicecert/voicecert/internal/testenv"
	"github.com/voicecert/voicecert/samlmeta"
)

func TestInspectFiles(t *testing.T) {
	t.Parallel()
	salesforce2017 := testenv.Shared(t, "fixtures/salesforce-idp-2017/idp-metadata.xml")
	tests := []struct {
		name     string
		file     string
		json     bool
		wantCode int
		golden   string   // compare stdout with testdata/golden/NAME
		wantErr  []string // parts of the one-line error; nil: no error
	}{
		{name: "two signing certificates", file: "testdata/two-certs.xml", wantCode: exitOK, golden: "inspect-two-certs.txt"},
		{name: "two signing certificates json", file: "testdata/two-certs.xml", json: true, wantCode: exitOK, golden: "inspect-two-certs.json"},
		{name: "weak existing key is a warning", file: "testdata/weak-key.xml", wantCode: exitOK, golden: "inspect-weak-key.txt"},
		{name: "real Salesforce metadata, expired", file: salesforce2017, wantCode: exitOK},
		{name: "no signing certificate", file: "testdata/no-signing.xml", wantCode: exitFailed, golden: "inspect-no-signing.txt",
			wantErr: []string{"1 error finding(s)", "fix them"}},
		{name: "byte-order mark", file: "testdata/bom.xml", wantCode: exitFailed, golden: "inspect-bom.txt",
			wantErr: []string{"byte-order mark"}},
		{name: "XXE", file: "testdata/xxe.xml", wantCode: exitFailed, wantErr: []string{"testdata/xxe.xml", "DOCTYPE"}},
		{name: "billion laughs", file: "testdata/billion-laughs.xml", wantCode: exitFailed, wantErr: []string{"DOCTYPE"}},
		{name: "billion laughs json", file: "testdata/billion-laughs.xml", json: true, wantCode: exitFailed, wantErr: []string{"DOCTYPE"}},
		{name: "truncated", file: "testdata/truncated.xml", wantCode: exitFailed, wantErr: []string{"not usable SAML metadata"}},
		{name: "not metadata", file: "testdata/not-metadata.xml", wantCode: exitFailed, wantErr: []string{"EntityDescriptor"}},
		{name: "missing file", file: "testdata/absent.xml", wantCode: exitFailed, wantErr: []string{"cannot open testdata/absent.xml", "no such file"}},
		{name: "directory", file: "testdata", wantCode: exitFailed, wantErr: []string{"reading testdata"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"metadata", "inspect", tt.file}
			if tt.json {
				args = append(args, "--json")
			}
			got := runCLI(t, "", nil, args...)
			if got.code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", got.code, tt.wantCode, got.stderr)
			}
			if tt.wantErr == nil && got.stderr != "" {
				t.Errorf("stderr is not empty:\n%s", got.stderr)
			}
			if tt.wantErr != nil {
				assertOneLineError(t, got.stderr, tt.wantErr...)
			}
			if tt.golden != "" {
				golden(t, tt.golden, got.stdout)
			}
			if tt.json {
				var res inspection
				if err := json.Unmarshal([]byte(got.stdout), &res); err != nil {
					t.Fatalf("--json output is not JSON: %v\n%s", err, got.stdout)
				}
				if strings.Count(got.stdout, "\n") != 1 {
					t.Errorf("--json output is not one line:\n%s", got.stdout)
				}
				if (res.Errors > 0 || res.Error != "") != (tt.wantCode != exitOK) {
					t.Errorf("--json errors=%d error=%q, but exit code %d", res.Errors, res.Error, got.code)
				}
			}
		})
	}
}

func TestInspectTooLarge(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "huge.xml")
	huge := bytes.Repeat([]byte("<!-- padding -->\n"), samlmeta.MaxDocumentSize/16+1)
	if err := os.WriteFile(path, huge, 0o600); err != nil {
		t.Fatal(err)
	}
	got := runCLI(t, "", nil, "metadata", "inspect", path)
	if got.code != exitFailed {
		t.Errorf("exit code = %d, want %d", got.code, exitFailed)
	}
	assertOneLineError(t, got.stderr, "larger than 10000000 bytes")
	if got.stdout != "" {
		t.Errorf("stdout is not empty:\n%.200s", got.stdout)
	}
}

func TestInspectStdin(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/two-certs.xml")
	if err != nil {
		t.Fatal(err)
	}
	got := runCLI(t, string(data), nil, "metadata", "inspect", "-", "--json")
	if got.code != exitOK {
		t.Fatalf("exit code = %d; stderr:\n%s", got.code, got.stderr)
	}
	var res inspection
	if err := json.Unmarshal([]byte(got.stdout), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Entities) != 1 || len(res.Entities[0].SigningCertificates) != 2 {
		t.Errorf("entities = %+v, want one with two signing certificates", res.Entities)
	}
}

func TestInspectURL(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/two-certs.xml")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/samlidp.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.Write(data)
	})
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://example.com/samlidp.xml", http.StatusFound)
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte(" "), 1<<20)
		for range samlmeta.MaxDocumentSize/len(chunk) + 2 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	tests := []struct {
		name     string
		url      string
		args     []string // flags before the URL
		wantCode int
		wantErr  []string
	}{
		{name: "http on loopback", url: srv.URL + "/.well-known/samlidp.xml", wantCode: exitOK},
		{name: "localhost", url: strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/.well-known/samlidp.xml", wantCode: exitOK},
		{name: "not found", url: srv.URL + "/missing", wantCode: exitFailed, wantErr: []string{"HTTP 404"}},
		{name: "redirect off loopback over http", url: srv.URL + "/away", wantCode: exitFailed, wantErr: []string{"only for loopback"}},
		{name: "too large", url: srv.URL + "/huge", wantCode: exitFailed, wantErr: []string{"larger than"}},
		{name: "http elsewhere", url: "http://example.com/samlidp.xml", wantCode: exitRefused, wantErr: []string{"http:// is accepted only for loopback", "use https://"}},
		{name: "other scheme", url: "ftp://127.0.0.1/x.xml", wantCode: exitRefused, wantErr: []string{`scheme "ftp"`}},
		{name: "secrets in the URL are not printed", url: "http://user:hunter2@example.com/x?token=s3cret", wantCode: exitRefused,
			wantErr: []string{"http://example.com/x?…"}},
		{name: "secrets in a fetched URL are not printed, with -v", url: strings.Replace(srv.URL, "://", "://user:hunter2@", 1) + "/.well-known/samlidp.xml?token=s3cret",
			args: []string{"-v"}, wantCode: exitOK},
		{name: "secrets in a fetched URL are not printed, json", url: srv.URL + "/.well-known/samlidp.xml?token=s3cret",
			args: []string{"-v", "--json"}, wantCode: exitOK},
		{name: "secrets in a URL that does not parse are not printed", url: "http://user:hunter2@127.0.0.1/%zz?token=s3cret",
			wantCode: exitRefused, wantErr: []string{"does not parse", "%zz"}},
		{name: "secrets in a failing URL are not printed", url: srv.URL + "/missing?token=s3cret", args: []string{"-v"},
			wantCode: exitFailed, wantErr: []string{"HTTP 404"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, "", nil, append(append([]string{"metadata", "inspect"}, tt.args...), tt.url)...)
			if got.code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", got.code, tt.wantCode, got.stderr)
			}
			if tt.wantErr != nil {
				assertOneLineError(t, got.stderr, tt.wantErr...)
			}
			for _, secret := range []string{"hunter2", "s3cret"} {
				if strings.Contains(got.stderr+got.stdout, secret) {
					t.Errorf("output holds the secret %q", secret)
				}
			}
		})
	}
}

func TestInspectHTTPS(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/two-certs.xml")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(data) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c := &cli{stdin: strings.NewReader("")}
	got, err := readSource(t.Context(), c, srv.URL+"/samlidp.xml", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("read %d bytes, want the %d served", len(got), len(data))
	}
	// Without the test server's CA, the certificate is refused.
	_, err = readSource(t.Context(), c, srv.URL+"/samlidp.xml", http.DefaultClient)
	if err == nil || exitCode(err) != exitFailed || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted TLS certificate: err = %v, want a failed fetch naming the certificate", err)
	}
}
