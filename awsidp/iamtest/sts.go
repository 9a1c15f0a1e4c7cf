package iamtest

import (
	"bytes"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Attribute names AWS reads in a SAML assertion (aws-wire.md §3).
const (
	roleAttribute            = "https://aws.amazon.com/SAML/Attributes/Role"
	roleSessionNameAttribute = "https://aws.amazon.com/SAML/Attributes/RoleSessionName"
	sessionDurationAttribute = "https://aws.amazon.com/SAML/Attributes/SessionDuration"
	sourceIdentityAttribute  = "https://aws.amazon.com/SAML/Attributes/SourceIdentity"
)

// redeemWindow is how long after its issue STS accepts an assertion. AWS answers
// later ones with ExpiredTokenException "Token must be redeemed within 5 minutes of
// issuance" [C: quoted in Nike-Inc/gimme-aws-creds#251; not in the reference notes].
const redeemWindow = 5 * time.Minute

var (
	sessionNamePattern    = regexp.MustCompile(`^[a-zA-Z_0-9+=,.@-]{2,64}$`)
	sourceIdentityPattern = regexp.MustCompile(`^[a-zA-Z_0-9+=,.@-]{2,64}$`)
	regionPattern         = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

// Messages STS sends. [C] for those quoted in aws-wire.md §2.3 and §3 (signature,
// RoleSessionName, SourceIdentity, issuer, audience, not authorized, "Response has
// expired" from Versent/saml2aws#759); the codes of the issuer and audience
// failures, and the other texts, are [I].
const (
	msgSignature         = "Response signature invalid"
	msgSessionMissing    = "RoleSessionName is required in AuthnResponse"
	msgSessionPattern    = "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}"
	msgSourceIdentity    = `Source Identity must match [a-zA-Z_0-9+=,.@-]{2,64} and not begin with "aws:"`
	msgIssuer            = "Issuer not present in specified provider"
	msgAudience          = "Response does not contain the required audience"
	msgRecipient         = "Response does not contain the required recipient"
	msgConfirmation      = "Response must contain exactly one SubjectConfirmation with a Recipient and a NotOnOrAfter"
	msgNotAuthorized     = "Not authorized to perform sts:AssumeRoleWithSAML"
	msgExpired           = "Response has expired"
	msgRedeem            = "Token must be redeemed within 5 minutes of issuance"
	msgNotYetValid       = "Response is not yet valid"
	msgNoProvider        = "Specified provider doesn't exist"
	msgInvalidResponse   = "Invalid SAML response"
	msgIDPRejected       = "The identity provider reported that authentication failed"
	msgDurationExceeds   = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
	msgRoleChainDuration = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
)

func withDetail(e *apiError, detail string) *apiError {
	e.detail = detail
	return e
}

// assumeRoleWithSAML checks the SAMLAssertion as STS does and issues temporary
// credentials for the role. An assertion may be redeemed more than once within its
// window: AWS documents no replay check (aws-iam.md §4).
func (s *Server) assumeRoleWithSAML(c *call) ([]byte, *apiError) {
	roleARN, principalARN, assertion := c.params.Get("RoleArn"), c.params.Get("PrincipalArn"), c.params.Get("SAMLAssertion")
	for _, p := range []struct {
		name, v  string
		min, max int
	}{{"roleArn", roleARN, 20, 2048}, {"principalArn", principalARN, 20, 2048}, {"sAMLAssertion", assertion, 4, 100000}} {
		if e := checkLength(p.name, p.v, p.min, p.max); e != nil {
			return nil, e
		}
	}
	duration, e := durationParam(c)
	if e != nil {
		return nil, e
	}
	packed, e := policyParam(c)
	if e != nil {
		return nil, e
	}

	acct, prov, doc, e := s.stsProvider(principalARN, c.now)
	if e != nil {
		return nil, e
	}
	v, cl, e := s.verifiedClaims(assertion, doc)
	if e != nil {
		return nil, e
	}
	recipient, session, e := s.checkClaims(v, cl, acct.partition, c.now)
	if e != nil {
		return nil, e
	}
	if !hasRolePair(cl.attributes[roleAttribute], roleARN, principalARN) {
		return nil, withDetail(newError("AccessDenied", msgNotAuthorized), "no Role attribute value pairs this role and provider")
	}
	r := s.roleByARN(roleARN)
	if r == nil || r.account != acct || !r.role.trustsProvider(prov.name) {
		return nil, withDetail(newError("AccessDenied", msgNotAuthorized), "role absent or its trust policy does not name the provider")
	}
	if duration > r.role.maxSession {
		return nil, newError("ValidationError", msgDurationExceeds)
	}
	sourceIdentity := ""
	if si := cl.attributes[sourceIdentityAttribute]; len(si) > 0 {
		sourceIdentity = si[0]
		if !sourceIdentityPattern.MatchString(sourceIdentity) || strings.HasPrefix(sourceIdentity, "aws:") {
			return nil, newError("InvalidIdentityToken", msgSourceIdentity)
		}
	}
	expires := sessionEnd(cl, c.now, duration)

	cred := s.issue(acct, r.role, session, expires)
	var x xmlWriter
	writeCredentials(&x, cred)
	writeAssumedRoleUser(&x, cred)
	if packed > 0 {
		x.elem("PackedPolicySize", strconv.Itoa(packed))
	}
	x.elem("Subject", cl.nameID)
	x.elem("SubjectType", subjectType(cl.nameIDFormat))
	x.elem("Issuer", cl.issuer)
	x.elem("Audience", recipient)
	sum := sha1.Sum([]byte(cl.issuer + acct.id + "/" + prov.name))
	x.elem("NameQualifier", base64.StdEncoding.EncodeToString(sum[:]))
	if sourceIdentity != "" {
		x.elem("SourceIdentity", sourceIdentity)
	}
	return x.Bytes(), nil
}

// stsProvider returns the provider a PrincipalArn names and its document as STS
// sees it now: IAM writes arrive after PropagationDelay.
func (s *Server) stsProvider(principalARN string, now time.Time) (*account, *provider, []byte, *apiError) {
	missing := withDetail(newError("InvalidIdentityToken", msgNoProvider), "no provider "+principalARN+" visible to STS")
	pa, ok := parseARN(principalARN)
	if !ok || pa.service != "iam" || !strings.HasPrefix(pa.resource, "saml-provider/") {
		return nil, nil, nil, missing
	}
	acct := s.accounts[pa.account]
	if acct == nil || acct.partition != pa.partition {
		return nil, nil, nil, missing
	}
	prov := acct.providers[strings.TrimPrefix(pa.resource, "saml-provider/")]
	if prov == nil {
		return nil, nil, nil, missing
	}
	doc, ok := prov.visible(now)
	if !ok {
		return nil, nil, nil, missing
	}
	return acct, prov, doc, nil
}

// verifiedClaims decodes a SAMLAssertion parameter, finds the entity of doc its
// Issuer names, verifies its signatures with that entity's certificates, and reads
// the claims of the verified Assertion.
func (s *Server) verifiedClaims(assertion string, doc []byte) (*verified, *claims, *apiError) {
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(assertion), ""))
	if err != nil {
		return nil, nil, withDetail(newError("InvalidIdentityToken", msgInvalidResponse), "SAMLAssertion is not base64")
	}
	root, rawAssertion, err := parseResponse(raw)
	if err != nil {
		return nil, nil, withDetail(newError("InvalidIdentityToken", msgInvalidResponse), err.Error())
	}
	issuer := ""
	if iss := firstChild(rawAssertion, samlNS, "Issuer"); iss != nil {
		issuer = strings.TrimSpace(iss.Text())
	}
	entities, err := parseEntities(doc)
	if err != nil {
		return nil, nil, withDetail(newError("InvalidIdentityToken", msgNoProvider), "stored document: "+err.Error())
	}
	var ent *entity
	for i := range entities {
		if entities[i].entityID == issuer {
			ent = &entities[i]
			break
		}
	}
	if ent == nil {
		return nil, nil, withDetail(newError("InvalidIdentityToken", msgIssuer), "issuer "+issuer)
	}
	v, err := verifyResponse(root, s.trusted(*ent))
	if err != nil {
		msg := msgSignature
		if !errors.Is(err, errSignature) {
			msg = msgInvalidResponse
		}
		return nil, nil, withDetail(newError("InvalidIdentityToken", msg), err.Error())
	}
	cl, err := readClaims(v.assertion)
	if err != nil {
		return nil, nil, withDetail(newError("InvalidIdentityToken", msgInvalidResponse), err.Error())
	}
	if cl.issuer != ent.entityID {
		return nil, nil, withDetail(newError("InvalidIdentityToken", msgIssuer), "signed issuer "+cl.issuer)
	}
	return v, cl, nil
}

