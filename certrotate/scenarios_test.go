package certrotate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicecert/voicecert/awsidp"
	"github.com/voicecert/voicecert/awsidp/iamtest"
	"github.com/voicecert/voicecert/salesforce"
	"github.com/voicecert/voicecert/salesforce/sftest"
	"github.com/voicecert/voicecert/samlmeta"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// normalize replaces the fakes' loopback URLs, which change from run to run.
func (w *fakes) normalize(b []byte) []byte {
	s := string(b)
	for i, h := range w.orgs {
		s = strings.ReplaceAll(s, h.InstanceURL(), fmt.Sprintf("https://org%d.my.salesforce.com", i+1))
	}
	return []byte(s)
}

// withDrift makes the provider of acct trust "Other" instead of the org's signer.
func (w *fakes) withDrift(t *testing.T, acct string, org int) {
	t.Helper()
	h := w.orgs[org]
	arn := w.providers[acct]
	doc, _ := w.iam.Document(arn)
	doc, _, err := samlmeta.AddSigningCertificate(doc, h.InstanceURL(), h.Certificate("Other"))
	if err != nil {
		t.Fatal(err)
	}
	doc, _, err = samlmeta.RemoveSigningCertificate(doc, h.InstanceURL(), fp(h.Certificate(oldCertName(org)).Raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.iam.SetDocument(arn, doc); err != nil {
		t.Fatal(err)
	}
}

var other = []sftest.CertificateConfig{{DeveloperName: "Other"}} // expires in a year

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file  string
		spec  fakesSpec
		drift bool
	}{
		{file: "nothing-due.txt", spec: fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{}}, ExpiresIn: 300 * 24 * time.Hour}}}},
		{file: "one-due.txt", spec: fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{}}}}}},
		{file: "many-due.txt", spec: fakesSpec{Orgs: []orgSpec{
			{CCs: []ccSpec{{}, {OnDefault: true}, {OnDefault: true}, {Account: acct2}}},
			{CCs: []ccSpec{{}, {}}},
		}}},
		{file: "drift-repair.txt", drift: true, spec: fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{}}, ExpiresIn: 300 * 24 * time.Hour, Extra: other}}}},
		{file: "consent-needed.txt", spec: fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{}}, OtherApps: []string{"Wiki_SSO", "Payroll_SSO"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			w := newFakes(t, tt.spec)
			if tt.drift {
				w.withDrift(t, acct1, 0)
			}
			p, err := Build(t.Context(), w.cfg)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			var b bytes.Buffer
			if err := p.Render(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.file, w.normalize(b.Bytes()))
		})
	}
}

// TestStopAndRerun stops a run between every two steps (no fault: the context
// ends, as when the process is stopped) and checks that a new run converges with
// one new certificate per org and working SSO.
func TestStopAndRerun(t *testing.T) {
	t.Parallel()
	spec := fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{}, {}}}}}
	for _, strategy := range []Strategy{StrategyOverlap, StrategyReplace} {
		n := 6
		if strategy == StrategyReplace {
			n = 5
		}
		for stopAfter := 1; stopAfter < n; stopAfter++ {
			t.Run(fmt.Sprintf("%s/after step %d", strategy, stopAfter), func(t *testing.T) {
				t.Parallel()
				w := newFakes(t, spec)
				w.cfg.Strategy = strategy
				ctx, stop := context.WithCancel(t.Context())
				defer stop()
				first := w.cfg
				first.NoRollback = true // a stopped process rolls nothing back
				applied := 0
				first.OnEvent = func(ev Event) {
					w.onEvent(ev)
					if ev.Kind == EventApplied {
						if applied++; applied == stopAfter {
							stop()
						}
					}
				}
				p, err := Build(ctx, first)
				if err != nil {
					t.Fatal(err)
				}
				if got := len(p.Steps()); got != n {
					t.Fatalf("plan has %d steps, want %d", got, n)
				}
				if _, err := p.Apply(ctx); !errors.Is(err, context.Canceled) {
					t.Fatalf("stopped Apply: %v, want context.Canceled", err)
				}

				p, err = Build(t.Context(), w.cfg)
				if err != nil {
					t.Fatalf("re-run Build: %v", err)
				}
				rep, err := p.Apply(t.Context())
				if err != nil {
					t.Fatalf("re-run Apply: %v", err)
				}
				if rep.Outcome != OutcomeApplied {
					t.Errorf("re-run outcome %q", rep.Outcome)
				}
				h := w.orgs[0]
				created := w.newCertificates()[h.Name()]
				if len(created) != 1 {
					t.Fatalf("created %q, want one certificate", created)
				}
				if diff := cmp.Diff([]string{fp(h.Certificate(created[0]).Raw)}, w.trusted(acct1, h)); diff != "" {
					t.Errorf("provider trusts (-want +got):\n%s", diff)
				}
				w.checkSSO(t, "after the re-run")
				// And a third run writes nothing.
				sf0, aws0 := w.writes()
				if p, err := Build(t.Context(), w.cfg); err != nil || p.Changed() {
					t.Fatalf("third Build: changed %v, %v", p != nil && p.Changed(), err)
				}
				if sf1, aws1 := w.writes(); sf1 != sf0 || aws1 != aws0 {
					t.Errorf("third run wrote")
				}
			})
		}
	}
}

