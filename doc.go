// Package voicecert rotates the SAML identity-provider certificate of Salesforce
// Service Cloud Voice contact centers that run on Amazon Connect, end to end: the
// Salesforce side, the AWS IAM side, and machine proof that single sign-on still
// works afterwards.
//
// Most users want package certrotate: it discovers the contact centers of one or
// more orgs, builds a [Plan] of ordered, idempotent steps (like terraform plan),
// and applies it with zero-downtime overlap rotation, verification and rollback.
//
// The packages, from the bottom up:
//
//   - samlmeta: SAML 2.0 metadata parsing, pre-upload checks, semantic comparison,
//     in-place edits and XML signatures. No network.
//   - salesforce: a Salesforce client for every call of the rotation (OAuth, SOQL,
//     Metadata SOAP, IdP metadata, the IdP-initiated SSO probe).
//   - salesforce/sftest: a faithful fake Salesforce org served over HTTP.
//   - awsidp: safe edits of an IAM SAML provider's metadata and the STS
//     AssumeRoleWithSAML probe.
//   - awsidp/iamtest: a faithful fake IAM + STS Query API server.
//   - certrotate: the Plan, both rotation strategies, verification, rollback.
//   - examples/rotate: the reference command-line tool built on the packages above.
//
// [Plan]: https://pkg.go.dev/github.com/voicecert/voicecert/certrotate#Plan
package voicecert
