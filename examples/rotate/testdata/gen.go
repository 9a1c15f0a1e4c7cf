//go:build ignore

// gen writes the metadata documents the inspect tests read. The certificates are
// self-signed with keys of internal/keypool, valid from 2026 for a century, so the
// files and the golden outputs stay stable.
//
//	cd examples/rotate/testdata && go run gen.go
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"log"
	"math/big"
	"os"
	"strings"
	"time"

	"github.com/voicecert/voicecert/internal/keypool"
)

const entityID = "https://voicecert-example.my.salesforce.com"

func main() {
	var pool keypool.Pool
	cert := func(bits int, serial int64, cn string) string {
		key, err := pool.Key(bits)
		if err != nil {
			log.Fatal(err)
		}
		return selfSigned(key, serial, cn)
	}
	c2048 := cert(2048, 1, "VoiceCert_20260101")
	c4096 := cert(4096, 2, "VoiceCert_20260601")
	c1024 := cert(1024, 3, "SelfSignedCert_weak")

	write("two-certs.xml", metadata(keyDescriptor("signing", c2048)+keyDescriptor("signing", c4096)))
	write("weak-key.xml", metadata(keyDescriptor("", c1024)))
	write("no-signing.xml", metadata(keyDescriptor("encryption", c2048)))
	write("bom.xml", "\uFEFF"+metadata(keyDescriptor("signing", c2048)))
	good := metadata(keyDescriptor("signing", c2048))
	write("truncated.xml", good[:len(good)/2])
	write("xxe.xml", `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE md:EntityDescriptor [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&xxe;">
`+strings.TrimPrefix(good, header+`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="`+entityID+`">
`))
	var laughs strings.Builder
	laughs.WriteString("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n  <!ENTITY lol \"lol\">\n")
	prev := "lol"
	for i := 1; i <= 9; i++ {
		name := fmt.Sprintf("lol%d", i)
		fmt.Fprintf(&laughs, "  <!ENTITY %s \"%s\">\n", name, strings.Repeat("&"+prev+";", 10))
		prev = name
	}
	laughs.WriteString("]>\n<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"&lol9;\"/>\n")
	write("billion-laughs.xml", laughs.String())
	write("not-metadata.xml", "<html><body>Sign in to continue</body></html>\n")
}

const header = `<?xml version="1.0" encoding="UTF-8"?>
`

func metadata(keys string) string {
	return header + `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="` + entityID + `">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
` + keys + `    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="` + entityID + `/idp/endpoint/HttpPost"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="` + entityID + `/idp/endpoint/HttpRedirect"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
`
}

func keyDescriptor(use, b64 string) string {
	attr := ""
	if use != "" {
		attr = ` use="` + use + `"`
	}
	return `    <md:KeyDescriptor` + attr + `>
      <ds:KeyInfo>
        <ds:X509Data>
          <ds:X509Certificate>` + b64 + `</ds:X509Certificate>
        </ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
`
}

func selfSigned(key *rsa.PrivateKey, serial int64, cn string) string {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"voicecert test"}},
		NotBefore:    start,
		NotAfter:     start.AddDate(100, 0, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func write(name, data string) {
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		log.Fatal(err)
	}
}
