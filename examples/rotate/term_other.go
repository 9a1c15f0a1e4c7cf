//go:build !linux && !darwin

package main

import "io"

// isTerminal reports false where the CLI cannot tell a terminal: apply then
// needs --yes.
func isTerminal(io.Reader) bool { return false }
