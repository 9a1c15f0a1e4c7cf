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
	cmd    *exec.Cmd
	info   simInfo
	stderr *syncBuffer
	done   chan error
}

// startSimProcess starts "rotate sim args..." and reads its JSON line.
func startSimProcess(t *testing.T, args ...string) *simProcess {
	t.Helper()
	cmd := exec.Command(rotateBinary(t), append([]string{"sim"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &simProcess{cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
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
