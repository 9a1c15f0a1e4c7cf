package certrotate

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// This file decides, from what discovery read, which steps a rotation needs. It
// is a pure function of its inputs, so every decision can be tested with tables.

// certState is one org certificate as discovery read it. SHA256 is known for the
// certificates whose PEM was read (every certificate someone signs with).
type certState struct {
	Name    string
	Expires time.Time
	SHA256  string
	KeySize int
}

// appState is a SAML connected app. Certificate is its samlConfig.certificate, ""
// when it signs with the org default (the IdP setting).
type appState struct {
	FullName, Label, ID string
	Certificate         string
}

// ccState is one Amazon Connect contact center of an org.
type ccState struct {
	Name, InternalName string
	App                appState
	ProviderARN        string
	RoleARN, Region    string
	// Selected is set when Config.Select names it (or selects everything).
	Selected bool
	// ObservedSigner is the SHA-256 of the certificate the SSO probe saw signing,
	// "" when no probe ran.
	ObservedSigner string
}

// providerState is what one IAM SAML provider trusts for the org's entity.
type providerState struct {
	ARN string
	// Trusted lists the SHA-256 of the entity's signing certificates, in document order.
	Trusted []string
	// Expires holds the expiry of each trusted certificate, by SHA-256.
	Expires map[string]time.Time
}

// orgState is what discovery read for one org.
type orgState struct {
	OrgID, Issuer  string
	IdPCertificate string // the IdP setting's certificateName
	Certificates   []certState
	ContactCenters []ccState // sorted by Name
	OtherApps      []appState
	Providers      map[string]*providerState // by ARN
}

func (o *orgState) cert(name string) (certState, bool) {
	for _, c := range o.Certificates {
		if c.Name == name {
			return c, true
		}
	}
	return certState{}, false
}

// signer returns the name of the certificate cc's app signs with.
func (o *orgState) signer(cc ccState) string {
	if cc.App.Certificate != "" {
		return cc.App.Certificate
	}
	return o.IdPCertificate
}

// planOptions are the parts of Config the planner reads.
type planOptions struct {
	Now         time.Time
	RenewBefore time.Duration
	Force       bool
	Strategy    Strategy
	Prefix      string
}

// stepSpec is a planned step before it is bound to clients.
type stepSpec struct {
	Name, Target string
	Change       Change
	Provider     string   // provider steps: the ARN
	CC           string   // switch-connected-app: the contact center
	App          string   // switch-connected-app: the app's fullName
	Add          []string // provider steps: SHA-256 to trust; newCert for the certificate being created
	Remove       []string // provider steps: SHA-256 to stop trusting
}

// newCert stands for the SHA-256 of the certificate create-certificate makes.
const newCert = "(new)"

// orgPlan is the planner's answer for one org.
type orgPlan struct {
	Steps []stepSpec
	// Rotating is set when the org rotates to Successor.
	Rotating bool
	// Successor is the certificate every moving contact center ends up signing
	// with: an existing one found by the successor rule, or NewName.
	Successor certState
	// Create is set when Successor does not exist yet.
	Create bool
	// Moving lists the contact centers that change signer.
	Moving   []string
	Affected []AffectedApp
	Notes    []string
}

