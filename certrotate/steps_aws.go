package certrotate

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/voicecert/voicecert/awsidp"
	"github.com/voicecert/voicecert/samlmeta"
)

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
	if add != nil && res.Changed {
		o.added = o.run.cfg.now()
	}
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
				if spec.Name == StepAddCertificate && (errors.Is(err, awsidp.ErrInvalidMetadata) || errors.Is(err, awsidp.ErrLimitExceeded)) {
					// Nothing changed in Salesforce yet (add comes first): finish as
					// replace, which swaps keys in one write. A document at IAM's
					// quota of 10 keys per provider has no room for a second key.
					return &fallback{
						Reason: fmt.Sprintf("AWS refused to trust one more certificate in %s (%v); nothing had changed in Salesforce, so the rotation finished as replace", arn, err),
						Err:    err, Next: o.replanAsReplace,
					}
				}
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
			return o.restoreEntity(ctx, arn, previous)
		}
	}
}

// restoreEntity makes the org's entity in provider arn trust again what it
// trusted in the document previous, adding back first and removing last. Only
// the org's own entity changes: restoring the whole previous document would
// also undo what other orgs sharing the provider wrote since, and AWS would
// stop trusting what they sign with now (DESIGN §7.2).
func (o *orgRun) restoreEntity(ctx context.Context, arn string, previous []byte) error {
	doc, err := samlmeta.Parse(previous)
	if err != nil {
		return fmt.Errorf("provider %s: the document kept before the edit: %w", arn, err)
	}
	ent := doc.Entity(o.issuer)
	if ent == nil {
		return fmt.Errorf("provider %s: the document kept before the edit has no entity for %s", arn, o.issuer)
	}
	acc, err := o.run.aws.forProvider(ctx, arn)
	if err != nil {
		return err
	}
	prov, err := acc.idp.Provider(ctx, arn)
	if err != nil {
		return err
	}
	var add, remove []*samlmeta.Certificate
	want := ent.SigningCertificates()
	for _, c := range want {
		if cur := prov.Entity(o.issuer); cur == nil || !cur.Trusts(c.SHA256) {
			add = append(add, c)
		}
	}
	if cur := prov.Entity(o.issuer); cur != nil {
		for _, c := range cur.Certificates {
			if !slices.ContainsFunc(want, func(w *samlmeta.Certificate) bool { return w.SHA256 == c.SHA256 }) {
				remove = append(remove, c)
			}
		}
	}
	return o.undoEdit(ctx, arn, add, remove)
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
	if o.strategy != StrategyReplace {
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
