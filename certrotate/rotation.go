package certrotate

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/voicecert/voicecert/awsidp"
	"github.com/voicecert/voicecert/samlmeta"
)

// Build reads the orgs and providers of cfg (reads only: no write of any kind)
// and returns the plan that rotates every due contact center and repairs drift.
// The observed signer of each selected contact center must equal its configured
// one; otherwise Build returns a [*SignerMismatchError]. [ErrorReport] turns a
// Build error into the report to print.
func Build(ctx context.Context, cfg Config) (*Plan, error) {
	return build(ctx, &cfg)
}

// ErrBadConfig is wrapped by the error of a Config that fails validation; the
// message lists every problem.
var ErrBadConfig = errors.New("certrotate: bad Config")

// ErrorReport returns the report of a run that failed before it could plan:
// outcome refused for a bad Config, failed otherwise, with the error set.
func ErrorReport(cfg Config, err error) *Report {
	rep := &Report{Outcome: OutcomeFailed, Error: err.Error(), Strategy: cfg.strategy()}
	if errors.Is(err, ErrBadConfig) {
		rep.Outcome = OutcomeRefused
	}
	return rep
}

func build(ctx context.Context, cfg *Config) (*Plan, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("%w:\n%w", ErrBadConfig, err)
	}
	r := &run{cfg: cfg}
	r.aws = &accounts{cfg: cfg}
	calls := func() APICalls {
		var c APICalls
		for _, sf := range cfg.Orgs {
			s := sf.Stats()
			c.SalesforceReads += s.Reads
			c.SalesforceWrites += s.Writes
		}
		c.AWSReads, c.AWSWrites = int(r.aws.n.reads.Load()), int(r.aws.n.writes.Load())
		return c
	}
	start := calls()
	if err := r.discover(ctx); err != nil {
		return nil, err
	}
	var (
		steps    []*Step
		base     Report
		notes    []string
		observed = true
	)
	opt := planOptions{Now: cfg.now(), RenewBefore: cfg.renewBefore(), Force: cfg.Force, Strategy: cfg.strategy(), Prefix: cfg.prefix()}
	for _, o := range r.orgs {
		op, err := planOrg(&o.state, opt)
		if err != nil {
			return nil, err
		}
		o.plan = op
		if err := o.checkPlan(); err != nil {
			return nil, err
		}
		o.replaces = o.replacedExpiry(opt)
		if !op.Create && op.Rotating {
			o.succ, o.succInfo = o.certs[op.Successor.Name], op.Successor
		}
		for _, spec := range op.Steps {
			steps = append(steps, o.bind(spec))
		}
		notes = append(notes, op.Notes...)
		base.AffectedApps = append(base.AffectedApps, op.Affected...)
		if !o.observed && len(op.Steps) > 0 {
			observed = false
			notes = append(notes, fmt.Sprintf("The SSO probe cannot run for org %s (%v), so the signer is unconfirmed and verification will be by consistency only, without automatic rollback.", o.state.OrgID, o.unobservedErr))
		}
		for _, c := range o.ccs {
			if c.selected || slices.Contains(op.Moving, c.cc.Name) {
				base.ContactCenters = append(base.ContactCenters, o.ccReport(c))
			}
		}
	}
	if len(base.AffectedApps) > 0 {
		base.ConsentNeeded = append(base.ConsentNeeded, ConsentAffectedApps)
	}
	if !observed {
		base.ConsentNeeded = append(base.ConsentNeeded, ConsentUnobservedSigner)
	}
	p := newPlan(ctx, *cfg, base, steps)
	p.notes = notes
	p.calls = calls
	p.run = r
	p.stopOnly = notCausedByCertificate
	p.noRollback = !observed
	p.finish = func(rep *Report) {
		rep.ContactCenters = rep.ContactCenters[:0]
		for _, o := range r.orgs {
			for _, c := range o.ccs {
				if c.selected || slices.Contains(o.plan.Moving, c.cc.Name) {
					rep.ContactCenters = append(rep.ContactCenters, o.ccReport(c))
				}
			}
		}
	}
	p.base.APICalls = sub(calls(), start)
	return p, nil
}

