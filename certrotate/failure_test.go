package certrotate

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicecert/voicecert/awsidp"
	"github.com/voicecert/voicecert/awsidp/iamtest"
	"github.com/voicecert/voicecert/salesforce/sftest"
	"github.com/voicecert/voicecert/samlmeta"
)

// stepStatuses lists "name status" for each step of a report.
func stepStatuses(rep *Report) []string {
	var got []string
	for _, s := range rep.Steps {
		got = append(got, s.Name+" "+string(s.Status))
	}
	return got
}

// TestPersistentRejectionFallsBackThenRollsBack: from the connected app's
// switch on, STS rejects every signature ("Response signature invalid") for
// as long as the run keeps trying. Overlap falls back to replace (AWS seems to
// trust one key only), publishes the new-only document, is still rejected, and
// rolls back: AWS trust in the old certificate first, then Salesforce. SSO
// works on the old certificate afterwards and the outcome is rolled_back.
func TestPersistentRejectionFallsBackThenRollsBack(t *testing.T) {
	t.Parallel()
	w := newFakes(t, fakesSpec{
		Orgs:    []orgSpec{{CCs: []ccSpec{{}}}},
		SFOpts:  []sftest.Option{sftest.WithLatency(10 * time.Millisecond)},
		IAMOpts: []iamtest.Option{iamtest.WithLatency(10 * time.Millisecond)},
	})
	w.cfg.VerifyDeadline = 30 * time.Second
	w.addHook(func(when, op, step string) {
		if when == "after" && step == StepSwitchConnectedApp {
			w.iam.InjectFault(iamtest.Fault{Operation: "AssumeRoleWithSAML", Nth: w.iam.Calls("AssumeRoleWithSAML") + 1,
				AndAfter: true, Code: "InvalidIdentityToken"})
		}
	})
	var order []string // the writes of the rollback, in order
	rollingBack := false
	w.cfg.OnEvent = func(ev Event) {
		w.onEvent(ev)
		if ev.Kind == EventFailed && ev.Step == StepReplaceCertificate {
			// The rejection lasted as long as the run tried the new certificate;
			// the old one is accepted again, as AWS would.
			w.iam.ClearFaults()
			rollingBack = true
		}
	}
	w.addHook(func(when, op, step string) {
		if when == "before" && rollingBack {
			order = append(order, op)
		}
	})
	p, err := Build(t.Context(), w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Apply(t.Context())
	if !errors.Is(err, awsidp.ErrSignatureRejected) {
		t.Errorf("Apply error = %v, want the signature rejection", err)
	}
	if rep.Outcome != OutcomeRolledBack || !strings.Contains(rep.Fallback, "trusts one key only") {
		t.Errorf("outcome %q fallback %q, want rolled_back after the fallback", rep.Outcome, rep.Fallback)
	}
	want := []string{
		StepCreateCertificate + " applied", // certificates are never deleted
		StepAddCertificate + " rolled_back",
		StepSwitchIdentityProvider + " rolled_back",
		StepSwitchConnectedApp + " failed", // the first failure: it fell back
		StepReplaceCertificate + " failed",
	}
	if diff := cmp.Diff(want, stepStatuses(rep)); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	// AWS first: the previous document back, then Salesforce switched back, then
	// the added key removed.
	wantOrder := []string{"UpdateSAMLProvider", "updateMetadata", "updateMetadata", "UpdateSAMLProvider"}
	if diff := cmp.Diff(wantOrder, order); diff != "" {
		t.Errorf("rollback writes (-want +got):\n%s", diff)
	}
	h := w.orgs[0]
	cc := h.ContactCenters()[0]
	if got, _ := h.ConnectedAppCertificate(cc.ConnectedApp); got != oldCertName(0) || h.IdPCertificate() != oldCertName(0) {
		t.Errorf("app signs with %s, IdP setting %s; want both on %s", got, h.IdPCertificate(), oldCertName(0))
	}
	if diff := cmp.Diff([]string{fp(h.Certificate(oldCertName(0)).Raw)}, w.trusted(acct1, h)); diff != "" {
		t.Errorf("provider trusts after rollback (-want +got):\n%s", diff)
	}
	w.checkSSO(t, "on the old certificate after rollback")
}

// TestRollbackWriteFails: the app's switch fails, and so does the rollback's
// switch back of the IdP setting. The run stops there, fails (not rolled_back),
// and names what is left to restore by hand: the IdP setting and the key added
// to AWS.
func TestRollbackWriteFails(t *testing.T) {
	t.Parallel()
	w := newFakes(t, fakesSpec{
		Orgs: []orgSpec{{CCs: []ccSpec{{}}}},
		SFOpts: []sftest.Option{
			sftest.WithFault(sftest.Fault{Operation: "updateMetadata", Type: "ConnectedApp", Code: "UNKNOWN_EXCEPTION"}),
			// The first IdP update is the switch, the second the rollback's.
			sftest.WithFault(sftest.Fault{Operation: "updateMetadata", Type: "IdentityProviderSettings", Nth: 2, Code: "UNKNOWN_EXCEPTION"}),
		},
	})
	p, err := Build(t.Context(), w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Apply(t.Context())
	if err == nil || rep.Outcome != OutcomeFailed {
		t.Fatalf("Apply = %q, %v; want failed", rep.Outcome, err)
	}
	h := w.orgs[0]
	arn := w.providers[acct1]
	wantLeft := "restore by hand: " + StepSwitchIdentityProvider + " " + h.ID() + "; " + StepAddCertificate + " " + arn
	if !strings.Contains(rep.Error, wantLeft) {
		t.Errorf("report error %q does not say %q", rep.Error, wantLeft)
	}
	var se *StepError
	if !errors.As(err, &se) {
		t.Errorf("error %v is not a StepError", err)
	}
	// What the rollback did, it reports; what it could not, the fakes still show.
	want := []string{
		StepCreateCertificate + " applied",
		StepAddCertificate + " applied",
		StepSwitchIdentityProvider + " applied",
		StepSwitchConnectedApp + " failed",
		StepRemoveOldCertificate + " planned",
	}
	if diff := cmp.Diff(want, stepStatuses(rep)); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if h.IdPCertificate() == oldCertName(0) {
		t.Errorf("the IdP setting was switched back despite the fault")
	}
	if got := len(w.trusted(acct1, h)); got != 2 {
		t.Errorf("provider trusts %d certificates; the add was not to be undone after the stop", got)
	}
	// Nothing is broken meanwhile: AWS trusts both, so SSO works.
	w.checkSSO(t, "")
}

// TestOneOrgFailsOthersComplete: two orgs share one provider and rotate at once.
// Org 1's app switch fails and org 1 rolls back; org 2 completes. No two writes
// to the provider overlap, rollback's included, and the report says per
// contact center where each ended.
func TestOneOrgFailsOthersComplete(t *testing.T) {
	t.Parallel()
	w := newFakes(t, fakesSpec{
		Orgs:    []orgSpec{{CCs: []ccSpec{{}}}, {CCs: []ccSpec{{}, {}}}},
		IAMOpts: []iamtest.Option{iamtest.WithLatency(10 * time.Millisecond)},
	})
	w.sf[0].AddFault(sftest.Fault{Operation: "updateMetadata", Type: "ConnectedApp", Code: "UNKNOWN_EXCEPTION"})
	var mu sync.Mutex
	inflight, overlaps, writes := 0, 0, 0
	w.addHook(func(when, op, step string) {
		if op != "UpdateSAMLProvider" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if when == "before" {
			writes++
			if inflight++; inflight > 1 {
				overlaps++
			}
			return
		}
		inflight--
	})
	p, err := Build(t.Context(), w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Apply(t.Context())
	var se *StepError
	if !errors.As(err, &se) || se.Step != StepSwitchConnectedApp || rep.Outcome != OutcomeRolledBack {
		t.Fatalf("Apply = %q, %v; want org 1 rolled back after its app switch failed", rep.Outcome, err)
	}
	if overlaps > 0 {
		t.Errorf("%d of %d writes to the shared provider overlapped another", overlaps, writes)
	}
	h1, h2 := w.orgs[0], w.orgs[1]
	if diff := cmp.Diff([]string{fp(h1.Certificate(oldCertName(0)).Raw)}, w.trusted(acct1, h1)); diff != "" {
		t.Errorf("org 1: provider trusts (-want +got):\n%s", diff)
	}
	created := w.newCertificates()[h2.Name()]
	if len(created) != 1 {
		t.Fatalf("org 2 created %q", created)
	}
	newSHA := fp(h2.Certificate(created[0]).Raw)
	if diff := cmp.Diff([]string{newSHA}, w.trusted(acct1, h2)); diff != "" {
		t.Errorf("org 2: provider trusts (-want +got):\n%s", diff)
	}
	oldSHA := fp(h1.Certificate(oldCertName(0)).Raw)
	var got []string
	for _, cc := range rep.ContactCenters {
		signer := "old"
		switch cc.ObservedSigner {
		case newSHA:
			signer = "new"
		case oldSHA:
			signer = "old"
		default:
			signer = "?"
		}
		got = append(got, fmt.Sprintf("%s verified=%v signer=%s", cc.Name, cc.Verified, signer))
	}
	names := func(h *sftest.Org) []string {
		var out []string
		for _, cc := range h.ContactCenters() {
			out = append(out, cc.Name)
		}
		return out
	}
	n1, n2 := names(h1), names(h2)
	want := []string{
		n1[0] + " verified=true signer=old", // rolled back, verified on the old certificate
		n2[0] + " verified=true signer=new",
		n2[1] + " verified=true signer=new",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("contact centers (-want +got):\n%s", diff)
	}
	w.checkSSO(t, "")
}

// TestPropagationWait: IAM changes reach STS 30 seconds late. With a wait
// longer than that between adding the key and the first switch, a prober
// running after every write sees no failure; without the wait, the first switch
// fails SSO until the change propagates.
func TestPropagationWait(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		wait     time.Duration
		failures bool
	}{
		{"default wait", 0, false},
		{"no wait", -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newFakes(t, fakesSpec{
				Orgs:    []orgSpec{{CCs: []ccSpec{{}, {OnDefault: true}}}},
				IAMOpts: []iamtest.Option{iamtest.WithPropagationDelay(DefaultPropagationWait - 5*time.Second)},
			})
			w.cfg.PropagationWait = tt.wait
			pr := w.newProber()
			pr.attach(t.Context())
			p, err := Build(t.Context(), w.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Apply(t.Context()); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if got := len(pr.bad) > 0; got != tt.failures {
				t.Errorf("prober saw %d failures in %d probes; want failures: %v", len(pr.bad), pr.ok+len(pr.bad), tt.failures)
			}
		})
	}
}

// TestOneOrgsProvidersAtOnce: an org with contact centers in three AWS
// accounts adds the new key to the three providers at once (within
// Config.Concurrency): the three writes meet at a barrier that serial writes
// would never reach together.
func TestOneOrgsProvidersAtOnce(t *testing.T) {
	t.Parallel()
	w := newFakes(t, fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{Account: acct1}, {Account: acct2}, {Account: acct3}}}}})
	var (
		mu      sync.Mutex
		waiting int
		all     = make(chan struct{})
		met     = true
	)
	w.addHook(func(when, op, step string) {
		if when != "before" || op != "UpdateSAMLProvider" || step != StepAddCertificate {
			return
		}
		mu.Lock()
		if waiting++; waiting == 3 {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-time.After(10 * time.Second): // reached only when the writes are serial
			mu.Lock()
			met = false
			mu.Unlock()
		}
	})
	p, err := Build(t.Context(), w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Apply(t.Context()); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !met || waiting != 3 {
		t.Errorf("the three providers' adds did not run at once (%d reached the barrier)", waiting)
	}
	w.checkSSO(t, "")
}

