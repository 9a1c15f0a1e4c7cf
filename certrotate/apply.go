package certrotate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrConsentNeeded is returned by [Plan.Apply] when the plan needs a consent the
// Config has not given; nothing was written.
var ErrConsentNeeded = errors.New("certrotate: consent needed before any write")

// Apply carries out the plan. Steps of one org run in order, orgs run concurrently
// (Config.Concurrency), and steps that write the same provider are serialized
// across orgs. Before each step Apply calls its Check again: a step already done is
// skipped, so a re-run after a crash converges and a re-run after success writes
// nothing. After Apply, each step's Verify proves the change.
//
// When a step fails, the steps of that org that were applied are undone in reverse
// order (AWS trust is restored before Salesforce switches back), unless
// Config.NoRollback is set or the failure is not caused by a certificate. Rollback
// runs even when ctx is cancelled, bounded by its own deadline on Config.Now
// (four verification deadlines and a minute), which only Config.Sleep advances
// in tests.
//
// Apply always returns a report; the error is nil only when the outcome is applied
// or nothing-to-do. A plan that needs consent the Config has not given is refused
// with [ErrConsentNeeded] before any write.
//
// A plan may be applied again (every step re-checks), but not by two
// goroutines at once; use a [Locker] to guard against two processes.
func (p *Plan) Apply(ctx context.Context) (*Report, error) {
	rep := p.base.clone()
	rep.Changed = false
	if p.calls != nil {
		start := p.calls()
		defer func() { rep.APICalls = sub(p.calls(), start) }()
	}
	if missing := p.missingConsent(); len(missing) > 0 {
		err := fmt.Errorf("%w: %s; nothing was written", ErrConsentNeeded, joinConsents(missing))
		rep.Outcome, rep.Error = OutcomeRefused, err.Error()
		rep.ConsentNeeded = missing
		return rep, err
	}
	rep.ConsentNeeded = nil
	if len(p.steps) == 0 {
		rep.Outcome = OutcomeNothingToDo
		return rep, nil
	}

	// Group the steps into lanes, keeping the plan's order within each.
	var laneNames []string
	lanes := map[string][]int{}
	for i, s := range p.steps {
		if _, ok := lanes[s.lane]; !ok {
			laneNames = append(laneNames, s.lane)
		}
		lanes[s.lane] = append(lanes[s.lane], i)
	}

	var (
		wg      sync.WaitGroup
		sem     = make(chan struct{}, p.cfg.concurrency())
		results = make([]laneResult, len(laneNames))
	)
	for li, name := range laneNames {
		l := &lane{name: name}
		for _, i := range lanes[name] {
			l.steps = append(l.steps, p.steps[i])
			l.reports = append(l.reports, rep.Steps[i])
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				results[li] = laneResult{lane: l, err: ctx.Err()}
				return
			}
			results[li] = p.runLane(ctx, l)
		}()
	}
	wg.Wait()

	var fallbacks []string
	var joined []error
	rolledBack, failed := false, false
	rep.Steps = rep.Steps[:0]
	for _, r := range results {
		rep.Steps = append(rep.Steps, r.lane.reports...)
		if r.changed {
			rep.Changed = true
		}
		if r.fallback != "" {
			fallbacks = append(fallbacks, r.fallback)
		}
		if r.err == nil {
			continue
		}
		joined = append(joined, r.err)
		if r.rolledBack {
			rolledBack = true
		} else {
			failed = true
		}
	}
	rep.Fallback = strings.Join(fallbacks, "; ")
	switch {
	case failed:
		rep.Outcome = OutcomeFailed
	case rolledBack:
		rep.Outcome = OutcomeRolledBack
	default:
		rep.Outcome = OutcomeApplied
	}
	err := errors.Join(joined...)
	if err != nil {
		rep.Error = err.Error()
	}
	if p.finish != nil {
		p.finish(rep)
	}
	return rep, err
}

// lane is the steps of one org, run one after another, with their reports.
type lane struct {
	name    string
	steps   []*Step
	reports []StepReport
}

