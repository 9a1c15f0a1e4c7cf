package iamtest

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// account is the state of one hosted AWS account.
type account struct {
	id        string
	partition string
	providers map[string]*provider // by name
	roles     map[string]*role     // by name
}

// role is an IAM role.
type role struct {
	name            string
	id              string // AROA...
	arn             string
	samlProviders   map[string]bool // empty: all of the account
	trustedAccounts map[string]bool // empty: all hosted
	maxSession      time.Duration
}

func newAccount(a Account) *account {
	acct := &account{id: a.ID, partition: a.Partition, providers: map[string]*provider{}, roles: map[string]*role{}}
	if acct.partition == "" {
		acct.partition = "aws"
	}
	for _, r := range a.Roles {
		ro := &role{
			name:            r.Name,
			id:              "AROA" + stableID(a.ID+"/role/"+r.Name, 17),
			arn:             fmt.Sprintf("arn:%s:iam::%s:role/%s", acct.partition, a.ID, r.Name),
			samlProviders:   map[string]bool{},
			trustedAccounts: map[string]bool{},
			maxSession:      r.MaxSessionDuration,
		}
		if ro.maxSession == 0 {
			ro.maxSession = time.Hour
		}
		for _, p := range r.SAMLProviders {
			ro.samlProviders[p] = true
		}
		for _, t := range r.TrustedAccounts {
			ro.trustedAccounts[t] = true
		}
		acct.roles[r.Name] = ro
	}
	return acct
}

// trustsProvider reports whether the role's trust policy lets the named provider of
// its account federate into it.
func (r *role) trustsProvider(name string) bool {
	return len(r.samlProviders) == 0 || r.samlProviders[name]
}

// stableID derives an n-character uppercase ID from seed, so role and user IDs are
// the same on every run.
func stableID(seed string, n int) string {
	sum := sha256.Sum256([]byte(seed))
	return base32.StdEncoding.EncodeToString(sum[:])[:n]
}

// credential is an access key the server accepts: a long-term key of an account, or
// temporary credentials it issued.
type credential struct {
	accessKeyID  string
	secret       string
	sessionToken string    // temporary credentials only
	expires      time.Time // temporary credentials only
	account      *account
	arn          string // the caller identity
	userID       string
}

func longTermCredential(a *account, k AccessKey) *credential {
	c := &credential{accessKeyID: k.ID, secret: k.Secret, account: a}
	if k.User == "" {
		c.arn = fmt.Sprintf("arn:%s:iam::%s:root", a.partition, a.id)
		c.userID = a.id
	} else {
		c.arn = fmt.Sprintf("arn:%s:iam::%s:user/%s", a.partition, a.id, k.User)
		c.userID = "AIDA" + stableID(a.id+"/user/"+k.User, 17)
	}
	return c
}

// provider is an IAM SAML provider. Its documents are kept as versions so that STS
// can lag behind IAM by the propagation delay.
type provider struct {
	arn      string
	name     string
	uuid     string
	created  time.Time
	tags     []Tag
	versions []version // oldest first; the last is what IAM reads
}

// version is one document of a provider and the time STS starts to see it.
type version struct {
	doc     []byte
	visible time.Time
}

func (p *provider) current() version { return p.versions[len(p.versions)-1] }

// write records a new document, visible to STS after delay, and forgets versions
// that a visible later version hides.
func (p *provider) write(doc []byte, now time.Time, delay time.Duration) {
	p.versions = append(p.versions, version{doc: append([]byte(nil), doc...), visible: now.Add(delay)})
	for len(p.versions) > 1 && !p.versions[1].visible.After(now) {
		p.versions = p.versions[1:]
	}
}

// visible returns the document STS sees at now, and false when no version has
// propagated yet.
func (p *provider) visible(now time.Time) ([]byte, bool) {
	for i := len(p.versions) - 1; i >= 0; i-- {
		if !p.versions[i].visible.After(now) {
			return p.versions[i].doc, true
		}
	}
	return nil, false
}

// providerByARN finds a provider by ARN; the caller holds s.mu.
func (s *Server) providerByARN(arn string) *provider {
	a, ok := parseARN(arn)
	if !ok || a.service != "iam" || !strings.HasPrefix(a.resource, "saml-provider/") {
		return nil
	}
	acct := s.accounts[a.account]
	if acct == nil || acct.partition != a.partition {
		return nil
	}
	return acct.providers[strings.TrimPrefix(a.resource, "saml-provider/")]
}

// createProvider validates and stores a new provider; the caller holds s.mu.
// immediate makes it visible to STS at once (providers present at start).
func (s *Server) createProvider(a *account, name string, doc []byte, tags []Tag, now time.Time, immediate bool) (*provider, *apiError) {
	if _, ok := a.providers[name]; ok {
		return nil, newError("EntityAlreadyExists", fmt.Sprintf("SAMLProvider %s already exists.", name))
	}
	if len(a.providers) >= maxProvidersPerAccount {
		return nil, newError("LimitExceeded", fmt.Sprintf("Cannot exceed quota for SAMLProvidersPerAccount: %d", maxProvidersPerAccount))
	}
	if e := checkTags(tags); e != nil {
		return nil, e
	}
	if e := checkMetadata(doc); e != nil {
		return nil, e
	}
	p := &provider{
		arn:     fmt.Sprintf("arn:%s:iam::%s:saml-provider/%s", a.partition, a.id, name),
		name:    name,
		uuid:    "SAMLSP" + s.randomID(16),
		created: now,
		tags:    sortTags(tags),
	}
	delay := s.cfg.PropagationDelay
	if immediate {
		delay = 0
	}
	p.write(doc, now, delay)
	a.providers[name] = p
	return p, nil
}

// maxProvidersPerAccount is IAM's quota "SAML providers in an AWS account"
// (aws-iam.md §1.2).
const maxProvidersPerAccount = 100

func sortTags(tags []Tag) []Tag {
	out := append([]Tag(nil), tags...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// random returns n bytes from the server's randomness. A failing Config.Rand is a
// broken test setup, not a condition the fake could answer for AWS: it panics.
func (s *Server) random(n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		panic("iamtest: Config.Rand failed: " + err.Error())
	}
	return b
}

// randomID returns n characters of [A-Z2-7] from the server's randomness.
func (s *Server) randomID(n int) string {
	b := s.random(n)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// arn is a parsed ARN.
type arn struct{ partition, service, region, account, resource string }

func parseARN(s string) (arn, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" || parts[5] == "" {
		return arn{}, false
	}
	return arn{parts[1], parts[2], parts[3], parts[4], parts[5]}, true
}
