package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The binary the end-to-end tests run, built once per test process.
var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
	binaryDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binaryDir != "" {
		os.RemoveAll(binaryDir)
	}
	os.Exit(code)
}

// rotateBinary builds examples/rotate once and returns its path.
func rotateBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		binaryDir, binaryErr = os.MkdirTemp("", "rotate-e2e-")
		if binaryErr != nil {
			return
		}
		binaryPath = filepath.Join(binaryDir, "rotate")
		out, err := exec.Command("go", "build", "-o", binaryPath, ".").CombinedOutput()
		if err != nil {
			binaryErr = err
			binaryPath = string(out)
		}
	})
	if binaryErr != nil {
		t.Fatalf("go build: %v\n%s", binaryErr, binaryPath)
	}
	return binaryPath
}

// simProcess is "rotate sim" running as a subprocess.
type simProcess struct {
	cmd     *exec.Cmd
	info    simInfo
	stderr  *syncBuffer
	done    chan error
	lockDir string // VOICECERT_LOCK_DIR of the runs against it
}

// startSimProcess starts "rotate sim args..." and reads its JSON line.
func startSimProcess(t *testing.T, args ...string) *simProcess {
	t.Helper()
	cmd := exec.Command(rotateBinary(t), append([]string{"sim"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &simProcess{cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1), lockDir: t.TempDir()}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		t.Fatalf("sim printed no line: %v\nstderr:\n%s", err, p.stderr.String())
	}
	if err := json.Unmarshal(line, &p.info); err != nil {
		t.Fatalf("sim line: %v\n%s", err, line)
	}
	return p
}

// stop sends sig and waits for the process to exit.
func (p *simProcess) stop(t *testing.T, sig os.Signal) error {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("sim did not exit within 30 s of %v", sig)
		return nil
	}
}

// environ returns the process environment with the sim's env exported.
func (p *simProcess) environ(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "SF_") || strings.HasPrefix(k, "AWS_") {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range p.info.Env {
		env = append(env, k+"="+v)
	}
	env = append(env, "VOICECERT_LOCK_DIR="+p.lockDir)
	return append(env, extra...)
}

func TestSimProcessStopsCleanly(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			p := startSimProcess(t, "--contact-centers", "1")
			keyDir := filepath.Dir(p.info.Salesforce.JWTKeyFile)
			if _, err := os.Stat(p.info.Salesforce.JWTKeyFile); err != nil {
				t.Fatalf("JWT key file: %v", err)
			}
			if err := p.stop(t, sig); err != nil {
				t.Errorf("sim exited with %v after %v, want status 0; stderr:\n%s", err, sig, p.stderr.String())
			}
			if _, err := os.Stat(keyDir); !os.IsNotExist(err) {
				t.Errorf("temporary directory %s left behind: %v", keyDir, err)
			}
			if bytes.Contains([]byte(p.stderr.String()), []byte(p.info.Salesforce.AccessToken)) {
				t.Error("sim printed its access token on stderr")
			}
		})
	}
}

// runBinary runs the built CLI with env and args, stdin not a terminal.
func runBinary(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(rotateBinary(t), args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader("")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running rotate %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// writesIn counts the write requests in a request log.
func writesIn(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var r struct{ Write bool }
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("request log line %q: %v", line, err)
		}
		if r.Write {
			n++
		}
	}
	return n
}

func TestEndToEnd(t *testing.T) {
	t.Parallel()
	logPath := filepath.Join(t.TempDir(), "requests.jsonl")
	sim := startSimProcess(t, "--assertion-lifetime", "1s", "--request-log", logPath)
	env := sim.environ()
	backups := t.TempDir()

	step := func(name string, wantCode int, args ...string) result {
		t.Helper()
		got := runBinary(t, env, args...)
		if got.code != wantCode {
			t.Fatalf("%s: exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", name, got.code, wantCode, got.stdout, got.stderr)
		}
		for _, secret := range []string{sim.info.Salesforce.AccessToken, sim.info.AWS.SecretAccessKey} {
			if strings.Contains(got.stdout+got.stderr, secret) {
				t.Errorf("%s printed a secret", name)
			}
		}
		return got
	}

	step("status", exitAttention, "status")
	step("plan", exitAttention, "plan")
	before := writesIn(t, logPath)
	got := step("apply without --yes off a terminal", exitRefused, "apply")
	assertOneLineError(t, got.stderr, "--yes", "nothing was written")
	if n := writesIn(t, logPath) - before; n != 0 {
		t.Fatalf("apply without --yes made %d writes", n)
	}

	got = step("apply --yes --json", exitOK, "apply", "--yes", "--json", "--backup-dir", backups, "--propagation-wait", "0")
	var rep struct {
		Outcome        string
		ContactCenters []struct {
			Name     string
			Verified bool
		} `json:"contact_centers"`
	}
	if err := json.Unmarshal([]byte(got.stdout), &rep); err != nil {
		t.Fatalf("apply --json: %v\n%s", err, got.stdout)
	}
	if rep.Outcome != "applied" || len(rep.ContactCenters) != len(sim.info.ContactCenters) {
		t.Errorf("apply report: outcome %q with %d contact centers, want applied with %d", rep.Outcome, len(rep.ContactCenters), len(sim.info.ContactCenters))
	}
	for _, cc := range rep.ContactCenters {
		if !cc.Verified {
			t.Errorf("contact center %s not verified after apply", cc.Name)
		}
	}
	if files, _ := filepath.Glob(filepath.Join(backups, "*.xml")); len(files) != 1 {
		t.Errorf("backup dir holds %v, want the provider's previous document", files)
	}

	step("plan after apply", exitOK, "plan")
	before = writesIn(t, logPath)
	step("apply again", exitOK, "apply", "--propagation-wait", "0")
	if n := writesIn(t, logPath) - before; n != 0 {
		t.Errorf("a second apply made %d writes, want 0", n)
	}
	step("verify", exitOK, "verify")
	step("status after apply", exitOK, "status")
}
