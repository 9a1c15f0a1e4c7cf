package certrotate

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/voicecert/voicecert/awsidp/iamtest"
	"github.com/voicecert/voicecert/salesforce"
	"github.com/voicecert/voicecert/salesforce/sftest"
	"github.com/voicecert/voicecert/samlmeta"
)

// writeKey names one write of a run: the step running, its target, the
// operation, and N, its rank among the writes of that step, target and
// operation in the run. Runs of the same plan against the same world number
// their writes alike until they differ.
type writeKey struct {
	Step, Target, Op string
	N                int
}

func (k writeKey) String() string { return fmt.Sprintf("%s %s %s#%d", k.Step, k.Target, k.Op, k.N) }

// writeCounter numbers the writes of one run as the hooks see them. One
// server's writes (an org's on its sftest server, or IAM's, which the shared
// provider's lock serializes) never overlap, so "before" and "after" of a write
// are adjacent among them.
type writeCounter struct {
	w *fakes
	// byServer names writes by server (the org's, or "aws") instead of by
	// step: exact when orgs run at once, where the step running is not known.
	byServer bool
	mu       sync.Mutex
	seen     map[writeKey]int
	last     map[string]writeKey // by server
	all      []writeKey
}

func newWriteCounter(w *fakes, byServer bool) *writeCounter {
	return &writeCounter{w: w, byServer: byServer, seen: map[writeKey]int{}, last: map[string]writeKey{}}
}

// key returns the key of the write the hook is called for.
func (c *writeCounter) key(when, op, host string) writeKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	server := "aws"
	for i, srv := range c.w.sf {
		if host != "" && hostOf(srv.URL) == host {
			server = c.w.orgs[i].Name()
		}
	}
	if when == "after" {
		return c.last[server]
	}
	k := writeKey{Target: server, Op: op}
	if !c.byServer {
		k.Step, k.Target, _ = c.w.current()
	}
	c.seen[k]++
	k.N = c.seen[k]
	c.last[server] = k
	c.all = append(c.all, k)
	return k
}

