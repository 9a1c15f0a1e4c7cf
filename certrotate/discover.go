package certrotate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/voicecert/voicecert/awsidp"
	"github.com/voicecert/voicecert/salesforce"
	"github.com/voicecert/voicecert/samlmeta"
)

// run is the state one Build shares between its orgs: the AWS clients per
// account and the providers read, so that orgs on one provider read it once.
type run struct {
	cfg  *Config
	aws  *accounts
	orgs []*orgRun

	mu        sync.Mutex
	providers map[string]*awsidp.Provider
}

// orgRun is one org's discovered state and the clients its steps use.
type orgRun struct {
	run   *run
	sf    *salesforce.Client
	state orgState
	plan  *orgPlan
	// strategy is the org's: Config's, or replace after a fallback.
	strategy Strategy
	ccs      []*ccRun // sorted by name, like state.ContactCenters
	apps     map[string]salesforce.ConnectedApp
	idp      salesforce.IdentityProviderSettings
	issuer   string

	// certs holds the org certificates whose PEM was read, by DeveloperName.
	certs map[string]*samlmeta.Certificate
	// observed is false when the SSO probe cannot run (consent needed).
	observed bool
	// unobservedErr is why the probe cannot run.
	unobservedErr error
	// lifetime is the longest assertion lifetime the probe saw.
	lifetime time.Duration
	// added is when this run last added a certificate to a provider; zero when
	// it added none (the key may have been added by a run that crashed).
	added time.Time

	// sfMu keeps the org's Salesforce calls serial (DESIGN §4) while its
	// provider steps run at once, one per AWS provider.
	sfMu sync.Mutex

	mu sync.Mutex
	// replaces is the latest expiry among the certificates being replaced: the
	// successor must outlive it.
	replaces time.Time
	// succ is the successor certificate, once found or created.
	succ *samlmeta.Certificate
	// succInfo is the successor as Salesforce lists it.
	succInfo certState
	// expected is, per provider, the SHA-256s this org's entity trusts as far as
	// this run knows: the plan's view, updated after each of its own writes.
	expected map[string][]string
	// previous keeps, per provider, the document before this run's first write.
	previous map[string][]byte
}

// ccRun is one contact center of an org.
type ccRun struct {
	cc       salesforce.ContactCenter
	app      salesforce.ConnectedApp
	provider string
	selected bool
	report   ContactCenterReport
	// windowStart is when its signer switched; the SSO window starts there when
	// AWS does not trust the new certificate yet (replace).
	windowStart time.Time
}

