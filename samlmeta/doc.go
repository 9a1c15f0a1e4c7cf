// Package samlmeta reads, checks, compares and edits SAML 2.0 metadata, and signs and
// verifies SAML responses with XML signatures. It does no network I/O.
//
// Parsing makes no trust decision: [Parse] refuses hostile or malformed XML and
// returns spec-named types ([EntityDescriptor], [IDPSSODescriptor], [KeyDescriptor]).
// What a service provider would trust is [EntityDescriptor.SigningCertificates].
//
// Before a document is uploaded to AWS IAM, [Check] runs on its raw bytes and returns
// [Findings] in two groups that are never mixed: [GroupIAM], the rules IAM itself
// enforces, and [GroupPolicy], voicecert's own rules.
//
// [AddSigningCertificate] and [RemoveSigningCertificate] edit a document in place
// through a DOM, so that everything they do not touch stays as it was.
// [CompareDocuments] says in words how two documents differ in what matters to trust.
//
// [VerifyResponse] verifies a SAMLResponse against trusted certificates, one at a
// time, and returns only values read from the verified tree, with the certificate that
// verified it. [SignResponse] signs a response the way Salesforce does, for the fakes.
//
// The SAML metadata specification is "Metadata for the OASIS Security Assertion
// Markup Language (SAML) V2.0" (saml-metadata-2.0-os); section numbers in this package
// refer to it unless they say otherwise.
package samlmeta