// cleanWrites runs a rotation without failure and returns its writes in order,
// after checking them against the fakes' request logs, so the matrix covers
// every write the fakes saw and not a hand-picked list.
func cleanWrites(t *testing.T, spec fakesSpec, strategy Strategy, atOnce bool) []writeKey {
	t.Helper()
	w := newFakes(t, spec)
	w.cfg.Strategy = strategy
	if !atOnce {
		w.cfg.Concurrency = 1
	}
	c := newWriteCounter(w, atOnce)
	w.addHostHook(func(when, op, host string) { c.key(when, op, host) })
	p, err := Build(t.Context(), w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Apply(t.Context()); err != nil {
		t.Fatalf("clean run: %v", err)
	}
	logged := map[string]int{}
	for _, srv := range w.sf {
		for _, r := range srv.Writes() {
			logged[r.Operation]++
		}
	}
	for _, r := range w.iam.Writes() {
		logged[r.Operation]++
	}
	hooked := map[string]int{}
	for _, k := range c.all {
		hooked[k.Op]++
	}
	if fmt.Sprint(logged) != fmt.Sprint(hooked) {
		t.Fatalf("the fakes logged writes %v, the hooks saw %v", logged, hooked)
	}
	return c.all
}

// invariants checks DESIGN §7's invariants from the fakes' own state after
// every write, and records what it finds.
type invariants struct {
	w         *fakes
	entityIDs map[string][]string // by provider ARN, at the start
	certs     map[string][]string // certificate names by org, as seen so far

	mu     sync.Mutex
	broken []string // always wrong
	// untrusted are moments when AWS did not trust what a contact center's app
	// signs with: allowed only inside a replace window.
	untrusted []probeFailure
}

func (w *fakes) watchInvariants() *invariants {
	w.t.Helper()
	v := &invariants{w: w, entityIDs: map[string][]string{}, certs: map[string][]string{}}
	for _, arn := range w.providers {
		doc, _ := w.iam.Document(arn)
		ids, err := entityIDs(doc)
		if err != nil {
			w.t.Fatal(err)
		}
		v.entityIDs[arn] = ids
	}
	for _, h := range w.orgs {
		v.certs[h.Name()] = h.CertificateNames()
	}
	w.addHook(func(when, op, step string) {
		if when == "after" {
			v.check(op, step)
		}
	})
	return v
}

func entityIDs(doc []byte) ([]string, error) {
	parsed, err := samlmeta.Parse(doc)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range parsed.Entities {
		ids = append(ids, e.EntityID)
	}
	return ids, nil
}

// check reads both fakes and records every broken invariant.
func (v *invariants) check(op, step string) {
	w := v.w
	now := w.clock.Now()
	v.mu.Lock()
	defer v.mu.Unlock()
	brk := func(format string, args ...any) {
		v.broken = append(v.broken, fmt.Sprintf("after %s in %s: ", op, step)+fmt.Sprintf(format, args...))
	}
	docs := map[string]*samlmeta.Document{}
	for arn, want := range v.entityIDs {
		doc, _ := w.iam.Document(arn)
		// Invariant 1: what IAM holds passes IAM's own rules and keeps every entityID.
		if f := samlmeta.Check(doc, samlmeta.CheckOptions{Now: now}).InGroup(samlmeta.GroupIAM).Errors(); len(f) > 0 {
			brk("provider %s holds a document failing IAM's rules: %v", arn, f.Err())
		}
		got, err := entityIDs(doc)
		if err != nil {
			brk("provider %s: %v", arn, err)
			continue
		}
		if !slices.Equal(got, want) {
			brk("provider %s has entities %q, want %q", arn, got, want)
		}
		docs[arn], _ = samlmeta.Parse(doc)
	}
	for _, h := range w.orgs {
		// Invariant 4: certificates are never deleted.
		names := h.CertificateNames()
		for _, n := range v.certs[h.Name()] {
			if !slices.Contains(names, n) {
				brk("org %s lost certificate %s", h.Name(), n)
			}
		}
		v.certs[h.Name()] = names
		// Invariant 2: AWS trusts what each contact center's app signs with now.
		for _, cc := range h.ContactCenters() {
			name, _ := h.ConnectedAppCertificate(cc.ConnectedApp)
			if name == "" {
				name = h.IdPCertificate()
			}
			cert := h.Certificate(name)
			doc := docs[cc.ProviderARN]
			if cert == nil || doc == nil || doc.Entity(h.InstanceURL()) == nil {
				brk("contact center %s: signer %q or its provider %s is missing", cc.InternalName, name, cc.ProviderARN)
				continue
			}
			sha := fp(cert.Raw)
			if !slices.ContainsFunc(doc.Entity(h.InstanceURL()).SigningCertificates(), func(c *samlmeta.Certificate) bool { return c.SHA256 == sha }) {
				v.untrusted = append(v.untrusted, probeFailure{At: now, CC: cc.InternalName,
					Err: fmt.Errorf("after %s in %s: %s signs with %s, which %s does not trust", op, step, cc.InternalName, name, cc.ProviderARN)})
			}
		}
	}
}

// verdict fails t for every broken invariant. A moment when AWS did not trust a
// signer is allowed only in replace, inside a window a run reported for that
// contact center; a window left open by a stopped run lasts until until.
func (v *invariants) verdict(t *testing.T, strategy Strategy, until time.Time, reports ...*Report) {
	t.Helper()
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, b := range v.broken {
		t.Errorf("invariant broken %s", b)
	}
	inWindow := func(f probeFailure) bool {
		for _, rep := range reports {
			if rep == nil {
				continue
			}
			for _, cc := range rep.ContactCenters {
				if cc.Name != f.CC && !v.isInternal(cc.Name, f.CC) {
					continue
				}
				start, end := timeOf(cc.SSOWindow.Start), timeOf(cc.SSOWindow.End)
				if end.IsZero() {
					end = until
				}
				if !start.IsZero() && !f.At.Before(start) && !f.At.After(end) {
					return true
				}
			}
		}
		return false
	}
	for _, f := range v.untrusted {
		if strategy == StrategyReplace && inWindow(f) {
			continue
		}
		t.Errorf("invariant 2 broken at %s: %v", f.At.Format(time.TimeOnly), f.Err)
	}
}

// isInternal reports whether the contact center named name has the internal
// name internal.
func (v *invariants) isInternal(name, internal string) bool {
	for _, h := range v.w.orgs {
		for _, cc := range h.ContactCenters() {
			if cc.Name == name && cc.InternalName == internal {
				return true
			}
		}
	}
	return false
}

// hostOf returns the host of a URL.
func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Host
}

