package certrotate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrLocked is returned by [FileLocker.Lock] when another run holds the lock and
// the locker does not wait.
var ErrLocked = errors.New("certrotate: another run holds the lock")

// FileLocker is a [Locker] for runs on one machine: each name is an advisory
// lock (flock) on a file in Dir, released when the run unlocks or its process
// ends, so a crash never leaves a stale lock. It is not supported on Windows.
type FileLocker struct {
	// Dir holds the lock files. Required; it is created when missing.
	Dir string
	// Wait makes Lock wait for the lock until ctx is done. False: Lock returns
	// ErrLocked at once when the lock is held.
	Wait bool
	// Sleep pauses between attempts while waiting. Nil means a real timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// lockPoll is the pause between two attempts of a waiting FileLocker.
const lockPoll = 100 * time.Millisecond

// Lock takes the lock named name (see [Locker]).
func (l *FileLocker) Lock(ctx context.Context, name string) (func(), error) {
	if l.Dir == "" {
		return nil, errors.New("certrotate: FileLocker.Dir is empty; give a directory for the lock files")
	}
	if err := os.MkdirAll(l.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("certrotate: lock directory: %w", err)
	}
	path := filepath.Join(l.Dir, lockFileName(name))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("certrotate: lock %s: %w", name, err)
	}
	for {
		held, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("certrotate: lock %s: %w", name, err)
		}
		if held {
			return func() { unlock(f); f.Close() }, nil
		}
		if !l.Wait {
			f.Close()
			return nil, fmt.Errorf("%w: %s (lock file %s)", ErrLocked, name, path)
		}
		if err := l.sleep(ctx, lockPoll); err != nil {
			f.Close()
			return nil, fmt.Errorf("certrotate: waiting for lock %s: %w", name, err)
		}
	}
}

func (l *FileLocker) sleep(ctx context.Context, d time.Duration) error {
	c := Config{Sleep: l.Sleep}
	return c.sleep(ctx, d)
}

// lockFileName maps a lock name (an org or a provider ARN) to a file name.
func lockFileName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		}
		return '_'
	}, name) + ".lock"
}