// planOrg decides the steps for one org.
func planOrg(o *orgState, opt planOptions) (*orgPlan, error) {
	p := &orgPlan{}
	renewBy := opt.Now.Add(opt.RenewBefore)

	// The current signers, with their certificates.
	current := map[string]certState{} // by contact center name
	for _, cc := range o.ContactCenters {
		name := o.signer(cc)
		c, ok := o.cert(name)
		if !ok {
			return nil, fmt.Errorf("certrotate: org %s: contact center %s signs with certificate %q, which the org does not list; check the connected app %s", o.OrgID, cc.Name, name, cc.App.FullName)
		}
		current[cc.Name] = c
	}

	// Due: a selected contact center's certificate expires within the window.
	var due []string
	var latest certState
	for _, cc := range o.ContactCenters {
		if !cc.Selected {
			continue
		}
		c := current[cc.Name]
		if opt.Force || !c.Expires.After(renewBy) {
			due = append(due, cc.Name)
			// The successor must outlive every certificate it replaces.
			if c.Expires.After(latest.Expires) {
				latest = c
			}
		}
	}
	p.Rotating = len(due) > 0

	if p.Rotating {
		if s, ok := successor(o.Certificates, opt.Prefix, latest.Expires, renewBy); ok {
			p.Successor = s
		} else {
			p.Create = true
			p.Successor = certState{Name: newCertificateName(opt.Prefix, opt.Now)}
		}
	}
	sID := p.Successor.SHA256
	if p.Create {
		sID = newCert
	}

	// Which contact centers move: the selected ones, and every one on the org
	// default when the IdP setting switches.
	switchIdP := p.Rotating && o.IdPCertificate != p.Successor.Name
	moving := map[string]bool{}
	if p.Rotating {
		for _, cc := range o.ContactCenters {
			if cc.Selected || cc.App.Certificate == "" {
				moving[cc.Name] = true
				p.Moving = append(p.Moving, cc.Name)
			}
		}
	}
	final := func(cc ccState) string {
		if moving[cc.Name] {
			return sID
		}
		return current[cc.Name].SHA256
	}

	// Per provider: drift, additions, stale certificates.
	type provPlan struct {
		drift, add, stale []string
	}
	plans := map[string]*provPlan{}
	var arns []string
	for _, cc := range o.ContactCenters {
		if _, ok := plans[cc.ProviderARN]; ok {
			continue
		}
		if o.Providers[cc.ProviderARN] == nil {
			return nil, fmt.Errorf("certrotate: org %s: contact center %s: no state for provider %s", o.OrgID, cc.Name, cc.ProviderARN)
		}
		plans[cc.ProviderARN] = &provPlan{}
		arns = append(arns, cc.ProviderARN)
	}
	slices.Sort(arns)
	for _, arn := range arns {
		prov, pp := o.Providers[arn], plans[arn]
		trusted := func(sha string) bool { return slices.Contains(prov.Trusted, sha) }
		var cur, fin []string
		newest := time.Time{}
		for _, cc := range o.ContactCenters {
			if cc.ProviderARN != arn {
				continue
			}
			c := current[cc.Name]
			cur = appendUnique(cur, c.SHA256)
			f := final(cc)
			fin = appendUnique(fin, f)
			exp := c.Expires
			if f == sID && p.Rotating {
				exp = p.Successor.Expires
				if p.Create {
					exp = opt.Now.Add(100 * 365 * 24 * time.Hour) // a new certificate outlives every other
				}
			}
			if exp.After(newest) {
				newest = exp
			}
		}
		for _, sha := range cur {
			if !trusted(sha) {
				pp.drift = append(pp.drift, sha)
			}
		}
		for _, sha := range fin {
			if !trusted(sha) && !slices.Contains(pp.drift, sha) {
				pp.add = append(pp.add, sha)
			}
		}
		for _, sha := range prov.Trusted {
			if slices.Contains(fin, sha) {
				continue
			}
			// Never remove a certificate newer than what the apps end up signing
			// with: it may be the next rotation's, added by someone else.
			if exp, ok := prov.Expires[sha]; ok && exp.After(newest) {
				continue
			}
			pp.stale = append(pp.stale, sha)
		}
		for _, sha := range pp.drift {
			if !slices.Contains(fin, sha) {
				pp.stale = appendUnique(pp.stale, sha)
			}
		}
	}

	// Drift repair first: SSO is broken now.
	for _, arn := range arns {
		if d := plans[arn].drift; len(d) > 0 {
			p.Steps = append(p.Steps, stepSpec{
				Name: StepTrustSigningCert, Target: arn, Provider: arn, Add: d,
				Change: Change{Action: ActionUpdate, Reason: fmt.Sprintf("drift: AWS does not trust %s, which %s signs with now; SSO is broken", o.describe(d), strings.Join(o.usersOf(d, current), ", "))},
			})
		}
	}
	if p.Create {
		p.Steps = append(p.Steps, stepSpec{
			Name: StepCreateCertificate, Target: o.OrgID,
			Change: Change{Action: ActionCreate, Reason: fmt.Sprintf("new certificate %s: %s", p.Successor.Name, dueReason(due, current, opt))},
		})
	}
	if opt.Strategy == StrategyOverlap {
		for _, arn := range arns {
			if a := plans[arn].add; len(a) > 0 {
				p.Steps = append(p.Steps, stepSpec{
					Name: StepAddCertificate, Target: arn, Provider: arn, Add: a,
					Change: Change{Action: ActionUpdate, Reason: fmt.Sprintf("trust %s beside the current certificate for %s", p.Successor.Name, o.Issuer)},
				})
			}
		}
	}
	if switchIdP {
		reason := fmt.Sprintf("IdP setting %s → %s", orNone(o.IdPCertificate), p.Successor.Name)
		var onDefault []string
		for _, cc := range o.ContactCenters {
			if cc.App.Certificate == "" {
				onDefault = append(onDefault, cc.Name)
			}
		}
		if len(onDefault) > 0 {
			reason += "; switches " + strings.Join(onDefault, ", ") + " (on the org default)"
			verb, pron := "signs", "it"
			if len(onDefault) > 1 {
				verb, pron = "sign", "them"
			}
			p.Notes = append(p.Notes, fmt.Sprintf("%s %s with the org default, so the IdP setting of org %s switches %s; there is no canary for %s.",
				strings.Join(onDefault, ", "), verb, o.OrgID, pron, pron))
		}
		p.Steps = append(p.Steps, stepSpec{Name: StepSwitchIdentityProvider, Target: o.OrgID,
			Change: Change{Action: ActionUpdate, Reason: reason}})
	}
	if p.Rotating {
		apps := map[string]bool{}
		canary := true
		for _, cc := range o.ContactCenters {
			if !moving[cc.Name] || cc.App.Certificate == "" || cc.App.Certificate == p.Successor.Name || apps[cc.App.FullName] {
				continue
			}
			apps[cc.App.FullName] = true
			reason := fmt.Sprintf("app %s: %s → %s", cc.App.FullName, cc.App.Certificate, p.Successor.Name)
			if canary {
				reason += " (canary)"
				canary = false
			}
			p.Steps = append(p.Steps, stepSpec{Name: StepSwitchConnectedApp, Target: cc.Name, CC: cc.Name, App: cc.App.FullName,
				Change: Change{Action: ActionUpdate, Reason: reason}})
		}
	}
	for _, arn := range arns {
		pp := plans[arn]
		switch {
		case opt.Strategy == StrategyReplace && (len(pp.add) > 0 || len(pp.stale) > 0):
			p.Steps = append(p.Steps, stepSpec{
				Name: StepReplaceCertificate, Target: arn, Provider: arn, Add: pp.add, Remove: pp.stale,
				Change: Change{Action: ActionUpdate, Reason: o.replaceReason(pp.add, pp.stale)},
			})
		case len(pp.stale) > 0: // overlap
			p.Steps = append(p.Steps, stepSpec{
				Name: StepRemoveOldCertificate, Target: arn, Provider: arn, Remove: pp.stale,
				Change: Change{Action: ActionDelete, Reason: fmt.Sprintf("stop trusting %s for %s after the prune grace", o.describe(pp.stale), o.Issuer)},
			})
		}
	}

	// Blast radius: other SAML apps that change signer, or keep an expiring one.
	if switchIdP {
		old := map[string]bool{}
		for _, name := range due {
			old[current[name].Name] = true
		}
		for _, a := range o.OtherApps {
			switch {
			case a.Certificate == "":
				p.Affected = append(p.Affected, AffectedApp{Name: a.FullName,
					Reason: fmt.Sprintf("signs with the org default: changes signer from %s to %s; update its service provider", orNone(o.IdPCertificate), p.Successor.Name)})
			case old[a.Certificate]:
				p.Affected = append(p.Affected, AffectedApp{Name: a.FullName,
					Reason: fmt.Sprintf("signs with %s, which is being replaced and is not switched by voicecert", a.Certificate)})
			}
		}
	}
	return p, nil
}

