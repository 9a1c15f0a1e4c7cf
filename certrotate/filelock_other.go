//go:build !unix

package certrotate

import (
	"errors"
	"os"
)

func tryLock(f *os.File) (bool, error) {
	return false, errors.New("file locks are not supported on this system; use another Locker")
}

func unlock(f *os.File) {}
