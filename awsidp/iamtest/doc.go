// Package iamtest is a faithful fake of the AWS IAM and STS Query APIs for SAML
// federation, in the manner of net/http/httptest: a real HTTP server that the real
// aws-sdk-go-v2 clients talk to through BaseEndpoint or AWS_ENDPOINT_URL. It speaks
// the wire format the other AWS SDKs parse too (aws-wire.md §5); its tests drive it
// with aws-sdk-go-v2 only.
//
// One endpoint serves both services. A request is routed by its Action and Version:
// IAM (2010-05-08) ListSAMLProviders, GetSAMLProvider, CreateSAMLProvider,
// UpdateSAMLProvider, DeleteSAMLProvider, TagSAMLProvider, UntagSAMLProvider and
// ListSAMLProviderTags; STS (2011-06-15) AssumeRoleWithSAML, AssumeRole and
// GetCallerIdentity. Every request but AssumeRoleWithSAML must be signed with
// Signature Version 4 by an access key the server knows; the signature is verified
// in full and the credential scope must name the service that owns the Action.
//
// The fake is stateful and strict where AWS is:
//   - IAM enforces its metadata rules, and only those: UTF-8 without a byte order
//     mark, 1,000 to 10,000,000 characters, parseable SAML metadata with an entityID,
//     X.509 keys of at least 1024 bits, no repeated certificate extension; plus the
//     quotas (100 providers per account, 10 entities and 10 keys per provider).
//   - AssumeRoleWithSAML verifies the XML signatures against the signing
//     certificates of the provider's current document (expired ones included, as
//     AWS does), then checks Issuer, Audience, Recipient, the time window, the Role
//     attribute pair and RoleSessionName, and answers with AWS's codes, messages
//     and statuses.
//   - Errors use AWS's envelope, RequestId beside Error; every answer carries
//     X-Amzn-Requestid and Content-Type text/xml.
//
// Knobs for tests: an injectable clock ([Config].Now, Sleep), several accounts and
// partitions, providers and roles, latency, IAM-to-STS propagation delay,
// trust-first-only, per-operation faults, a hook after each write and a request log
// that marks writes. Facts the fake could not source are marked [I] in the code.
//
// iamtest imports nothing from awsidp or samlmeta: the client and the fake must
// not share a bug.
package iamtest
