package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// masks replace the volatile parts of the demo's output: times, dates,
// durations, certificate names made from the time, fingerprints and ports.
var masks = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z`), "<TIME>"},
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2}( \d{2}:\d{2} UTC)?`), "<DATE>"},
	{regexp.MustCompile(`SelfSignedCert_\d{2}[A-Z][a-z]{2}\d{4}_\d{6}`), "SelfSignedCert_<STAMP>"},
	{regexp.MustCompile(`VoiceCert_\d{8}_\d{6}`), "VoiceCert_<STAMP>"},
	{regexp.MustCompile(`[0-9a-f]{16,64}…?`), "<SHA256>"},
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:<PORT>"},
	{regexp.MustCompile(` +\d+(\.\d+)?(ms|s|µs|m)\b`), " <DUR>"},
	{regexp.MustCompile(`\b\d+d \d+h\b`), "<DAYS>"},
	{regexp.MustCompile(`expires in \d+ days`), "expires in <N> days"},
	{regexp.MustCompile(` {2,}`), "  "}, // column widths follow the masked values
}

func maskVolatile(s string) string {
	for _, m := range masks {
		s = m.re.ReplaceAllString(s, m.repl)
	}
	return s
}

func TestDemo(t *testing.T) {
	t.Parallel()
	got := runCLI(t, "", nil, "demo")
	if got.code != exitOK {
		t.Fatalf("demo exit code %d, want 0\nstdout:\n%s\nstderr:\n%s", got.code, got.stdout, got.stderr)
	}
	if got.stderr != "" {
		t.Errorf("demo wrote on stderr without -v:\n%s", got.stderr)
	}
	golden(t, "demo.txt", maskVolatile(got.stdout))
}

func TestDemoJSON(t *testing.T) {
	t.Parallel()
	got := runCLI(t, "", nil, "demo", "--json", "--contact-centers", "2", "--strategy", "replace")
	if got.code != exitOK {
		t.Fatalf("demo --json exit code %d, want 0\nstdout:\n%s\nstderr:\n%s", got.code, got.stdout, got.stderr)
	}
	if strings.Count(got.stdout, "\n") != 1 {
		t.Errorf("demo --json printed more than the report:\n%s", got.stdout)
	}
	var rep struct {
		Outcome, Strategy string
		ContactCenters    []struct{ Verified bool } `json:"contact_centers"`
	}
	if err := json.Unmarshal([]byte(got.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Outcome != "applied" || rep.Strategy != "replace" || len(rep.ContactCenters) != 2 {
		t.Errorf("report: outcome %q strategy %q, %d contact centers; want applied, replace, 2", rep.Outcome, rep.Strategy, len(rep.ContactCenters))
	}
	for i, cc := range rep.ContactCenters {
		if !cc.Verified {
			t.Errorf("contact center %d not verified", i)
		}
	}
}
