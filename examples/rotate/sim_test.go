package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/google/go-cmp/cmp"

	"github.com/voicecert/voicecert/salesforce"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader in two goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startSim runs "rotate sim args..." in process and returns what it printed on
// its first line, and a stop function that interrupts it and returns its exit
// code and stderr.
func startSim(t *testing.T, args ...string) (simInfo, func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		code := run(ctx, append([]string{"sim"}, args...), strings.NewReader(""), pw, stderr, func(string) string { return "" })
		pw.Close()
		done <- code
	}()
	stopped := false
	stop := func() (int, string) {
		if stopped {
			t.Fatal("sim stopped twice")
		}
		stopped = true
		cancel()
		go io.Copy(io.Discard, pr)
		return <-done, stderr.String()
	}
	line, err := bufio.NewReader(pr).ReadBytes('\n')
	if err != nil {
		code, errOut := stop()
		t.Fatalf("sim printed no line (exit %d): %v\nstderr:\n%s", code, err, errOut)
	}
	var info simInfo
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&info); err != nil {
		stop()
		t.Fatalf("sim's line is not the documented JSON: %v\n%s", err, line)
	}
	if bytes.Count(line, []byte("\n")) != 1 || bytes.Contains(bytes.TrimSpace(line), []byte("\n  ")) {
		t.Errorf("sim's line is not compact: %s", line)
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	return info, stop
}

func TestSim(t *testing.T) {
	t.Parallel()
	logPath := filepath.Join(t.TempDir(), "requests.jsonl")
	info, stop := startSim(t, "--contact-centers", "3", "--request-log", logPath, "--assertion-lifetime", "1s")

	if got := len(info.ContactCenters); got != 3 {
		t.Errorf("%d contact centers, want 3", got)
	}
	wantEnv := map[string]string{
		"SF_INSTANCE_URL": info.Salesforce.InstanceURL, "SF_ACCESS_TOKEN": info.Salesforce.AccessToken,
		"AWS_ENDPOINT_URL": info.AWS.EndpointURL, "AWS_REGION": info.AWS.Region,
		"AWS_ACCESS_KEY_ID": info.AWS.AccessKeyID, "AWS_SECRET_ACCESS_KEY": info.AWS.SecretAccessKey,
	}
	if diff := cmp.Diff(wantEnv, info.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(info.Salesforce.AccessToken, "00D") || !strings.Contains(info.Salesforce.AccessToken, "!") {
		t.Errorf("access token does not look like a Salesforce session id")
	}
	for _, u := range []string{info.Salesforce.InstanceURL, info.AWS.EndpointURL} {
		if !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Errorf("URL %s is not on loopback", u)
		}
	}

	// The real clients reach the fakes with the printed settings: the access
	// token, the JWT bearer flow, and AWS from the environment.
	getenv := func(k string) string { return info.Env[k] }
	ctx := t.Context()
	for _, vars := range []map[string]string{
		info.Env,
		{"SF_INSTANCE_URL": info.Salesforce.InstanceURL, "SF_CLIENT_ID": info.Salesforce.ClientID,
			"SF_USERNAME": info.Salesforce.Username, "SF_JWT_KEY_FILE": info.Salesforce.JWTKeyFile, "SF_ORG_ID": info.Salesforce.OrgID},
	} {
		var s sfSettings
		s.fromEnv(func(k string) string { return vars[k] })
		cfg, err := s.salesforceConfig(newLogger(io.Discard, false))
		if err != nil {
			t.Fatal(err)
		}
		sf, err := salesforce.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ccs, err := sf.ListContactCenters(ctx)
		if err != nil {
			t.Fatalf("ListContactCenters: %v", err)
		}
		if len(ccs) != 3 {
			t.Errorf("%d contact centers through the API, want 3", len(ccs))
		}
	}
	awsCfg, err := loadAWS(ctx, getenv)
	if err != nil {
		t.Fatal(err)
	}
	iamClient, _ := (&awsAccounts{base: awsCfg}).clients("aws", info.AWS.AccountID)
	if _, err := iamClient.GetSAMLProvider(ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: aws.String(info.ContactCenters[0].SAMLProviderARN)}); err != nil {
		t.Errorf("GetSAMLProvider: %v", err)
	}

	code, stderr := stop()
	if code != exitOK {
		t.Errorf("sim exit code = %d, want 0 after an interrupt; stderr:\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Dir(info.Salesforce.JWTKeyFile)); !os.IsNotExist(err) {
		t.Errorf("the temporary directory of the JWT key is still there: %v", err)
	}
	if strings.Contains(stderr, info.Salesforce.AccessToken) {
		t.Error("sim logged its access token on stderr")
	}

	// One JSON line per request, services named, no write among these reads.
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	services := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var r struct {
			Service   string
			Operation string
			Write     *bool
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.Write == nil {
			t.Fatalf("request log line %q: %v (want JSON with write)", line, err)
		}
		if *r.Write {
			t.Errorf("request log marks a read as a write: %s", line)
		}
		services[r.Service]++
	}
	for _, s := range []string{"salesforce", "iam"} {
		if services[s] == 0 {
			t.Errorf("request log has no %s request: %v", s, services)
		}
	}
}

func TestSimWriteIsLoggedBeforeTheAnswer(t *testing.T) {
	t.Parallel()
	logPath := filepath.Join(t.TempDir(), "requests.jsonl")
	info, _ := startSim(t, "--request-log", logPath)
	var s sfSettings
	s.fromEnv(func(k string) string { return info.Env[k] })
	cfg, err := s.salesforceConfig(newLogger(io.Discard, false))
	if err != nil {
		t.Fatal(err)
	}
	sf, err := salesforce.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sf.CreateCertificate(t.Context(), "VoiceCert_Test", "VoiceCert Test", 2048); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), `"write":true`); n != 1 {
		t.Errorf("request log holds %d writes right after a deploy returned, want 1:\n%s", n, data)
	}
}

func TestSimRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "Salesforce off loopback", args: []string{"--sf-addr", "0.0.0.0:0"}, wantErr: `--sf-addr "0.0.0.0:0" is not a loopback address`},
		{name: "AWS off loopback", args: []string{"--aws-addr", "192.0.2.1:8080"}, wantErr: "--aws-addr"},
		{name: "not host:port", args: []string{"--sf-addr", "localhost"}, wantErr: "is not HOST:PORT"},
		{name: "iam trust", args: []string{"--iam-trust", "some"}, wantErr: `--iam-trust "some"`},
		{name: "no contact center", args: []string{"--contact-centers", "0"}, wantErr: "--contact-centers 0"},
		{name: "expired already", args: []string{"--expires-in", "-1h"}, wantErr: "--expires-in"},
		{name: "argument", args: []string{"extra"}, wantErr: "sim takes no arguments"},
		{name: "request log in a missing directory", args: []string{"--request-log", "/nonexistent/dir/log"}, wantErr: "cannot open the request log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, "", nil, append([]string{"sim"}, tt.args...)...)
			if got.code != exitRefused {
				t.Errorf("exit code = %d, want %d", got.code, exitRefused)
			}
			if got.stdout != "" {
				t.Errorf("stdout is not empty:\n%s", got.stdout)
			}
			assertOneLineError(t, got.stderr, tt.wantErr)
		})
	}
}
