package certrotate

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/voicecert/voicecert/awsidp"
	"github.com/voicecert/voicecert/awsidp/iamtest"
	"github.com/voicecert/voicecert/internal/fakeclock"
	"github.com/voicecert/voicecert/salesforce"
	"github.com/voicecert/voicecert/salesforce/sftest"
	"github.com/voicecert/voicecert/samlmeta"
)

// The accounts the test worlds use.
const (
	acct1 = "111122223333"
	acct2 = "444455556666"
	acct3 = "777788889999"
)

const roleName = "SCVRole"

// ccSpec describes a contact center of a test world.
type ccSpec struct {
	Account   string // the AWS account of its provider; zero: acct1
	OnDefault bool   // its app signs with the org default
}

// orgSpec describes an org of a test world.
type orgSpec struct {
	CCs []ccSpec
	// ExpiresIn is the life left to the org's IdP certificate. Zero: 10 days.
	ExpiresIn time.Duration
	// OtherApps are SAML apps that are not contact centers, on the org default.
	OtherApps []string
	// APIOnly makes the org's client use the API-only user.
	APIOnly bool
	// Extra are more certificates of the org, beside its IdP certificate.
	Extra []sftest.CertificateConfig
	// ManagedApps makes the contact centers' apps part of a managed package.
	ManagedApps bool
}

// fakesSpec describes a test world: orgs on sftest, accounts on iamtest.
type fakesSpec struct {
	Orgs    []orgSpec
	SFOpts  []sftest.Option
	IAMOpts []iamtest.Option
	// RealClock runs the fakes and certrotate on the real clock (benchmarks):
	// latency then takes real time.
	RealClock bool
}

// fakes is a running test world: both fakes on one fake clock, the real clients,
// and a Config for certrotate.
type fakes struct {
	t     testing.TB
	clock *fakeclock.Clock
	// now and sleep are the clock everything runs on: clock's, or the real one.
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
	// sf holds one server per org, as real orgs have distinct hosts.
	sf  []*sftest.Server
	iam *iamtest.Server
	cfg Config
	// orgs are the sftest handles, in spec order.
	orgs []*sftest.Org
	// providers are the ARNs of the accounts' providers, by account.
	providers map[string]string

	// hooks run around every write of the clients certrotate uses: before and
	// after each Salesforce write (deploy, updateMetadata) and each
	// UpdateSAMLProvider. op names the write; step is the step running.
	mu    sync.Mutex
	hooks []func(when, op, step string)
	// hostHooks are like hooks, given the host of a Salesforce write ("" for AWS).
	hostHooks []func(when, op, host string)
	step      string // the step running now
	target    string // its target
	host      string // the host of the Salesforce write running now; "" for AWS
	events    []Event
	// tokens are the access tokens issued to the clients, to look for in logs.
	tokens []string
}

// realSleep sleeps on the real clock, for benchmarks.
func realSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func oldCertName(i int) string { return fmt.Sprintf("SelfSignedCert_Org%d", i+1) }

