package keypool

import "testing"

func TestPoolHandsOutDistinctKeys(t *testing.T) {
	t.Parallel()
	var p Pool
	seen := map[string]bool{}
	for _, bits := range []int{1024, 2048, 2048, 4096, 4096} {
		k, err := p.Key(bits)
		if err != nil {
			t.Fatal(err)
		}
		if got := k.N.BitLen(); got != bits {
			t.Fatalf("Key(%d) returned a %d-bit key", bits, got)
		}
		id := k.N.String()
		if seen[id] {
			t.Fatalf("Key(%d) returned a key twice", bits)
		}
		seen[id] = true
	}
}

func TestPoolsWithOffsetsDiffer(t *testing.T) {
	t.Parallel()
	a, b := Pool{}, Pool{Offset: 1}
	if a.MustKey(2048).N.Cmp(b.MustKey(2048).N) == 0 {
		t.Fatal("pools with different offsets returned the same first key")
	}
}
