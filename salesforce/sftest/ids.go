package sftest

import (
	"fmt"
	"strings"
)

// Key prefixes of the Salesforce record IDs the fake hands out.
const (
	prefixOrg          = "00D"
	prefixUser         = "005"
	prefixCertificate  = "0P1"
	prefixConnectedApp = "0H4" // ConnectedApplication, reqConnectedAppId
	prefixSAMLSP       = "0sp" // the SAML service provider of /idp/login?app=
	prefixCallCenter   = "04v"
	prefixDeploy       = "0Af"
	prefixQueryCursor  = "01g"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// makeID returns an 18-character Salesforce ID: the 3-character key prefix, a pod
// marker, a counter in base 62, and the 3-character case-safe suffix Salesforce
// appends to 15-character IDs.
func makeID(prefix string, org, n int) string {
	var digits [7]byte
	for i := len(digits) - 1; i >= 0; i-- {
		digits[i] = base62[n%62]
		n /= 62
	}
	id15 := prefix + "5g" + fmt.Sprintf("%03d", org%1000) + string(digits[:])
	return id15 + idSuffix(id15)
}

// idSuffix computes the case-safe suffix of a 15-character ID: for each block of 5
// characters, a bit per uppercase letter, mapped onto A–Z0–5.
func idSuffix(id15 string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	var b strings.Builder
	for block := 0; block < 3; block++ {
		v := 0
		for i := 0; i < 5; i++ {
			c := id15[block*5+i]
			if c >= 'A' && c <= 'Z' {
				v |= 1 << i
			}
		}
		b.WriteByte(alphabet[v])
	}
	return b.String()
}

// id15 returns the 15-character form of an ID, as Salesforce puts in certificate
// subjects and SAML attributes.
func id15(id string) string {
	if len(id) > 15 {
		return id[:15]
	}
	return id
}

// sameID compares IDs in their 15- or 18-character forms.
func sameID(a, b string) bool {
	if len(a) < 15 || len(b) < 15 {
		return false
	}
	if a[:15] != b[:15] {
		return false
	}
	if len(a) == 18 && len(b) == 18 {
		return strings.EqualFold(a[15:], b[15:])
	}
	return true
}
