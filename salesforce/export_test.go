package salesforce

import (
	"io"
	"log/slog"
)

// Hooks for the external tests (package salesforce_test) into the suite-wide
// secret scan of TestMain.

// SuiteLogger returns a logger whose lines the secret scan reads.
func SuiteLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(io.Writer(suite), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// NoteError gives an error string to the secret scan.
func NoteError(err error) { suite.err(err) }

// NoteSecret adds a value that must appear in no log line and no error.
func NoteSecret(s string) { suite.secret(s) }
