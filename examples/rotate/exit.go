package main

import (
	"errors"
	"fmt"
	"strings"
)

// The exit codes of every subcommand (DESIGN §8). This table is the only place
// that gives them meaning.
const (
	// exitOK: done. Nothing to do (even without --yes), applied and verified,
	// healthy, verified, or inspected without error findings.
	exitOK = 0
	// exitFailed: an error, a failed verification, error findings or an
	// unreadable file, an observed signer that differs from the configured one.
	exitFailed = 1
	// exitAttention: plan has changes pending; status finds a rotation due or SSO
	// broken.
	exitAttention = 2
	// exitRefused: refused before any write: changes pending but no --yes off a
	// terminal, consent missing, bad flags or input.
	exitRefused = 3
	// exitRolledBack: apply failed verification and restored the previous state.
	exitRolledBack = 4
)

// exitError is an error that ends the command with a given exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// refused returns an error that exits with exitRefused: bad flags or input, or a
// write refused before it started.
func refused(format string, args ...any) error {
	return &exitError{code: exitRefused, err: fmt.Errorf(format, args...)}
}

// failed returns an error that exits with exitFailed.
func failed(format string, args ...any) error {
	return &exitError{code: exitFailed, err: fmt.Errorf(format, args...)}
}

// withCode gives err the exit code code, unless err is nil.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// exitCode returns the exit code err asks for: exitFailed for an error without
// one, exitOK for nil.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	if e, ok := errors.AsType[*exitError](err); ok {
		return e.code
	}
	return exitFailed
}

// oneLine folds err's message onto one line, so that every error the CLI prints
// is a single line on stderr, even a joined one.
func oneLine(err error) string { return foldLines(err.Error()) }

// foldLines joins the non-blank lines of s with "; ".
func foldLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	out := lines[:0]
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "; ")
}