func newFakes(t testing.TB, spec fakesSpec) *fakes {
	t.Helper()
	w := &fakes{t: t, clock: fakeclock.New(t0), providers: map[string]string{}}
	base, now, sleep := t0, w.clock.Now, w.clock.Sleep
	if spec.RealClock {
		base, now, sleep = time.Now(), time.Now, realSleep
	}
	w.now, w.sleep = now, sleep
	var orgs []sftest.OrgConfig
	accounts := map[string][]int{} // account → orgs with a contact center there
	for i, os := range spec.Orgs {
		exp := os.ExpiresIn
		if exp == 0 {
			exp = 10 * 24 * time.Hour
		}
		oc := sftest.OrgConfig{
			Name:           fmt.Sprintf("org%d", i+1),
			ID:             orgID18(fmt.Sprintf("00D5g00%08d", i+1)),
			Certificates:   append([]sftest.CertificateConfig{{DeveloperName: oldCertName(i), ExpiresAt: base.Add(exp)}}, os.Extra...),
			IdPCertificate: oldCertName(i),
		}
		for j, cs := range os.CCs {
			acct := cs.Account
			if acct == "" {
				acct = acct1
			}
			if !slices.Contains(accounts[acct], i) {
				accounts[acct] = append(accounts[acct], i)
			}
			oc.ContactCenters = append(oc.ContactCenters, sftest.ContactCenterConfig{
				InternalName: fmt.Sprintf("Org%dCC%d", i+1, j+1),
				App: sftest.ConnectedAppConfig{
					UseOrgDefault: cs.OnDefault,
					Managed:       os.ManagedApps,
					RoleARN:       fmt.Sprintf("arn:aws:iam::%s:role/%s", acct, roleName),
					ProviderARN:   fmt.Sprintf("arn:aws:iam::%s:saml-provider/%s", acct, awsidp.DefaultProviderName),
				},
			})
		}
		for _, name := range os.OtherApps {
			oc.ConnectedApps = append(oc.ConnectedApps, sftest.ConnectedAppConfig{FullName: name, UseOrgDefault: true})
		}
		orgs = append(orgs, oc)
	}
	for i, oc := range orgs {
		// A seeded source makes certificates (serial numbers, hence fingerprints)
		// the same on every run, for the golden files.
		seeded := func(c *sftest.Config) { c.Rand = &lockedReader{r: rand.NewChaCha8([32]byte{byte(i + 1)})} }
		sfOpts := append([]sftest.Option{sftest.WithNow(now), sftest.WithSleep(sleep), sftest.WithOrgs(oc), seeded}, spec.SFOpts...)
		srv := sftest.NewServer(t, sfOpts...)
		w.sf = append(w.sf, srv)
		w.orgs = append(w.orgs, srv.DefaultOrg())
	}

	// The clients certrotate uses, one per org.
	var clients []*salesforce.Client
	for i, h := range w.orgs {
		user := h.Username()
		if spec.Orgs[i].APIOnly {
			user = "integration@" + h.Name() + ".example"
		}
		clients = append(clients, w.sfClient(h, user))
	}

	// One provider per account, trusting the IdP metadata of every org with a
	// contact center there.
	var accts []iamtest.Account
	for _, acct := range sortedKeysOf(accounts) {
		var docs [][]byte
		for _, i := range accounts[acct] {
			md, err := clients[i].IdPMetadata(t.Context())
			if err != nil {
				t.Fatalf("IdPMetadata of org %d: %v", i+1, err)
			}
			docs = append(docs, md)
		}
		accts = append(accts, iamtest.Account{
			ID:         acct,
			AccessKeys: []iamtest.AccessKey{{ID: "AKIA" + acct + "EXAMPLE"[:4], Secret: "secret-" + acct}},
			Providers:  []iamtest.Provider{{Name: awsidp.DefaultProviderName, Document: entities(t, docs)}},
			Roles:      []iamtest.Role{{Name: roleName}},
		})
		w.providers[acct] = fmt.Sprintf("arn:aws:iam::%s:saml-provider/%s", acct, awsidp.DefaultProviderName)
	}
	iamOpts := append([]iamtest.Option{iamtest.WithClock(now, sleep), iamtest.WithAccounts(accts...)}, spec.IAMOpts...)
	w.iam = iamtest.NewServer(t, iamOpts...)

	w.cfg = Config{
		Orgs: clients,
		AWS: func(ctx context.Context, partition, accountID string) (*AWSClients, error) {
			i, s := w.awsClients(accountID)
			return &AWSClients{IAM: hookedIAM{IAMAPI: i, w: w}, STS: s}, nil
		},
		Now: now, Sleep: sleep,
		OnEvent: w.onEvent,
		// 2048-bit keys sign four times faster than the default 4096; the
		// default is exercised where it matters (TestKeySizeDefault).
		KeySize: 2048,
	}
	for _, srv := range w.sf {
		srv.ResetRequests()
	}
	return w
}