// laneResult is how one lane ended.
type laneResult struct {
	lane       *lane
	changed    bool   // a step was applied (and maybe later rolled back)
	err        error  // the failure, nil when every step succeeded
	rolledBack bool   // the failure was rolled back completely
	fallback   string // why the lane finished with other steps than planned
}

// fallback is an error a step returns (wrapped in its failure) to say that the
// rest of its lane must run other steps: Next builds them from live state, and
// Apply runs them instead of the planned ones, reporting Reason as the fallback
// (DESIGN §4: overlap finishing as replace).
type fallback struct {
	Reason string
	Err    error
	Next   func(ctx context.Context) ([]*Step, error)
}

func (f *fallback) Error() string { return f.Err.Error() }
func (f *fallback) Unwrap() error { return f.Err }

// runLane runs the steps of one lane in order, writing their outcome into its
// reports, falls back when a step asks for it, and rolls back on failure.
func (p *Plan) runLane(ctx context.Context, l *lane) laneResult {
	res := laneResult{lane: l}
	if l.name != "" {
		unlock, err := p.cfg.locker().Lock(ctx, l.name)
		if err != nil {
			res.err = fmt.Errorf("certrotate: lock %s: %w", l.name, err)
			return res
		}
		defer unlock()
	}
	var done []int // indexes into l.steps applied, in order
	for i := 0; i < len(l.steps); {
		j := batchEnd(l.steps, i)
		statuses, errs := p.runBatch(ctx, l, i, j)
		// In plan order: what applied is done, as is a failed step that may
		// have written before failing (its Undo must be safe either way).
		var failed []error
		var fb *fallback
		fbAt := -1
		for k := i; k < j; k++ {
			if statuses[k-i] == EventApplied {
				res.changed = true
				done = append(done, k)
				continue
			}
			err := errs[k-i]
			if err == nil {
				continue // skipped
			}
			if se := (*StepError)(nil); errors.As(err, &se) && se.Stage != StageCheck {
				res.changed = true
				done = append(done, k)
			}
			var f *fallback
			if errors.As(err, &f) && res.fallback == "" {
				if fb == nil { // one replan from live state covers every provider
					fb, fbAt = f, k
				}
				continue
			}
			failed = append(failed, err)
		}
		if len(failed) == 0 && fb != nil {
			next, nerr := fb.Next(ctx)
			if nerr == nil {
				res.fallback = fb.Reason
				p.cfg.logger().WarnContext(ctx, "certrotate: falling back", "lane", l.name, "reason", fb.Reason)
				for _, n := range next {
					n.lane = l.name
					p.cfg.emit(ctx, Event{Kind: EventPlanned, Time: p.cfg.now(), Step: n.Name, Target: n.Target,
						Action: n.Planned.Action, Detail: n.Planned.Reason})
					l.reports = append(l.reports, StepReport{Name: n.Name, Target: n.Target, Action: n.Planned.Action,
						Status: EventPlanned, Detail: n.Planned.Reason})
				}
				// The batch's steps stay; the rest of the plan is replaced.
				l.steps = append(l.steps[:j:j], next...)
				l.reports = append(l.reports[:j:j], l.reports[len(l.reports)-len(next):]...)
				i = j
				continue
			}
			failed = append(failed, errors.Join(errs[fbAt-i], fmt.Errorf("certrotate: fallback (%s) could not be planned: %w", fb.Reason, nerr)))
		} else if fb != nil {
			failed = append(failed, errs[fbAt-i])
		}
		if len(failed) == 0 {
			i = j
			continue
		}
		err := errors.Join(failed...)
		res.err = err
		if p.cfg.NoRollback || p.noRollback || (p.stopOnly != nil && p.stopOnly(err)) {
			return res
		}
		res.rolledBack, res.err = p.rollback(ctx, l, done, err)
		return res
	}
	return res
}

// batchEnd returns the end of the batch of steps starting at i: a run of
// provider steps of one kind on different providers (one org's AWS accounts)
// runs at once; every other step runs alone.
func batchEnd(steps []*Step, i int) int {
	j := i + 1
	if len(steps[i].locks) == 0 {
		return j
	}
	seen := map[string]bool{}
	for _, l := range steps[i].locks {
		seen[l] = true
	}
	for ; j < len(steps) && steps[j].Name == steps[i].Name && len(steps[j].locks) > 0; j++ {
		for _, l := range steps[j].locks {
			if seen[l] {
				return j
			}
			seen[l] = true
		}
	}
	return j
}