func sub(a, b APICalls) APICalls {
	return APICalls{SalesforceReads: a.SalesforceReads - b.SalesforceReads, SalesforceWrites: a.SalesforceWrites - b.SalesforceWrites,
		AWSReads: a.AWSReads - b.AWSReads, AWSWrites: a.AWSWrites - b.AWSWrites}
}

// checkPlan refuses what the plan cannot do: switching a managed (installed)
// connected app.
func (o *orgRun) checkPlan() error {
	for _, s := range o.plan.Steps {
		if s.Name != StepSwitchConnectedApp {
			continue
		}
		if st := o.apps[s.App].ManageableState; st != "" && st != "unmanaged" {
			return fmt.Errorf("certrotate: org %s: contact center %s: connected app %s is %s (from a package) and cannot be updated; switch it to the org default in Setup or ask its publisher", o.state.OrgID, s.CC, s.App, st)
		}
	}
	return nil
}

// replacedExpiry is the latest expiry among the certificates the rotation
// replaces; the successor must outlive it.
func (o *orgRun) replacedExpiry(opt planOptions) time.Time {
	var t time.Time
	for _, c := range o.ccs {
		if !slices.Contains(o.plan.Moving, c.cc.Name) {
			continue
		}
		name, _ := o.configuredSigner(c)
		if cs, ok := o.state.cert(name); ok && cs.Name != o.plan.Successor.Name && cs.Expires.After(t) {
			t = cs.Expires
		}
	}
	return t
}

// ccReport describes c for the report.
func (o *orgRun) ccReport(c *ccRun) ContactCenterReport {
	r := c.report
	r.Name, r.OrgID, r.SAMLProviderARN = c.cc.Name, o.state.OrgID, c.provider
	name, cert := o.configuredSigner(c)
	r.OldCertificate = o.certInfo(name, cert)
	o.mu.Lock()
	r.AWSTrusts = slices.Clone(o.expected[c.provider])
	moving := o.plan != nil && slices.Contains(o.plan.Moving, c.cc.Name)
	if moving {
		if o.succ != nil {
			r.NewCertificate = CertificateInfo{Name: o.succInfo.Name, Expires: Timestamp(o.succ.NotAfter), SHA256: o.succ.SHA256}
		} else {
			r.NewCertificate = CertificateInfo{Name: o.plan.Successor.Name}
		}
	}
	o.mu.Unlock()
	if !c.windowStart.IsZero() || r.SSOUnavailableMS > 0 {
		r.SSOWindow.Start = Timestamp(c.windowStart)
	}
	return r
}

func (o *orgRun) certInfo(name string, c *samlmeta.Certificate) CertificateInfo {
	info := CertificateInfo{Name: name}
	if cs, ok := o.state.cert(name); ok {
		info.Expires = Timestamp(cs.Expires)
	}
	if c != nil {
		info.SHA256 = c.SHA256
		if time.Time(info.Expires).IsZero() {
			info.Expires = Timestamp(c.NotAfter)
		}
	}
	return info
}

// bind turns a planned step into a Step with the org's clients.
func (o *orgRun) bind(spec stepSpec) *Step {
	s := &Step{Name: spec.Name, Target: spec.Target, Planned: spec.Change, lane: "salesforce/" + o.state.OrgID}
	switch spec.Name {
	case StepCreateCertificate:
		s.Check = func(ctx context.Context) (Change, error) { return o.checkCreate(ctx, spec.Change) }
		s.Apply, s.Verify = o.applyCreate, o.verifyCreate
	case StepSwitchIdentityProvider:
		o.bindSwitchIdP(s)
	case StepSwitchConnectedApp:
		o.bindSwitchApp(s, spec)
	default: // the provider steps
		s.locks = []string{"aws/" + spec.Provider}
		o.bindProvider(s, spec)
	}
	return s
}