// checkClaims applies STS's rules to verified claims, in this order: IdP status,
// time window, SubjectConfirmation, audience, NameID, RoleSessionName. It returns
// the Recipient and the session name.
func (s *Server) checkClaims(v *verified, cl *claims, partition string, now time.Time) (string, string, *apiError) {
	if e := checkStatus(v); e != nil {
		return "", "", e
	}
	if e := s.checkWindow(cl, now); e != nil {
		return "", "", e
	}
	recipient, e := checkConfirmation(cl, partition, now, s.cfg.ClockSkew)
	if e != nil {
		return "", "", e
	}
	if !hasAudience(cl.audiences, partition) {
		return "", "", withDetail(newError("InvalidIdentityToken", msgAudience), fmt.Sprintf("audiences %q", cl.audiences))
	}
	if cl.nameID == "" {
		return "", "", withDetail(newError("AccessDenied", msgNotAuthorized), "no NameID")
	}
	sessionNames := cl.attributes[roleSessionNameAttribute]
	if len(sessionNames) == 0 {
		return "", "", newError("InvalidIdentityToken", msgSessionMissing)
	}
	if !sessionNamePattern.MatchString(sessionNames[0]) {
		return "", "", newError("InvalidIdentityToken", msgSessionPattern)
	}
	return recipient, sessionNames[0], nil
}

