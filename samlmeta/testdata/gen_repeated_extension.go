//go:build ignore

// gen_repeated_extension writes repeated-extension.pem: a self-signed certificate
// whose basicConstraints extension appears twice, which IAM refuses ("no repeated
// extensions") and crypto/x509 refuses to parse. crypto/x509 still creates one when
// the repeat comes through ExtraExtensions. The key is the first 2048-bit key of
// internal/keypool, so the file is reproducible up to the signature date.
//
//	go run ./samlmeta/testdata/gen_repeated_extension.go > samlmeta/testdata/repeated-extension.pem
package main

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"log"
	"math/big"
	"os"
	"time"

	"github.com/voicecert/voicecert/internal/keypool"
)

func main() {
	var pool keypool.Pool
	key, err := pool.Key(2048)
	if err != nil {
		log.Fatal(err)
	}
	basicConstraints := pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: true, Value: []byte{0x30, 0x00}}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tmpl := &x509.Certificate{
		SerialNumber:    big.NewInt(2026),
		Subject:         pkix.Name{CommonName: "voicecert test: repeated extension"},
		NotBefore:       start,
		NotAfter:        start.AddDate(100, 0, 0),
		ExtraExtensions: []pkix.Extension{basicConstraints, basicConstraints},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := x509.ParseCertificate(der); err == nil {
		log.Fatal("crypto/x509 parsed the certificate: the extension is not repeated")
	}
	pem.Encode(os.Stdout, &pem.Block{Type: "CERTIFICATE", Bytes: der})
}
