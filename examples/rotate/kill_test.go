package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voicecert/voicecert/salesforce"
)

// killRounds is how many times TestApplyKilledConverges kills apply part-way.
const killRounds = 20

// fullRotationWrites is the number of writes an overlap rotation of one org with
// 5 contact centers on one provider makes: create the certificate, add it to
// AWS, switch the IdP setting, switch 5 connected apps, remove the old
// certificate from AWS. The test checks it against a real run.
const fullRotationWrites = 9

// TestApplyKilledConverges kills "rotate apply" with SIGKILL once the request
// log shows k writes, for k from 0 to a full rotation's writes, then runs it
// again: it must converge to one new certificate and working SSO.
func TestApplyKilledConverges(t *testing.T) {
	if testing.Short() {
		t.Skip("20 rotations against subprocesses; skipped with -short")
	}
	t.Parallel()
	rotateBinary(t) // build once, before the rounds start
	var wg sync.WaitGroup
	for round := range killRounds {
		k := round % (fullRotationWrites + 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := killRound(t, k); err != nil {
				t.Errorf("round %d (kill after %d writes): %v", round, k, err)
			}
		}()
	}
	wg.Wait()
}

func killRound(t *testing.T, k int) error {
	logPath := filepath.Join(t.TempDir(), "requests.jsonl")
	sim := startSimProcess(t, "--contact-centers", "5", "--latency", "50ms", "--assertion-lifetime", "1s", "--request-log", logPath)
	env := sim.environ()

	cmd := exec.Command(rotateBinary(t), "apply", "--yes", "--propagation-wait", "0")
	cmd.Env, cmd.Stdout, cmd.Stderr = env, io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	killed := false
	for !killed {
		if countWrites(logPath) >= k {
			cmd.Process.Kill()
			killed = true
			break
		}
		select {
		case err := <-exited:
			exited <- err
			killed = true
			if k < fullRotationWrites {
				return fmt.Errorf("apply exited (%v) before the log showed %d writes", err, k)
			}
		case <-time.After(5 * time.Millisecond):
		}
	}
	<-exited
	afterKill := countWrites(logPath)
	t.Logf("kill after %d writes: %d writes made before apply stopped", k, afterKill)

	got := runBinary(t, env, "apply", "--yes", "--propagation-wait", "0")
	if got.code != exitOK {
		return fmt.Errorf("apply after the kill (at %d writes): exit %d\nstdout:\n%s\nstderr:\n%s", afterKill, got.code, got.stdout, got.stderr)
	}
	if k == fullRotationWrites && afterKill != fullRotationWrites {
		return fmt.Errorf("a full rotation made %d writes, want %d", afterKill, fullRotationWrites)
	}
	if got := runBinary(t, env, "verify"); got.code != exitOK {
		return fmt.Errorf("verify: exit %d\n%s%s", got.code, got.stdout, got.stderr)
	}
	got = runBinary(t, env, "status", "--json")
	var rep struct {
		ContactCenters []struct {
			Name           string
			Verified       bool
			OldCertificate struct{ Name string } `json:"old_certificate"`
		} `json:"contact_centers"`
	}
	if err := json.Unmarshal([]byte(got.stdout), &rep); err != nil || got.code != exitOK {
		return fmt.Errorf("status after convergence: exit %d, %v\n%s%s", got.code, err, got.stdout, got.stderr)
	}
	signers := map[string]bool{}
	for _, cc := range rep.ContactCenters {
		signers[cc.OldCertificate.Name] = true
		if !cc.Verified {
			return fmt.Errorf("%s: SSO not verified after convergence", cc.Name)
		}
	}
	if len(signers) != 1 {
		return fmt.Errorf("contact centers sign with %v, want one certificate", signers)
	}
	// Exactly one certificate was created, whatever the kill interrupted.
	sf, err := salesforce.New(salesforce.Config{Auth: salesforce.StaticToken{
		AccessToken: sim.info.Salesforce.AccessToken, InstanceURL: sim.info.Salesforce.InstanceURL}})
	if err != nil {
		return err
	}
	certs, err := sf.ListCertificates(t.Context())
	if err != nil {
		return err
	}
	var created []string
	for _, c := range certs {
		if strings.HasPrefix(c.DeveloperName, "VoiceCert_") {
			created = append(created, c.DeveloperName)
		}
	}
	if len(created) != 1 || !signers[created[0]] {
		return fmt.Errorf("created certificates %v, want exactly one, the one every contact center signs with (%v)", created, signers)
	}
	return nil
}

// countWrites counts the writes in a request log, 0 while it does not exist.
func countWrites(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return strings.Count(string(data), `"write":true`)
}