// sessionEnd is when the session's credentials expire: DurationSeconds after now,
// shortened by the SessionDuration attribute and the AuthnStatement's
// SessionNotOnOrAfter (aws-wire.md §3). A SessionDuration outside 900–43200 is
// ignored [I: AWS documents the range, not what it does with other values].
func sessionEnd(cl *claims, now time.Time, duration time.Duration) time.Time {
	end := now.Add(duration)
	if sd := cl.attributes[sessionDurationAttribute]; len(sd) > 0 {
		if n, err := strconv.Atoi(sd[0]); err == nil && n >= 900 && n <= 43200 {
			if t := now.Add(time.Duration(n) * time.Second); t.Before(end) {
				end = t
			}
		}
	}
	if !cl.sessionNotOnOrAfter.IsZero() && cl.sessionNotOnOrAfter.Before(end) {
		end = cl.sessionNotOnOrAfter
	}
	return end
}

// trusted returns the certificates STS verifies an entity's signatures with: every
// signing certificate, or the first only in TrustFirstOnly mode.
func (s *Server) trusted(ent entity) []*x509.Certificate {
	var out []*x509.Certificate
	for _, der := range ent.signingCertificates() {
		cert, err := parseSigningCertificate(der)
		if err != nil {
			continue
		}
		out = append(out, cert)
		if s.cfg.TrustFirstOnly {
			break
		}
	}
	return out
}

// checkStatus refuses a Response whose top-level status is not Success.
func checkStatus(v *verified) *apiError {
	st := firstChild(firstChild(v.response, samlpNS, "Status"), samlpNS, "StatusCode")
	if st == nil || st.SelectAttrValue("Value", "") != "urn:oasis:names:tc:SAML:2.0:status:Success" {
		return withDetail(newError("IDPRejectedClaim", msgIDPRejected), "status is not Success")
	}
	return nil
}

// checkWindow applies the time rules: redeemed within 5 minutes of issue, inside
// Conditions' NotBefore/NotOnOrAfter, with the configured clock skew.
func (s *Server) checkWindow(cl *claims, now time.Time) *apiError {
	skew := s.cfg.ClockSkew
	if now.After(cl.issueInstant.Add(redeemWindow + skew)) {
		return newError("ExpiredTokenException", msgRedeem)
	}
	if !cl.notOnOrAfter.IsZero() && !now.Before(cl.notOnOrAfter.Add(skew)) {
		return withDetail(newError("ExpiredTokenException", msgExpired), "Conditions NotOnOrAfter passed")
	}
	if !cl.notBefore.IsZero() && now.Add(skew).Before(cl.notBefore) {
		return newError("InvalidIdentityToken", msgNotYetValid)
	}
	return nil
}