// runBatch runs steps i to j of l, at once when there are several, within
// Config.Concurrency, and returns their statuses and errors.
func (p *Plan) runBatch(ctx context.Context, l *lane, i, j int) ([]EventKind, []error) {
	statuses, errs := make([]EventKind, j-i), make([]error, j-i)
	if j-i == 1 {
		statuses[0], errs[0] = p.runStep(ctx, l.steps[i], &l.reports[i])
		return statuses, errs
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, p.cfg.concurrency())
	for k := i; k < j; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			statuses[k-i], errs[k-i] = p.runStep(ctx, l.steps[k], &l.reports[k])
		}()
	}
	wg.Wait()
	return statuses, errs
}

// runStep runs one step: check, apply, verify. It returns the final status
// (applied, skipped or failed) and, for failed, a *StepError.
func (p *Plan) runStep(ctx context.Context, s *Step, rep *StepReport) (EventKind, error) {
	start := p.cfg.now()
	p.cfg.emit(ctx, Event{Kind: EventStarted, Time: start, Step: s.Name, Target: s.Target, Action: s.Planned.Action})
	finish := func(kind EventKind, action Action, detail string, err error) (EventKind, error) {
		end := p.cfg.now()
		d := end.Sub(start)
		rep.Status, rep.DurationMS, rep.Action = kind, d.Milliseconds(), action
		if detail != "" {
			rep.Detail = detail
		}
		p.cfg.emit(ctx, Event{Kind: kind, Time: end, Step: s.Name, Target: s.Target, Action: action,
			Duration: d, Detail: detail, Err: err})
		return kind, err
	}
	fail := func(stage Stage, action Action, err error) (EventKind, error) {
		se := &StepError{Step: s.Name, Target: s.Target, Stage: stage, Err: err}
		return finish(EventFailed, action, se.Error(), se)
	}

	if err := ctx.Err(); err != nil {
		return fail(StageCheck, s.Planned.Action, err)
	}
	if s.wait != nil {
		if err := s.wait(ctx); err != nil {
			return fail(StageCheck, s.Planned.Action, err)
		}
	}
	locked, err := p.lockResources(ctx, s.locks)
	if err != nil {
		return fail(StageCheck, s.Planned.Action, err)
	}
	// The locks guard Check and Apply; Verify only reads (and probes SSO), so
	// other orgs may write the provider meanwhile.
	unlock := sync.OnceFunc(locked)
	defer unlock()

	change := s.Planned
	if s.Check != nil {
		if change, err = s.Check(ctx); err != nil {
			return fail(StageCheck, s.Planned.Action, err)
		}
	}
	if change.Done() {
		return finish(EventSkipped, ActionNone, orDefaultString(change.Reason, "already done"), nil)
	}
	if s.Apply == nil {
		return fail(StageApply, change.Action, errors.New("step has no Apply"))
	}
	if err := s.Apply(ctx); err != nil {
		return fail(StageApply, change.Action, err)
	}
	unlock()
	if s.Verify != nil {
		if err := s.Verify(ctx); err != nil {
			return fail(StageVerify, change.Action, err)
		}
	}
	return finish(EventApplied, change.Action, change.Reason, nil)
}