func TestDriftRepair(t *testing.T) {
	t.Parallel()
	w := newFakes(t, fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{}}, ExpiresIn: 300 * 24 * time.Hour, Extra: other}}})
	w.withDrift(t, acct1, 0)
	pr := w.newProber()
	pr.probeAll(t.Context())
	if len(pr.bad) != 1 {
		t.Fatalf("SSO works before the repair: the test set-up failed")
	}

	status, err := Status(t.Context(), w.cfg)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if status.Outcome != OutcomePlanned || status.ContactCenters[0].Verified {
		t.Errorf("Status: outcome %q verified %v, want planned and SSO broken", status.Outcome, status.ContactCenters[0].Verified)
	}

	p, err := Build(t.Context(), w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range p.Steps() {
		names = append(names, s.Name)
	}
	if diff := cmp.Diff([]string{StepTrustSigningCert}, names); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	rep, err := p.Apply(t.Context())
	if err != nil || rep.Outcome != OutcomeApplied {
		t.Fatalf("Apply: %q, %v", rep.Outcome, err)
	}
	h := w.orgs[0]
	if got := w.newCertificates()[h.Name()]; len(got) != 1 || got[0] != "Other" {
		t.Errorf("certificates created: %q", got) // "Other" existed from the start; nothing new
	}
	pr = w.newProber()
	pr.probeAll(t.Context())
	if len(pr.bad) > 0 {
		t.Errorf("SSO fails after the repair: %v", pr.bad)
	}
	if v, err := Verify(t.Context(), w.cfg); err != nil || !v.ContactCenters[0].Verified {
		t.Errorf("Verify after the repair: %v", err)
	}
}

func TestObservedSignerMismatchStops(t *testing.T) {
	t.Parallel()
	w := newFakes(t, fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{}}, Extra: other}}})
	h := w.orgs[0]
	if err := h.SetSigner(h.ContactCenters()[0].ConnectedApp, "Other"); err != nil {
		t.Fatal(err)
	}
	_, err := Build(t.Context(), w.cfg)
	var mm *SignerMismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("Build error = %v, want a *SignerMismatchError", err)
	}
	if mm.Configured != oldCertName(0) || mm.Observed != "Other" || mm.ObservedSHA256 != fp(h.Certificate("Other").Raw) {
		t.Errorf("mismatch = %+v", mm)
	}
	if !strings.Contains(err.Error(), "nothing was written") || !strings.Contains(err.Error(), "samlConfig.certificate") {
		t.Errorf("error does not name the failed assumption: %v", err)
	}
	rep := ErrorReport(w.cfg, err)
	if rep.Outcome != OutcomeFailed || rep.Error == "" {
		t.Errorf("report: %q %q", rep.Outcome, rep.Error)
	}
	if sf, aws := w.writes(); sf+aws != 0 {
		t.Errorf("%d Salesforce and %d AWS writes", sf, aws)
	}
}