// checkConfirmation applies AWS's SubjectConfirmation rule (exactly one, with a
// Recipient that is an AWS sign-in endpoint and a NotOnOrAfter not passed) and
// returns the Recipient.
func checkConfirmation(cl *claims, partition string, now time.Time, skew time.Duration) (string, *apiError) {
	if len(cl.confirmations) != 1 || cl.confirmations[0].recipient == "" || cl.confirmations[0].notOnOrAfter.IsZero() {
		return "", withDetail(newError("InvalidIdentityToken", msgConfirmation), fmt.Sprintf("%d SubjectConfirmations", len(cl.confirmations)))
	}
	conf := cl.confirmations[0]
	if !now.Before(conf.notOnOrAfter.Add(skew)) {
		return "", withDetail(newError("ExpiredTokenException", msgExpired), "SubjectConfirmationData NotOnOrAfter passed")
	}
	if !isSigninURL(conf.recipient, partition) {
		return "", withDetail(newError("InvalidIdentityToken", msgRecipient), "recipient "+conf.recipient)
	}
	return conf.recipient, nil
}

// isSigninURL reports whether u is the partition's sign-in SAML endpoint, global
// (https://signin.aws.amazon.com/saml) or regional
// (https://REGION.signin.aws.amazon.com/saml).
func isSigninURL(u, partition string) bool {
	host := partitionDNS[partition].signin
	rest, ok := strings.CutPrefix(u, "https://")
	if !ok {
		return false
	}
	rest, ok = strings.CutSuffix(rest, host+"/saml")
	if !ok {
		return false
	}
	return rest == "" || (strings.HasSuffix(rest, ".") && regionPattern.MatchString(strings.TrimSuffix(rest, ".")))
}

// hasAudience reports whether one audience is an AWS one: the partition's sign-in
// SAML URL or its audience URN.
func hasAudience(audiences []string, partition string) bool {
	d := partitionDNS[partition]
	for _, a := range audiences {
		if a == "https://"+d.signin+"/saml" || a == d.urn || a == "urn:amazon:webservices" {
			return true
		}
	}
	return false
}

// hasRolePair reports whether a Role attribute value pairs role and provider, in
// either order (aws-wire.md §3: the order is not documented; clients accept both).
func hasRolePair(values []string, role, provider string) bool {
	for _, v := range values {
		a, b, ok := strings.Cut(v, ",")
		if !ok {
			continue
		}
		a, b = strings.TrimSpace(a), strings.TrimSpace(b)
		if (a == role && b == provider) || (a == provider && b == role) {
			return true
		}
	}
	return false
}

// subjectType is the NameID format as STS reports it: the SAML 2.0 prefix removed,
// any other format returned whole (aws-wire.md §2.2).
func subjectType(format string) string {
	if format == "" {
		format = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
	}
	return strings.TrimPrefix(format, "urn:oasis:names:tc:SAML:2.0:nameid-format:")
}

// roleRef is a role with its account.
type roleRef struct {
	account *account
	role    *role
}

func (s *Server) roleByARN(roleARN string) *roleRef {
	a, ok := parseARN(roleARN)
	if !ok || a.service != "iam" || !strings.HasPrefix(a.resource, "role/") {
		return nil
	}
	acct := s.accounts[a.account]
	if acct == nil || acct.partition != a.partition {
		return nil
	}
	r := acct.roles[strings.TrimPrefix(a.resource, "role/")]
	if r == nil || r.arn != roleARN {
		return nil
	}
	return &roleRef{account: acct, role: r}
}

// durationParam reads DurationSeconds: 900 to 43200, default 3600.
func durationParam(c *call) (time.Duration, *apiError) {
	v := c.params.Get("DurationSeconds")
	if v == "" {
		return time.Hour, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, newError("ValidationError", fmt.Sprintf("1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must be a number", shorten(v)))
	}
	if n < 900 {
		return 0, newError("ValidationError", fmt.Sprintf("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900", n))
	}
	if n > 43200 {
		return 0, newError("ValidationError", fmt.Sprintf("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200", n))
	}
	return time.Duration(n) * time.Second, nil
}