// crashMode is how the matrix breaks a run at one write.
type crashMode string

const (
	// modeFault makes the write itself fail, through the fake's fault knob.
	modeFault crashMode = "fault"
	// modeCancel cancels the run's ctx right after the write; Apply rolls back.
	modeCancel crashMode = "cancel"
	// modeCrash cancels right after the write with NoRollback: a process killed there.
	modeCrash crashMode = "crash"
)

// TestCrashMatrix breaks a rotation at every write of every step, in each
// strategy, each way a run can break, then runs it again: it converges to one
// new certificate per org that every provider trusts, SSO works, a third run
// writes nothing, and no invariant of DESIGN §7 breaks at any point, the
// rollback's writes and the re-run's included. Writes are enumerated from a
// clean run (checked against the fakes' request logs). Orgs run one at a time
// so each write can be named by its step, except in the "at once" setup, where
// two orgs on one provider run concurrently and writes are named by server.
func TestCrashMatrix(t *testing.T) {
	t.Parallel()
	both := []Strategy{StrategyOverlap, StrategyReplace}
	allModes := []crashMode{modeFault, modeCancel, modeCrash}
	setups := []struct {
		name       string
		spec       fakesSpec
		strategies []Strategy
		modes      []crashMode
		larger     bool
		// atOnce runs the orgs concurrently (Config.Concurrency's default);
		// writes are then named by server, not by step.
		atOnce bool
	}{
		{"1 org, 2 contact centers, 1 provider", fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{}, {}}}}}, both, allModes, false, false},
		{"5 contact centers, 1 org", fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{}, {OnDefault: true}, {}, {OnDefault: true}, {}}}}}, both, []crashMode{modeFault}, true, false},
		{"2 orgs sharing a provider", fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{}}}, {CCs: []ccSpec{{}, {}}}}}, both, []crashMode{modeCrash}, true, false},
		{"3 AWS accounts", fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{Account: acct1}, {Account: acct2}, {Account: acct3}}}}}, both, []crashMode{modeCancel}, true, false},
		{"2 orgs sharing a provider, at once", fakesSpec{Orgs: []orgSpec{{CCs: []ccSpec{{}}}, {CCs: []ccSpec{{}, {}}}}}, both, []crashMode{modeFault, modeCancel}, true, true},
	}
	for _, su := range setups {
		for _, strategy := range su.strategies {
			t.Run(su.name+"/"+string(strategy), func(t *testing.T) {
				t.Parallel()
				writes := cleanWrites(t, su.spec, strategy, su.atOnce)
				for i, at := range writes {
					for j, mode := range su.modes {
						if raceEnabled && (j != i%len(su.modes) || su.larger && i != len(writes)/2) {
							// Under the race detector, ten times slower, each write of
							// the small setup is broken one way, the ways taking turns,
							// and the larger setups at their middle write only.
							continue
						}
						t.Run(string(mode)+"/"+at.String(), func(t *testing.T) {
							t.Parallel()
							crashAndRerun(t, su.spec, strategy, mode, at, su.atOnce)
						})
					}
				}
			})
		}
	}
}