// successor returns the successor certificate, finding it again by rule when
// this run has not seen it yet (DESIGN §2): it is never created twice.
func (o *orgRun) successor(ctx context.Context) (*samlmeta.Certificate, string, error) {
	o.mu.Lock()
	succ, name := o.succ, o.succInfo.Name
	o.mu.Unlock()
	if succ != nil {
		return succ, name, nil
	}
	certs, err := o.sf.ListCertificates(ctx)
	if err != nil {
		return nil, "", err
	}
	var states []certState
	for _, c := range certs {
		states = append(states, certState{Name: c.DeveloperName, Expires: c.ExpirationDate, KeySize: c.KeySize})
	}
	cfg := o.run.cfg
	cs, ok := successor(states, cfg.prefix(), o.replaces, cfg.now().Add(cfg.renewBefore()))
	if !ok {
		return nil, "", nil
	}
	c, err := o.sf.Certificate(ctx, cs.Name)
	if err != nil {
		return nil, "", err
	}
	parsed, err := samlmeta.ParseCertificate(c.PEM)
	if err != nil {
		return nil, "", fmt.Errorf("certificate %s: %w", cs.Name, err)
	}
	o.setSuccessor(parsed, cs)
	return parsed, cs.Name, nil
}

func (o *orgRun) setSuccessor(c *samlmeta.Certificate, cs certState) {
	o.mu.Lock()
	defer o.mu.Unlock()
	cs.SHA256 = c.SHA256
	o.succ, o.succInfo = c, cs
}

// mustSuccessor is successor for the steps after create-certificate.
func (o *orgRun) mustSuccessor(ctx context.Context) (*samlmeta.Certificate, string, error) {
	c, name, err := o.successor(ctx)
	if err == nil && c == nil {
		err = fmt.Errorf("no successor certificate starting with %s exists yet; run create-certificate first", o.run.cfg.prefix())
	}
	return c, name, err
}

func (o *orgRun) checkCreate(ctx context.Context, planned Change) (Change, error) {
	c, name, err := o.successor(ctx)
	if err != nil {
		return Change{}, err
	}
	if c != nil {
		return Change{Reason: fmt.Sprintf("successor %s exists (sha256 %s)", name, shortFingerprint(c.SHA256))}, nil
	}
	return planned, nil
}

func (o *orgRun) applyCreate(ctx context.Context) error {
	cfg := o.run.cfg
	name := o.plan.Successor.Name
	label := "VoiceCert " + cfg.now().UTC().Format("2006-01-02 15:04:05")
	c, err := o.sf.CreateCertificate(ctx, name, label, cfg.keySize())
	if err != nil {
		return err
	}
	parsed, err := samlmeta.ParseCertificate(c.PEM)
	if err != nil {
		return fmt.Errorf("certificate %s: %w", name, err)
	}
	o.setSuccessor(parsed, certState{Name: c.DeveloperName, Expires: c.ExpirationDate, KeySize: c.KeySize})
	return nil
}

func (o *orgRun) verifyCreate(ctx context.Context) error {
	c, name, err := o.successor(ctx)
	if err != nil {
		return err
	}
	cfg := o.run.cfg
	switch {
	case c == nil:
		return errors.New("the new certificate is not listed by the org")
	case c.KeyType != "RSA" || c.KeyBits != cfg.keySize():
		return fmt.Errorf("certificate %s has a %s %d-bit key, want RSA %d", name, c.KeyType, c.KeyBits, cfg.keySize())
	case !c.NotAfter.After(cfg.now().Add(cfg.renewBefore())):
		return fmt.Errorf("certificate %s expires %s, inside the renew window", name, c.NotAfter.Format(time.RFC3339))
	}
	return nil
}

