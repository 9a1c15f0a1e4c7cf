package iamtest

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// validUntilYears is how far IAM sets a provider's ValidUntil after its creation
// (aws-wire.md §1.3: CreateDate plus 100 years). It is not certificate expiry.
const validUntilYears = 100

// lookupProvider resolves SAMLProviderArn for the caller: NoSuchEntity when absent,
// AccessDenied when it names another account (the caller must assume a role there).
// The NoSuchEntity message is [I]: recalled from real IAM answers, not in the
// reference notes.
func (s *Server) lookupProvider(c *call) (*provider, *apiError) {
	arnStr := c.params.Get("SAMLProviderArn")
	if e := checkLength("sAMLProviderArn", arnStr, 20, 2048); e != nil {
		return nil, e
	}
	a, ok := parseARN(arnStr)
	if !ok || a.service != "iam" || !strings.HasPrefix(a.resource, "saml-provider/") {
		return nil, newError("InvalidInput", fmt.Sprintf("ARN %s is not valid.", arnStr))
	}
	if a.account != c.caller.account.id || a.partition != c.caller.account.partition {
		return nil, newError("AccessDenied", fmt.Sprintf("User: %s is not authorized to perform: iam:%s on resource: %s", c.caller.arn, c.op, arnStr))
	}
	p := c.caller.account.providers[strings.TrimPrefix(a.resource, "saml-provider/")]
	if p == nil {
		return nil, newError("NoSuchEntity", "Manifest not found for arn "+arnStr)
	}
	return p, nil
}

