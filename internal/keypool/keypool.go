// Package keypool hands out pre-generated RSA keys so that tests, the fakes and the
// demo never wait for key generation (a 4096-bit key takes seconds on a small machine).
//
// The keys under keys/ were generated with openssl for this repository. They are
// public: never use them for anything but tests and the fakes.
package keypool

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"embed"
	"encoding/pem"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
)

//go:embed keys/*.pem
var files embed.FS

// embedded holds the parsed keys by size. It is filled once and never changed, so it
// is safe to share.
var embedded = sync.OnceValues(func() (map[int][]*rsa.PrivateKey, error) {
	entries, err := files.ReadDir("keys")
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	out := make(map[int][]*rsa.PrivateKey)
	for _, name := range names {
		data, err := files.ReadFile(path.Join("keys", name))
		if err != nil {
			return nil, err
		}
		block, _ := pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("keypool: %s: no PEM block", name)
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			// Go refuses keys under 1024 bits; none are stored here.
			return nil, fmt.Errorf("keypool: %s: %w", name, err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok || !strings.HasPrefix(name, "rsa") {
			return nil, fmt.Errorf("keypool: %s: not an RSA key", name)
		}
		bits := rk.N.BitLen()
		out[bits] = append(out[bits], rk)
	}
	return out, nil
})

// Pool hands out distinct keys: each call to Key returns a key that this Pool has not
// returned before, first from the embedded set, then freshly generated. The zero
// value is ready to use. A Pool is safe for concurrent use.
//
// Distinct keys matter: two certificates of one org must never share a key, or a
// signature check could not tell them apart.
type Pool struct {
	mu   sync.Mutex
	used map[int]int
	// Offset shifts where this pool starts in the embedded set, so that two pools
	// (say, two fake orgs) hand out different keys. Set it before the first call.
	Offset int
}

// Key returns an RSA key of the given size (1024, 2048 or 4096 bits are embedded;
// other sizes are generated).
func (p *Pool) Key(bits int) (*rsa.PrivateKey, error) {
	keys, err := embedded()
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.used == nil {
		p.used = make(map[int]int)
	}
	n := p.used[bits]
	p.used[bits] = n + 1
	p.mu.Unlock()
	set := keys[bits]
	if n < len(set) {
		return set[(n+p.Offset)%len(set)], nil
	}
	return rsa.GenerateKey(rand.Reader, bits)
}

// MustKey is Key for tests and fixed setups: it panics on error.
func (p *Pool) MustKey(bits int) *rsa.PrivateKey {
	k, err := p.Key(bits)
	if err != nil {
		panic(err)
	}
	return k
}