// TestOverlapOldAssertionStillAccepted mints an assertion with the old key just
// before the first switch and presents it just before the old key is removed:
// the prune grace keeps it valid.
func TestOverlapOldAssertionStillAccepted(t *testing.T) {
	t.Parallel()
	w := newFakes(t, fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{}}}}})
	pr := w.newProber()
	h := w.orgs[0]
	cc := h.ContactCenters()[0]
	var minted, presented bool
	var presentErr error
	var mintedAt, presentedAt time.Time
	w.addHook(func(when, op, step string) {
		if when != "before" {
			return
		}
		switch {
		case !minted && (step == StepSwitchIdentityProvider || step == StepSwitchConnectedApp):
			resp, err := pr.mint(t.Context(), h, cc)
			if err != nil {
				t.Errorf("mint: %v", err)
				return
			}
			minted, mintedAt = true, w.clock.Now()
			w.addHook(func(when, op, step string) {
				if when == "before" && step == StepRemoveOldCertificate && !presented {
					presented, presentedAt = true, w.clock.Now()
					presentErr = pr.present(t.Context(), cc, resp)
				}
			})
		}
	})
	p, err := Build(t.Context(), w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Apply(t.Context()); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if !minted || !presented {
		t.Fatalf("minted %v presented %v", minted, presented)
	}
	if presentErr != nil {
		t.Errorf("an assertion signed with the old key %v before the prune was refused: %v", presentedAt.Sub(mintedAt), presentErr)
	}
	if presentedAt.Sub(mintedAt) < 5*time.Minute {
		t.Errorf("the prune came %v after the switch, before the 5-minute assertion lifetime", presentedAt.Sub(mintedAt))
	}
}

func TestStatusAndVerify(t *testing.T) {
	t.Parallel()
	w := newFakes(t, fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{}, {OnDefault: true}}}}})
	st, err := Status(t.Context(), w.cfg)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if st.Outcome != OutcomePlanned || len(st.ContactCenters) != 2 {
		t.Fatalf("Status: %+v", st)
	}
	for _, cc := range st.ContactCenters {
		if !cc.Verified || cc.ObservedSigner != cc.OldCertificate.SHA256 {
			t.Errorf("Status of %s: %+v", cc.Name, cc)
		}
	}
	if sf, aws := w.writes(); sf+aws != 0 {
		t.Errorf("Status wrote")
	}
	p, err := Build(t.Context(), w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Apply(t.Context()); err != nil {
		t.Fatal(err)
	}
	v, err := Verify(t.Context(), w.cfg)
	if err != nil || v.Outcome != OutcomeNothingToDo {
		t.Fatalf("Verify: %q %v", v.Outcome, err)
	}
	for _, cc := range v.ContactCenters {
		if !cc.Verified || cc.Verification != VerificationSSOProbe {
			t.Errorf("Verify of %s: %+v", cc.Name, cc)
		}
	}
}

// TestConsent: other SAML apps on the org default need consent; an API-only user
// cannot run the probe, which needs consent too and then verifies by consistency.
func TestConsent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		spec   orgSpec
		want   Consent
		accept func(*Config)
		verif  Verification
	}{
		{name: "affected apps", spec: orgSpec{CCs: []ccSpec{{}}, OtherApps: []string{"Wiki_SSO"}},
			want: ConsentAffectedApps, accept: func(c *Config) { c.AcceptAffected = true }, verif: VerificationSSOProbe},
		{name: "unobserved signer", spec: orgSpec{CCs: []ccSpec{{}}, APIOnly: true},
			want: ConsentUnobservedSigner, accept: func(c *Config) { c.AcceptUnobserved = true }, verif: VerificationConsistencyOnly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newFakes(t, fakesSpec{Orgs: []orgSpec{tt.spec}})
			p, err := Build(t.Context(), w.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]Consent{tt.want}, p.ConsentNeeded()); diff != "" {
				t.Errorf("consent needed (-want +got):\n%s", diff)
			}
			rep, err := p.Apply(t.Context())
			if !errors.Is(err, ErrConsentNeeded) || rep.Outcome != OutcomeRefused {
				t.Fatalf("Apply without consent: %q, %v", rep.Outcome, err)
			}
			if sf, aws := w.writes(); sf+aws != 0 {
				t.Fatalf("a refused plan wrote %d + %d times", sf, aws)
			}
			tt.accept(&w.cfg)
			p, err = Build(t.Context(), w.cfg)
			if err != nil {
				t.Fatal(err)
			}
			rep, err = p.Apply(t.Context())
			if err != nil || rep.Outcome != OutcomeApplied {
				t.Fatalf("Apply with consent: %q, %v", rep.Outcome, err)
			}
			if got := rep.ContactCenters[0].Verification; got != tt.verif {
				t.Errorf("verification %q, want %q", got, tt.verif)
			}
		})
	}
}

