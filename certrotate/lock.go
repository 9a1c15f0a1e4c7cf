package certrotate

import "context"

// Locker guards a named resource against two runs changing it at once: an org
// ("salesforce/" + org ID) or an IAM SAML provider ("aws/" + ARN).
//
// Lock blocks until it holds the lock named name, or returns ctx's error, or an
// error saying the lock is held elsewhere when it chooses not to wait. The returned
// unlock releases it and is called exactly once. A Locker must be safe for
// concurrent use.
type Locker interface {
	Lock(ctx context.Context, name string) (unlock func(), err error)
}

// NopLocker is the default [Locker]: it locks nothing, for a single run at a time.
type NopLocker struct{}

// Lock returns at once with an unlock that does nothing, or ctx's error.
func (NopLocker) Lock(ctx context.Context, name string) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return func() {}, nil
}
