package samlmeta

import (
	"crypto/x509"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	data := fixtureMetadata(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	data := fixtureMetadata(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Check(data, CheckOptions{Now: fixtureTime}).Err(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyResponse verifies the Salesforce fixture: two RSA-SHA1
// signatures, the Response and its Assertion.
func BenchmarkVerifyResponse(b *testing.B) {
	data := fixtureResponse(b)
	opts := VerifyOptions{Trusted: []*x509.Certificate{fixtureCert(b).X509}, Now: fixtureTime}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyResponse(data, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignResponse(b *testing.B) {
	data := unsignedResponse(b)
	c := newTestCert(b, 2048, "bench", fixtureTime, 24*3600e9)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SignResponse(data, c.key, c.cert, RSASHA256); err != nil {
			b.Fatal(err)
		}
	}
}
