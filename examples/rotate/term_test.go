package main

import (
	"io"
	"os"
	"strings"
	"testing"
)

func TestIsTerminal(t *testing.T) {
	t.Parallel()
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	file, err := os.Open("testdata/two-certs.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	for name, r := range map[string]io.Reader{"a string": strings.NewReader("yes\n"), "/dev/null": devNull, "a regular file": file} {
		if isTerminal(r) {
			t.Errorf("isTerminal(%s) = true", name)
		}
	}
}
