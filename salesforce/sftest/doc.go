// Package sftest is a fake Salesforce org server for tests, examples and the
// `rotate sim` and `rotate demo` commands, in the spirit of net/http/httptest.
//
// It is a fake, not a mock: stateful, strict and faithful on the wire, so that the
// voicecert salesforce client, and third-party clients written against real
// Salesforce (jsforce, simple-salesforce), cannot tell it from the real service for
// the calls of a certificate rotation. It imports nothing from the package it fakes.
//
// # What it serves
//
//   - OAuth 2.0 (POST /services/oauth2/token): the JWT bearer flow, verified against
//     the certificate registered on the app (RS256, iss, sub, aud, exp), and client
//     credentials. Tokens look like "00D…!…", carry scopes and a user, and expire on
//     the configured clock. Parameters travel in a form body or the query string;
//     a client-credentials answer is signed with the client secret as Salesforce
//     documents. Errors are {"error","error_description"} with HTTP 400.
//   - The resources of a version (GET /services/data/vXX.X), whose identity URL
//     jsforce's identity() follows.
//   - REST and Tooling SOQL (GET /services/data/vXX.X/query and /tooling/query):
//     a real, small SOQL parser over CallCenter, ConnectedApplication, Organization,
//     User and (Tooling) Certificate, with pagination through nextRecordsUrl, JSON
//     error arrays and HTTP 401 INVALID_SESSION_ID.
//   - The Metadata API (POST /services/Soap/m/XX.X): readMetadata, updateMetadata,
//     upsertMetadata, createMetadata, listMetadata, deploy and checkDeployStatus, on
//     Certificate, ConnectedApp, IdentityProviderSettings and CallCenter. Requests are
//     checked against Salesforce's own schema (version 63.0, embedded): unknown or
//     repeated elements, elements in the wrong namespace, bad values and a missing or
//     bad xsi:type are SOAP faults (HTTP 500); a record missing a required field gets
//     a REQUIRED_FIELD_MISSING SaveResult. Like Salesforce, the fake binds elements
//     by name and accepts them in any order (public requests with elements out of
//     schema order work against real orgs), then stores and returns schema order;
//     Config.StrictElementOrder refuses misordered elements instead. updateMetadata
//     replaces the whole component, as the real one does.
//   - Salesforce as a SAML identity provider: GET /.well-known/samlidp.xml,
//     POST /secur/frontdoor.jsp (a UI session from an access token with the web or
//     full scope, for a user who is not API-only) and GET /idp/login?app=0sp…, which
//     answers with an auto-post form holding a SAMLResponse signed like Salesforce
//     signs (Response and Assertion, see samlmeta.SignResponse), or redirects to the
//     login page without a session.
//
// # Orgs and their URLs
//
// One server holds several orgs behind one listener. Real orgs are told apart by
// their My Domain host; a loopback listener has one host, so the fake tells them
// apart by a path prefix. The first org's instance URL is the server's URL; the
// others' is URL + "/org/<name>" (the first org also answers there). Every path a
// client builds from its instance URL works under the prefix. A token is bound to
// its org: used on another org's prefix it is an invalid session. The token
// endpoint on the server's root serves every org (like login.salesforce.com); on an
// org's prefix it serves that org only. An org's IdP issuer and entityID is its
// instance URL, exactly as a client sees it.
//
// Paths inside responses (nextRecordsUrl, attributes.url) are relative to the
// instance URL, as Salesforce's are relative to the My Domain host. A client that
// rebuilds URLs from the host alone (simple-salesforce does for query_more) works
// with the first org only.
//
// # Knobs
//
// [Config] and its [Option] functions set the shared clock, several orgs, contact
// centers, certificate expiry, an app that signs with another certificate than it
// names, non-contact-center SAML apps on the org default, a managed app, an
// API-only user, latency, faults by operation and metadata type (the Nth call, or
// every call from the Nth on), a hook after each write, the assertion lifetime,
// a delay before SSO follows a change of signer (Salesforce may cache it), the
// query batch size, the number of deploy polls and a pool of pre-generated keys. [Server.Requests] is the
// request log; writes (deploy, updateMetadata, upsertMetadata, createMetadata) are
// marked.
//
// # Where the fake departs from Salesforce
//
// Only the types and objects above exist. Certificates are created only by deploy
// (self-signed; CA-signed and imported certificates are refused). Formulas of
// connected-app attributes are evaluated only when they are one string literal or
// a $User.Email, $User.Username, $User.Id or $Organization.Id reference. Where no
// real sample of an answer was found, the fake uses the closest documented code and
// says so in a comment beside it.
package sftest