// crashAndRerun breaks a run at one write and runs again; see TestCrashMatrix.
func crashAndRerun(t *testing.T, spec fakesSpec, strategy Strategy, mode crashMode, at writeKey, atOnce bool) {
	// Latency on the fake clock makes time pass as calls are made, so moments
	// and windows can be compared; nothing sleeps for real.
	spec.SFOpts = []sftest.Option{sftest.WithLatency(10 * time.Millisecond)}
	spec.IAMOpts = []iamtest.Option{iamtest.WithLatency(10 * time.Millisecond)}
	w := newFakes(t, spec)
	w.cfg.Strategy = strategy
	if !atOnce {
		w.cfg.Concurrency = 1
	}
	inv := w.watchInvariants()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	c := newWriteCounter(w, atOnce)
	var fired atomic.Bool
	w.addHostHook(func(when, op, host string) {
		k := c.key(when, op, host)
		if k != at || fired.Load() {
			return
		}
		switch {
		case mode == modeFault && when == "before":
			fired.Store(true)
			if host == "" {
				// Another writer got there first: a failure no fallback handles.
				w.iam.InjectFault(iamtest.Fault{Operation: op, Nth: w.iam.Calls(op) + 1, Code: "ConcurrentModification"})
				return
			}
			for _, srv := range w.sf {
				if hostOf(srv.URL) == host {
					srv.AddFault(sftest.Fault{Operation: op, Code: "UNKNOWN_EXCEPTION"})
				}
			}
		case mode != modeFault && when == "after":
			fired.Store(true)
			cancel()
		}
	})
	first := w.cfg
	first.NoRollback = mode == modeCrash
	p, err := Build(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	rep1, err := p.Apply(ctx)
	if !fired.Load() {
		t.Fatalf("the run never made write %s", at)
	}
	var sfErr *salesforce.Error
	switch {
	case mode != modeFault:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the cancelled run returned %v, want context.Canceled; outcome %q", err, rep1.Outcome)
		}
	case at.Op == "UpdateSAMLProvider":
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ConcurrentModification" {
			t.Errorf("the run returned %v, want the injected ConcurrentModification; outcome %q", err, rep1.Outcome)
		}
	case !errors.As(err, &sfErr) || sfErr.Code != "UNKNOWN_EXCEPTION":
		t.Errorf("the run returned %v, want the injected UNKNOWN_EXCEPTION; outcome %q", err, rep1.Outcome)
	}
	cancel()

	p, err = Build(t.Context(), w.cfg)
	if err != nil {
		t.Fatalf("re-run Build: %v", err)
	}
	rep2, err := p.Apply(t.Context())
	if err != nil {
		t.Fatalf("re-run Apply: %v\nfirst run: %s: %s", err, rep1.Outcome, rep1.Error)
	}
	if rep2.Outcome != OutcomeApplied && rep2.Outcome != OutcomeNothingToDo {
		t.Errorf("re-run outcome %q", rep2.Outcome)
	}
	end := w.clock.Now()

	for i, h := range w.orgs {
		created := w.newCertificates()[h.Name()]
		if len(created) != 1 {
			t.Fatalf("org %s: created %q, want one certificate in all", h.Name(), created)
		}
		want := []string{fp(h.Certificate(created[0]).Raw)}
		for j, cc := range h.ContactCenters() {
			got, _ := h.ConnectedAppCertificate(cc.ConnectedApp)
			if got == "" {
				got = h.IdPCertificate()
			}
			if got != created[0] {
				t.Errorf("org %s: %s signs with %s, want %s", h.Name(), cc.InternalName, got, created[0])
			}
			acct := spec.Orgs[i].CCs[j].Account
			if acct == "" {
				acct = acct1
			}
			if got := w.trusted(acct, h); !slices.Equal(got, want) {
				t.Errorf("org %s: provider of %s trusts %v, want %v", h.Name(), acct, shortList(got), shortList(want))
			}
		}
	}
	w.checkSSO(t, "after the re-run")
	inv.verdict(t, strategy, end, rep1, rep2)

	sf0, aws0 := w.writes()
	if p, err := Build(t.Context(), w.cfg); err != nil || p.Changed() {
		t.Errorf("third Build: changed %v, %v", p != nil && p.Changed(), err)
	}
	if sf1, aws1 := w.writes(); sf1 != sf0 || aws1 != aws0 {
		t.Errorf("third run wrote")
	}
}