// bindSwitchIdP makes the IdP-setting switch: every app on the org default
// changes signer with it.
func (o *orgRun) bindSwitchIdP(s *Step) {
	old := o.idp.CertificateName
	s.Check = func(ctx context.Context) (Change, error) {
		_, name, err := o.mustSuccessor(ctx)
		if err != nil {
			return Change{}, err
		}
		idp, err := o.sf.IdentityProvider(ctx)
		if err != nil {
			return Change{}, err
		}
		switch idp.CertificateName {
		case name:
			return Change{Reason: "the IdP setting already names " + name}, nil
		case old:
		default:
			return Change{}, fmt.Errorf("the IdP setting names %s, not %s as planned; it changed since the plan: plan again", idp.CertificateName, old)
		}
		if err := o.checkReplaceDocuments(ctx); err != nil {
			return Change{}, err
		}
		return Change{Action: ActionUpdate, Reason: fmt.Sprintf("IdP setting %s → %s", old, name)}, nil
	}
	s.Apply = func(ctx context.Context) error {
		_, name, err := o.mustSuccessor(ctx)
		if err != nil {
			return err
		}
		o.startWindow(o.onDefault())
		return o.sf.SetIdentityProviderCertificate(ctx, name)
	}
	s.Verify = func(ctx context.Context) error {
		return o.verifySwitched(ctx, o.onDefault())
	}
	s.Undo = func(ctx context.Context) error {
		if err := o.sf.SetIdentityProviderCertificate(ctx, old); err != nil {
			return err
		}
		return o.verifyOld(ctx, o.onDefault())
	}
}

// onDefault returns the contact centers that sign with the org default.
func (o *orgRun) onDefault() []*ccRun {
	var out []*ccRun
	for _, c := range o.ccs {
		if c.app.Certificate == "" {
			out = append(out, c)
		}
	}
	return out
}

// usersOfApp returns the contact centers signed for by the app fullName.
func (o *orgRun) usersOfApp(fullName string) []*ccRun {
	var out []*ccRun
	for _, c := range o.ccs {
		if c.app.FullName == fullName {
			out = append(out, c)
		}
	}
	return out
}

func (o *orgRun) bindSwitchApp(s *Step, spec stepSpec) {
	var old string
	for _, c := range o.ccs {
		if c.app.FullName == spec.App {
			old = c.app.Certificate
		}
	}
	s.Check = func(ctx context.Context) (Change, error) {
		_, name, err := o.mustSuccessor(ctx)
		if err != nil {
			return Change{}, err
		}
		app, err := o.sf.ConnectedApp(ctx, spec.App)
		if err != nil {
			return Change{}, err
		}
		switch app.Certificate {
		case name:
			return Change{Reason: fmt.Sprintf("app %s already signs with %s", spec.App, name)}, nil
		case old:
		default:
			return Change{}, fmt.Errorf("app %s names %s, not %s as planned; it changed since the plan: plan again", spec.App, orNone(app.Certificate), old)
		}
		if err := o.checkReplaceDocuments(ctx); err != nil {
			return Change{}, err
		}
		return spec.Change, nil
	}
	s.Apply = func(ctx context.Context) error {
		_, name, err := o.mustSuccessor(ctx)
		if err != nil {
			return err
		}
		o.startWindow(o.usersOfApp(spec.App))
		return o.sf.SetConnectedAppCertificate(ctx, spec.App, name)
	}
	s.Verify = func(ctx context.Context) error { return o.verifySwitched(ctx, o.usersOfApp(spec.App)) }
	s.Undo = func(ctx context.Context) error {
		if err := o.sf.SetConnectedAppCertificate(ctx, spec.App, old); err != nil {
			return err
		}
		return o.verifyOld(ctx, o.usersOfApp(spec.App))
	}
}

// startWindow records, in replace, when SSO starts failing for ccs.
func (o *orgRun) startWindow(ccs []*ccRun) {
	if o.run.cfg.strategy() != StrategyReplace {
		return
	}
	now := o.run.cfg.now()
	for _, c := range ccs {
		if c.windowStart.IsZero() {
			c.windowStart = now
		}
	}
}

// verifySwitched proves that ccs now sign with the successor; in overlap, that
// AWS accepts it too (in replace AWS is updated later).
func (o *orgRun) verifySwitched(ctx context.Context, ccs []*ccRun) error {
	succ, _, err := o.mustSuccessor(ctx)
	if err != nil {
		return err
	}
	aws := o.run.cfg.strategy() == StrategyOverlap
	var errs []error
	for _, c := range ccs {
		errs = append(errs, o.verifyCC(ctx, c, succ, aws))
	}
	return errors.Join(errs...)
}

