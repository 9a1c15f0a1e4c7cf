// Package testenv finds what the tests need outside the module: the shared schemas
// and fixtures beside the checkout, and external tools such as xmllint and xmlsec1.
//
// A missing tool skips the test on a developer's machine and fails it in CI
// (CI=true). A missing schema or fixture always fails.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// InCI reports whether the tests run in CI, where nothing may be skipped for a missing
// tool.
func InCI() bool { return os.Getenv("CI") == "true" }

// ModuleRoot returns the directory that holds go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Shared returns the path of name inside ../shared beside the checkout (for example
// "schemas/saml/saml-schema-metadata-2.0.xsd"). The file must exist.
func Shared(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(filepath.Dir(ModuleRoot(t)), "shared", filepath.FromSlash(name))
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("testenv: %s is missing (the tests need ../shared beside the checkout): %v", name, err)
	}
	return p
}

// ReadShared reads a file of ../shared.
func ReadShared(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(Shared(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Tool returns the path of an external command. When it is missing the test is
// skipped, except in CI where it fails.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if InCI() {
		t.Fatalf("testenv: %s is required in CI but not installed (apt-get install -y libxml2-utils xmlsec1)", name)
	}
	t.Skipf("testenv: %s not installed; skipping", name)
	return ""
}

// ValidateXSD validates files against an XSD with xmllint, in one call for all of
// them (each xmllint start costs about a quarter of a second). It fails the test with
// xmllint's messages when any file is invalid.
func ValidateXSD(t testing.TB, schema string, files ...string) {
	t.Helper()
	if len(files) == 0 {
		return
	}
	xmllint := Tool(t, "xmllint")
	args := append([]string{"--noout", "--nonet", "--schema", schema}, files...)
	out, err := exec.Command(xmllint, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint --schema %s: %v\n%s", filepath.Base(schema), err, strings.TrimSpace(string(out)))
	}
}