// TestNoSecretsInLogsOrReports runs a rotation with a debug logger and checks that
// no access token reaches the log, the events or the report.
func TestNoSecretsInLogsOrReports(t *testing.T) {
	t.Parallel()
	w := newFakes(t, fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{}}}}})
	var logs bytes.Buffer
	w.cfg.Logger = slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, err := Build(t.Context(), w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Apply(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var events strings.Builder
	for _, ev := range w.events {
		fmt.Fprintf(&events, "%+v\n", ev)
	}
	if logs.Len() == 0 {
		t.Fatal("nothing was logged")
	}
	for _, out := range []string{logs.String(), string(js), events.String()} {
		for _, tok := range w.tokens {
			if strings.Contains(out, tok) {
				t.Errorf("an access token leaked")
			}
		}
		for _, secret := range []string{"SAMLResponse=", "<saml", "PRIVATE KEY", "secret-"} {
			if strings.Contains(out, secret) {
				t.Errorf("%q appears in the output", secret)
			}
		}
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// TestRollbackRestoresOldState fails the connected-app switch and checks that the
// run rolls back to the old certificate everywhere with SSO working (the failure
// matrix itself is issue 7's; this proves the undo of each overlap step).
func TestRollbackRestoresOldState(t *testing.T) {
	t.Parallel()
	w := newFakes(t, fakesSpec{
		Orgs:   []orgSpec{{CCs: []ccSpec{{}, {OnDefault: true}}}},
		SFOpts: []sftest.Option{sftest.WithFault(sftest.Fault{Operation: "updateMetadata", Type: "ConnectedApp", AndAfter: true, Code: "UNKNOWN_EXCEPTION"})},
	})
	p, err := Build(t.Context(), w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Apply(t.Context())
	var se *StepError
	if !errors.As(err, &se) || se.Step != StepSwitchConnectedApp || se.Stage != StageApply {
		t.Fatalf("Apply error = %v, want a StepError of %s at apply", err, StepSwitchConnectedApp)
	}
	if rep.Outcome != OutcomeRolledBack {
		t.Fatalf("outcome %q, want rolled_back; steps %+v", rep.Outcome, rep.Steps)
	}
	var got []string
	for _, s := range rep.Steps {
		got = append(got, s.Name+" "+string(s.Status))
	}
	want := []string{
		StepCreateCertificate + " applied", // certificates are never deleted
		StepAddCertificate + " rolled_back",
		StepSwitchIdentityProvider + " rolled_back",
		StepSwitchConnectedApp + " failed",
		StepRemoveOldCertificate + " planned",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	h := w.orgs[0]
	if got := h.IdPCertificate(); got != oldCertName(0) {
		t.Errorf("IdP setting %s after rollback", got)
	}
	if diff := cmp.Diff([]string{fp(h.Certificate(oldCertName(0)).Raw)}, w.trusted(acct1, h)); diff != "" {
		t.Errorf("provider trusts after rollback (-want +got):\n%s", diff)
	}
	w.checkSSO(t, "after rollback")
}

// TestVerificationWaitsForPropagation: with IAM changes reaching STS 30 seconds
// late, each verification retries (sleeping on the fake clock) until AWS accepts.
func TestVerificationWaitsForPropagation(t *testing.T) {
	t.Parallel()
	for _, strategy := range []Strategy{StrategyOverlap, StrategyReplace} {
		t.Run(string(strategy), func(t *testing.T) {
			t.Parallel()
			w := newFakes(t, fakesSpec{
				Orgs:    []orgSpec{{CCs: []ccSpec{{}}}},
				IAMOpts: []iamtest.Option{iamtest.WithPropagationDelay(30 * time.Second)},
			})
			w.cfg.Strategy = strategy
			start := w.clock.Now()
			p, err := Build(t.Context(), w.cfg)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := p.Apply(t.Context())
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if !rep.ContactCenters[0].Verified {
				t.Errorf("not verified: %+v", rep.ContactCenters[0])
			}
			if waited := w.clock.Now().Sub(start); waited < 30*time.Second {
				t.Errorf("the run took %v of fake time, less than the propagation delay", waited)
			}
			if strategy == StrategyReplace && rep.ContactCenters[0].SSOUnavailableMS < 30_000 {
				t.Errorf("replace window %d ms, want at least the propagation delay", rep.ContactCenters[0].SSOUnavailableMS)
			}
		})
	}
}

// TestSelect rotates only the selected contact center: the other keeps its
// certificate, and AWS keeps trusting it.
func TestSelect(t *testing.T) {
	t.Parallel()
	w := newFakes(t, fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{}, {}}}}})
	w.cfg.Select = []string{"Org1CC9"}
	_, err := Build(t.Context(), w.cfg)
	if !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), "no Amazon Connect contact center named Org1CC9") ||
		!strings.Contains(err.Error(), `"Org1CC1"`) {
		t.Fatalf("Build with an unknown name: %v; want ErrBadConfig naming it and the contact centers there are", err)
	}
	w.cfg.Select = []string{"Org1CC1"}
	p, err := Build(t.Context(), w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Apply(t.Context()); err != nil {
		t.Fatal(err)
	}
	h := w.orgs[0]
	newName := w.newCertificates()[h.Name()][0]
	ccs := h.ContactCenters()
	if got, _ := h.ConnectedAppCertificate(ccs[0].ConnectedApp); got != newName {
		t.Errorf("selected app signs with %s", got)
	}
	if got, _ := h.ConnectedAppCertificate(ccs[1].ConnectedApp); got != oldCertName(0) {
		t.Errorf("unselected app signs with %s, want it untouched", got)
	}
	want := []string{fp(h.Certificate(oldCertName(0)).Raw), fp(h.Certificate(newName).Raw)}
	if diff := cmp.Diff(want, w.trusted(acct1, h)); diff != "" {
		t.Errorf("provider trusts (-want +got):\n%s", diff)
	}
	w.checkSSO(t, "")
	if p, err := Build(t.Context(), w.cfg); err != nil || p.Changed() {
		t.Errorf("second plan: changed %v, %v", p != nil && p.Changed(), err)
	}
}

