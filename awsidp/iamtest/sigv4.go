package iamtest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// authenticate verifies a request's Signature Version 4 Authorization header in
// full: the access key must be one the server knows (one account per key, or
// temporary credentials it issued, with their session token, unexpired), the
// credential scope must name the service that owns the Action, and the signature is
// recomputed with the key's secret over the canonical request (method, path, query,
// signed headers, SHA-256 of the body as received) and compared.
//
// Not checked: the request time against the server clock (AWS allows 15 minutes).
// The SDKs sign with the wall clock and tests run the fake on a fake clock, so the
// two legitimately disagree. The region in the scope is not checked either (IAM is
// global; the SDKs sign it with whatever region the client has).
//
// An anonymous operation (AssumeRoleWithSAML) accepts an unsigned request and
// returns a nil credential; a signed one is verified like any other.
//
// The caller holds s.mu. The error codes and messages are AWS's common ones [I:
// from AWS's common-errors pages as recalled; aws-wire.md does not cover them].
func (s *Server) authenticate(r *http.Request, body []byte, op operation, now time.Time) (*credential, *apiError) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		if op.anonymous {
			return nil, nil
		}
		return nil, newError("MissingAuthenticationToken", "Request is missing Authentication Token")
	}
	const algorithm = "AWS4-HMAC-SHA256"
	rest, ok := strings.CutPrefix(auth, algorithm+" ")
	if !ok {
		return nil, newError("IncompleteSignature", "Authorization header must use the "+algorithm+" algorithm.")
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	credentialField, signedHeaders, signature := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	if credentialField == "" || signedHeaders == "" || signature == "" {
		return nil, newError("IncompleteSignature", "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.")
	}
	scopeParts := strings.Split(credentialField, "/")
	if len(scopeParts) != 5 || scopeParts[4] != "aws4_request" {
		return nil, newError("IncompleteSignature", "Credential must have the form <key>/<date>/<region>/<service>/aws4_request.")
	}
	keyID, date, region, service := scopeParts[0], scopeParts[1], scopeParts[2], scopeParts[3]
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" || !strings.HasPrefix(amzDate, date) {
		return nil, newError("IncompleteSignature", "Request must contain an X-Amz-Date header matching the credential scope date.")
	}

	cred := s.creds[keyID]
	if cred == nil {
		return nil, newError("InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	if cred.sessionToken != "" {
		if !hmac.Equal([]byte(r.Header.Get("X-Amz-Security-Token")), []byte(cred.sessionToken)) {
			return nil, newError("InvalidClientTokenId", "The security token included in the request is invalid.")
		}
		if !now.Before(cred.expires) {
			return nil, newError("ExpiredToken", "The security token included in the request is expired")
		}
	}
	if service != op.service {
		return nil, newError("SignatureDoesNotMatch", fmt.Sprintf("Credential should be scoped to correct service: '%s'. ", op.service))
	}

	canonical := canonicalRequest(r, body, strings.Split(signedHeaders, ";"))
	scope := strings.Join([]string{date, region, service, "aws4_request"}, "/")
	sum := sha256.Sum256([]byte(canonical))
	stringToSign := strings.Join([]string{algorithm, amzDate, scope, hex.EncodeToString(sum[:])}, "\n")
	key := hmacSHA256([]byte("AWS4"+cred.secret), date)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(key, stringToSign))
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return nil, newError("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return cred, nil
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// canonicalRequest builds the SigV4 canonical request. Go's server moves Host and
// Content-Length out of the header map, so they are read from the request itself.
func canonicalRequest(r *http.Request, body []byte, signed []string) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	b.WriteString(path + "\n")
	b.WriteString(canonicalQuery(r.URL.Query()) + "\n")
	for _, name := range signed {
		var value string
		switch name {
		case "host":
			value = r.Host
		case "content-length":
			value = strconv.FormatInt(r.ContentLength, 10)
		default:
			vals := r.Header.Values(name)
			for i := range vals {
				vals[i] = trimAll(vals[i])
			}
			value = strings.Join(vals, ",")
		}
		b.WriteString(name + ":" + value + "\n")
	}
	b.WriteString("\n" + strings.Join(signed, ";") + "\n")
	// The payload hash is computed from the body received, never taken from an
	// X-Amz-Content-Sha256 header: a header would let a body changed after signing
	// pass (IAM and STS hash the body themselves).
	sum := sha256.Sum256(body)
	b.WriteString(hex.EncodeToString(sum[:]))
	return b.String()
}

// canonicalQuery encodes q sorted by key then value, with RFC 3986 escaping.
func canonicalQuery(q url.Values) string {
	var pairs []string
	for _, k := range sortedKeys(q) {
		vals := append([]string(nil), q[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			pairs = append(pairs, uriEncode(k)+"="+uriEncode(v))
		}
	}
	return strings.Join(pairs, "&")
}

func uriEncode(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}
