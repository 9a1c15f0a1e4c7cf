package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/voicecert/voicecert/awsidp"
	"github.com/voicecert/voicecert/certrotate"
	"github.com/voicecert/voicecert/salesforce"
)

// rotationFlags are the flags of status, plan, apply and verify.
type rotationFlags struct {
	common commonFlags
	sf     sfSettings
}

func (f *rotationFlags) register(fs *flag.FlagSet) {
	f.common.register(fs)
	f.sf.register(fs)
}

// applyFlags are apply's own flags.
type applyFlags struct {
	yes              bool
	strategy         string
	force            bool
	acceptAffected   bool
	acceptUnobserved bool
	noRollback       bool
	pruneGrace       time.Duration
	propagationWait  time.Duration
	backupDir        string
}

func (f *applyFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.yes, "yes", false, "apply without asking (required when stdin is not a terminal)")
	fs.StringVar(&f.strategy, "strategy", "overlap", "overlap (no SSO downtime) or replace (the documented procedure)")
	fs.BoolVar(&f.force, "force", false, "rotate even when no certificate is due")
	fs.BoolVar(&f.acceptAffected, "accept-affected", false, "accept that other SAML apps on the org default change signer")
	fs.BoolVar(&f.acceptUnobserved, "accept-unobserved", false, "accept a signer the SSO probe cannot confirm (verification by consistency only, no automatic rollback)")
	fs.BoolVar(&f.noRollback, "no-rollback", false, "on failure, stop where it failed instead of rolling back")
	fs.DurationVar(&f.pruneGrace, "prune-grace", 0, "wait this long after the last switch before removing the old certificate from AWS (default: the observed assertion lifetime)")
	fs.DurationVar(&f.propagationWait, "propagation-wait", certrotate.DefaultPropagationWait, "overlap: wait this long after adding the new certificate to AWS before the first switch, while IAM propagates it (0: no wait)")
	fs.StringVar(&f.backupDir, "backup-dir", "", "write each AWS provider document to DIR before changing it")
}

// rotationConfig builds the certrotate.Config of the flags and environment:
// one org, AWS from the SDK's chain, a file lock per org and AWS endpoint.
func (c *cli) rotationConfig(ctx context.Context, f *rotationFlags) (certrotate.Config, error) {
	if err := f.common.validate(); err != nil {
		return certrotate.Config{}, err
	}
	f.sf.fromEnv(c.getenv)
	sfCfg, err := f.sf.salesforceConfig(c.log)
	if err != nil {
		return certrotate.Config{}, err
	}
	sf, err := salesforce.New(sfCfg)
	if err != nil {
		return certrotate.Config{}, refused("salesforce settings: %w", err)
	}
	awsCfg, err := loadAWS(ctx, c.getenv)
	if err != nil {
		return certrotate.Config{}, err
	}
	return certrotate.Config{
		Orgs:              []*salesforce.Client{sf},
		AWS:               awsClientsFunc(awsCfg, f.common.roleARNTemplate),
		ProviderName:      f.common.providerName,
		Select:            f.common.selected,
		RenewBefore:       f.common.renewBefore,
		KeySize:           f.common.keySize,
		CertificatePrefix: f.common.certificatePrefix,
		Logger:            c.stepLogger(f.common.verbose),
		Locker:            c.locker(f.sf.instanceURL),
	}, nil
}

// locker returns the lock that keeps two runs of apply on this machine from
// changing the same org or provider at once: the second waits, then finds the
// work done. The lock files live in $VOICECERT_LOCK_DIR, else in the user's
// cache directory, in a subdirectory per Salesforce instance and AWS endpoint
// (simulators share org IDs and ARNs, real orgs do not).
func (c *cli) locker(instanceURL string) certrotate.Locker {
	if runtime.GOOS == "windows" {
		return nil // FileLocker uses flock
	}
	dir := c.getenv("VOICECERT_LOCK_DIR")
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		dir = filepath.Join(base, "voicecert", "locks")
	}
	sum := sha256.Sum256([]byte(instanceURL + "\n" + c.getenv("AWS_ENDPOINT_URL")))
	return &certrotate.FileLocker{Dir: filepath.Join(dir, hex.EncodeToString(sum[:8])), Wait: true}
}