// TestOverlapFallsBackToReplace: IAM refuses the two-certificate document; as
// nothing changed in Salesforce yet, the rotation finishes as replace and says so.
func TestOverlapFallsBackToReplace(t *testing.T) {
	t.Parallel()
	w := newFakes(t, fakesSpec{
		Orgs:    []orgSpec{{CCs: []ccSpec{{}, {OnDefault: true}}}},
		SFOpts:  []sftest.Option{sftest.WithLatency(10 * time.Millisecond)},
		IAMOpts: []iamtest.Option{iamtest.WithLatency(10 * time.Millisecond), iamtest.WithFaults(iamtest.Fault{Operation: "UpdateSAMLProvider", Nth: 1, Code: "InvalidInput"})},
	})
	pr := w.newProber()
	pr.attach(t.Context())
	p, err := Build(t.Context(), w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Apply(t.Context())
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if rep.Outcome != OutcomeApplied || rep.Strategy != StrategyOverlap || !strings.Contains(rep.Fallback, "finished as replace") {
		t.Errorf("outcome %q strategy %q fallback %q", rep.Outcome, rep.Strategy, rep.Fallback)
	}
	var got []string
	for _, s := range rep.Steps {
		got = append(got, s.Name+" "+string(s.Status))
	}
	want := []string{
		StepCreateCertificate + " applied", StepAddCertificate + " failed",
		StepSwitchIdentityProvider + " applied", StepSwitchConnectedApp + " applied", StepReplaceCertificate + " applied",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	h := w.orgs[0]
	created := w.newCertificates()[h.Name()]
	if len(created) != 1 {
		t.Fatalf("created %q, want one certificate", created)
	}
	if diff := cmp.Diff([]string{fp(h.Certificate(created[0]).Raw)}, w.trusted(acct1, h)); diff != "" {
		t.Errorf("provider trusts (-want +got):\n%s", diff)
	}
	windows := map[string]SSOWindow{}
	for _, cc := range rep.ContactCenters {
		windows[cc.Name] = cc.SSOWindow
		if cc.SSOUnavailableMS <= 0 || !cc.Verified {
			t.Errorf("%s: window %d ms, verified %v", cc.Name, cc.SSOUnavailableMS, cc.Verified)
		}
	}
	for _, f := range pr.bad {
		win := windows[f.CC]
		if f.At.Before(timeOf(win.Start)) || f.At.After(timeOf(win.End)) {
			t.Errorf("%s failed at %s, outside the reported window: %v", f.CC, f.At, f.Err)
		}
	}
}

// TestOverlapFallsBackWhenAWSTrustsOneKey: IAM accepts the two-certificate
// document but STS trusts only its first key, so the canary's new signature is
// rejected until the deadline; the run publishes the new-only document, as
// replace does, and reports the fallback and the window.
func TestOverlapFallsBackWhenAWSTrustsOneKey(t *testing.T) {
	t.Parallel()
	w := newFakes(t, fakesSpec{
		Orgs:    []orgSpec{{CCs: []ccSpec{{}}}},
		IAMOpts: []iamtest.Option{iamtest.WithTrustFirstOnly()},
	})
	w.cfg.VerifyDeadline = 30 * time.Second
	pr := w.newProber()
	pr.attach(t.Context())
	p, err := Build(t.Context(), w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Apply(t.Context())
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if rep.Outcome != OutcomeApplied || !strings.Contains(rep.Fallback, "trusts one key only") {
		t.Errorf("outcome %q fallback %q", rep.Outcome, rep.Fallback)
	}
	var got []string
	for _, s := range rep.Steps {
		got = append(got, s.Name+" "+string(s.Status))
	}
	want := []string{
		StepCreateCertificate + " applied", StepAddCertificate + " applied", StepSwitchIdentityProvider + " applied",
		StepSwitchConnectedApp + " failed", StepReplaceCertificate + " applied",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	cc := rep.ContactCenters[0]
	if !cc.Verified || cc.SSOUnavailableMS < 30_000 {
		t.Errorf("report: verified %v, window %d ms (want at least the 30 s deadline)", cc.Verified, cc.SSOUnavailableMS)
	}
	for _, f := range pr.bad {
		if f.At.Before(timeOf(cc.SSOWindow.Start)) || f.At.After(timeOf(cc.SSOWindow.End)) {
			t.Errorf("SSO failed at %s, outside the reported window: %v", f.At, f.Err)
		}
	}
	pr.bad = nil
	pr.probeAll(t.Context())
	if len(pr.bad) > 0 {
		t.Errorf("SSO fails after the fallback: %v", pr.bad)
	}
}

// TestBadInputChangesNothing: each bad input is a clear error before any write.
func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(w *fakes)
		want  string
	}{
		{name: "unknown contact center", setup: func(w *fakes) { w.cfg.Select = []string{"Nope"} },
			want: "no Amazon Connect contact center named Nope"},
		{name: "key size 1024", setup: func(w *fakes) { w.cfg.KeySize = 1024 },
			want: "KeySize 1024 is not supported; use 2048 or 4096"},
		{name: "provider that does not exist", setup: func(w *fakes) {
			w.cfg.Providers = map[string]string{"Org1CC1": "arn:aws:iam::111122223333:saml-provider/Missing"}
		}, want: "saml-provider/Missing"},
		{name: "managed connected app", setup: func(w *fakes) {}, want: "cannot be updated"},
		{name: "token for the wrong org", setup: func(w *fakes) {
			// Org 1's token, for a client pinned to another org.
			h := w.orgs[0]
			tok, err := h.IssueToken(h.Username())
			if err != nil {
				w.t.Fatal(err)
			}
			c, err := salesforce.New(salesforce.Config{
				InstanceURL: h.InstanceURL(), Auth: salesforce.StaticToken{AccessToken: tok},
				OrgID: orgID18("00D5g0000000099"), Now: w.clock.Now, Sleep: w.clock.Sleep,
			})
			if err != nil {
				w.t.Fatal(err)
			}
			w.cfg.Orgs = []*salesforce.Client{c}
		}, want: "token is for another org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec := fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{}}}}}
			if tt.name == "managed connected app" {
				spec.Orgs[0].ManagedApps = true
			}
			w := newFakes(t, spec)
			tt.setup(w)
			_, err := Build(t.Context(), w.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Build error = %v, want one containing %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "certrotate: ") {
				t.Errorf("error %q does not start with the package name", err)
			}
			if sf, aws := w.writes(); sf+aws != 0 {
				t.Errorf("%d Salesforce and %d AWS writes", sf, aws)
			}
		})
	}
}

// TestAccessDeniedStopsWithoutRollback: a failure no certificate causes (STS
// AccessDenied) stops the run where it is, with no rollback, and says why.
func TestAccessDeniedStopsWithoutRollback(t *testing.T) {
	t.Parallel()
	w := newFakes(t, fakesSpec{
		Orgs:    []orgSpec{{CCs: []ccSpec{{}}}},
		IAMOpts: []iamtest.Option{iamtest.WithFaults(iamtest.Fault{Operation: "AssumeRoleWithSAML", AndAfter: true, Code: "AccessDenied"})},
	})
	p, err := Build(t.Context(), w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Apply(t.Context())
	if !errors.Is(err, awsidp.ErrAccessDenied) || rep.Outcome != OutcomeFailed {
		t.Fatalf("Apply = %q, %v; want failed with access denied", rep.Outcome, err)
	}
	var got []string
	for _, s := range rep.Steps {
		got = append(got, s.Name+" "+string(s.Status))
	}
	want := []string{StepCreateCertificate + " applied", StepAddCertificate + " failed",
		StepSwitchIdentityProvider + " planned", StepSwitchConnectedApp + " planned", StepRemoveOldCertificate + " planned"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if !strings.Contains(rep.Error, "access denied") {
		t.Errorf("report error %q does not say why", rep.Error)
	}
	if h := w.orgs[0]; len(w.trusted(acct1, h)) != 2 {
		t.Errorf("the added key was rolled back; a stop changes nothing more")
	}
}

// TestTargetMovedSincePlan: a provider edited behind the plan's back makes the
// step that would write it abort with a clear error.
func TestTargetMovedSincePlan(t *testing.T) {
	t.Parallel()
	w := newFakes(t, fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{}}, Extra: other}}})
	p, err := Build(t.Context(), w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := w.orgs[0]
	doc, _ := w.iam.Document(w.providers[acct1])
	doc, _, err = samlmeta.AddSigningCertificate(doc, h.InstanceURL(), h.Certificate("Other"))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.iam.SetDocument(w.providers[acct1], doc); err != nil {
		t.Fatal(err)
	}
	rep, err := p.Apply(t.Context())
	var se *StepError
	if !errors.As(err, &se) || se.Step != StepAddCertificate || se.Stage != StageCheck ||
		!strings.Contains(err.Error(), "changed since the plan; plan again") {
		t.Fatalf("Apply error = %v, want add-certificate to refuse at check", err)
	}
	if rep.Outcome != OutcomeFailed {
		t.Errorf("outcome %q, want failed (nothing to roll back)", rep.Outcome)
	}
	if _, aws := w.writes(); aws != 0 {
		t.Errorf("%d AWS writes", aws)
	}
}