func (w *fakes) sfClient(h *sftest.Org, user string) *salesforce.Client {
	w.t.Helper()
	tok, err := h.IssueToken(user)
	if err != nil {
		w.t.Fatal(err)
	}
	w.mu.Lock()
	w.tokens = append(w.tokens, tok)
	w.mu.Unlock()
	c, err := salesforce.New(salesforce.Config{
		InstanceURL: h.InstanceURL(), Auth: salesforce.StaticToken{AccessToken: tok},
		Now: w.now, Sleep: w.sleep,
		HTTPClient: &http.Client{Transport: hookedTransport{w: w}},
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

// awsClients returns the real SDK clients of an account, pointed at iamtest.
func (w *fakes) awsClients(accountID string) (*iam.Client, *sts.Client) {
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIA"+accountID+"EXAM", "secret-"+accountID, ""),
		BaseEndpoint: aws.String(w.iam.URL),
	}
	return iam.NewFromConfig(cfg), sts.NewFromConfig(cfg)
}

// entities joins the EntityDescriptors of several metadata documents into one
// EntitiesDescriptor, as a provider shared by several orgs holds them.
func entities(t testing.TB, docs [][]byte) []byte {
	t.Helper()
	if len(docs) == 1 {
		return docs[0]
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">` + "\n")
	for _, d := range docs {
		s := string(d)
		if strings.HasPrefix(s, "<?xml") {
			s = s[strings.Index(s, "?>")+2:]
		}
		b.WriteString(strings.TrimSpace(s) + "\n")
	}
	b.WriteString(`</md:EntitiesDescriptor>` + "\n")
	if _, err := samlmeta.Parse(b.Bytes()); err != nil {
		t.Fatalf("joined metadata does not parse: %v", err)
	}
	return b.Bytes()
}

func sortedKeysOf[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func (w *fakes) onEvent(ev Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events = append(w.events, ev)
	if ev.Kind == EventStarted {
		w.step, w.target = ev.Step, ev.Target
	}
}

// addHook adds a function run before ("before") and after ("after") every write.
func (w *fakes) addHook(fn func(when, op, step string)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hooks = append(w.hooks, fn)
}

// current returns the step running now, its target, and the host of the
// Salesforce write running now ("" for an AWS write). With several orgs at once
// it is exact only under Config.Concurrency 1.
func (w *fakes) current() (step, target, host string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.step, w.target, w.host
}

// addHostHook adds a function run before and after every write, given the host
// of a Salesforce write ("" for an AWS write).
func (w *fakes) addHostHook(fn func(when, op, host string)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hostHooks = append(w.hostHooks, fn)
}

func (w *fakes) runHooks(when, op, host string) {
	w.mu.Lock()
	w.host = host
	hooks, step := slices.Clone(w.hooks), w.step
	hostHooks := slices.Clone(w.hostHooks)
	w.mu.Unlock()
	for _, fn := range hostHooks {
		fn(when, op, host)
	}
	for _, fn := range hooks {
		fn(when, op, step)
	}
}

// hookedIAM runs the world's hooks around each UpdateSAMLProvider.
type hookedIAM struct {
	awsidp.IAMAPI
	w *fakes
}

func (h hookedIAM) UpdateSAMLProvider(ctx context.Context, in *iam.UpdateSAMLProviderInput, opts ...func(*iam.Options)) (*iam.UpdateSAMLProviderOutput, error) {
	h.w.runHooks("before", "UpdateSAMLProvider", "")
	out, err := h.IAMAPI.UpdateSAMLProvider(ctx, in, opts...)
	h.w.runHooks("after", "UpdateSAMLProvider", "")
	return out, err
}

// hookedTransport runs the world's hooks around each Salesforce write: a
// Metadata SOAP deploy or updateMetadata.
type hookedTransport struct{ w *fakes }

func (h hookedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	op := ""
	if req.Method == http.MethodPost && strings.Contains(req.URL.Path, "/services/Soap/m/") && req.Body != nil {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		for _, name := range []string{"updateMetadata", "upsertMetadata", "createMetadata", "deploy"} {
			if bytes.Contains(body, []byte(":"+name+">")) || bytes.Contains(body, []byte("<"+name+">")) {
				op = name
			}
		}
	}
	if op != "" {
		h.w.runHooks("before", op, req.URL.Host)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if op != "" {
		h.w.runHooks("after", op, req.URL.Host)
	}
	return resp, err
}

// writes returns the number of writes both fakes logged since the fakes started.
func (w *fakes) writes() (sf, aws int) {
	for _, srv := range w.sf {
		sf += len(srv.Writes())
	}
	return sf, len(w.iam.Writes())
}

// newCertificates returns, per org, the certificates created since the start.
func (w *fakes) newCertificates() map[string][]string {
	out := map[string][]string{}
	for i, h := range w.orgs {
		for _, n := range h.CertificateNames() {
			if n != oldCertName(i) {
				out[h.Name()] = append(out[h.Name()], n)
			}
		}
	}
	return out
}

// prober is an SSO prober with its own clients: a fresh IdP-initiated login and an
// AssumeRoleWithSAML, each assertion used at once.
type prober struct {
	w   *fakes
	sf  map[string]*salesforce.Client // by org name
	mu  sync.Mutex
	ok  int
	bad []probeFailure
}

type probeFailure struct {
	At time.Time
	CC string
	// Err is the failure.
	Err error
}

func (w *fakes) newProber() *prober {
	p := &prober{w: w, sf: map[string]*salesforce.Client{}}
	for _, h := range w.orgs {
		p.sf[h.Name()] = w.sfClient(h, h.Username())
	}
	return p
}

// mint returns a fresh SSO response for a contact center, not yet presented.
func (p *prober) mint(ctx context.Context, h *sftest.Org, cc sftest.ContactCenter) (*salesforce.SSOResponse, error) {
	return p.sf[h.Name()].ProbeSSO(ctx, cc.IdentityURL)
}

// present sends a minted response to STS for the contact center's role.
func (p *prober) present(ctx context.Context, cc sftest.ContactCenter, resp *salesforce.SSOResponse) error {
	acct, err := awsidp.ParseProviderARN(cc.ProviderARN)
	if err != nil {
		return err
	}
	_, s := p.w.awsClients(acct.AccountID)
	return awsidp.ProbeSSO(ctx, s, awsidp.Probe{SAMLResponse: resp.Encoded, RoleARN: cc.RoleARN, ProviderARN: cc.ProviderARN, Region: "us-east-1"})
}

// probeAll probes every contact center once and records the outcome.
func (p *prober) probeAll(ctx context.Context) {
	for _, h := range p.w.orgs {
		for _, cc := range h.ContactCenters() {
			resp, err := p.mint(ctx, h, cc)
			if err == nil {
				err = p.present(ctx, cc, resp)
			}
			p.mu.Lock()
			if err != nil {
				p.bad = append(p.bad, probeFailure{At: p.w.clock.Now(), CC: cc.InternalName, Err: err})
			} else {
				p.ok++
			}
			p.mu.Unlock()
		}
	}
}

// attach makes the prober probe every contact center after every write: the
// state SSO depends on changes only there. (Assertions minted before a write and
// used after it are TestOverlapOldAssertionStillAccepted's subject.)
func (p *prober) attach(ctx context.Context) {
	p.w.addHook(func(when, op, step string) {
		if when == "after" {
			p.probeAll(ctx)
		}
	})
}

// trusted returns the SHA-256s the provider of acct trusts for org h, read from
// iamtest's own state.
func (w *fakes) trusted(acct string, h *sftest.Org) []string {
	w.t.Helper()
	doc, ok := w.iam.Document(w.providers[acct])
	if !ok {
		w.t.Fatalf("no provider in %s", acct)
	}
	parsed, err := samlmeta.Parse(doc)
	if err != nil {
		w.t.Fatal(err)
	}
	ent := parsed.Entity(h.InstanceURL())
	if ent == nil {
		w.t.Fatalf("provider of %s has no entity %s", acct, h.InstanceURL())
	}
	var out []string
	for _, c := range ent.SigningCertificates() {
		out = append(out, c.SHA256)
	}
	return out
}
func fp(der []byte) string { return samlmeta.Fingerprint(der) }

// orgID18 returns the 18-character form of a 15-character Salesforce ID: each
// 5-character chunk adds a character encoding which of its letters are upper case.
func orgID18(id15 string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	out := id15
	for chunk := 0; chunk < 3; chunk++ {
		n := 0
		for i := 0; i < 5; i++ {
			if c := id15[chunk*5+i]; c >= 'A' && c <= 'Z' {
				n |= 1 << i
			}
		}
		out += string(alphabet[n])
	}
	return out
}

// lockedReader makes a reader safe for the fake's concurrent handlers.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(b)
}

// checkSSO runs one SSO probe per contact center of the world and fails t for
// each that fails; when says at which point ("after the re-run"), or is empty.
func (w *fakes) checkSSO(t *testing.T, when string) {
	t.Helper()
	pr := w.newProber()
	pr.probeAll(t.Context())
	if len(pr.bad) > 0 {
		if when != "" {
			when = " " + when
		}
		t.Errorf("SSO fails%s: %v", when, pr.bad)
	}
}