// verifyOld proves after an undo that ccs sign with their old certificate again
// and AWS accepts it.
func (o *orgRun) verifyOld(ctx context.Context, ccs []*ccRun) error {
	var errs []error
	for _, c := range ccs {
		_, cert := o.configuredSigner(c)
		if cert == nil {
			continue
		}
		errs = append(errs, o.verifyCC(ctx, c, cert, true))
	}
	return errors.Join(errs...)
}

// behind returns the org's contact centers behind provider arn.
func (o *orgRun) behind(arn string) []*ccRun {
	var out []*ccRun
	for _, c := range o.ccs {
		if c.provider == arn {
			out = append(out, c)
		}
	}
	return out
}

// readEntity reads provider arn and checks that the org's entity trusts what this
// run expects: anything else moved since the plan (DESIGN §7.3).
func (o *orgRun) readEntity(ctx context.Context, arn string) (*awsidp.Provider, *awsidp.Entity, error) {
	acc, err := o.run.aws.forProvider(ctx, arn)
	if err != nil {
		return nil, nil, err
	}
	prov, err := acc.idp.Provider(ctx, arn)
	if err != nil {
		return nil, nil, err
	}
	ent := prov.Entity(o.issuer)
	if ent == nil {
		return nil, nil, fmt.Errorf("provider %s no longer has an entity for %s: it changed since the plan; plan again", arn, o.issuer)
	}
	var got []string
	for _, c := range ent.Certificates {
		got = append(got, c.SHA256)
	}
	o.mu.Lock()
	want := o.expected[arn]
	o.mu.Unlock()
	if !sameSet(got, want) {
		return nil, nil, fmt.Errorf("provider %s trusts %s for %s, not %s as planned: it changed since the plan; plan again",
			arn, shortList(got), o.issuer, shortList(want))
	}
	return prov, ent, nil
}

// edit applies one awsidp edit to the org's entity, keeping the document before
// this run's first write, and records what the entity trusts afterwards.
func (o *orgRun) edit(ctx context.Context, arn string, prov *awsidp.Provider, add *x509.Certificate, remove string) ([]byte, error) {
	acc, err := o.run.aws.forProvider(ctx, arn)
	if err != nil {
		return nil, err
	}
	res, err := acc.idp.Apply(ctx, awsidp.Edit{ARN: arn, EntityID: o.issuer, Add: add, RemoveSHA256: remove,
		Expected: prov.Document, RequirePolicy: true})
	if err != nil {
		return nil, err
	}
	doc, err := samlmeta.Parse(res.Current)
	if err != nil {
		return nil, fmt.Errorf("provider %s: the document IAM holds after the edit: %w", arn, err)
	}
	ent := doc.Entity(o.issuer)
	if ent == nil {
		return nil, fmt.Errorf("provider %s lost the entity %s in the edit", arn, o.issuer)
	}
	var now []string
	for _, c := range ent.SigningCertificates() {
		now = append(now, c.SHA256)
	}
	o.mu.Lock()
	if _, ok := o.previous[arn]; !ok {
		o.previous[arn] = res.Previous
	}
	o.expected[arn] = now
	o.mu.Unlock()
	prov.Document = res.Current
	return res.Current, nil
}