// discover reads everything Build needs from every org, concurrently across orgs.
func (r *run) discover(ctx context.Context) error {
	r.orgs = make([]*orgRun, len(r.cfg.Orgs))
	errs := make([]error, len(r.cfg.Orgs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, r.cfg.concurrency())
	for i, sf := range r.cfg.Orgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r.orgs[i], errs[i] = r.discoverOrg(ctx, sf)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, o := range r.orgs {
		if seen[o.state.OrgID] {
			return fmt.Errorf("certrotate: org %s is configured twice; give each org once", o.state.OrgID)
		}
		seen[o.state.OrgID] = true
	}
	// Every name in Select must match a contact center.
	var unknown []string
	for _, name := range r.cfg.Select {
		found := false
		for _, o := range r.orgs {
			for _, c := range o.ccs {
				if c.cc.Name == name || c.cc.InternalName == name {
					found = true
				}
			}
		}
		if !found {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		var have []string
		for _, o := range r.orgs {
			for _, c := range o.ccs {
				have = append(have, fmt.Sprintf("%q (internal name %q)", c.cc.Name, c.cc.InternalName))
			}
		}
		found := "the orgs have none"
		if len(have) > 0 {
			found = "the orgs have " + strings.Join(have, ", ")
		}
		return fmt.Errorf("%w: no Amazon Connect contact center named %s; select by Name or InternalName: %s",
			ErrBadConfig, strings.Join(unknown, ", "), found)
	}
	return nil
}

// selected reports whether Config.Select picks cc.
func (c *Config) selected(cc salesforce.ContactCenter) bool {
	return len(c.Select) == 0 || slices.Contains(c.Select, cc.Name) || slices.Contains(c.Select, cc.InternalName)
}

func (r *run) discoverOrg(ctx context.Context, sf *salesforce.Client) (*orgRun, error) {
	o := &orgRun{run: r, sf: sf, certs: map[string]*samlmeta.Certificate{}, apps: map[string]salesforce.ConnectedApp{},
		expected: map[string][]string{}, previous: map[string][]byte{}}
	var err error
	if o.state.OrgID, err = sf.OrgID(ctx); err != nil {
		return nil, fmt.Errorf("certrotate: read the org: %w", err)
	}
	fail := func(what string, err error) error {
		return fmt.Errorf("certrotate: org %s: %s: %w", o.state.OrgID, what, err)
	}
	if o.issuer, err = sf.Issuer(ctx); err != nil {
		return nil, fail("read the issuer", err)
	}
	o.state.Issuer = o.issuer
	idp, err := sf.IdentityProvider(ctx)
	if err != nil {
		return nil, fail("read the Identity Provider setting", err)
	}
	o.idp = *idp
	o.state.IdPCertificate = idp.CertificateName
	certs, err := sf.ListCertificates(ctx)
	if err != nil {
		return nil, fail("list certificates", err)
	}
	for _, c := range certs {
		o.state.Certificates = append(o.state.Certificates, certState{Name: c.DeveloperName, Expires: c.ExpirationDate, KeySize: c.KeySize})
	}
	ccs, err := sf.ListContactCenters(ctx)
	if err != nil {
		return nil, fail("list contact centers", err)
	}
	apps, err := sf.ListSAMLConnectedApps(ctx)
	if err != nil {
		return nil, fail("list SAML connected apps", err)
	}
	for _, a := range apps {
		o.apps[a.FullName] = a
	}

	slices.SortFunc(ccs, func(a, b salesforce.ContactCenter) int { return strings.Compare(a.Name, b.Name) })
	ccApps := map[string]bool{}
	var errs []error
	for _, cc := range ccs {
		app, ok := o.apps[cc.ConnectedApp]
		if !ok {
			errs = append(errs, fmt.Errorf("certrotate: org %s: contact center %s: its connected app (id %s) is not among the org's SAML connected apps; check reqConnectedAppId", o.state.OrgID, cc.Name, cc.ConnectedAppID))
			continue
		}
		ccApps[app.FullName] = true
		arn, err := r.cfg.providerFor(cc, app)
		if err != nil {
			errs = append(errs, fmt.Errorf("certrotate: org %s: %w", o.state.OrgID, err))
			continue
		}
		c := &ccRun{cc: cc, app: app, provider: arn, selected: r.cfg.selected(cc)}
		o.ccs = append(o.ccs, c)
		o.state.ContactCenters = append(o.state.ContactCenters, ccState{
			Name: cc.Name, InternalName: cc.InternalName,
			App:         appState{FullName: app.FullName, Label: app.Label, ID: app.ID, Certificate: app.Certificate},
			ProviderARN: arn, RoleARN: cc.RoleARN, Region: cc.Region, Selected: c.selected,
		})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, a := range apps {
		if !ccApps[a.FullName] {
			o.state.OtherApps = append(o.state.OtherApps, appState{FullName: a.FullName, Label: a.Label, ID: a.ID, Certificate: a.Certificate})
		}
	}

	// Read the PEM of every certificate someone signs with, and of every
	// certificate the successor rule may pick.
	want := []string{}
	if o.idp.CertificateName != "" {
		want = append(want, o.idp.CertificateName)
	}
	for _, c := range o.ccs {
		want = appendUnique(want, c.app.Certificate)
	}
	for _, c := range certs {
		if strings.HasPrefix(c.DeveloperName, r.cfg.prefix()) {
			want = appendUnique(want, c.DeveloperName)
		}
	}
	for _, name := range want {
		if err := o.readCertificate(ctx, name); err != nil {
			return nil, err
		}
	}

	// What each provider trusts for this org's entity.
	o.state.Providers = map[string]*providerState{}
	for _, c := range o.ccs {
		if o.state.Providers[c.provider] != nil {
			continue
		}
		prov, err := r.provider(ctx, c.provider)
		if err != nil {
			return nil, fail("contact center "+c.cc.Name, err)
		}
		ps, err := o.entityState(prov)
		if err != nil {
			return nil, err
		}
		o.state.Providers[c.provider] = ps
		o.expected[c.provider] = slices.Clone(ps.Trusted)
	}

	if err := o.observeSigners(ctx); err != nil {
		return nil, err
	}
	return o, nil
}

// providerFor returns the provider ARN of a contact center: Config.Providers,
// else the ARN in the app's Role attribute (with Config.ProviderName's name when
// set), else the role's account with the provider name.
func (c *Config) providerFor(cc salesforce.ContactCenter, app salesforce.ConnectedApp) (string, error) {
	if arn := c.Providers[cc.Name]; arn != "" {
		return arn, nil
	}
	if arn := c.Providers[cc.InternalName]; arn != "" {
		return arn, nil
	}
	provider := cmpOr(cc.ProviderARN, app.ProviderARN)
	role := cmpOr(cc.RoleARN, app.RoleARN)
	if provider != "" {
		a, err := awsidp.ParseProviderARN(provider)
		if err != nil {
			return "", fmt.Errorf("contact center %s: its app's Role attribute names %w", cc.Name, err)
		}
		if c.ProviderName != "" {
			return awsidp.ProviderARN(a.Partition, a.AccountID, c.ProviderName).String(), nil
		}
		return a.String(), nil
	}
	if role != "" {
		a, err := awsidp.ParseARN(role)
		if err != nil {
			return "", fmt.Errorf("contact center %s: its app's Role attribute names %w", cc.Name, err)
		}
		return awsidp.ProviderARN(a.Partition, a.AccountID, c.providerName()).String(), nil
	}
	return "", fmt.Errorf("contact center %s: its connected app %s names no AWS role or provider in a literal Role attribute; set Config.Providers[%q] to the provider ARN", cc.Name, app.FullName, cc.Name)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// provider reads a provider once per run.
func (r *run) provider(ctx context.Context, arn string) (*awsidp.Provider, error) {
	r.mu.Lock()
	p := r.providers[arn]
	r.mu.Unlock()
	if p != nil {
		return p, nil
	}
	acc, err := r.aws.forProvider(ctx, arn)
	if err != nil {
		return nil, err
	}
	p, err = acc.idp.Provider(ctx, arn)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.providers == nil {
		r.providers = map[string]*awsidp.Provider{}
	}
	r.providers[arn] = p
	r.mu.Unlock()
	return p, nil
}

// entityState returns what prov trusts for the org's entity.
func (o *orgRun) entityState(prov *awsidp.Provider) (*providerState, error) {
	if prov.ParseError != nil {
		return nil, fmt.Errorf("certrotate: provider %s: its document does not parse: %w; fix it in IAM first", prov.ARN, prov.ParseError)
	}
	ent := prov.Entity(o.issuer)
	if ent == nil {
		var ids []string
		for _, e := range prov.Entities {
			ids = append(ids, e.EntityID)
		}
		return nil, fmt.Errorf("certrotate: provider %s has no entity for org %s (issuer %s; it has %s); upload the org's IdP metadata to it first",
			prov.ARN, o.state.OrgID, o.issuer, orNone(strings.Join(ids, ", ")))
	}
	ps := &providerState{ARN: prov.ARN, Expires: map[string]time.Time{}}
	for _, c := range ent.Certificates {
		ps.Trusted = append(ps.Trusted, c.SHA256)
		ps.Expires[c.SHA256] = c.NotAfter
	}
	return ps, nil
}

// readCertificate reads a certificate's PEM and records its fingerprint.
func (o *orgRun) readCertificate(ctx context.Context, name string) error {
	o.mu.Lock()
	_, ok := o.certs[name]
	o.mu.Unlock()
	if ok {
		return nil
	}
	o.sfMu.Lock()
	c, err := o.sf.Certificate(ctx, name)
	o.sfMu.Unlock()
	if err != nil {
		return fmt.Errorf("certrotate: org %s: read certificate %s: %w", o.state.OrgID, name, err)
	}
	parsed, err := samlmeta.ParseCertificate(c.PEM)
	if err != nil {
		return fmt.Errorf("certrotate: org %s: certificate %s: %w", o.state.OrgID, name, err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.certs[name] = parsed
	for i := range o.state.Certificates {
		if o.state.Certificates[i].Name == name {
			o.state.Certificates[i].SHA256 = parsed.SHA256
		}
	}
	return nil
}

// trustedCertificates returns every org certificate whose PEM was read, for
// verifying what the SSO probe returns.
func (o *orgRun) trustedCertificates() []*samlmeta.Certificate {
	o.mu.Lock()
	defer o.mu.Unlock()
	names := make([]string, 0, len(o.certs))
	for n := range o.certs {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]*samlmeta.Certificate, 0, len(names)+1)
	for _, n := range names {
		out = append(out, o.certs[n])
	}
	if o.succ != nil {
		out = append(out, o.succ)
	}
	return out
}

// configuredSigner returns the certificate cc's app is configured to sign with.
func (o *orgRun) configuredSigner(c *ccRun) (string, *samlmeta.Certificate) {
	name := cmpOr(c.app.Certificate, o.idp.CertificateName)
	o.mu.Lock()
	defer o.mu.Unlock()
	return name, o.certs[name]
}

// observeSigners runs the SSO probe for every selected contact center and checks
// that the certificate that signs is the configured one (DESIGN §5). When the
// probe cannot run for lack of a UI session, the org is marked unobserved.
func (o *orgRun) observeSigners(ctx context.Context) error {
	o.observed = true
	for _, c := range o.ccs {
		if !c.selected {
			continue
		}
		vr, _, err := o.probe(ctx, c)
		if unobservable(err) {
			o.observed, o.unobservedErr = false, err
			return nil
		}
		if errors.Is(err, samlmeta.ErrSignature) {
			// Signed by a certificate whose PEM was not read: read them all, to name it.
			for _, cs := range o.state.Certificates {
				if rerr := o.readCertificate(ctx, cs.Name); rerr != nil {
					return rerr
				}
			}
			vr, _, err = o.probe(ctx, c)
		}
		if err != nil {
			return fmt.Errorf("certrotate: org %s: contact center %s: observe the signer: %w", o.state.OrgID, c.cc.Name, err)
		}
		name, want := o.configuredSigner(c)
		c.report.ObservedSigner = vr.Signer.SHA256
		if want == nil || vr.Signer.SHA256 != want.SHA256 {
			return &SignerMismatchError{ContactCenter: c.cc.Name, App: c.app.FullName, Configured: name,
				ConfiguredSHA256: shaOf(want), Observed: o.nameOf(vr.Signer.SHA256), ObservedSHA256: vr.Signer.SHA256}
		}
		if l := vr.Assertion.NotOnOrAfter.Sub(vr.Assertion.IssueInstant); l > o.lifetime {
			o.lifetime = l
		}
	}
	return nil
}

func shaOf(c *samlmeta.Certificate) string {
	if c == nil {
		return ""
	}
	return c.SHA256
}

// nameOf returns the DeveloperName of the org certificate with this SHA-256.
func (o *orgRun) nameOf(sha string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	for n, c := range o.certs {
		if c.SHA256 == sha {
			return n
		}
	}
	if o.succ != nil && o.succ.SHA256 == sha {
		return o.succInfo.Name
	}
	return ""
}

// unobservable reports whether err means the SSO probe cannot run at all.
func unobservable(err error) bool {
	return errors.Is(err, salesforce.ErrAPIOnlyUser) || errors.Is(err, salesforce.ErrNoWebScope) || errors.Is(err, salesforce.ErrNoAccess)
}

// SignerMismatchError says that a contact center's app signs with another
// certificate than the one it is configured with: an assumption of DESIGN §1
// (that samlConfig.certificate, or the IdP setting for apps on the default, is
// the certificate that signs) does not hold for this org. Build stops with it
// before any write.
type SignerMismatchError struct {
	ContactCenter, App           string
	Configured, ConfiguredSHA256 string
	Observed, ObservedSHA256     string // Observed is "" when the org does not list it
}

// Error names both certificates and the failed assumption.
func (e *SignerMismatchError) Error() string {
	return fmt.Sprintf("certrotate: contact center %s: connected app %s is configured to sign with %s (sha256 %s) but the SSO probe shows %s (sha256 %s): the assumption that samlConfig.certificate (or the IdP setting for apps on the org default) is the certificate that signs does not hold; nothing was written; check the app's IdP Certificate in Setup",
		e.ContactCenter, e.App, orNone(e.Configured), orNone(e.ConfiguredSHA256), orNone(e.Observed), e.ObservedSHA256)
}