// rollback undoes the steps done (indexes into l.steps), last first, and reports
// whether it rolled anything back with every undo succeeding, with the error to
// return. It runs even when ctx is cancelled, bounded by its own deadline on
// Config's clock.
func (p *Plan) rollback(ctx context.Context, l *lane, done []int, cause error) (bool, error) {
	reports := l.reports
	// The deadline is on Config's clock: the rollback's sleeps (verification
	// retries) end there, and no undo starts after it. Only a real clock gets a
	// real timer as well, which also bounds a call that hangs.
	deadline := p.cfg.now().Add(p.rollbackDeadline())
	ctx = context.WithValue(context.WithoutCancel(ctx), rollbackDeadlineKey{}, deadline)
	if p.cfg.Now == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	undone := 0
	for k := len(done) - 1; k >= 0; k-- {
		i := done[k]
		s := l.steps[i]
		if s.Undo == nil {
			continue
		}
		start := p.cfg.now()
		err := errRollbackDeadline
		if start.Before(deadline) {
			err = p.undo(ctx, s)
		}
		if err != nil {
			se := &StepError{Step: s.Name, Target: s.Target, Stage: StageUndo, Err: err}
			p.cfg.emit(ctx, Event{Kind: EventFailed, Time: p.cfg.now(), Step: s.Name, Target: s.Target,
				Action: reports[i].Action, Duration: p.cfg.now().Sub(start), Detail: se.Error(), Err: se})
			var left []string
			for j := k; j >= 0; j-- {
				if t := l.steps[done[j]]; t.Undo != nil {
					left = append(left, t.Name+" "+t.Target)
				}
			}
			return false, errors.Join(cause, fmt.Errorf("certrotate: rollback stopped; restore by hand: %s: %w",
				strings.Join(left, "; "), se))
		}
		d := p.cfg.now().Sub(start)
		undone++
		if reports[i].Status != EventFailed {
			// The failed step keeps its status: the report says which one failed.
			reports[i].Status = EventRolledBack
		}
		p.cfg.emit(ctx, Event{Kind: EventRolledBack, Time: p.cfg.now(), Step: s.Name, Target: s.Target,
			Action: reports[i].Action, Duration: d, Detail: "undone after: " + cause.Error()})
	}
	// With nothing to undo (only a certificate created, say) the run simply failed.
	return undone > 0, cause
}

// undo runs s.Undo holding the locks of the resources s writes, so that the
// undo of one org's provider edit is serialized with other orgs' writes.
func (p *Plan) undo(ctx context.Context, s *Step) error {
	unlock, err := p.lockResources(ctx, s.locks)
	if err != nil {
		return err
	}
	defer unlock()
	return s.Undo(ctx)
}

// rollbackDeadlineKey carries, in a rollback's ctx, the time on Config's clock
// by which the rollback ends.
type rollbackDeadlineKey struct{}

// errRollbackDeadline stops a rollback that ran out of time.
var errRollbackDeadline = errors.New("the rollback deadline passed")

// rollbackDeadline bounds a rollback: an undo and a verification for each kind of
// step, with room to spare.
func (p *Plan) rollbackDeadline() time.Duration { return 4*p.cfg.verifyDeadline() + time.Minute }

// lockResources serializes steps that write the same resources, in this process
// and (through the Locker) across processes. Names are locked in sorted order.
func (p *Plan) lockResources(ctx context.Context, names []string) (func(), error) {
	names = slices.Sorted(slices.Values(names))
	names = slices.Compact(names)
	var unlocks []func()
	release := func() {
		for i := len(unlocks) - 1; i >= 0; i-- {
			unlocks[i]()
		}
	}
	for _, n := range names {
		p.locksMu.Lock()
		mu := p.locks[n]
		if mu == nil {
			mu = new(sync.Mutex)
			p.locks[n] = mu
		}
		p.locksMu.Unlock()
		mu.Lock()
		unlocks = append(unlocks, mu.Unlock)
		unlock, err := p.cfg.locker().Lock(ctx, n)
		if err != nil {
			release()
			return nil, fmt.Errorf("certrotate: lock %s: %w", n, err)
		}
		unlocks = append(unlocks, unlock)
	}
	return release, nil
}

func joinConsents(cs []Consent) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

func orDefaultString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// clone returns a deep copy of r's lists, so a plan can be applied twice.
func (r *Report) clone() *Report {
	c := *r
	c.ConsentNeeded = slices.Clone(r.ConsentNeeded)
	c.AffectedApps = slices.Clone(r.AffectedApps)
	c.Steps = slices.Clone(r.Steps)
	c.ContactCenters = slices.Clone(r.ContactCenters)
	for i := range c.ContactCenters {
		c.ContactCenters[i].AWSTrusts = slices.Clone(r.ContactCenters[i].AWSTrusts)
	}
	return &c
}

func timeOf(t Timestamp) time.Time { return time.Time(t) }