// stepLogger is certrotate's logger: its records repeat the progress lines on
// stdout, so they go to stderr only with -v.
func (c *cli) stepLogger(verbose bool) *slog.Logger {
	if verbose {
		return c.log
	}
	return nil
}

// awsClientsFunc returns certrotate's AWS hook over the loaded configuration.
func awsClientsFunc(base aws.Config, roleARNTemplate string) func(ctx context.Context, partition, account string) (*certrotate.AWSClients, error) {
	accounts := &awsAccounts{base: base, roleARNTemplate: roleARNTemplate}
	return func(ctx context.Context, partition, account string) (*certrotate.AWSClients, error) {
		iamClient, stsClient := accounts.clients(partition, account)
		return &certrotate.AWSClients{IAM: iamClient, STS: stsClient}, nil
	}
}

// buildError returns the exit error of a failed Build, Status or Verify: a bad
// configuration is refused (3), anything else failed (1).
func buildError(what string, err error) error {
	if errors.Is(err, certrotate.ErrBadConfig) {
		return &exitError{code: exitRefused, err: fmt.Errorf("%s: %w", what, err)}
	}
	return &exitError{code: exitFailed, err: fmt.Errorf("%s: %w", what, err)}
}

// emitJSON prints rep as one JSON line on stdout.
func (c *cli) emitJSON(rep *certrotate.Report) error {
	if err := writeJSON(c.stdout, rep); err != nil {
		return failed("writing the report: %w", err)
	}
	return nil
}

// parseRotation parses the flags of a rotation subcommand and builds its
// certrotate.Config.
func (c *cli) parseRotation(ctx context.Context, name, synopsis string, args []string, extra func(*flag.FlagSet)) (*rotationFlags, certrotate.Config, error) {
	fs := c.newFlagSet(name, synopsis)
	f := &rotationFlags{}
	f.register(fs)
	if extra != nil {
		extra(fs)
	}
	pos, err := c.parse(fs, args)
	if err != nil {
		return nil, certrotate.Config{}, err
	}
	// apply's --strategy, when given, names the strategy of an early error's report.
	strategy := certrotate.StrategyOverlap
	if fl := fs.Lookup("strategy"); fl != nil {
		strategy = reportStrategy(fl.Value.String())
	}
	if len(pos) > 0 {
		return nil, certrotate.Config{}, c.errorReport(f.common.json, strategy,
			refused("%s takes no arguments, got %q; select contact centers with --select NAME", name, pos[0]))
	}
	cfg, err := c.rotationConfig(ctx, f)
	return f, cfg, c.errorReport(f.common.json, strategy, err)
}

// reportStrategy is the strategy an early error's report names: the one asked
// for, or overlap (the default) when the flag's value is not a strategy.
func reportStrategy(flag string) certrotate.Strategy {
	if certrotate.Strategy(flag) == certrotate.StrategyReplace {
		return certrotate.StrategyReplace
	}
	return certrotate.StrategyOverlap
}

// errorReport prints, when asJSON, the report of an error that stopped a
// rotation subcommand before certrotate could report it (DESIGN §8: --json
// prints the report on an error too), and returns err.
func (c *cli) errorReport(asJSON bool, strategy certrotate.Strategy, err error) error {
	if err == nil || !asJSON {
		return err
	}
	rep := &certrotate.Report{Outcome: certrotate.OutcomeFailed, Error: oneLine(err), Strategy: strategy}
	if exitCode(err) == exitRefused {
		rep.Outcome = certrotate.OutcomeRefused
	}
	c.emitJSON(rep)
	return err
}

