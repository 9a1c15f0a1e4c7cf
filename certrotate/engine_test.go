package certrotate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/voicecert/voicecert/internal/fakeclock"
)

var t0 = time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC)

// world is a tiny stateful target for engine tests: named values that steps set,
// a log of every call, and a fake clock each write advances.
type world struct {
	mu    sync.Mutex
	vals  map[string]string
	calls []string
	clock *fakeclock.Clock
}

func newWorld() *world {
	return &world{vals: map[string]string{}, clock: fakeclock.New(t0)}
}

func (w *world) log(s string) {
	w.mu.Lock()
	w.calls = append(w.calls, s)
	w.mu.Unlock()
}

func (w *world) get(k string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.vals[k]
}

func (w *world) set(k, v string) {
	w.mu.Lock()
	w.vals[k] = v
	w.mu.Unlock()
}

// setStep returns a step that sets key to want, taking one second of fake time.
// failApply and failVerify inject failures.
func (w *world) setStep(name, key, want string, failApply, failVerify error) *Step {
	return &Step{
		Name: name, Target: key,
		Planned: Change{Action: ActionUpdate, Reason: key + " is not " + want},
		Check: func(ctx context.Context) (Change, error) {
			w.log("check " + key)
			if w.get(key) == want {
				return Change{Reason: key + " is already " + want}, nil
			}
			return Change{Action: ActionUpdate, Reason: key + " is not " + want}, nil
		},
		Apply: func(ctx context.Context) error {
			w.log("apply " + key)
			w.clock.Advance(time.Second)
			if failApply != nil {
				return failApply
			}
			w.set(key, want)
			return nil
		},
		Verify: func(ctx context.Context) error {
			w.log("verify " + key)
			return failVerify
		},
	}
}

func withUndo(s *Step, w *world, key, old string, failUndo error) *Step {
	s.Undo = func(ctx context.Context) error {
		w.log("undo " + key)
		if failUndo != nil {
			return failUndo
		}
		w.set(key, old)
		return nil
	}
	return s
}

type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) add(ev Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, fmt.Sprintf("%s %s %s %s %v", ev.Kind, ev.Step, ev.Target, ev.Action, ev.Duration))
}

func testConfig(w *world, l *eventLog) Config {
	return Config{Now: w.clock.Now, Sleep: w.clock.Sleep, OnEvent: l.add}
}