// TestOverlapFallsBackAtKeyQuota: the provider already holds IAM's quota of 10
// keys, so overlap cannot add an eleventh; nothing has changed in Salesforce
// yet, so the rotation finishes as replace, whose swap keeps the count.
func TestOverlapFallsBackAtKeyQuota(t *testing.T) {
	t.Parallel()
	var pads []sftest.CertificateConfig
	for i := range 9 {
		pads = append(pads, sftest.CertificateConfig{DeveloperName: fmt.Sprintf("Pad%d", i+1)})
	}
	w := newFakes(t, fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{}}, Extra: pads}}})
	h, arn := w.orgs[0], w.providers[acct1]
	doc, _ := w.iam.Document(arn)
	for _, pad := range pads {
		var err error
		if doc, _, err = samlmeta.AddSigningCertificate(doc, h.InstanceURL(), h.Certificate(pad.DeveloperName)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.iam.SetDocument(arn, doc); err != nil {
		t.Fatal(err)
	}
	if got := len(w.trusted(acct1, h)); got != 10 {
		t.Fatalf("provider holds %d keys, want 10", got)
	}
	p, err := Build(t.Context(), w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Apply(t.Context())
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if rep.Outcome != OutcomeApplied || !strings.Contains(rep.Fallback, "limit exceeded") {
		t.Errorf("outcome %q fallback %q, want applied after the quota fallback", rep.Outcome, rep.Fallback)
	}
	created := w.newCertificates()[h.Name()]
	var fresh []string
	for _, n := range created {
		if !strings.HasPrefix(n, "Pad") {
			fresh = append(fresh, n)
		}
	}
	if len(fresh) != 1 {
		t.Fatalf("created %q, want one certificate", fresh)
	}
	// The pads outlive the new certificate, so they stay (they may be another
	// rotation's); the old certificate made room for the new one.
	trusted := w.trusted(acct1, h)
	if !slices.Contains(trusted, fp(h.Certificate(fresh[0]).Raw)) || slices.Contains(trusted, fp(h.Certificate(oldCertName(0)).Raw)) || len(trusted) != 10 {
		t.Errorf("provider trusts %d keys %v; want the new one instead of the old, 10 in all", len(trusted), shortList(trusted))
	}
	w.checkSSO(t, "")
}

// TestReplaceRollbackKeepsOtherOrgs: two orgs share one provider. Org 1
// replaces its key; before org 1 has verified, a run for org 2 replaces org 2's
// key in the same provider; then org 1's verification fails and org 1 rolls
// back. The rollback restores org 1's entity only: org 2 signs with its new
// certificate, and AWS must go on trusting it (DESIGN §7.2).
func TestReplaceRollbackKeepsOtherOrgs(t *testing.T) {
	t.Parallel()
	w := newFakes(t, fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{}}}, {CCs: []ccSpec{{}}}}})
	h1, h2 := w.orgs[0], w.orgs[1]
	w.cfg.Strategy = StrategyReplace
	w.cfg.VerifyDeadline = 30 * time.Second
	cfg1, cfg2 := w.cfg, w.cfg
	cfg1.Select = []string{h1.ContactCenters()[0].Name}
	cfg2.Select = []string{h2.ContactCenters()[0].Name}
	cfg2.OnEvent = nil

	var started atomic.Bool
	w.addHook(func(when, op, step string) {
		if when != "after" || op != "UpdateSAMLProvider" || step != StepReplaceCertificate || started.Swap(true) {
			return
		}
		func() {
			// Org 1 has just replaced its key: org 2 rotates now, then STS
			// rejects org 1's new signature for as long as org 1 tries.
			p2, err := Build(t.Context(), cfg2)
			if err != nil {
				t.Errorf("org 2: Build: %v", err)
				return
			}
			if rep, err := p2.Apply(t.Context()); err != nil {
				t.Errorf("org 2: Apply = %q, %v", rep.Outcome, err)
			}
			w.iam.InjectFault(iamtest.Fault{Operation: "AssumeRoleWithSAML", Nth: w.iam.Calls("AssumeRoleWithSAML") + 1,
				AndAfter: true, Code: "InvalidIdentityToken"})
		}()
	})
	cfg1.OnEvent = func(ev Event) {
		w.onEvent(ev)
		if ev.Kind == EventFailed && ev.Step == StepReplaceCertificate {
			w.iam.ClearFaults()
		}
	}
	p1, err := Build(t.Context(), cfg1)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p1.Apply(t.Context())
	if rep.Outcome != OutcomeRolledBack {
		t.Fatalf("org 1: Apply = %q, %v; want rolled_back", rep.Outcome, err)
	}
	if diff := cmp.Diff([]string{fp(h1.Certificate(oldCertName(0)).Raw)}, w.trusted(acct1, h1)); diff != "" {
		t.Errorf("org 1: provider trusts (-want +got):\n%s", diff)
	}
	created := w.newCertificates()[h2.Name()]
	if len(created) != 1 {
		t.Fatalf("org 2 created %q", created)
	}
	if diff := cmp.Diff([]string{fp(h2.Certificate(created[0]).Raw)}, w.trusted(acct1, h2)); diff != "" {
		t.Errorf("org 2: provider trusts after org 1's rollback (-want +got):\n%s", diff)
	}
	w.checkSSO(t, "")
}

