package certrotate

import (
	"context"
	"crypto/rsa"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicecert/voicecert/awsidp/iamtest"
	"github.com/voicecert/voicecert/salesforce/sftest"
)

// TestRotate runs full rotations against sftest and iamtest, each strategy, and
// checks the fakes' own state afterwards.
func TestRotate(t *testing.T) {
	t.Parallel()
	worlds := []struct {
		name string
		spec fakesSpec
	}{
		{"one contact center", fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{}}}}}},
		{"five contact centers, one org, one provider", fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{}, {OnDefault: true}, {}, {OnDefault: true}, {}}}}}},
		{"two orgs sharing one provider", fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{}}}, {CCs: []ccSpec{{}, {}}}}}},
		{"three AWS accounts", fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{Account: acct1}, {Account: acct2}, {Account: acct3}}}}}},
	}
	for _, strategy := range []Strategy{StrategyOverlap, StrategyReplace} {
		for _, tw := range worlds {
			t.Run(string(strategy)+"/"+tw.name, func(t *testing.T) {
				t.Parallel()
				spec := tw.spec
				// Latency on the fake clock makes time pass as calls are made, so the
				// replace window has a length; nothing sleeps for real.
				spec.SFOpts = []sftest.Option{sftest.WithLatency(10 * time.Millisecond)}
				spec.IAMOpts = []iamtest.Option{iamtest.WithLatency(10 * time.Millisecond)}
				w := newFakes(t, spec)
				w.cfg.Strategy = strategy
				pr := w.newProber()
				pr.probeAll(t.Context())
				if len(pr.bad) > 0 {
					t.Fatalf("SSO fails before the rotation: %v", pr.bad)
				}
				pr.attach(t.Context())

				p, err := Build(t.Context(), w.cfg)
				if err != nil {
					t.Fatalf("Build: %v", err)
				}
				if sf, aws := w.writes(); sf+aws != 0 {
					t.Fatalf("Build wrote: %d Salesforce, %d AWS", sf, aws)
				}
				rep, err := p.Apply(t.Context())
				if err != nil {
					t.Fatalf("Apply: %v\nsteps: %+v", err, rep.Steps)
				}
				if sf, aws := w.writes(); rep.APICalls.SalesforceWrites != sf || rep.APICalls.AWSWrites != aws {
					t.Errorf("report counts %d Salesforce and %d AWS writes; the fakes logged %d and %d",
						rep.APICalls.SalesforceWrites, rep.APICalls.AWSWrites, sf, aws)
				}
				if rep.Outcome != OutcomeApplied || !rep.Changed {
					t.Errorf("outcome %q changed %v, want applied, true", rep.Outcome, rep.Changed)
				}

				// The fakes' own state: one new certificate per org, every app and the
				// IdP setting on it, every provider trusting exactly it.
				for i, h := range w.orgs {
					created := w.newCertificates()[h.Name()]
					if len(created) != 1 {
						t.Fatalf("org %s: created %q, want one certificate", h.Name(), created)
					}
					newName := created[0]
					if got := h.IdPCertificate(); got != newName {
						t.Errorf("org %s: IdP setting %s, want %s", h.Name(), got, newName)
					}
					want := []string{fp(h.Certificate(newName).Raw)}
					for j, cc := range h.ContactCenters() {
						got, _ := h.ConnectedAppCertificate(cc.ConnectedApp)
						if onDefault := tw.spec.Orgs[i].CCs[j].OnDefault; !onDefault && got != newName || onDefault && got != "" {
							t.Errorf("org %s: app %s signs with %q", h.Name(), cc.ConnectedApp, got)
						}
						acct := tw.spec.Orgs[i].CCs[j].Account
						if acct == "" {
							acct = acct1
						}
						if diff := cmp.Diff(want, w.trusted(acct, h)); diff != "" {
							t.Errorf("org %s: provider of %s trusts (-want +got):\n%s", h.Name(), acct, diff)
						}
					}
				}
				pr.probeAll(t.Context())
				switch strategy {
				case StrategyOverlap:
					if len(pr.bad) > 0 {
						t.Errorf("overlap: %d of %d SSO probes failed: first %v", len(pr.bad), pr.ok+len(pr.bad), pr.bad[0])
					}
					for _, cc := range rep.ContactCenters {
						if cc.SSOUnavailableMS != 0 {
							t.Errorf("overlap: %s reports %d ms without SSO", cc.Name, cc.SSOUnavailableMS)
						}
					}
				case StrategyReplace:
					windows := map[string]SSOWindow{}
					for _, cc := range rep.ContactCenters {
						windows[cc.Name] = cc.SSOWindow
						if cc.SSOUnavailableMS <= 0 || cc.SSOUnavailableMS != timeOf(cc.SSOWindow.End).Sub(timeOf(cc.SSOWindow.Start)).Milliseconds() {
							t.Errorf("replace: %s reports %d ms for the window %+v", cc.Name, cc.SSOUnavailableMS, cc.SSOWindow)
						}
					}
					if len(pr.bad) == 0 {
						t.Errorf("replace: the prober saw no failure; SSO cannot work between the switch and the AWS update")
					}
					for _, f := range pr.bad {
						win := windows[f.CC]
						if f.At.Before(timeOf(win.Start)) || f.At.After(timeOf(win.End)) {
							t.Errorf("replace: %s failed at %s, outside the reported window %s–%s: %v", f.CC, f.At, timeOf(win.Start), timeOf(win.End), f.Err)
						}
					}
				}
				for _, cc := range rep.ContactCenters {
					if !cc.Verified || cc.Verification != VerificationSSOProbe || cc.NewCertificate.SHA256 == "" ||
						cc.ObservedSigner != cc.NewCertificate.SHA256 || !slices.Equal(cc.AWSTrusts, []string{cc.NewCertificate.SHA256}) {
						t.Errorf("report for %s: %+v", cc.Name, cc)
					}
				}

				// A second run writes nothing.
				sf0, aws0 := w.writes()
				p2, err := Build(t.Context(), w.cfg)
				if err != nil {
					t.Fatalf("second Build: %v", err)
				}
				if p2.Changed() {
					t.Errorf("second plan has steps: %+v", p2.Report().Steps)
				}
				rep2, err := p2.Apply(t.Context())
				if err != nil || rep2.Outcome != OutcomeNothingToDo {
					t.Errorf("second Apply: %q, %v", rep2.Outcome, err)
				}
				if sf1, aws1 := w.writes(); sf1 != sf0 || aws1 != aws0 {
					t.Errorf("second run wrote %d Salesforce, %d AWS", sf1-sf0, aws1-aws0)
				}
			})
		}
	}
}

