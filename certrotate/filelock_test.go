//go:build unix

package certrotate

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/voicecert/voicecert/internal/fakeclock"
)

func TestFileLocker(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := &FileLocker{Dir: dir}
	unlockA, err := a.Lock(t.Context(), "salesforce/00D000000000001EAA")
	if err != nil {
		t.Fatal(err)
	}
	// A second run refuses...
	if _, err := a.Lock(t.Context(), "salesforce/00D000000000001EAA"); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Lock = %v, want ErrLocked", err)
	}
	// ...or waits until the context ends.
	clock := fakeclock.New(t0)
	ctx, cancel := context.WithCancel(t.Context())
	waiter := &FileLocker{Dir: dir, Wait: true, Sleep: func(ctx context.Context, d time.Duration) error {
		if clock.Now().Sub(t0) >= time.Second {
			cancel()
		}
		return clock.Sleep(ctx, d)
	}}
	if _, err := waiter.Lock(ctx, "salesforce/00D000000000001EAA"); !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting Lock = %v, want context.Canceled", err)
	}
	// Another name is free.
	unlockB, err := a.Lock(t.Context(), "aws/arn:aws:iam::111122223333:saml-provider/P")
	if err != nil {
		t.Fatal(err)
	}
	unlockB()
	// Once released, the lock can be taken again.
	unlockA()
	unlock, err := waiter.Lock(t.Context(), "salesforce/00D000000000001EAA")
	if err != nil {
		t.Fatalf("Lock after release: %v", err)
	}
	unlock()
}