func TestApplyRunsChecksAndSkipsDone(t *testing.T) {
	t.Parallel()
	w := newWorld()
	w.set("b", "new") // already done
	var l eventLog
	steps := []*Step{
		w.setStep(StepCreateCertificate, "a", "new", nil, nil),
		w.setStep(StepAddCertificate, "b", "new", nil, nil),
		w.setStep(StepSwitchIdentityProvider, "c", "new", nil, nil),
	}
	p := newPlan(t.Context(), testConfig(w, &l), Report{}, steps)
	rep, err := p.Apply(t.Context())
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	wantCalls := []string{"check a", "apply a", "verify a", "check b", "check c", "apply c", "verify c"}
	if diff := cmp.Diff(wantCalls, w.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	wantEvents := []string{
		"planned salesforce/create-certificate a update 0s",
		"planned aws/add-certificate b update 0s",
		"planned salesforce/switch-identity-provider c update 0s",
		"started salesforce/create-certificate a update 0s",
		"applied salesforce/create-certificate a update 1s",
		"started aws/add-certificate b update 0s",
		"skipped aws/add-certificate b none 0s",
		"started salesforce/switch-identity-provider c update 0s",
		"applied salesforce/switch-identity-provider c update 1s",
	}
	if diff := cmp.Diff(wantEvents, l.events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	wantSteps := []StepReport{
		{Name: StepCreateCertificate, Target: "a", Action: ActionUpdate, Status: "applied", DurationMS: 1000, Detail: "a is not new"},
		{Name: StepAddCertificate, Target: "b", Action: ActionNone, Status: "skipped", Detail: "b is already new"},
		{Name: StepSwitchIdentityProvider, Target: "c", Action: ActionUpdate, Status: "applied", DurationMS: 1000, Detail: "c is not new"},
	}
	if diff := cmp.Diff(wantSteps, rep.Steps); diff != "" {
		t.Errorf("report steps (-want +got):\n%s", diff)
	}
	if rep.Outcome != OutcomeApplied || !rep.Changed {
		t.Errorf("outcome %q changed %v, want applied, true", rep.Outcome, rep.Changed)
	}

	// A second Apply of the same plan finds everything done.
	w.calls = nil
	rep, err = p.Apply(t.Context())
	if err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	if diff := cmp.Diff([]string{"check a", "check b", "check c"}, w.calls); diff != "" {
		t.Errorf("second Apply calls (-want +got):\n%s", diff)
	}
	if rep.Outcome != OutcomeApplied || rep.Changed {
		t.Errorf("second Apply: outcome %q changed %v, want applied, false", rep.Outcome, rep.Changed)
	}
}

func TestApplyFailureRollsBack(t *testing.T) {
	t.Parallel()
	errBoom := errors.New("boom")
	tests := []struct {
		name        string
		failApply   error // of step c
		failVerify  error // of step c
		failUndoA   error
		noRollback  bool
		stopOnly    bool
		wantOutcome Outcome
		wantStage   Stage
		wantCalls   []string
		wantStatus  []string
		wantVals    map[string]string
	}{
		{
			name: "verify fails, rollback in reverse", failVerify: errBoom,
			wantOutcome: OutcomeRolledBack, wantStage: StageVerify,
			wantCalls: []string{"check a", "apply a", "verify a", "check b", "apply b", "verify b",
				"check c", "apply c", "verify c", "undo c", "undo b", "undo a"},
			wantStatus: []string{"rolled_back", "rolled_back", "failed", "planned"},
			wantVals:   map[string]string{"a": "old", "b": "old", "c": "old"},
		},
		{
			name: "apply fails, its undo runs too", failApply: errBoom,
			wantOutcome: OutcomeRolledBack, wantStage: StageApply,
			wantCalls: []string{"check a", "apply a", "verify a", "check b", "apply b", "verify b",
				"check c", "apply c", "undo c", "undo b", "undo a"},
			wantStatus: []string{"rolled_back", "rolled_back", "failed", "planned"},
			wantVals:   map[string]string{"a": "old", "b": "old", "c": "old"},
		},
		{
			name: "no rollback", failVerify: errBoom, noRollback: true,
			wantOutcome: OutcomeFailed, wantStage: StageVerify,
			wantCalls: []string{"check a", "apply a", "verify a", "check b", "apply b", "verify b",
				"check c", "apply c", "verify c"},
			wantStatus: []string{"applied", "applied", "failed", "planned"},
			wantVals:   map[string]string{"a": "new", "b": "new", "c": "new"},
		},
		{
			name: "not caused by a certificate: stop", failVerify: errBoom, stopOnly: true,
			wantOutcome: OutcomeFailed, wantStage: StageVerify,
			wantCalls: []string{"check a", "apply a", "verify a", "check b", "apply b", "verify b",
				"check c", "apply c", "verify c"},
			wantStatus: []string{"applied", "applied", "failed", "planned"},
			wantVals:   map[string]string{"a": "new", "b": "new", "c": "new"},
		},
		{
			name: "undo fails mid-way", failVerify: errBoom, failUndoA: errors.New("undo refused"),
			wantOutcome: OutcomeFailed, wantStage: StageVerify,
			wantCalls: []string{"check a", "apply a", "verify a", "check b", "apply b", "verify b",
				"check c", "apply c", "verify c", "undo c", "undo b", "undo a"},
			wantStatus: []string{"applied", "rolled_back", "failed", "planned"},
			wantVals:   map[string]string{"a": "new", "b": "old", "c": "old"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld()
			for _, k := range []string{"a", "b", "c", "d"} {
				w.set(k, "old")
			}
			var l eventLog
			cfg := testConfig(w, &l)
			cfg.NoRollback = tt.noRollback
			steps := []*Step{
				withUndo(w.setStep(StepCreateCertificate, "a", "new", nil, nil), w, "a", "old", tt.failUndoA),
				withUndo(w.setStep(StepAddCertificate, "b", "new", nil, nil), w, "b", "old", nil),
				withUndo(w.setStep(StepSwitchConnectedApp, "c", "new", tt.failApply, tt.failVerify), w, "c", "old", nil),
				withUndo(w.setStep(StepRemoveOldCertificate, "d", "new", nil, nil), w, "d", "old", nil),
			}
			p := newPlan(t.Context(), cfg, Report{}, steps)
			if tt.stopOnly {
				p.stopOnly = func(err error) bool { return errors.Is(err, errBoom) }
			}
			rep, err := p.Apply(t.Context())
			var se *StepError
			if !errors.As(err, &se) || !errors.Is(err, errBoom) {
				t.Fatalf("Apply error = %v, want a *StepError wrapping boom", err)
			}
			if se.Step != StepSwitchConnectedApp || se.Target != "c" || se.Stage != tt.wantStage {
				t.Errorf("StepError = {%s %s %s}, want {%s c %s}", se.Step, se.Target, se.Stage, StepSwitchConnectedApp, tt.wantStage)
			}
			if tt.failUndoA != nil && !strings.Contains(err.Error(), "restore by hand: salesforce/create-certificate a") {
				t.Errorf("error %q does not say what is left to restore", err)
			}
			if rep.Outcome != tt.wantOutcome || rep.Error == "" {
				t.Errorf("outcome %q error %q, want %q and an error", rep.Outcome, rep.Error, tt.wantOutcome)
			}
			if diff := cmp.Diff(tt.wantCalls, w.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			var status []string
			for _, s := range rep.Steps {
				status = append(status, string(s.Status))
			}
			if diff := cmp.Diff(tt.wantStatus, status); diff != "" {
				t.Errorf("step statuses (-want +got):\n%s", diff)
			}
			got := map[string]string{"a": w.get("a"), "b": w.get("b"), "c": w.get("c")}
			if diff := cmp.Diff(tt.wantVals, got); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyRollbackSurvivesCancel(t *testing.T) {
	t.Parallel()
	w := newWorld()
	w.set("a", "old")
	var l eventLog
	ctx, cancel := context.WithCancel(t.Context())
	a := withUndo(w.setStep(StepSwitchIdentityProvider, "a", "new", nil, nil), w, "a", "old", nil)
	b := w.setStep(StepSwitchConnectedApp, "b", "new", nil, nil)
	b.Apply = func(context.Context) error { cancel(); return context.Canceled }
	undo := a.Undo
	a.Undo = func(ctx context.Context) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return undo(ctx)
	}
	p := newPlan(ctx, testConfig(w, &l), Report{}, []*Step{a, b})
	rep, err := p.Apply(ctx)
	if !errors.Is(err, context.Canceled) || rep.Outcome != OutcomeRolledBack {
		t.Fatalf("Apply = %q, %v; want rolled_back, context.Canceled", rep.Outcome, err)
	}
	if got := w.get("a"); got != "old" {
		t.Errorf("a = %q after rollback, want old", got)
	}
}

func TestApplyRefusesWithoutConsent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		needed           []Consent
		acceptAffected   bool
		acceptUnobserved bool
		wantMissing      []Consent
	}{
		{name: "affected apps", needed: []Consent{ConsentAffectedApps}, wantMissing: []Consent{ConsentAffectedApps}},
		{name: "both, one accepted", needed: []Consent{ConsentAffectedApps, ConsentUnobservedSigner},
			acceptAffected: true, wantMissing: []Consent{ConsentUnobservedSigner}},
		{name: "all accepted", needed: []Consent{ConsentAffectedApps, ConsentUnobservedSigner},
			acceptAffected: true, acceptUnobserved: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld()
			var l eventLog
			cfg := testConfig(w, &l)
			cfg.AcceptAffected, cfg.AcceptUnobserved = tt.acceptAffected, tt.acceptUnobserved
			p := newPlan(t.Context(), cfg, Report{ConsentNeeded: tt.needed},
				[]*Step{w.setStep(StepSwitchIdentityProvider, "a", "new", nil, nil)})
			rep, err := p.Apply(t.Context())
			if len(tt.wantMissing) == 0 {
				if err != nil || rep.Outcome != OutcomeApplied {
					t.Fatalf("Apply = %q, %v; want applied", rep.Outcome, err)
				}
				return
			}
			if !errors.Is(err, ErrConsentNeeded) || rep.Outcome != OutcomeRefused {
				t.Fatalf("Apply = %q, %v; want refused, ErrConsentNeeded", rep.Outcome, err)
			}
			if diff := cmp.Diff(tt.wantMissing, rep.ConsentNeeded); diff != "" {
				t.Errorf("consent_needed (-want +got):\n%s", diff)
			}
			if len(w.calls) != 0 || rep.Changed {
				t.Errorf("refused plan made calls %q, changed %v", w.calls, rep.Changed)
			}
		})
	}
}

func TestApplyNothingToDo(t *testing.T) {
	t.Parallel()
	w := newWorld()
	var l eventLog
	p := newPlan(t.Context(), testConfig(w, &l), Report{}, nil)
	if p.Changed() || p.Report().Outcome != OutcomeNothingToDo {
		t.Errorf("empty plan: changed %v outcome %q", p.Changed(), p.Report().Outcome)
	}
	rep, err := p.Apply(t.Context())
	if err != nil || rep.Outcome != OutcomeNothingToDo || rep.Changed {
		t.Errorf("Apply = %q changed %v, %v; want nothing-to-do", rep.Outcome, rep.Changed, err)
	}
}

// TestApplySerializesProviderWrites runs lanes (orgs) concurrently whose steps
// write one shared provider, and checks that those steps never overlap while
// steps on distinct resources do run in every lane.
func TestApplySerializesProviderWrites(t *testing.T) {
	t.Parallel()
	w := newWorld()
	var l eventLog
	cfg := testConfig(w, &l)
	cfg.Concurrency = 3
	var inside, maxInside atomic.Int32
	var steps []*Step
	for org := range 3 {
		lane := fmt.Sprintf("salesforce/org%d", org)
		for i := range 3 {
			s := w.setStep(StepAddCertificate, fmt.Sprintf("org%d-p%d", org, i), "new", nil, nil)
			apply := s.Apply
			s.Apply = func(ctx context.Context) error {
				n := inside.Add(1)
				defer inside.Add(-1)
				for {
					m := maxInside.Load()
					if n <= m || maxInside.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(time.Millisecond) // real time, so that overlaps can happen
				return apply(ctx)
			}
			s.lane, s.locks = lane, []string{"aws/arn:aws:iam::111122223333:saml-provider/P"}
			steps = append(steps, s)
		}
	}
	p := newPlan(t.Context(), cfg, Report{}, steps)
	if _, err := p.Apply(t.Context()); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := maxInside.Load(); got != 1 {
		t.Errorf("%d writes to one provider ran at once, want 1", got)
	}
	for _, s := range steps {
		if w.get(s.Target) != "new" {
			t.Errorf("%s not applied", s.Target)
		}
	}
}

// recordingLocker records lock names and refuses one name.
type recordingLocker struct {
	mu     sync.Mutex
	names  []string
	refuse string
}

func (r *recordingLocker) Lock(ctx context.Context, name string) (func(), error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.names = append(r.names, name)
	if name == r.refuse {
		return nil, errors.New("held by another run")
	}
	return func() {}, nil
}

func TestApplyLocks(t *testing.T) {
	t.Parallel()
	w := newWorld()
	var l eventLog
	lk := &recordingLocker{refuse: "salesforce/org2"}
	cfg := testConfig(w, &l)
	cfg.Locker, cfg.Concurrency = lk, 1
	a := w.setStep(StepAddCertificate, "x", "new", nil, nil)
	a.lane, a.locks = "salesforce/org1", []string{"aws/P"}
	b := w.setStep(StepAddCertificate, "y", "new", nil, nil)
	b.lane = "salesforce/org2"
	rep, err := newPlan(t.Context(), cfg, Report{}, []*Step{a, b}).Apply(t.Context())
	if err == nil || !strings.Contains(err.Error(), "lock salesforce/org2: held by another run") {
		t.Fatalf("Apply error = %v, want the lock refusal", err)
	}
	if rep.Outcome != OutcomeFailed || w.get("y") != "" || w.get("x") != "new" {
		t.Errorf("outcome %q, x=%q y=%q; want failed, org1 applied, org2 untouched", rep.Outcome, w.get("x"), w.get("y"))
	}
	lk.mu.Lock()
	defer lk.mu.Unlock()
	if diff := cmp.Diff([]string{"salesforce/org1", "aws/P", "salesforce/org2"}, lk.names,
		cmp.Transformer("sort", func(s []string) map[string]bool {
			m := map[string]bool{}
			for _, x := range s {
				m[x] = true
			}
			return m
		})); diff != "" {
		t.Errorf("locks (-want +got):\n%s", diff)
	}
}

// TestApplyFallback: a step that fails with a fallback makes the rest of its
// lane run the steps the fallback builds instead of the planned ones.
func TestApplyFallback(t *testing.T) {
	t.Parallel()
	w := newWorld()
	var l eventLog
	a := w.setStep(StepCreateCertificate, "a", "new", nil, nil)
	b := w.setStep(StepAddCertificate, "b", "new", nil, nil)
	b.Apply = func(context.Context) error {
		w.log("apply b")
		return &fallback{Reason: "AWS refused two keys; finished as replace", Err: errors.New("InvalidInput"),
			Next: func(context.Context) ([]*Step, error) {
				return []*Step{w.setStep(StepSwitchIdentityProvider, "c", "new", nil, nil), w.setStep(StepReplaceCertificate, "d", "new", nil, nil)}, nil
			}}
	}
	planned := w.setStep(StepRemoveOldCertificate, "e", "new", nil, nil)
	rep, err := newPlan(t.Context(), testConfig(w, &l), Report{}, []*Step{a, b, planned}).Apply(t.Context())
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if rep.Outcome != OutcomeApplied || rep.Fallback != "AWS refused two keys; finished as replace" {
		t.Errorf("outcome %q fallback %q", rep.Outcome, rep.Fallback)
	}
	var got []string
	for _, s := range rep.Steps {
		got = append(got, s.Name+" "+string(s.Status))
	}
	want := []string{
		StepCreateCertificate + " applied", StepAddCertificate + " failed",
		StepSwitchIdentityProvider + " applied", StepReplaceCertificate + " applied",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if w.get("e") != "" {
		t.Errorf("the planned step after the fallback ran")
	}
}

// TestApplyFallbackThenRollback: a step that wrote and then fell back is undone
// too when a step of the fallback fails, AWS-side last step first.
func TestApplyFallbackThenRollback(t *testing.T) {
	t.Parallel()
	w := newWorld()
	for _, k := range []string{"a", "b", "c"} {
		w.set(k, "old")
	}
	var l eventLog
	a := withUndo(w.setStep(StepSwitchIdentityProvider, "a", "new", nil, nil), w, "a", "old", nil)
	b := withUndo(w.setStep(StepSwitchConnectedApp, "b", "new", nil, nil), w, "b", "old", nil)
	b.Verify = func(context.Context) error {
		return &fallback{Reason: "one key only", Err: errors.New("rejected"), Next: func(context.Context) ([]*Step, error) {
			return []*Step{withUndo(w.setStep(StepReplaceCertificate, "c", "new", nil, errors.New("still rejected")), w, "c", "old", nil)}, nil
		}}
	}
	rep, err := newPlan(t.Context(), testConfig(w, &l), Report{}, []*Step{a, b}).Apply(t.Context())
	if err == nil || rep.Outcome != OutcomeRolledBack {
		t.Fatalf("Apply = %q, %v; want rolled_back", rep.Outcome, err)
	}
	var undos []string
	for _, c := range w.calls {
		if strings.HasPrefix(c, "undo ") {
			undos = append(undos, c)
		}
	}
	if diff := cmp.Diff([]string{"undo c", "undo b", "undo a"}, undos); diff != "" {
		t.Errorf("undo order (-want +got):\n%s", diff)
	}
	for _, k := range []string{"a", "b", "c"} {
		if w.get(k) != "old" {
			t.Errorf("%s = %q after rollback", k, w.get(k))
		}
	}
}