// TestKeySizeDefault rotates with the zero KeySize: the new certificate has a
// 4096-bit key.
func TestKeySizeDefault(t *testing.T) {
	t.Parallel()
	w := newFakes(t, fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{}}}}})
	w.cfg.KeySize = 0
	p, err := Build(t.Context(), w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Apply(t.Context()); err != nil {
		t.Fatal(err)
	}
	h := w.orgs[0]
	created := w.newCertificates()[h.Name()]
	if len(created) != 1 {
		t.Fatalf("created %q", created)
	}
	if bits := h.Certificate(created[0]).PublicKey.(*rsa.PublicKey).N.BitLen(); bits != 4096 {
		t.Errorf("new key has %d bits, want 4096", bits)
	}
}

// TestStatusInterrupted: the caller cancels while Status probes SSO. Status
// fails with the cancellation instead of reporting SSO broken everywhere.
func TestStatusInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var mu sync.Mutex
	logins := 0
	w := newFakes(t, fakesSpec{
		Orgs: []orgSpec{{CCs: []ccSpec{{}}}},
		SFOpts: []sftest.Option{func(c *sftest.Config) {
			c.OnRequest = func(r sftest.Request) {
				mu.Lock()
				defer mu.Unlock()
				if r.Operation == "idp/login" {
					if logins++; logins == 2 { // Build's probe, then Status's
						cancel()
					}
				}
			}
		}},
	})
	rep, err := Status(ctx, w.cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Status error = %v, want the cancellation", err)
	}
	if rep.Outcome != OutcomeFailed || !strings.Contains(rep.Error, "interrupted") {
		t.Errorf("report outcome %q error %q, want failed and interrupted", rep.Outcome, rep.Error)
	}
}