// runStatus is "rotate status": certificates, expiry, who signs with what, what
// AWS trusts, and whether SSO works now. Exit 2 when a rotation is due or SSO
// is broken.
func runStatus(ctx context.Context, c *cli, args []string) error {
	f, cfg, err := c.parseRotation(ctx, "status", "status [--json] [common flags]", args, nil)
	if err != nil {
		return err
	}
	rep, err := certrotate.Status(ctx, cfg)
	return c.finishStatus(f.common.json, rep, err, cfg.RenewBefore)
}

func (c *cli) finishStatus(asJSON bool, rep *certrotate.Report, err error, renewBefore time.Duration) error {
	if asJSON {
		if werr := c.emitJSON(rep); werr != nil {
			return werr
		}
	}
	if err != nil {
		return buildError("status", err)
	}
	if !asJSON {
		if werr := renderStatus(c.stdout, rep, time.Now(), renewBefore); werr != nil {
			return failed("writing the status: %w", werr)
		}
	}
	if rep.Outcome == certrotate.OutcomePlanned || len(broken(rep)) > 0 {
		return &exitError{code: exitAttention, err: errReported}
	}
	return nil
}

// broken returns the contact centers whose SSO probe ran and failed.
func broken(rep *certrotate.Report) []string {
	var out []string
	for _, cc := range rep.ContactCenters {
		if cc.ObservedSigner != "" && !cc.Verified {
			out = append(out, cc.Name)
		}
	}
	return out
}

// renderStatus prints the status table.
func renderStatus(w io.Writer, rep *certrotate.Report, now time.Time, renewBefore time.Duration) error {
	ew := &errWriter{w: w}
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "CONTACT CENTER\tCERTIFICATE\tEXPIRES IN\tSIGNER OBSERVED\tTRUSTED BY AWS\tSSO\n")
	for _, cc := range rep.ContactCenters {
		signer := cc.ObservedSigner
		observed := "not observed"
		switch {
		case signer == "":
			signer = cc.OldCertificate.SHA256
		case signer == cc.OldCertificate.SHA256:
			observed = "yes"
		default:
			observed = "OTHER " + short(signer)
		}
		trusted := "NO"
		for _, t := range cc.AWSTrusts {
			if t == signer {
				trusted = "yes"
			}
		}
		sso := "not probed"
		if cc.ObservedSigner != "" {
			sso = "BROKEN"
			if cc.Verified {
				sso = "works"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cc.Name, orDash(cc.OldCertificate.Name),
			expiresIn(time.Time(cc.OldCertificate.Expires), now), observed, trusted, sso)
	}
	tw.Flush()
	if len(rep.ContactCenters) == 0 {
		ew.printf("No Amazon Connect contact center selected.\n")
	}
	switch {
	case len(broken(rep)) > 0:
		ew.printf("\nSSO is broken for %s: run 'rotate plan' to see the repair.\n", strings.Join(broken(rep), ", "))
	case rep.Outcome == certrotate.OutcomePlanned:
		ew.printf("\nA rotation is due (a certificate expires within %s) or AWS must be repaired: run 'rotate plan'.\n", days(renewBefore))
	default:
		ew.printf("\nHealthy: nothing is due within %s.\n", days(renewBefore))
	}
	return ew.err
}

// expiresIn says how long until t, in days and hours.
func expiresIn(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := t.Sub(now)
	if d < 0 {
		return "expired " + days(-d) + " ago"
	}
	return days(d)
}

