package certrotate

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
)

// Plan is the ordered list of steps that brings every selected contact center to a
// fresh, trusted certificate, built by reads only. Render prints it; Apply carries
// it out. A dry run is the plan.
type Plan struct {
	cfg   Config
	steps []*Step
	// base is the report of the plan: contact centers, affected apps, consent.
	base Report
	// notes are extra lines Render prints under the steps, such as which apps
	// switch with the org default.
	notes []string
	// calls returns the API calls made so far by the plan's clients.
	calls func() APICalls
	// stopOnly reports whether err is not caused by a certificate, so that a run
	// stops without rolling back (DESIGN §4). Nil: every failure rolls back.
	stopOnly func(error) bool
	// noRollback is set when verification is by consistency only.
	noRollback bool

	locksMu sync.Mutex
	locks   map[string]*sync.Mutex

	// run is the discovered state of a plan made by Build; nil in engine tests.
	run *run

	// finish, when set, completes an apply report: contact centers' verification,
	// SSO windows, fallback.
	finish func(*Report)
}

// newPlan returns a plan of steps for cfg, with base as its report, and emits a
// planned event for each step. Steps with an empty lane share one lane.
func newPlan(ctx context.Context, cfg Config, base Report, steps []*Step) *Plan {
	p := &Plan{cfg: cfg, steps: steps, base: base, locks: make(map[string]*sync.Mutex)}
	p.base.Strategy = cfg.strategy()
	p.base.Steps = nil
	for _, s := range steps {
		p.base.Steps = append(p.base.Steps, StepReport{
			Name: s.Name, Target: s.Target, Action: s.Planned.Action,
			Status: EventPlanned, Detail: s.Planned.Reason,
		})
	}
	p.base.Changed = len(steps) > 0
	switch {
	case len(steps) > 0:
		p.base.Outcome = OutcomePlanned
	case p.base.Outcome == "":
		p.base.Outcome = OutcomeNothingToDo
	}
	for _, s := range steps {
		cfg.emit(ctx, Event{Kind: EventPlanned, Time: cfg.now(), Step: s.Name, Target: s.Target,
			Action: s.Planned.Action, Detail: s.Planned.Reason})
	}
	return p
}

// Steps returns the plan's steps in the order Apply runs them within one org.
func (p *Plan) Steps() []*Step { return append([]*Step(nil), p.steps...) }

// Changed reports whether applying the plan would change anything.
func (p *Plan) Changed() bool { return len(p.steps) > 0 }

// ConsentNeeded returns the consents the plan needs that the Config has not given.
func (p *Plan) ConsentNeeded() []Consent { return p.missingConsent() }

// Report returns the plan as a report: outcome planned (or nothing-to-do), each
// step with status planned, and verified false.
func (p *Plan) Report() *Report {
	return p.base.clone()
}

func (p *Plan) missingConsent() []Consent {
	var out []Consent
	for _, c := range p.base.ConsentNeeded {
		switch {
		case c == ConsentAffectedApps && p.cfg.AcceptAffected:
		case c == ConsentUnobservedSigner && p.cfg.AcceptUnobserved:
		default:
			out = append(out, c)
		}
	}
	return out
}

// Render prints the plan like terraform plan: the markers used, one line per step
// (marker, catalogue name, target, reason), the contact centers, the affected apps
// and consent needed, and a closing count.
func (p *Plan) Render(w io.Writer) error {
	ew := &errWriter{w: w}
	counts := map[Action]int{}
	for _, s := range p.steps {
		counts[s.Planned.Action]++
	}
	if len(p.steps) == 0 {
		ew.printf("No changes. Every selected contact center has a certificate valid beyond the renew window, and AWS trusts what Salesforce signs with.\n")
	} else {
		ew.printf("certrotate will perform the following actions (strategy %s):\n\n", p.cfg.strategy())
		ew.printf("Markers:\n")
		for _, a := range []Action{ActionCreate, ActionUpdate, ActionDelete} {
			if counts[a] > 0 {
				ew.printf("  %s %s\n", a.Symbol(), a)
			}
		}
		ew.printf("\n")
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		for _, s := range p.steps {
			fmt.Fprintf(tw, "  %s %s\t%s\t%s\n", s.Planned.Action.Symbol(), s.Name, s.Target, s.Planned.Reason)
		}
		tw.Flush()
	}
	if ccs := p.base.ContactCenters; len(ccs) > 0 {
		ew.printf("\nContact centers:\n")
		for _, cc := range ccs {
			ew.printf("  %s (org %s, provider %s)\n", cc.Name, cc.OrgID, orNone(cc.SAMLProviderARN))
			ew.printf("      signs with %s\n", certLine(cc.OldCertificate))
			if cc.NewCertificate.Name != "" || cc.NewCertificate.SHA256 != "" {
				ew.printf("      will sign with %s\n", certLine(cc.NewCertificate))
			}
		}
	}
	for _, n := range p.notes {
		ew.printf("\nNote: %s\n", n)
	}
	if apps := p.base.AffectedApps; len(apps) > 0 {
		ew.printf("\nAffected apps (not contact centers):\n")
		for _, a := range apps {
			ew.printf("  %s: %s\n", a.Name, a.Reason)
		}
	}
	if cs := p.base.ConsentNeeded; len(cs) > 0 {
		ew.printf("\nConsent needed before apply:\n")
		for _, c := range cs {
			ew.printf("  %s: %s\n", c, consentHelp[c])
		}
	}
	ew.printf("\nPlan: %d to add, %d to change, %d to remove.\n",
		counts[ActionCreate], counts[ActionUpdate], counts[ActionDelete])
	return ew.err
}

var consentHelp = map[Consent]string{
	ConsentAffectedApps:     "the apps above change signer with the org's IdP setting; accept with Config.AcceptAffected (--accept-affected)",
	ConsentUnobservedSigner: "the SSO probe cannot run, so the signer is not confirmed and verification is by consistency only; accept with Config.AcceptUnobserved (--accept-unobserved)",
}

func certLine(c CertificateInfo) string {
	var b strings.Builder
	b.WriteString(orNone(c.Name))
	if t := timeOf(c.Expires); !t.IsZero() {
		fmt.Fprintf(&b, ", expires %s", t.UTC().Format("2006-01-02 15:04 MST"))
	}
	if c.SHA256 != "" {
		fmt.Fprintf(&b, ", sha256 %s", shortFingerprint(c.SHA256))
	}
	return b.String()
}

// shortFingerprint keeps the first 16 hex digits of a SHA-256 for human output.
func shortFingerprint(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// errWriter remembers the first write error so Render can check once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }
