package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// hermeticAWS returns vars with variables that keep the SDK away from the
// machine's shared configuration files, and the lock files in the test's
// directory.
func hermeticAWS(t *testing.T, vars map[string]string) map[string]string {
	dir := t.TempDir()
	out := map[string]string{
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"VOICECERT_LOCK_DIR":          filepath.Join(dir, "locks"),
	}
	for k, v := range vars {
		out[k] = v
	}
	return out
}

func TestLoadAWS(t *testing.T) {
	t.Parallel()
	vars := hermeticAWS(t, map[string]string{
		"AWS_REGION": "us-west-2", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
		"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-key",
	})
	cfg, err := loadAWS(t.Context(), func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := []string{cfg.Region, *cfg.BaseEndpoint, creds.AccessKeyID}
	if diff := cmp.Diff([]string{"us-west-2", "http://127.0.0.1:4566", "AKIAEXAMPLE"}, got); diff != "" {
		t.Errorf("region, endpoint, key (-want +got):\n%s", diff)
	}
}

func TestLoadAWSRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		vars    map[string]string
		wantErr string
	}{
		{name: "http endpoint off loopback", vars: map[string]string{"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://iam.example.com"},
			wantErr: "AWS_ENDPOINT_URL http://iam.example.com: http:// is accepted only for loopback"},
		{name: "endpoint not a URL", vars: map[string]string{"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "localhost"},
			wantErr: "is not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars := hermeticAWS(t, tt.vars)
			_, err := loadAWS(t.Context(), func(k string) string { return vars[k] })
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || exitCode(err) != exitRefused {
				t.Errorf("err = %v, want a refusal containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRoleARN(t *testing.T) {
	t.Parallel()
	a := &awsAccounts{roleARNTemplate: "arn:{partition}:iam::{account}:role/VoiceCertRotator"}
	if diff := cmp.Diff("arn:aws-us-gov:iam::111122223333:role/VoiceCertRotator", a.roleARN("aws-us-gov", "111122223333")); diff != "" {
		t.Errorf("roleARN (-want +got):\n%s", diff)
	}
	if got := (&awsAccounts{}).roleARN("aws", "111122223333"); got != "" {
		t.Errorf("roleARN without template = %q, want empty", got)
	}
}
