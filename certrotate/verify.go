package certrotate

import (
	"context"
	"errors"
	"fmt"

	"github.com/voicecert/voicecert/awsidp"
	"github.com/voicecert/voicecert/salesforce"
	"github.com/voicecert/voicecert/samlmeta"
)

// probe fetches a fresh SSO response for c and verifies it against the org's
// certificates read through the API (never the certificate in KeyInfo).
func (o *orgRun) probe(ctx context.Context, c *ccRun) (*samlmeta.VerifiedResponse, *salesforce.SSOResponse, error) {
	resp, err := o.sf.ProbeSSO(ctx, c.cc.IdentityURL)
	if err != nil {
		return nil, nil, err
	}
	vr, err := samlmeta.VerifyResponse(resp.SAMLResponse, samlmeta.VerifyOptions{
		Trusted:      x509s(o.trustedCertificates()),
		Now:          o.run.cfg.now(),
		AllowExpired: true,
	})
	if err != nil {
		return nil, nil, err
	}
	return vr, resp, nil
}

// errSignerNotYet is a verification that saw the old signer: Salesforce may
// cache, so it is retried.
var errSignerNotYet = errors.New("certrotate: Salesforce still signs with another certificate")

// verifyCC proves that c's SSO works with the certificate want: the probe's
// signer is want and, when aws is set, STS accepts the assertion for c's
// provider. Failures that may pass with time (the old signer still cached, a
// signature AWS does not trust yet, throttling) are retried under the
// verification deadline; the others return at once.
func (o *orgRun) verifyCC(ctx context.Context, c *ccRun, want *samlmeta.Certificate, aws bool) error {
	cfg := o.run.cfg
	if !o.observed {
		return o.consistency(ctx, c, want)
	}
	deadline := cfg.now().Add(cfg.verifyDeadline())
	for {
		err := o.verifyOnce(ctx, c, want, aws)
		if err == nil {
			c.report.Verified, c.report.Verification = true, VerificationSSOProbe
			return nil
		}
		c.report.Verified = false
		if !retryable(err) || !cfg.now().Before(deadline) {
			return fmt.Errorf("contact center %s: %w", c.cc.Name, err)
		}
		if err := cfg.sleep(ctx, cfg.verifyInterval()); err != nil {
			return err
		}
	}
}

func (o *orgRun) verifyOnce(ctx context.Context, c *ccRun, want *samlmeta.Certificate, aws bool) error {
	vr, resp, err := o.probe(ctx, c)
	if err != nil {
		return err
	}
	c.report.ObservedSigner = vr.Signer.SHA256
	if vr.Signer.SHA256 != want.SHA256 {
		return fmt.Errorf("%w: signed by %s, want %s", errSignerNotYet, shortFingerprint(vr.Signer.SHA256), shortFingerprint(want.SHA256))
	}
	if l := vr.Assertion.NotOnOrAfter.Sub(vr.Assertion.IssueInstant); l > o.lifetime {
		o.mu.Lock()
		o.lifetime = l
		o.mu.Unlock()
	}
	if !aws {
		return nil
	}
	acc, err := o.run.aws.forProvider(ctx, c.provider)
	if err != nil {
		return err
	}
	pair, err := awsidp.FindRolePair(vr.Assertion.Attribute(awsidp.RoleAttribute), c.provider)
	if err != nil {
		return err
	}
	return awsidp.ProbeSSO(ctx, acc.sts, awsidp.Probe{
		SAMLResponse: resp.Encoded, RoleARN: pair.RoleARN, ProviderARN: c.provider, Region: c.region(),
	})
}

// region is the STS region for c's probe: the contact center's, else the
// partition's usual one.
func (c *ccRun) region() string {
	if c.cc.Region != "" {
		return c.cc.Region
	}
	if a, err := awsidp.ParseProviderARN(c.provider); err == nil {
		switch a.Partition {
		case awsidp.PartitionUSGov:
			return "us-gov-west-1"
		case awsidp.PartitionChina:
			return "cn-north-1"
		}
	}
	return "us-east-1"
}

// retryable reports whether a verification failure may pass with time.
func retryable(err error) bool {
	return errors.Is(err, errSignerNotYet) || errors.Is(err, awsidp.ErrSignatureRejected) ||
		errors.Is(err, awsidp.ErrThrottled) || errors.Is(err, salesforce.ErrTransient)
}

// notCausedByCertificate reports whether err says a run must stop without
// rolling back: a permission or claim problem no certificate change will fix
// (DESIGN §4).
func notCausedByCertificate(err error) bool {
	return errors.Is(err, awsidp.ErrAccessDenied) || errors.Is(err, awsidp.ErrClaimRejected) ||
		errors.Is(err, awsidp.ErrIssuerMismatch) || errors.Is(err, awsidp.ErrRoleSessionName) ||
		errors.Is(err, awsidp.ErrNoRolePair)
}

// consistency verifies c without an SSO probe: its app (or the IdP setting)
// names want, and its provider trusts want.
func (o *orgRun) consistency(ctx context.Context, c *ccRun, want *samlmeta.Certificate) error {
	name := c.app.Certificate
	if name != "" {
		app, err := o.sf.ConnectedApp(ctx, c.app.FullName)
		if err != nil {
			return err
		}
		name = app.Certificate
	}
	if name == "" {
		idp, err := o.sf.IdentityProvider(ctx)
		if err != nil {
			return err
		}
		name = idp.CertificateName
	}
	if got := o.certByName(name); got == nil || got.SHA256 != want.SHA256 {
		return fmt.Errorf("certrotate: contact center %s: configured to sign with %s, want sha256 %s", c.cc.Name, orNone(name), shortFingerprint(want.SHA256))
	}
	acc, err := o.run.aws.forProvider(ctx, c.provider)
	if err != nil {
		return err
	}
	prov, err := acc.idp.Provider(ctx, c.provider)
	if err != nil {
		return err
	}
	ent := prov.Entity(o.issuer)
	if ent == nil || !ent.Trusts(want.SHA256) {
		return fmt.Errorf("certrotate: contact center %s: provider %s does not trust sha256 %s", c.cc.Name, c.provider, shortFingerprint(want.SHA256))
	}
	c.report.Verified, c.report.Verification = true, VerificationConsistencyOnly
	return nil
}

func (o *orgRun) certByName(name string) *samlmeta.Certificate {
	o.mu.Lock()
	defer o.mu.Unlock()
	if c := o.certs[name]; c != nil {
		return c
	}
	if o.succ != nil && o.succInfo.Name == name {
		return o.succ
	}
	return nil
}
