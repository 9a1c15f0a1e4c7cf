// Package salesforce is the Salesforce client for every call of a certificate
// rotation: OAuth (JWT bearer, client credentials, or a given token), REST and
// Tooling SOQL queries, the Metadata SOAP API (readMetadata, updateMetadata,
// listMetadata, deploy, checkDeployStatus, retrieve), the org's IdP metadata and the
// IdP-initiated SSO probe.
//
// A [Client] is built from a [Config] whose zero values are documented; every call
// takes a context first. Answers that are not a success become one [*Error] type
// with Salesforce's code and message, matched by sentinels such as [ErrNotFound] and
// [ErrInvalidSession] with errors.Is. A refused session is renewed once and the call
// sent once more, never in a loop. Calls that change nothing are retried with backoff
// and jitter on REQUEST_LIMIT_EXCEEDED, HTTP 502/503/504 and broken connections; a
// write is sent again only when a fresh read shows it did not take effect.
//
// Nothing secret (access tokens, JWT assertions, client secrets, keys, cookies,
// SAMLResponses) appears in an error, a log line or a String method.
//
// The operations are one file each: certificates.go, identityprovider.go,
// connectedapps.go, callcenters.go, idpmetadata.go and sso.go; the SOAP layer is in
// soap.go, authentication in auth.go and error mapping in errors.go.
//
// A fake org to test against is in package sftest.
package salesforce