// TestTwoRunsAtOnce: two Applies on one org with a FileLocker that refuses: never
// do both write; the org ends rotated once.
func TestTwoRunsAtOnce(t *testing.T) {
	t.Parallel()
	w := newFakes(t, fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{}}}}})
	w.cfg.Locker = &FileLocker{Dir: t.TempDir()}
	p1, err := Build(t.Context(), w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := Build(t.Context(), w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	reps := make([]*Report, 2)
	errs := make([]error, 2)
	for i, p := range []*Plan{p1, p2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[i], errs[i] = p.Apply(t.Context())
		}()
	}
	wg.Wait()
	wrote := 0
	for i := range reps {
		switch {
		case errs[i] == nil && reps[i].Changed:
			wrote++
		case errs[i] == nil: // ran after the other: every step found done
		case errors.Is(errs[i], ErrLocked):
		case strings.Contains(errs[i].Error(), "changed since the plan"):
			// Ran after the other, and its plan no longer matches what it finds.
		default:
			t.Errorf("run %d: %v, want success, ErrLocked or a moved target", i, errs[i])
		}
	}
	if wrote != 1 {
		t.Errorf("%d runs wrote, want exactly one", wrote)
	}
	if got := w.newCertificates()[w.orgs[0].Name()]; len(got) != 1 {
		t.Errorf("created %q, want one certificate", got)
	}
}
