package iamtest

import (
	"bytes"
	"testing"
)

// TestDocumentLength tests the upper limit below the HTTP layer: a 10 MB form
// through the SDK takes many seconds under -race. The 999-character case of
// TestMetadataRules shows the same check through the real SDK.
func TestDocumentLength(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		doc    []byte
		reject bool
	}{
		{"999 characters", bytes.Repeat([]byte("x"), 999), true},
		{"1,000 characters", bytes.Repeat([]byte("x"), 1000), false},
		{"1,000 two-byte characters", bytes.Repeat([]byte("é"), 1000), false},
		{"999 two-byte characters (1,998 bytes)", bytes.Repeat([]byte("é"), 999), true},
		{"10,000,000 two-byte characters (20 MB)", bytes.Repeat([]byte("é"), 10_000_000), false},
		{"10,000,001 characters", bytes.Repeat([]byte("x"), 10_000_001), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := checkDocumentLength(tt.doc)
			if got := e != nil; got != tt.reject {
				t.Errorf("checkDocumentLength rejects = %v (%v), want %v", got, e, tt.reject)
			}
			if e != nil && (e.Code != "InvalidInput" || e.Status != 400) {
				t.Errorf("error = %s %d, want InvalidInput 400", e.Code, e.Status)
			}
		})
	}
}
