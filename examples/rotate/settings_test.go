package main

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicecert/voicecert/internal/keypool"
)

func TestSFSettingsAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		vars     map[string]string
		want     sfAuth
		wantURL  string   // tokenURL
		wantErr  []string // parts of the error
		noSecret string   // a value the error must not show
	}{
		{name: "access token", vars: map[string]string{"SF_INSTANCE_URL": "https://x.my.salesforce.com", "SF_ACCESS_TOKEN": "00Dx!tok"},
			want: sfAuthToken, wantURL: "https://x.my.salesforce.com"},
		{name: "access token wins over the JWT settings", vars: map[string]string{"SF_INSTANCE_URL": "https://x.my.salesforce.com", "SF_ACCESS_TOKEN": "00Dx!tok",
			"SF_CLIENT_ID": "id", "SF_USERNAME": "u", "SF_JWT_KEY_FILE": "k.pem"}, want: sfAuthToken, wantURL: "https://x.my.salesforce.com"},
		{name: "access token without instance", vars: map[string]string{"SF_ACCESS_TOKEN": "00Dx!secret-token"},
			wantErr: []string{"SF_INSTANCE_URL is not"}, noSecret: "secret-token"},
		{name: "JWT", vars: map[string]string{"SF_CLIENT_ID": "id", "SF_USERNAME": "u", "SF_JWT_KEY_FILE": "k.pem", "SF_INSTANCE_URL": "https://x.my.salesforce.com",
			"SF_LOGIN_URL": "https://login.salesforce.com"}, want: sfAuthJWT, wantURL: "https://login.salesforce.com"},
		{name: "JWT missing key and URL", vars: map[string]string{"SF_CLIENT_ID": "id", "SF_USERNAME": "u"},
			wantErr: []string{"SF_JWT_KEY_FILE and SF_LOGIN_URL or SF_INSTANCE_URL"}},
		{name: "client credentials", vars: map[string]string{"SF_CLIENT_ID": "id", "SF_CLIENT_SECRET": "s3cret", "SF_LOGIN_URL": "https://x.my.salesforce.com"},
			want: sfAuthClientCredentials, wantURL: "https://x.my.salesforce.com"},
		{name: "client credentials without URL", vars: map[string]string{"SF_CLIENT_ID": "id", "SF_CLIENT_SECRET": "s3cret"},
			wantErr: []string{"SF_LOGIN_URL or SF_INSTANCE_URL"}, noSecret: "s3cret"},
		{name: "client id alone", vars: map[string]string{"SF_CLIENT_ID": "id"}, wantErr: []string{"SF_USERNAME + SF_JWT_KEY_FILE", "SF_CLIENT_SECRET"}},
		{name: "nothing", vars: map[string]string{}, wantErr: []string{"no Salesforce credentials", "rotate sim"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s sfSettings
			s.fromEnv(func(k string) string { return tt.vars[k] })
			got, err := s.auth()
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("auth() = %q, want an error", got)
				}
				if exitCode(err) != exitRefused {
					t.Errorf("exit code = %d, want %d", exitCode(err), exitRefused)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				if tt.noSecret != "" && strings.Contains(err.Error(), tt.noSecret) {
					t.Errorf("error %q shows a secret", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("auth() = %q, want %q", got, tt.want)
			}
			if diff := cmp.Diff(tt.wantURL, s.tokenURL()); diff != "" {
				t.Errorf("tokenURL (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSFSettingsFlagsWinOverEnv(t *testing.T) {
	t.Parallel()
	c := &cli{}
	fs := c.newFlagSet("status", "status")
	var s sfSettings
	s.register(fs)
	if _, err := c.parse(fs, []string{"--sf-instance-url", "https://flag.my.salesforce.com"}); err != nil {
		t.Fatal(err)
	}
	s.fromEnv(func(k string) string {
		return map[string]string{"SF_INSTANCE_URL": "https://env.my.salesforce.com", "SF_ORG_ID": "00D000000000001"}[k]
	})
	if s.instanceURL != "https://flag.my.salesforce.com" || s.orgID != "00D000000000001" {
		t.Errorf("instance %q org %q: want the flag's instance and the environment's org", s.instanceURL, s.orgID)
	}
}

func TestReadRSAKey(t *testing.T) {
	t.Parallel()
	var pool keypool.Pool
	key, err := pool.Key(2048)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, blocks ...*pem.Block) string {
		var b []byte
		for _, bl := range blocks {
			b = append(b, pem.EncodeToMemory(bl)...)
		}
		if len(blocks) == 0 {
			b = []byte("not a key")
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		path    string
		wantErr string
	}{
		{name: "PKCS #1", path: write("pkcs1.pem", &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})},
		{name: "PKCS #8", path: write("pkcs8.pem", &pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})},
		{name: "encrypted", path: write("enc.pem", &pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1, 2, 3}}), wantErr: "is encrypted"},
		{name: "corrupt PKCS #8", path: write("bad8.pem", &pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8[:40]}), wantErr: "does not parse"},
		{name: "a certificate", path: write("cert.pem", &pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}), wantErr: `PEM "CERTIFICATE" block`},
		{name: "not PEM", path: write("plain.txt"), wantErr: "no PEM block"},
		{name: "missing", path: filepath.Join(dir, "absent.pem"), wantErr: "cannot read the JWT key file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := readRSAKey(tt.path)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !got.Equal(key) {
					t.Error("readRSAKey returned another key")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if exitCode(err) != exitRefused {
				t.Errorf("exit code = %d, want %d", exitCode(err), exitRefused)
			}
		})
	}
}