// checkLength reports a parameter outside [min, max] characters as AWS's
// ValidationError does.
func checkLength(name, v string, minLen, maxLen int) *apiError {
	n := utf8.RuneCountInString(v)
	switch {
	case n < minLen:
		return newError("ValidationError", fmt.Sprintf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have length greater than or equal to %d", shorten(v), name, minLen))
	case n > maxLen:
		return newError("ValidationError", fmt.Sprintf("1 validation error detected: Value at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", name, maxLen))
	}
	return nil
}

func shorten(v string) string {
	if len(v) > 64 {
		return v[:64] + "..."
	}
	return v
}

func (s *Server) listSAMLProviders(c *call) ([]byte, *apiError) {
	var x xmlWriter
	x.open("SAMLProviderList")
	acct := c.caller.account
	for _, name := range sortedKeys(acct.providers) {
		p := acct.providers[name]
		x.open("member")
		x.elem("Arn", p.arn)
		x.time("ValidUntil", p.created.AddDate(validUntilYears, 0, 0))
		x.time("CreateDate", p.created)
		x.close("member")
	}
	x.close("SAMLProviderList")
	return x.Bytes(), nil
}

func (s *Server) getSAMLProvider(c *call) ([]byte, *apiError) {
	p, e := s.lookupProvider(c)
	if e != nil {
		return nil, e
	}
	var x xmlWriter
	x.elem("SAMLProviderUUID", p.uuid)
	x.elem("SAMLMetadataDocument", string(p.current().doc))
	x.time("CreateDate", p.created)
	x.time("ValidUntil", p.created.AddDate(validUntilYears, 0, 0))
	writeTags(&x, p.tags)
	x.elem("AssertionEncryptionMode", "Allowed")
	x.open("PrivateKeyList")
	x.close("PrivateKeyList")
	return x.Bytes(), nil
}

func writeTags(x *xmlWriter, tags []Tag) {
	x.open("Tags")
	for _, t := range tags {
		x.open("member")
		x.elem("Key", t.Key)
		x.elem("Value", t.Value)
		x.close("member")
	}
	x.close("Tags")
}

// tagsParam reads Tags.member.N.Key/Value (N from 1, contiguous).
func tagsParam(c *call) []Tag {
	var tags []Tag
	for i := 1; ; i++ {
		prefix := "Tags.member." + strconv.Itoa(i) + "."
		k, ok := c.params[prefix+"Key"]
		if !ok {
			return tags
		}
		tags = append(tags, Tag{Key: k[0], Value: c.params.Get(prefix + "Value")})
	}
}

// checkUnmodelled refuses the private-key parameters, which the fake does not
// model; AssertionEncryptionMode=Required then fails as on AWS when no private key
// is held (aws-wire.md §1.6).
func checkUnmodelled(c *call) *apiError {
	if c.params.Has("AddPrivateKey") || c.params.Has("RemovePrivateKey") {
		return newError("InvalidInput", "iamtest does not model SAML private keys; use real IAM for encrypted assertions.")
	}
	switch mode := c.params.Get("AssertionEncryptionMode"); mode {
	case "", "Allowed":
	case "Required":
		return newError("InvalidInput", "Unable to set assertion encryption mode to Required because no private key is provided.")
	default:
		return newError("ValidationError", fmt.Sprintf("1 validation error detected: Value '%s' at 'assertionEncryptionMode' failed to satisfy constraint: Member must satisfy enum value set: [Allowed, Required]", shorten(mode)))
	}
	return nil
}

func (s *Server) createSAMLProvider(c *call) ([]byte, *apiError) {
	name := c.params.Get("Name")
	if !namePattern.MatchString(name) {
		return nil, newError("ValidationError", fmt.Sprintf("1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", shorten(name)))
	}
	if !c.params.Has("SAMLMetadataDocument") {
		return nil, newError("ValidationError", "1 validation error detected: Value null at 'sAMLMetadataDocument' failed to satisfy constraint: Member must not be null")
	}
	if e := checkUnmodelled(c); e != nil {
		return nil, e
	}
	tags := tagsParam(c)
	p, e := s.createProvider(c.caller.account, name, []byte(c.params.Get("SAMLMetadataDocument")), tags, c.now, false)
	if e != nil {
		return nil, e
	}
	var x xmlWriter
	x.elem("SAMLProviderArn", p.arn)
	if len(p.tags) > 0 {
		writeTags(&x, p.tags)
	}
	return x.Bytes(), nil
}

func (s *Server) updateSAMLProvider(c *call) ([]byte, *apiError) {
	p, e := s.lookupProvider(c)
	if e != nil {
		return nil, e
	}
	if e := checkUnmodelled(c); e != nil {
		return nil, e
	}
	if !c.params.Has("SAMLMetadataDocument") {
		if c.params.Get("AssertionEncryptionMode") == "" {
			return nil, newError("InvalidInput", "Unable to update identity provider. No updates are defined for metadata or encryption assertion.")
		}
	} else {
		doc := []byte(c.params.Get("SAMLMetadataDocument"))
		if e := checkMetadata(doc); e != nil {
			return nil, e
		}
		p.write(doc, c.now, s.cfg.PropagationDelay)
	}
	var x xmlWriter
	x.elem("SAMLProviderArn", p.arn)
	return x.Bytes(), nil
}

func (s *Server) deleteSAMLProvider(c *call) ([]byte, *apiError) {
	p, e := s.lookupProvider(c)
	if e != nil {
		return nil, e
	}
	delete(c.caller.account.providers, p.name)
	return nil, nil
}

func (s *Server) tagSAMLProvider(c *call) ([]byte, *apiError) {
	p, e := s.lookupProvider(c)
	if e != nil {
		return nil, e
	}
	merged := map[string]Tag{}
	for _, t := range p.tags {
		merged[strings.ToLower(t.Key)] = t
	}
	add := tagsParam(c)
	if e := checkTags(add); e != nil {
		return nil, e
	}
	for _, t := range add {
		merged[strings.ToLower(t.Key)] = t
	}
	var tags []Tag
	for _, k := range sortedKeys(merged) {
		tags = append(tags, merged[k])
	}
	if e := checkTags(tags); e != nil {
		return nil, e
	}
	p.tags = sortTags(tags)
	return nil, nil
}

func (s *Server) untagSAMLProvider(c *call) ([]byte, *apiError) {
	p, e := s.lookupProvider(c)
	if e != nil {
		return nil, e
	}
	remove := map[string]bool{}
	for i := 1; ; i++ {
		k, ok := c.params["TagKeys.member."+strconv.Itoa(i)]
		if !ok {
			break
		}
		remove[strings.ToLower(k[0])] = true
	}
	var kept []Tag
	for _, t := range p.tags {
		if !remove[strings.ToLower(t.Key)] {
			kept = append(kept, t)
		}
	}
	p.tags = kept
	return nil, nil
}

func (s *Server) listSAMLProviderTags(c *call) ([]byte, *apiError) {
	p, e := s.lookupProvider(c)
	if e != nil {
		return nil, e
	}
	var x xmlWriter
	writeTags(&x, p.tags)
	x.elem("IsTruncated", "false")
	return x.Bytes(), nil
}