// bindProvider makes the steps that edit a provider: add, trust (drift), remove,
// replace.
func (o *orgRun) bindProvider(s *Step, spec stepSpec) {
	arn := spec.Provider
	// certsToAdd resolves the planned additions to certificates.
	certsToAdd := func(ctx context.Context) ([]*samlmeta.Certificate, error) {
		var out []*samlmeta.Certificate
		for _, sha := range spec.Add {
			if sha == newCert {
				succ, _, err := o.mustSuccessor(ctx)
				if err != nil {
					return nil, err
				}
				out = append(out, succ)
				continue
			}
			c := o.certBySHA(sha)
			if c == nil {
				return nil, fmt.Errorf("no org certificate with sha256 %s", shortFingerprint(sha))
			}
			out = append(out, c)
		}
		return out, nil
	}
	var removed []*x509.Certificate // for the undo of a removal
	var previous []byte             // for the undo of a replace
	s.Check = func(ctx context.Context) (Change, error) {
		add, err := certsToAdd(ctx)
		if err != nil {
			return Change{}, err
		}
		_, ent, err := o.readEntity(ctx, arn)
		if err != nil {
			return Change{}, err
		}
		if spec.Name == StepRemoveOldCertificate {
			if err := o.checkSwitched(ctx, arn, spec.Remove); err != nil {
				return Change{}, err
			}
		}
		for _, c := range add {
			if !ent.Trusts(c.SHA256) {
				return spec.Change, nil
			}
		}
		for _, sha := range spec.Remove {
			if ent.Trusts(sha) {
				return spec.Change, nil
			}
		}
		return Change{Reason: fmt.Sprintf("provider %s already trusts what it should for %s", arn, o.issuer)}, nil
	}
	if spec.Name == StepRemoveOldCertificate {
		// The grace passes before the provider's lock is taken.
		s.wait = func(ctx context.Context) error {
			grace := o.run.cfg.pruneGrace(o.lifetime)
			if grace <= 0 {
				return nil
			}
			return o.run.cfg.sleep(ctx, grace)
		}
	}
	s.Apply = func(ctx context.Context) error {
		add, err := certsToAdd(ctx)
		if err != nil {
			return err
		}
		prov, ent, err := o.readEntity(ctx, arn)
		if err != nil {
			return err
		}
		previous = prov.Document
		for _, c := range add {
			if ent.Trusts(c.SHA256) {
				continue
			}
			remove := ""
			if spec.Name == StepReplaceCertificate && len(spec.Remove) > 0 {
				remove = spec.Remove[0] // one write swaps the old key for the new
			}
			if _, err := o.edit(ctx, arn, prov, c.X509, remove); err != nil {
				return err
			}
		}
		for _, sha := range spec.Remove {
			if !slices.ContainsFunc(ent.Certificates, func(c *samlmeta.Certificate) bool { return c.SHA256 == sha }) {
				continue
			}
			for _, c := range ent.Certificates {
				if c.SHA256 == sha {
					removed = append(removed, c.X509)
				}
			}
			o.mu.Lock()
			still := slices.Contains(o.expected[arn], sha)
			o.mu.Unlock()
			if !still {
				continue // removed by the swap above
			}
			if _, err := o.edit(ctx, arn, prov, nil, sha); err != nil {
				return err
			}
		}
		return nil
	}
	s.Verify = func(ctx context.Context) error {
		var errs []error
		for _, c := range o.behind(arn) {
			_, want, err := o.liveSigner(ctx, c)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			err = o.verifyCC(ctx, c, want, true)
			if err == nil && spec.Name == StepReplaceCertificate {
				o.endWindow(c)
			}
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}
	switch spec.Name {
	case StepAddCertificate:
		s.Undo = func(ctx context.Context) error {
			add, err := certsToAdd(ctx)
			if err != nil {
				return err
			}
			return o.undoEdit(ctx, arn, nil, add)
		}
	case StepRemoveOldCertificate:
		s.Undo = func(ctx context.Context) error {
			var back []*samlmeta.Certificate
			for _, c := range removed {
				back = append(back, samlmeta.NewCertificate(c))
			}
			return o.undoEdit(ctx, arn, back, nil)
		}
	case StepReplaceCertificate:
		s.Undo = func(ctx context.Context) error {
			if previous == nil {
				return nil
			}
			acc, err := o.run.aws.forProvider(ctx, arn)
			if err != nil {
				return err
			}
			prov, err := acc.idp.Provider(ctx, arn)
			if err != nil {
				return err
			}
			return acc.idp.Restore(ctx, arn, previous, prov.Document)
		}
	}
}

// undoEdit adds back and removes certificates from the org's entity, re-reading
// the provider first.
func (o *orgRun) undoEdit(ctx context.Context, arn string, add, remove []*samlmeta.Certificate) error {
	acc, err := o.run.aws.forProvider(ctx, arn)
	if err != nil {
		return err
	}
	for _, c := range add {
		prov, err := acc.idp.Provider(ctx, arn)
		if err != nil {
			return err
		}
		if _, err := o.edit(ctx, arn, prov, c.X509, ""); err != nil {
			return err
		}
	}
	for _, c := range remove {
		prov, err := acc.idp.Provider(ctx, arn)
		if err != nil {
			return err
		}
		if _, err := o.edit(ctx, arn, prov, nil, c.SHA256); err != nil {
			return err
		}
	}
	return nil
}

// liveSigner reads which certificate c's app is configured to sign with now:
// its samlConfig.certificate, or the IdP setting when it follows the org default.
func (o *orgRun) liveSigner(ctx context.Context, c *ccRun) (string, *samlmeta.Certificate, error) {
	name := ""
	if c.app.Certificate != "" {
		app, err := o.sf.ConnectedApp(ctx, c.app.FullName)
		if err != nil {
			return "", nil, err
		}
		name = app.Certificate
	}
	if name == "" {
		idp, err := o.sf.IdentityProvider(ctx)
		if err != nil {
			return "", nil, err
		}
		name = idp.CertificateName
	}
	if o.certByName(name) == nil {
		if err := o.readCertificate(ctx, name); err != nil {
			return "", nil, err
		}
	}
	return name, o.certByName(name), nil
}

// checkSwitched refuses to remove certificates some contact center behind arn
// is still configured to sign with.
func (o *orgRun) checkSwitched(ctx context.Context, arn string, remove []string) error {
	for _, c := range o.behind(arn) {
		name, cert, err := o.liveSigner(ctx, c)
		if err != nil {
			return err
		}
		if slices.Contains(remove, cert.SHA256) {
			return fmt.Errorf("contact center %s still signs with %s; switch it before removing that certificate from %s", c.cc.Name, name, arn)
		}
	}
	return nil
}

// endWindow records, in replace, when SSO works again for c.
func (o *orgRun) endWindow(c *ccRun) {
	if c.windowStart.IsZero() {
		return
	}
	end := o.run.cfg.now()
	c.report.SSOWindow = SSOWindow{Start: Timestamp(c.windowStart), End: Timestamp(end)}
	c.report.SSOUnavailableMS = end.Sub(c.windowStart).Milliseconds()
}

// checkReplaceDocuments builds and checks, in replace, the document each
// provider will get, before Salesforce is touched (DESIGN §4).
func (o *orgRun) checkReplaceDocuments(ctx context.Context) error {
	if o.run.cfg.strategy() != StrategyReplace {
		return nil
	}
	succ, _, err := o.mustSuccessor(ctx)
	if err != nil {
		return err
	}
	for _, spec := range o.plan.Steps {
		if spec.Name != StepReplaceCertificate {
			continue
		}
		prov, _, err := o.readEntity(ctx, spec.Provider)
		if err != nil {
			return err
		}
		doc, _, err := samlmeta.AddSigningCertificate(prov.Document, o.issuer, succ.X509)
		if err != nil {
			return err
		}
		for _, sha := range spec.Remove {
			if doc, _, err = samlmeta.RemoveSigningCertificate(doc, o.issuer, sha); err != nil {
				return err
			}
		}
		f := samlmeta.Check(doc, samlmeta.CheckOptions{Now: o.run.cfg.now(), NewCertificates: []string{succ.SHA256}})
		if err := f.Err(); err != nil {
			return fmt.Errorf("the new-only document for %s fails the pre-upload check; nothing was changed: %w", spec.Provider, err)
		}
	}
	return nil
}

func (o *orgRun) certBySHA(sha string) *samlmeta.Certificate {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range o.certs {
		if c.SHA256 == sha {
			return c
		}
	}
	if o.succ != nil && o.succ.SHA256 == sha {
		return o.succ
	}
	return nil
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

func shortList(shas []string) string {
	if len(shas) == 0 {
		return "nothing"
	}
	s := make([]string, len(shas))
	for i, sha := range shas {
		s[i] = shortFingerprint(sha)
	}
	return "[" + strings.Join(s, " ") + "]"
}

func x509s(cs []*samlmeta.Certificate) []*x509.Certificate {
	out := make([]*x509.Certificate, len(cs))
	for i, c := range cs {
		out[i] = c.X509
	}
	return out
}
