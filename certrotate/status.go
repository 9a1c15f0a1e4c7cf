package certrotate

import (
	"context"
	"errors"
	"fmt"
)

// Status reads what Build reads and, for every selected contact center, runs one
// SSO probe with its current signer and asks AWS to accept it (no retries). The
// report is the plan's (outcome planned when a rotation is due or drift needs
// repair, nothing-to-do otherwise) with each contact center's verified set from
// that probe. It writes nothing. The error is about reading, not about SSO: a
// broken SSO shows as verified false. When ctx ends during the probes, the
// outcome is failed and the error wraps ctx's.
func Status(ctx context.Context, cfg Config) (*Report, error) {
	p, err := build(ctx, &cfg)
	if err != nil {
		return ErrorReport(cfg, err), err
	}
	rep := p.Report()
	start := p.calls()
	p.eachSelected(func(o *orgRun, c *ccRun) {
		if !o.observed {
			return
		}
		_, want, err := o.liveSigner(ctx, c)
		if err == nil {
			err = o.verifyOnce(ctx, c, want, true)
		}
		c.report.Verified = err == nil
		c.report.Verification = VerificationSSOProbe
		if err != nil {
			c.report.Verification = VerificationNone
		}
	})
	p.finish(rep)
	rep.APICalls = add(rep.APICalls, sub(p.calls(), start))
	if err := ctx.Err(); err != nil {
		// A probe cut short says nothing about SSO: fail rather than report
		// it broken.
		err = fmt.Errorf("certrotate: status interrupted before every contact center was probed: %w", err)
		rep.Outcome, rep.Error = OutcomeFailed, err.Error()
		return rep, err
	}
	return rep, nil
}

// Verify proves that every selected contact center's SSO works: the probe's
// signer is the configured certificate and AWS accepts the assertion, retried
// under the verification deadline. The outcome is nothing-to-do when every
// contact center verified, failed otherwise (the error says which and why).
func Verify(ctx context.Context, cfg Config) (*Report, error) {
	p, err := build(ctx, &cfg)
	if err != nil {
		return ErrorReport(cfg, err), err
	}
	rep := p.Report()
	rep.Outcome, rep.Changed, rep.Steps = OutcomeNothingToDo, false, nil
	start := p.calls()
	var errs []error
	p.eachSelected(func(o *orgRun, c *ccRun) {
		_, want, err := o.liveSigner(ctx, c)
		if err == nil {
			err = o.verifyCC(ctx, c, want, true)
		}
		if err != nil {
			c.report.Verified, c.report.Verification = false, VerificationNone
			errs = append(errs, fmt.Errorf("certrotate: verify %w", err))
		}
	})
	p.finish(rep)
	rep.APICalls = sub(p.calls(), start)
	if err := errors.Join(errs...); err != nil {
		rep.Outcome, rep.Error = OutcomeFailed, err.Error()
		return rep, err
	}
	return rep, nil
}

// eachSelected calls fn for every selected contact center, org by org.
func (p *Plan) eachSelected(fn func(*orgRun, *ccRun)) {
	for _, o := range p.run.orgs {
		for _, c := range o.ccs {
			if c.selected {
				fn(o, c)
			}
		}
	}
}