// days formats d as "30 days", "9d 23h", or hours and minutes below a day.
func days(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd %dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
	case d >= time.Hour:
		return fmt.Sprintf("%dh %dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return d.Round(time.Second).String()
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// runPlan is "rotate plan": the steps apply would take. Exit 2 when there are
// changes pending, 0 when there is nothing to do.
func runPlan(ctx context.Context, c *cli, args []string) error {
	f, cfg, err := c.parseRotation(ctx, "plan", "plan [--json] [common flags]", args, nil)
	if err != nil {
		return err
	}
	p, err := certrotate.Build(ctx, cfg)
	if err != nil {
		if f.common.json {
			c.emitJSON(certrotate.ErrorReport(cfg, err))
		}
		return buildError("plan", err)
	}
	if f.common.json {
		if err := c.emitJSON(p.Report()); err != nil {
			return err
		}
	} else if err := p.Render(c.stdout); err != nil {
		return failed("writing the plan: %w", err)
	}
	if p.Changed() {
		return &exitError{code: exitAttention, err: errReported}
	}
	return nil
}

// runVerify is "rotate verify": every selected contact center's SSO works
// (signed by the configured certificate, accepted by AWS). Exit 0 or 1.
func runVerify(ctx context.Context, c *cli, args []string) error {
	f, cfg, err := c.parseRotation(ctx, "verify", "verify [--json] [common flags]", args, nil)
	if err != nil {
		return err
	}
	rep, err := certrotate.Verify(ctx, cfg)
	if f.common.json {
		if werr := c.emitJSON(rep); werr != nil {
			return werr
		}
	} else if rep != nil {
		renderVerify(c.stdout, rep)
	}
	if err != nil {
		return buildError("verify", err)
	}
	return nil
}

func renderVerify(w io.Writer, rep *certrotate.Report) {
	for _, cc := range rep.ContactCenters {
		if cc.Verified {
			fmt.Fprintf(w, "%s: SSO works (%s; signed by %s, accepted by AWS)\n", cc.Name, cc.Verification, orDash(cc.OldCertificate.Name))
		} else {
			fmt.Fprintf(w, "%s: SSO NOT verified\n", cc.Name)
		}
	}
}

// runApply is "rotate apply": it builds the plan, asks for confirmation on a
// terminal (--yes elsewhere), saves the AWS documents it will change into
// --backup-dir, applies with a line per finished step, and prints the summary
// or the report. Exit 0 applied (or nothing to do), 1 failed, 3 refused, 4
// rolled back.
func runApply(ctx context.Context, c *cli, args []string) error {
	var af applyFlags
	f, cfg, err := c.parseRotation(ctx, "apply",
		"apply [--yes] [--json] [--strategy overlap|replace] [--force] [--accept-affected] [--accept-unobserved] [--no-rollback] [--prune-grace DUR] [--propagation-wait DUR] [--backup-dir DIR] [common flags]",
		args, af.register)
	if err != nil {
		return err
	}
	if err := af.configure(&cfg); err != nil {
		return c.errorReport(f.common.json, reportStrategy(af.strategy), err)
	}
	return c.apply(ctx, cfg, af, f.common.json)
}

// configure sets apply's flags on cfg.
func (af *applyFlags) configure(cfg *certrotate.Config) error {
	switch certrotate.Strategy(af.strategy) {
	case certrotate.StrategyOverlap, certrotate.StrategyReplace:
	default:
		return refused("--strategy %q: use overlap or replace", af.strategy)
	}
	if af.pruneGrace < 0 {
		return refused("--prune-grace %v is negative", af.pruneGrace)
	}
	if af.propagationWait < 0 {
		return refused("--propagation-wait %v is negative", af.propagationWait)
	}
	cfg.Strategy = certrotate.Strategy(af.strategy)
	cfg.Force = af.force
	cfg.AcceptAffected = af.acceptAffected
	cfg.AcceptUnobserved = af.acceptUnobserved
	cfg.NoRollback = af.noRollback
	cfg.PruneGrace = af.pruneGrace
	cfg.PropagationWait = af.propagationWait
	if af.propagationWait == 0 {
		cfg.PropagationWait = -1 // certrotate: negative is no wait, zero its default
	}
	return nil
}

func (c *cli) apply(ctx context.Context, cfg certrotate.Config, af applyFlags, asJSON bool) error {
	// One apply at a time per org and AWS endpoint, from the plan on: a second
	// run plans after the first has finished, and finds nothing to do (locking
	// only the writes would make it fail on a plan that moved under it).
	if fl, ok := cfg.Locker.(*certrotate.FileLocker); ok {
		unlock, err := c.lockRun(ctx, fl)
		if err != nil {
			return err
		}
		defer unlock()
	}
	res, err := c.applyPlan(ctx, cfg, af, asJSON, c.stdout)
	if err != nil {
		return err
	}
	return c.finishApply(res, asJSON, c.stdout)
}

// lockRun takes the run lock of fl's directory, saying on stderr when it waits
// for another run.
func (c *cli) lockRun(ctx context.Context, fl *certrotate.FileLocker) (func(), error) {
	now := *fl
	now.Wait = false
	unlock, err := now.Lock(ctx, "apply")
	if errors.Is(err, certrotate.ErrLocked) {
		fmt.Fprintf(c.stderr, "rotate: another apply runs on this org; waiting for it to finish\n")
		unlock, err = fl.Lock(ctx, "apply")
	}
	if err != nil {
		return nil, failed("apply: taking the run lock: %w; check that VOICECERT_LOCK_DIR (default: the user cache directory) is writable", err)
	}
	return unlock, nil
}

// applied is what applyPlan did.
type applied struct {
	rep     *certrotate.Report
	err     error
	backups []backup
	took    time.Duration
}

// applyPlan builds the plan, prints it on out (unless asJSON), checks consent and
// confirmation, saves the backups and applies with progress on out. It returns
// an error only when it stopped before Apply (refused or failed to plan), after
// printing the report when asJSON.
func (c *cli) applyPlan(ctx context.Context, cfg certrotate.Config, af applyFlags, asJSON bool, out io.Writer) (*applied, error) {
	progress := &progress{w: out, quiet: asJSON}
	cfg.OnEvent = progress.event
	p, err := certrotate.Build(ctx, cfg)
	if err != nil {
		if asJSON {
			c.emitJSON(certrotate.ErrorReport(cfg, err))
		}
		return nil, buildError("apply", err)
	}
	refuse := func(format string, args ...any) error {
		err := refused(format, args...)
		if asJSON {
			rep := p.Report()
			rep.Outcome, rep.Error = certrotate.OutcomeRefused, oneLine(err)
			c.emitJSON(rep)
		}
		return err
	}
	if !p.Changed() {
		rep, err := p.Apply(ctx)
		return &applied{rep: rep, err: err}, nil
	}
	if !asJSON {
		if err := p.Render(out); err != nil {
			return nil, failed("writing the plan: %w", err)
		}
	}
	if missing := p.ConsentNeeded(); len(missing) > 0 {
		var fl []string
		for _, m := range missing {
			switch m {
			case certrotate.ConsentAffectedApps:
				fl = append(fl, "--accept-affected")
			case certrotate.ConsentUnobservedSigner:
				fl = append(fl, "--accept-unobserved")
			}
		}
		return nil, refuse("apply: the plan needs consent (%s): read the plan, then rerun with %s; nothing was written", joinConsent(missing), strings.Join(fl, " "))
	}
	if !af.yes {
		if !c.interactive {
			return nil, refuse("apply: changes are pending and stdin is not a terminal: rerun with --yes to apply them; nothing was written")
		}
		fmt.Fprintf(c.stderr, "\nApply these changes? Only 'yes' is accepted: ")
		answer, _ := bufio.NewReader(c.stdin).ReadString('\n')
		if strings.TrimSpace(answer) != "yes" {
			return nil, refuse("apply: not confirmed; nothing was written")
		}
	}
	backups, err := c.backup(ctx, cfg, p, af.backupDir)
	if err != nil {
		return nil, refuse("%s; nothing was written", oneLine(err))
	}
	if !asJSON {
		for _, b := range backups {
			fmt.Fprintf(out, "\nSaved the current document of %s to %s.", b.arn, b.file)
		}
		if len(backups) > 0 {
			fmt.Fprintln(out)
		}
	}
	if !asJSON {
		fmt.Fprintf(out, "\nApplying (a line per step as it finishes):\n")
	}
	start := time.Now()
	rep, err := p.Apply(ctx)
	return &applied{rep: rep, err: err, backups: backups, took: time.Since(start)}, nil
}

func joinConsent(cs []certrotate.Consent) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

// finishApply prints the outcome of Apply (the summary on out, or the JSON
// report) and returns its exit error.
func (c *cli) finishApply(res *applied, asJSON bool, out io.Writer) error {
	rep, err := res.rep, res.err
	if asJSON {
		if werr := c.emitJSON(rep); werr != nil {
			return werr
		}
	} else {
		renderSummary(out, rep, res.backups, res.took)
	}
	code := exitOK
	switch rep.Outcome {
	case certrotate.OutcomeApplied, certrotate.OutcomeNothingToDo:
	case certrotate.OutcomeRolledBack:
		code = exitRolledBack
	case certrotate.OutcomeRefused:
		code = exitRefused
	default:
		code = exitFailed
	}
	if err == nil && code != exitOK {
		err = fmt.Errorf("outcome %s: %s", rep.Outcome, rep.Error)
	}
	if err == nil {
		return nil
	}
	switch code {
	case exitRolledBack:
		err = fmt.Errorf("apply: %w; the previous state was restored and SSO verified on it: fix the cause, then run apply again", err)
	case exitFailed:
		err = fmt.Errorf("apply: %w; the summary on stdout says what changed and how to restore it; a rerun resumes", err)
	default:
		err = fmt.Errorf("apply: %w", err)
	}
	return &exitError{code: code, err: err}
}

// renderSummary prints what apply did: the outcome, each contact center's
// certificate and verification, API calls, and after a failure what changed and
// how to restore it by hand.
func renderSummary(w io.Writer, rep *certrotate.Report, backups []backup, took time.Duration) {
	fmt.Fprintf(w, "\n")
	switch rep.Outcome {
	case certrotate.OutcomeNothingToDo:
		fmt.Fprintf(w, "Nothing to do: every selected contact center has a certificate valid beyond the renew window, and AWS trusts it.\n")
		return
	case certrotate.OutcomeApplied:
		fmt.Fprintf(w, "Applied and verified in %s (strategy %s).\n", took.Round(time.Millisecond), rep.Strategy)
	case certrotate.OutcomeRolledBack:
		fmt.Fprintf(w, "FAILED and rolled back: SSO verified on the previous certificate.\n")
	default:
		fmt.Fprintf(w, "FAILED (%s).\n", rep.Outcome)
	}
	if rep.Fallback != "" {
		fmt.Fprintf(w, "Fallback: %s\n", rep.Fallback)
	}
	for _, cc := range rep.ContactCenters {
		cert := cc.OldCertificate
		if rep.Outcome == certrotate.OutcomeApplied && cc.NewCertificate.Name != "" {
			cert = cc.NewCertificate
		}
		v := "not verified"
		if cc.Verified {
			v = "verified (" + string(cc.Verification) + ")"
		}
		line := fmt.Sprintf("  %s: %s, expires %s, %s", cc.Name, orDash(cert.Name), formatTime(cert.Expires), v)
		if cc.SSOUnavailableMS > 0 {
			line += fmt.Sprintf(", SSO unavailable for %d ms", cc.SSOUnavailableMS)
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "API calls: Salesforce %d reads, %d writes; AWS %d reads, %d writes.\n",
		rep.APICalls.SalesforceReads, rep.APICalls.SalesforceWrites, rep.APICalls.AWSReads, rep.APICalls.AWSWrites)
	if rep.Outcome == certrotate.OutcomeApplied {
		return
	}
	if rep.Outcome == certrotate.OutcomeRolledBack {
		fmt.Fprintf(w, "Every change was undone except new certificates, which stay in Salesforce unused (certificates are never deleted); a rerun reuses them.\n")
		return
	}
	var changed []certrotate.StepReport
	for _, s := range rep.Steps {
		if s.Status == certrotate.EventApplied {
			changed = append(changed, s)
		}
	}
	if len(changed) == 0 {
		fmt.Fprintf(w, "Nothing is left changed.\n")
	} else {
		fmt.Fprintf(w, "Still changed:\n")
		for _, s := range changed {
			fmt.Fprintf(w, "  %s %s\n", s.Name, s.Target)
		}
	}
	if len(backups) > 0 {
		fmt.Fprintf(w, "To restore a provider's previous document by hand (first compare it with the current one: it also reverts what other orgs sharing the provider changed since):\n")
		for _, b := range backups {
			fmt.Fprintf(w, "  aws iam update-saml-provider --saml-provider-arn %s --saml-metadata-document file://%s\n", b.arn, b.file)
		}
	}
	fmt.Fprintf(w, "To switch Salesforce back by hand: Setup > Identity Provider (certificate), and each contact center's connected app (IdP Certificate):\n")
	for _, cc := range rep.ContactCenters {
		fmt.Fprintf(w, "  %s: %s\n", cc.Name, orDash(cc.OldCertificate.Name))
	}
	fmt.Fprintf(w, "Then run 'rotate status'; a rerun of 'rotate apply' resumes where this one stopped.\n")
}

func formatTime(t certrotate.Timestamp) string {
	if time.Time(t).IsZero() {
		return "-"
	}
	return time.Time(t).UTC().Format(time.RFC3339)
}

// backup is one AWS provider document saved before apply.
type backup struct{ arn, file string }

// backup writes the current document of every provider the plan changes into
// dir, one file per provider, and says where. An empty dir saves nothing.
func (c *cli) backup(ctx context.Context, cfg certrotate.Config, p *certrotate.Plan, dir string) ([]backup, error) {
	if dir == "" {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, refused("--backup-dir %s: %w", dir, unwrapPath(err))
	}
	targets := map[string]bool{}
	for _, s := range p.Steps() {
		if strings.HasPrefix(s.Target, "arn:") {
			targets[s.Target] = true
		}
	}
	var out []backup
	stamp := time.Now().UTC().Format("20060102T150405Z")
	for _, cc := range p.Report().ContactCenters {
		arn := cc.SAMLProviderARN
		if !targets[arn] {
			continue
		}
		delete(targets, arn)
		parsed, err := awsidp.ParseProviderARN(arn)
		if err != nil {
			return nil, failed("backup of %s: %w", arn, err)
		}
		clients, err := cfg.AWS(ctx, string(parsed.Partition), parsed.AccountID)
		if err != nil {
			return nil, failed("backup of %s: %w", arn, err)
		}
		prov, err := (&awsidp.Client{IAM: clients.IAM, Logger: c.log}).Provider(ctx, arn)
		if err != nil {
			return nil, failed("backup of %s: %w", arn, err)
		}
		file := filepath.Join(dir, fmt.Sprintf("%s-%s-%s.xml", parsed.AccountID, parsed.Name, stamp))
		if err := os.WriteFile(file, prov.Document, 0o600); err != nil {
			return nil, failed("backup of %s: %w", arn, unwrapPath(err))
		}
		c.log.Info("saved the AWS provider document", "arn", arn, "file", file)
		out = append(out, backup{arn: arn, file: file})
	}
	return out, nil
}

// progress prints a line per finished step.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	quiet bool
}

func (p *progress) event(ev certrotate.Event) {
	if p.quiet {
		return
	}
	var mark string
	switch ev.Kind {
	case certrotate.EventApplied:
		mark = "done"
	case certrotate.EventSkipped:
		mark = "skipped"
	case certrotate.EventFailed:
		mark = "FAILED"
	case certrotate.EventRolledBack:
		mark = "rolled back"
	default:
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	line := fmt.Sprintf("  %s %-38s %-11s %8s  %s", ev.Action.Symbol(), ev.Step, mark, ev.Duration.Round(time.Millisecond), ev.Target)
	if ev.Detail != "" && (ev.Kind == certrotate.EventSkipped || ev.Kind == certrotate.EventFailed) {
		line += " (" + foldLines(ev.Detail) + ")" // a joined error spans lines
	}
	fmt.Fprintln(p.w, line)
}
