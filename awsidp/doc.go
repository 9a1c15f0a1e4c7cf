// Package awsidp is the AWS side of a certificate rotation: it reads and edits
// the metadata document of an IAM SAML provider, and proves with STS that AWS
// accepts what the identity provider signs.
//
// Callers build the SDK clients from their own aws.Config and pass them in
// through the narrow [IAMAPI] and [STSAPI] interfaces; awsidp never loads
// configuration or credentials itself.
//
// Edits, never replacement: every document awsidp uploads is the provider's
// current document with one signing certificate added to, or removed from, the
// entity whose entityID is the org's issuer; other entities (other orgs on the
// same provider) stay byte for byte as they were. Before a write, the document
// is read again and compared with the one the caller planned on (IAM has no
// conditional write), the result passes the rules IAM enforces, and nothing is
// written when nothing would change. After it, the document is read back and
// compared. A document downloaded from Salesforce is only ever a cross-check,
// never uploaded: it is unsigned, and HTTPS proves only the host.
//
// IAM's ValidUntil for a provider is set by IAM (creation plus 100 years) and
// says nothing about certificates; awsidp reports certificate expiry from the
// X.509 certificates in the document instead.
//
// Errors from the SDK are turned into [*Error] values at the boundary, each
// wrapping a sentinel such as [ErrProviderNotFound], [ErrInvalidMetadata] or
// [ErrSignatureRejected] and the SDK's own error. Throttling of IAM calls is
// retried by the SDK's retryer; IAM's LimitExceeded is never retried, and
// AssumeRoleWithSAML is sent once (a SAML response never goes to STS twice).
package awsidp
