package certrotate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicecert/voicecert/salesforce"
)

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	c := Config{
		RenewBefore: -time.Hour, KeySize: 1024, Strategy: "yolo", VerifyDeadline: -1,
		VerifyInterval: -1, Concurrency: -2, CertificatePrefix: "9bad__",
	}
	err := c.validate()
	if err == nil {
		t.Fatal("validate accepted a bad Config")
	}
	var got []string
	for line := range strings.SplitSeq(err.Error(), "\n") {
		got = append(got, line)
	}
	want := []string{
		"certrotate: Config.Orgs is empty; give at least one salesforce.Client",
		"certrotate: Config.AWS is nil; give a function returning the IAM and STS clients of an account",
		"certrotate: RenewBefore -1h0m0s is negative; use a positive window or zero for 30 days",
		"certrotate: KeySize 1024 is not supported; use 2048 or 4096",
		`certrotate: unknown Strategy "yolo"; use "overlap" or "replace"`,
		"certrotate: VerifyDeadline -1ns is negative",
		"certrotate: VerifyInterval -1ns is negative",
		"certrotate: Concurrency -2 is negative",
		`certrotate: CertificatePrefix "9bad__" is not a valid DeveloperName start; use a letter, then letters, digits or single underscores`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	c := Config{Orgs: []*salesforce.Client{{}}, AWS: func(context.Context, string, string) (*AWSClients, error) { return nil, nil }}
	if err := c.validate(); err != nil {
		t.Fatalf("zero Config: %v", err)
	}
	got := []any{c.renewBefore(), c.keySize(), c.strategy(), c.verifyDeadline(), c.prefix(), c.concurrency(),
		c.pruneGrace(0), c.pruneGrace(3 * time.Minute)}
	want := []any{30 * 24 * time.Hour, 4096, StrategyOverlap, 2 * time.Minute, "VoiceCert_", 4,
		5 * time.Minute, 3 * time.Minute}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	c.PruneGrace = -1
	if g := c.pruneGrace(3 * time.Minute); g != 0 {
		t.Errorf("negative PruneGrace gives %v, want 0", g)
	}
	c.PruneGrace = time.Minute
	if g := c.pruneGrace(3 * time.Minute); g != time.Minute {
		t.Errorf("PruneGrace 1m gives %v", g)
	}
}
