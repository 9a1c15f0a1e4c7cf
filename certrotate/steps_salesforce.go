package certrotate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/voicecert/voicecert/awsidp"
	"github.com/voicecert/voicecert/samlmeta"
)

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
	o.sfMu.Lock()
	certs, err := o.sf.ListCertificates(ctx)
	o.sfMu.Unlock()
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
	o.sfMu.Lock()
	c, err := o.sf.Certificate(ctx, cs.Name)
	o.sfMu.Unlock()
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
		_, name, err := o.mustSuccessor(ctx)
		if err != nil {
			return err
		}
		idp, err := o.sf.IdentityProvider(ctx)
		if err != nil {
			return err
		}
		if err := switchBackNeeded("the IdP setting", idp.CertificateName, old, name); err != nil {
			if !errors.Is(err, errAlreadyBack) {
				return err
			}
		} else if err := o.sf.SetIdentityProviderCertificate(ctx, old); err != nil {
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
		_, name, err := o.mustSuccessor(ctx)
		if err != nil {
			return err
		}
		app, err := o.sf.ConnectedApp(ctx, spec.App)
		if err != nil {
			return err
		}
		if err := switchBackNeeded("app "+spec.App, app.Certificate, old, name); err != nil {
			if !errors.Is(err, errAlreadyBack) {
				return err
			}
		} else if err := o.sf.SetConnectedAppCertificate(ctx, spec.App, old); err != nil {
			return err
		}
		return o.verifyOld(ctx, o.usersOfApp(spec.App))
	}
}

// errAlreadyBack says that a switch back is not needed: the setting names the
// old certificate already (the switch failed before it wrote, say).
var errAlreadyBack = errors.New("already names the old certificate")

// switchBackNeeded checks, from the setting what read just now, that an undo
// must switch it from the successor back to old (DESIGN §7.3: a rollback's
// writes re-read first too). It returns nil when the switch back is needed,
// errAlreadyBack when what already names old, and an error when what names
// a third certificate: someone changed it since, and the undo leaves it alone.
func switchBackNeeded(what, current, old, successor string) error {
	switch current {
	case successor:
		return nil
	case old:
		return errAlreadyBack
	}
	return fmt.Errorf("%s names %s, neither the new %s nor the old %s: it changed since the switch; not switching it back, set it by hand",
		what, orNone(current), successor, orNone(old))
}

// startWindow records when ccs switched signer: in replace (and after a
// fallback to it) SSO fails from then until the provider is updated.
func (o *orgRun) startWindow(ccs []*ccRun) {
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
	aws := o.strategy == StrategyOverlap
	var errs []error
	for _, c := range ccs {
		errs = append(errs, o.verifyCC(ctx, c, succ, aws))
	}
	err = errors.Join(errs...)
	if aws && errors.Is(err, awsidp.ErrSignatureRejected) {
		// AWS trusts one key only (DESIGN §4): publish the new-only document.
		return &fallback{
			Reason: fmt.Sprintf("after the switch AWS kept rejecting the new signature until the verification deadline (%v), so it trusts one key only; the rotation finished as replace", err),
			Err:    err, Next: o.replanAsReplace,
		}
	}
	return err
}

// verifyOld proves after an undo that ccs sign with their old certificate again
// and AWS accepts it. A replace window those ccs opened ends with the proof: SSO
// works again.
func (o *orgRun) verifyOld(ctx context.Context, ccs []*ccRun) error {
	var errs []error
	for _, c := range ccs {
		_, cert := o.configuredSigner(c)
		if cert == nil {
			continue
		}
		err := o.verifyCC(ctx, c, cert, true)
		if err == nil && o.strategy == StrategyReplace {
			o.endWindow(c)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// liveSigner reads which certificate c's app is configured to sign with now:
// its samlConfig.certificate, or the IdP setting when it follows the org default.
func (o *orgRun) liveSigner(ctx context.Context, c *ccRun) (string, *samlmeta.Certificate, error) {
	name, err := o.configuredName(ctx, c)
	if err != nil {
		return "", nil, err
	}
	if o.certByName(name) == nil {
		if err := o.readCertificate(ctx, name); err != nil {
			return "", nil, err
		}
	}
	return name, o.certByName(name), nil
}