// TestUndoRereadsBeforeWriting: the IdP switch fails before it changes
// anything, and the run rolls back. The undo reads the IdP setting first, finds
// the old certificate still there, and writes nothing to Salesforce (DESIGN
// §7.3); the added key is still removed from AWS.
func TestUndoRereadsBeforeWriting(t *testing.T) {
	t.Parallel()
	w := newFakes(t, fakesSpec{
		Orgs: []orgSpec{{CCs: []ccSpec{{OnDefault: true}}}},
		SFOpts: []sftest.Option{
			sftest.WithFault(sftest.Fault{Operation: "updateMetadata", Type: "IdentityProviderSettings", Nth: 1, Code: "UNKNOWN_EXCEPTION"}),
		},
	})
	var mu sync.Mutex
	var writes []string
	w.addHook(func(when, op, step string) {
		if when == "before" {
			mu.Lock()
			writes = append(writes, op)
			mu.Unlock()
		}
	})
	p, err := Build(t.Context(), w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Apply(t.Context())
	if rep.Outcome != OutcomeRolledBack {
		t.Fatalf("Apply = %q, %v; want rolled_back", rep.Outcome, err)
	}
	// add-certificate, the failed switch, then the undo of the add only.
	want := []string{"UpdateSAMLProvider", "updateMetadata", "UpdateSAMLProvider"}
	var got []string
	for _, op := range writes {
		if op != "deploy" && op != "createMetadata" && op != "upsertMetadata" { // create-certificate
			got = append(got, op)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	h := w.orgs[0]
	if h.IdPCertificate() != oldCertName(0) {
		t.Errorf("IdP setting %s, want %s", h.IdPCertificate(), oldCertName(0))
	}
	if diff := cmp.Diff([]string{fp(h.Certificate(oldCertName(0)).Raw)}, w.trusted(acct1, h)); diff != "" {
		t.Errorf("provider trusts (-want +got):\n%s", diff)
	}
}

func TestSwitchBackNeeded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		current string
		want    string // "" nil, "back" errAlreadyBack, else a part of the error
	}{
		{current: "VoiceCert_New", want: ""},
		{current: "Old", want: "back"},
		{current: "Other", want: "names Other, neither the new VoiceCert_New nor the old Old"},
	}
	for _, tt := range tests {
		err := switchBackNeeded("the IdP setting", tt.current, "Old", "VoiceCert_New")
		switch {
		case tt.want == "" && err != nil, tt.want == "back" && !errors.Is(err, errAlreadyBack),
			tt.want != "" && tt.want != "back" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("switchBackNeeded(%q) = %v, want %q", tt.current, err, tt.want)
		}
	}
}