// successor returns the org's successor certificate: the newest whose name starts
// with prefix, that expires later than current and after renewBy.
func successor(certs []certState, prefix string, current, renewBy time.Time) (certState, bool) {
	var best certState
	found := false
	for _, c := range certs {
		if !strings.HasPrefix(c.Name, prefix) || !c.Expires.After(current) || !c.Expires.After(renewBy) {
			continue
		}
		if !found || c.Expires.After(best.Expires) || c.Expires.Equal(best.Expires) && c.Name > best.Name {
			best, found = c, true
		}
	}
	return best, found
}

// newCertificateName is the DeveloperName of a certificate created at now.
func newCertificateName(prefix string, now time.Time) string {
	return prefix + now.UTC().Format("20060102_150405")
}

// describe names the certificates with these SHA-256s by their DeveloperName when
// the org lists them.
func (o *orgState) describe(shas []string) string {
	var names []string
	for _, sha := range shas {
		name := ""
		for _, c := range o.Certificates {
			if c.SHA256 != "" && c.SHA256 == sha {
				name = c.Name
				break
			}
		}
		switch {
		case sha == newCert:
			names = append(names, "the new certificate")
		case name != "":
			names = append(names, name)
		default:
			names = append(names, "sha256 "+shortFingerprint(sha))
		}
	}
	return strings.Join(names, ", ")
}

// usersOf names the contact centers whose current signer is one of shas.
func (o *orgState) usersOf(shas []string, current map[string]certState) []string {
	var out []string
	for _, cc := range o.ContactCenters {
		if slices.Contains(shas, current[cc.Name].SHA256) {
			out = append(out, cc.Name)
		}
	}
	return out
}

func dueReason(due []string, current map[string]certState, opt planOptions) string {
	if opt.Force {
		return "forced"
	}
	// Name the contact center whose certificate expires first.
	first := slices.MinFunc(due, func(a, b string) int { return cmp.Compare(current[a].Expires.Unix(), current[b].Expires.Unix()) })
	c := current[first]
	days := int(c.Expires.Sub(opt.Now).Hours() / 24)
	when := fmt.Sprintf("expires in %d days", days)
	if !c.Expires.After(opt.Now) {
		when = "has expired"
	}
	return fmt.Sprintf("%s's certificate %s %s (%s)", first, c.Name, when, c.Expires.UTC().Format("2006-01-02"))
}

func appendUnique(s []string, v string) []string {
	if v == "" || slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// replaceReason says what a replace-certificate step leaves the provider trusting.
func (o *orgState) replaceReason(add, remove []string) string {
	if len(add) == 0 {
		return fmt.Sprintf("stop trusting %s for %s now", o.describe(remove), o.Issuer)
	}
	return fmt.Sprintf("trust %s instead of %s for %s (SSO fails from the first switch until this step)", o.describe(add), orNone(o.describe(remove)), o.Issuer)
}
