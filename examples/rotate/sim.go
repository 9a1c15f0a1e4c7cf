package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// runSim is "rotate sim": it starts the Salesforce and AWS fakes on loopback,
// prints one compact JSON line that says how to reach them (DESIGN §8), and
// serves until interrupted (SIGINT, SIGTERM). Logs go to stderr.
func runSim(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("sim", "sim [--sf-addr 127.0.0.1:0] [--aws-addr 127.0.0.1:0] [--contact-centers 2] [--expires-in 240h] [--latency 0] [--iam-trust all|first] [--assertion-lifetime 5m] [--request-log FILE]")
	var (
		o          fakeOptions
		trust      string
		requestLog string
		verbose    bool
	)
	fs.BoolVar(&verbose, "v", false, "debug logs on stderr (one line per request)")
	fs.StringVar(&o.sfAddr, "sf-addr", "127.0.0.1:0", "loopback address of the Salesforce fake")
	fs.StringVar(&o.awsAddr, "aws-addr", "127.0.0.1:0", "loopback address of the AWS (IAM + STS) fake")
	fs.IntVar(&o.contactCenters, "contact-centers", 2, "Amazon Connect contact centers in the org")
	fs.DurationVar(&o.expiresIn, "expires-in", 240*time.Hour, "time until the org's IdP certificate expires")
	fs.DurationVar(&o.latency, "latency", 0, "added before every answer of both fakes")
	fs.StringVar(&trust, "iam-trust", "all", "which signing certificates of a provider STS trusts: all, or first (an IAM that ignores the rest)")
	fs.DurationVar(&o.assertionLifetime, "assertion-lifetime", 5*time.Minute, "lifetime of the SAML assertions the org signs")
	fs.StringVar(&requestLog, "request-log", "", "append one JSON line per request to FILE, marking writes")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return refused("sim takes no arguments, got %q", pos[0])
	}
	switch trust {
	case "all":
	case "first":
		o.trustFirstOnly = true
	default:
		return refused("--iam-trust %q: use all or first", trust)
	}
	o.logger = c.log
	if requestLog != "" {
		f, err := os.OpenFile(requestLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return refused("sim: cannot open the request log %s: %v", requestLog, unwrapPath(err))
		}
		defer f.Close()
		o.requestLog = f
	}
	fakes, err := startFakes(ctx, o)
	if err != nil {
		return err
	}
	defer fakes.close()
	line, err := json.Marshal(fakes.info)
	if err != nil {
		return failed("sim: %w", err)
	}
	if _, err := c.stdout.Write(append(line, '\n')); err != nil {
		return failed("sim: writing to stdout: %w", err)
	}
	fmt.Fprintf(c.stderr, "rotate sim: Salesforce at %s, AWS at %s, %d contact centers; stop with Ctrl-C\n",
		fakes.info.Salesforce.InstanceURL, fakes.info.AWS.EndpointURL, len(fakes.info.ContactCenters))
	<-ctx.Done()
	fmt.Fprintf(c.stderr, "rotate sim: stopping\n")
	return nil
}
