package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/voicecert/voicecert/certrotate"
	"github.com/voicecert/voicecert/salesforce"
)

// The demo's timings: short enough that it finishes in seconds, long enough to
// exercise the prune grace (assertions signed by the old key must still pass).
const (
	demoAssertionLifetime = 2 * time.Second
	demoVerifyInterval    = 200 * time.Millisecond
	demoVerifyDeadline    = 30 * time.Second
	demoExpiresIn         = 10 * 24 * time.Hour
)

// runDemo is "rotate demo": the whole job on an embedded default. It starts
// sftest and iamtest in process, prints the status and the plan, applies with
// progress, verifies SSO and prints a summary; with --json, only the report.
func runDemo(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("demo", "demo [--strategy overlap|replace] [--contact-centers N] [--json]")
	var (
		verbose, asJSON bool
		n               int
		strategy        string
	)
	fs.BoolVar(&verbose, "v", false, "debug logs on stderr")
	fs.BoolVar(&asJSON, "json", false, "print the apply report as one JSON object instead of text")
	fs.IntVar(&n, "contact-centers", 3, "contact centers in the simulated org")
	fs.StringVar(&strategy, "strategy", "overlap", "overlap (no SSO downtime) or replace (the documented procedure)")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return refused("demo takes no arguments, got %q", pos[0])
	}
	// The in-process fake IAM has no propagation delay: no wait before the switch.
	af := applyFlags{yes: true, strategy: strategy, pruneGrace: demoAssertionLifetime}
	var cfg certrotate.Config
	if err := af.configure(&cfg); err != nil {
		return err
	}
	fakeLog := c.log
	if !verbose {
		fakeLog = nil
	}
	fk, err := startFakes(ctx, fakeOptions{
		sfAddr: "127.0.0.1:0", awsAddr: "127.0.0.1:0", contactCenters: n,
		expiresIn: demoExpiresIn, assertionLifetime: demoAssertionLifetime, logger: fakeLog,
	})
	if err != nil {
		return err
	}
	defer fk.close()

	getenv := func(k string) string { return fk.info.Env[k] }
	var sf sfSettings
	sf.fromEnv(getenv)
	sfCfg, err := sf.salesforceConfig(c.log)
	if err != nil {
		return err
	}
	org, err := salesforce.New(sfCfg)
	if err != nil {
		return failed("demo: %w", err)
	}
	// The fakes' AWS settings, not the SDK's default chain: the demo must not
	// depend on (or touch) the machine's AWS configuration.
	awsCfg := aws.Config{
		Region:       fk.info.AWS.Region,
		BaseEndpoint: aws.String(fk.info.AWS.EndpointURL),
		Credentials:  credentials.NewStaticCredentialsProvider(fk.info.AWS.AccessKeyID, fk.info.AWS.SecretAccessKey, ""),
	}
	cfg.Orgs = []*salesforce.Client{org}
	cfg.AWS = awsClientsFunc(awsCfg, "")
	cfg.VerifyInterval = demoVerifyInterval
	cfg.VerifyDeadline = demoVerifyDeadline
	cfg.Logger = c.stepLogger(verbose)

	out := c.stdout
	if asJSON {
		out = io.Discard
	}
	fmt.Fprintf(out, "voicecert demo: a simulated Salesforce org with %d Amazon Connect contact centers, and its AWS account.\n", n)
	fmt.Fprintf(out, "Their IdP certificate expires in %d days.\n\n== Status\n\n", int(demoExpiresIn/(24*time.Hour)))
	status, err := certrotate.Status(ctx, cfg)
	if err != nil {
		return buildError("demo: status", err)
	}
	if err := renderStatus(out, status, time.Now(), certrotate.DefaultRenewBefore); err != nil {
		return failed("demo: %w", err)
	}
	fmt.Fprintf(out, "\n== Plan\n\n")
	res, err := c.applyPlan(ctx, cfg, af, asJSON, out)
	if err != nil {
		return err
	}
	if !asJSON && res.rep.Outcome == certrotate.OutcomeApplied {
		fmt.Fprintf(out, "\n== Verification\n\n")
		vrep, err := certrotate.Verify(ctx, cfg)
		if vrep != nil {
			renderVerify(out, vrep)
		}
		if err != nil {
			return failed("demo: verification after apply: %w", err)
		}
	}
	if !asJSON {
		fmt.Fprintf(out, "\n== Summary\n")
	}
	return c.finishApply(res, asJSON, out)
}
