package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// result is what one run of the CLI produced.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the CLI in process with args, stdin and the environment vars.
func runCLI(t *testing.T, stdin string, vars map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string { return vars[k] }
	code := run(t.Context(), args, strings.NewReader(stdin), &stdout, &stderr, getenv)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// golden compares got with testdata/golden/name, rewriting it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// assertOneLineError checks that stderr is exactly one line starting with
// "rotate: " and containing every part of want.
func assertOneLineError(t *testing.T, stderr string, want ...string) {
	t.Helper()
	if !strings.HasPrefix(stderr, "rotate: ") || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
		t.Errorf("stderr is not one line starting with \"rotate: \":\n%s", stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q does not contain %q", stderr, w)
		}
	}
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
		t.Errorf("stderr holds a stack trace:\n%s", stderr)
	}
}

func TestDispatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // a part of stdout
		wantErr  []string
	}{
		{name: "no subcommand", args: nil, wantCode: exitRefused, wantErr: []string{"no subcommand"}},
		{name: "unknown subcommand", args: []string{"rotat"}, wantCode: exitRefused, wantErr: []string{`unknown subcommand "rotat"`, "rotate help"}},
		{name: "help", args: []string{"help"}, wantCode: exitOK, wantOut: "rotate metadata inspect FILE|URL"},
		{name: "metadata without inspect", args: []string{"metadata"}, wantCode: exitRefused, wantErr: []string{"metadata needs the subcommand inspect"}},
		{name: "unknown flag", args: []string{"metadata", "inspect", "--bogus", "x"}, wantCode: exitRefused, wantErr: []string{"-bogus", "rotate metadata inspect -h"}},
		{name: "flag -h", args: []string{"metadata", "inspect", "-h"}, wantCode: exitOK, wantOut: "Usage: rotate metadata inspect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, "", nil, tt.args...)
			if got.code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", got.code, tt.wantCode, got.stderr)
			}
			if !strings.Contains(got.stdout, tt.wantOut) {
				t.Errorf("stdout does not contain %q:\n%s", tt.wantOut, got.stdout)
			}
			if tt.wantErr != nil {
				assertOneLineError(t, got.stderr, tt.wantErr...)
			}
		})
	}
}

func TestCommonFlagsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		wantErr []string // parts of the error; none means valid
	}{
		{name: "defaults"},
		{name: "all set", args: []string{"--select", "A", "--select=B", "--renew-before", "240h", "--key-size", "2048",
			"--certificate-prefix", "Rot_", "--aws-provider-name", "P", "--aws-role-arn-template", "arn:aws:iam::{account}:role/R", "-v", "--json"}},
		{name: "bad key size and window together", args: []string{"--key-size", "1024", "--renew-before", "-1h"},
			wantErr: []string{"--key-size 1024", "--renew-before -1h0m0s"}},
		{name: "template without account", args: []string{"--aws-role-arn-template", "arn:aws:iam::123456789012:role/R"},
			wantErr: []string{"{account}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &cli{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
			fs := c.newFlagSet("status", "status")
			var f commonFlags
			f.register(fs)
			if _, err := c.parse(fs, tt.args); err != nil {
				t.Fatal(err)
			}
			err := f.validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("validate accepted bad flags")
			}
			if got := exitCode(err); got != exitRefused {
				t.Errorf("exit code = %d, want %d", got, exitRefused)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestOneLine(t *testing.T) {
	t.Parallel()
	err := failed("first:\n  second\n\nthird\n")
	if diff := cmp.Diff("first:; second; third", oneLine(err)); diff != "" {
		t.Errorf("oneLine (-want +got):\n%s", diff)
	}
}
