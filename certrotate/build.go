package certrotate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

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
		bound, err := o.planSteps(opt)
		if err != nil {
			return nil, err
		}
		steps = append(steps, bound...)
		op := o.plan
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

// planSteps plans the org's rotation with opt and binds the steps.
func (o *orgRun) planSteps(opt planOptions) ([]*Step, error) {
	op, err := planOrg(&o.state, opt)
	if err != nil {
		return nil, err
	}
	o.plan, o.strategy = op, opt.Strategy
	if err := o.checkPlan(); err != nil {
		return nil, err
	}
	o.replaces = o.replacedExpiry(opt)
	if !op.Create && op.Rotating {
		o.succ, o.succInfo = o.certs[op.Successor.Name], op.Successor
	}
	var steps []*Step
	for _, spec := range op.Steps {
		steps = append(steps, o.bind(spec))
	}
	return steps, nil
}

// replanAsReplace reads the org again and plans the rest of its rotation with
// the replace strategy: the fallback when AWS refuses or ignores a second key.
func (o *orgRun) replanAsReplace(ctx context.Context) ([]*Step, error) {
	r := o.run
	r.mu.Lock()
	for _, c := range o.ccs {
		delete(r.providers, c.provider) // read them again
	}
	r.mu.Unlock()
	fresh, err := r.discoverOrg(ctx, o.sf)
	if err != nil {
		return nil, err
	}
	cfg := r.cfg
	steps, err := fresh.planSteps(planOptions{Now: cfg.now(), RenewBefore: cfg.renewBefore(), Force: cfg.Force,
		Strategy: StrategyReplace, Prefix: cfg.prefix()})
	if err != nil {
		return nil, err
	}
	for _, c := range fresh.ccs {
		for _, old := range o.ccs {
			if old.cc.Name == c.cc.Name {
				c.windowStart = old.windowStart // the window may have started before the fallback
			}
		}
	}
	r.mu.Lock()
	for i := range r.orgs {
		if r.orgs[i] == o {
			r.orgs[i] = fresh // the report describes the org as the fallback left it
		}
	}
	r.mu.Unlock()
	return steps, nil
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