// policyParam checks an inline session Policy and returns its packed size in percent
// (0 without a policy). AWS compresses policies before measuring; the fake's
// measure, compact JSON length over 2048, is an approximation [I].
func policyParam(c *call) (int, *apiError) {
	if !c.params.Has("Policy") {
		return 0, nil
	}
	p := c.params.Get("Policy")
	if e := checkLength("policy", p, 1, 2048); e != nil {
		return 0, e
	}
	var doc struct {
		Version   string          `json:"Version"`
		Statement json.RawMessage `json:"Statement"`
	}
	dec := json.NewDecoder(strings.NewReader(p))
	if err := dec.Decode(&doc); err != nil || dec.More() || len(doc.Statement) == 0 ||
		(doc.Version != "" && doc.Version != "2012-10-17" && doc.Version != "2008-10-17") {
		return 0, newError("MalformedPolicyDocument", "Syntax errors in policy.")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(p)); err != nil {
		return 0, newError("MalformedPolicyDocument", "Syntax errors in policy.")
	}
	percent := (compact.Len()*100 + 2047) / 2048
	if percent > 100 {
		return 0, newError("PackedPolicyTooLarge", fmt.Sprintf("Packed size of consumed inline session policies exceeds 100%%: %d%%", percent))
	}
	return max(percent, 1), nil
}

// issue creates temporary credentials for a role session; the caller holds s.mu.
func (s *Server) issue(acct *account, r *role, session string, expires time.Time) *credential {
	cred := &credential{
		accessKeyID:  "ASIA" + s.randomID(16),
		secret:       base64.StdEncoding.EncodeToString(s.random(30)),
		sessionToken: base64.StdEncoding.EncodeToString(s.random(96)),
		expires:      expires,
		account:      acct,
		arn:          fmt.Sprintf("arn:%s:sts::%s:assumed-role/%s/%s", acct.partition, acct.id, r.name, session),
		userID:       r.id + ":" + session,
	}
	s.creds[cred.accessKeyID] = cred
	return cred
}

func writeCredentials(x *xmlWriter, c *credential) {
	x.open("Credentials")
	x.elem("AccessKeyId", c.accessKeyID)
	x.elem("SecretAccessKey", c.secret)
	x.elem("SessionToken", c.sessionToken)
	x.time("Expiration", c.expires)
	x.close("Credentials")
}

func writeAssumedRoleUser(x *xmlWriter, c *credential) {
	x.open("AssumedRoleUser")
	x.elem("Arn", c.arn)
	x.elem("AssumedRoleId", c.userID)
	x.close("AssumedRoleUser")
}

// assumeRole lets a caller assume a role of any hosted account whose role trusts the
// caller's account.
func (s *Server) assumeRole(c *call) ([]byte, *apiError) {
	roleARN, session := c.params.Get("RoleArn"), c.params.Get("RoleSessionName")
	if e := checkLength("roleArn", roleARN, 20, 2048); e != nil {
		return nil, e
	}
	if !sessionNamePattern.MatchString(session) {
		return nil, newError("ValidationError", fmt.Sprintf("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", shorten(session)))
	}
	duration, e := durationParam(c)
	if e != nil {
		return nil, e
	}
	packed, e := policyParam(c)
	if e != nil {
		return nil, e
	}
	r := s.roleByARN(roleARN)
	denied := newError("AccessDenied", fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", c.caller.arn, roleARN))
	if r == nil || (len(r.role.trustedAccounts) > 0 && !r.role.trustedAccounts[c.caller.account.id]) {
		return nil, denied
	}
	if c.caller.sessionToken != "" && duration > time.Hour {
		return nil, newError("ValidationError", msgRoleChainDuration)
	}
	if duration > r.role.maxSession {
		return nil, newError("ValidationError", msgDurationExceeds)
	}
	cred := s.issue(r.account, r.role, session, c.now.Add(duration))
	var x xmlWriter
	writeCredentials(&x, cred)
	writeAssumedRoleUser(&x, cred)
	if packed > 0 {
		x.elem("PackedPolicySize", strconv.Itoa(packed))
	}
	return x.Bytes(), nil
}

func (s *Server) getCallerIdentity(c *call) ([]byte, *apiError) {
	var x xmlWriter
	x.elem("UserId", c.caller.userID)
	x.elem("Account", c.caller.account.id)
	x.elem("Arn", c.caller.arn)
	return x.Bytes(), nil
}
