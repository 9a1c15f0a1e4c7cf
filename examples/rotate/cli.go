package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// env is the process environment as a lookup; tests pass a map's.
type env func(key string) string

// cli is one invocation: its streams, environment and logger.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         env
	log            *slog.Logger
	synopsis       string // of the subcommand being parsed, for -h
	// interactive says stdin is a terminal: apply then asks for confirmation.
	interactive bool
}

// command is a subcommand: its name, one line of help, and what it runs.
type command struct {
	name  string
	usage string // the synopsis after "rotate "
	help  string
	run   func(ctx context.Context, c *cli, args []string) error
}

// commands lists the subcommands in the order usage shows them.
func commands() []command {
	return []command{
		{"demo", "demo [--strategy overlap|replace] [--contact-centers N] [--json]",
			"rotate the certificate of a simulated org and AWS account, end to end, in seconds", runDemo},
		{"status", "status [--json] [common flags]", "certificates, expiry, who signs with what, what AWS trusts, whether SSO works", runStatus},
		{"plan", "plan [--json] [common flags]", "the steps apply would take (exit 2 when changes are pending)", runPlan},
		{"apply", "apply [--yes] [--json] [--strategy overlap|replace] [--force] [--accept-affected] [--accept-unobserved] [--no-rollback] [--prune-grace DUR] [--propagation-wait DUR] [--backup-dir DIR] [common flags]",
			"rotate, with confirmation on a terminal (--yes elsewhere), then verify SSO", runApply},
		{"verify", "verify [--json] [common flags]", "prove that SSO works for every selected contact center", runVerify},
		{"sim", "sim [--sf-addr 127.0.0.1:0] [--aws-addr 127.0.0.1:0] [--contact-centers 2] [--expires-in 240h] [--latency 0] [--iam-trust all|first] [--assertion-lifetime 5m] [--request-log FILE]",
			"start the Salesforce and AWS fakes on loopback and print how to reach them", runSim},
		{"metadata", "metadata inspect FILE|URL [--json]", "show SAML metadata and the pre-upload check's findings", runMetadata},
	}
}

// run runs the CLI with args (without the program name) and returns its exit
// code. Errors are printed on stderr as one line; logs go to stderr too.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv env) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, log: newLogger(stderr, false), interactive: isTerminal(stdin)}
	err := c.dispatch(ctx, args)
	if err != nil && !errors.Is(err, errReported) {
		fmt.Fprintf(stderr, "rotate: %s\n", oneLine(err))
	}
	return exitCode(err)
}

// errReported marks an error whose message was already printed; run then only
// sets the exit code.
var errReported = errors.New("rotate: error already reported")

func (c *cli) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return refused("no subcommand given; run 'rotate help' for the list")
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		c.usage(c.stdout)
		return nil
	}
	for _, cmd := range commands() {
		if cmd.name == name {
			return cmd.run(ctx, c, args[1:])
		}
	}
	return refused("unknown subcommand %q; run 'rotate help' for the list", name)
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage:\n")
	for _, cmd := range commands() {
		fmt.Fprintf(w, "  rotate %s\n        %s\n", cmd.usage, cmd.help)
	}
	fmt.Fprintf(w, "\nRun 'rotate SUBCOMMAND -h' for its flags.\n")
	fmt.Fprintf(w, "Exit codes: 0 done, 1 failed, 2 attention (changes pending, rotation due),\n")
	fmt.Fprintf(w, "3 refused before any write, 4 rolled back.\n")
}

// newLogger returns the CLI's logger: text records on w, from warnings up
// (progress and results go to stdout), and from debug up when verbose.
func newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// newFlagSet returns a flag set for the subcommand name whose usage prints
// synopsis and the flags on stderr, and which returns errors instead of exiting.
func (c *cli) newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parse reports errors as one line itself
	fs.Usage = func() {}     // and prints the usage only for -h
	c.synopsis = synopsis
	return fs
}

// parse parses args with fs, allowing flags after positional arguments
// ("inspect FILE --json"), and returns the positional arguments. A bad flag is
// refused (exit 3) with one line naming it; -h prints the usage on stdout and
// returns errHelp.
func (c *cli) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(c.stdout, "Usage: rotate %s\n\nFlags:\n", c.synopsis)
				fs.SetOutput(c.stdout)
				fs.PrintDefaults()
				return nil, errHelp
			}
			return nil, refused("%s: %v; run 'rotate %s -h' for its flags", fs.Name(), err, fs.Name())
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			positional = append(positional, args[1:]...)
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	if v := fs.Lookup("v"); v != nil && v.Value.String() == "true" {
		c.log = newLogger(c.stderr, true)
	}
	return positional, nil
}

// errHelp is returned when -h was asked for: the usage is printed, exit 0.
var errHelp = &exitError{code: exitOK, err: errReported}

// commonFlags are the flags of status, plan, apply, verify and demo (DESIGN §8).
type commonFlags struct {
	verbose           bool
	json              bool
	selected          stringList
	renewBefore       time.Duration
	keySize           int
	certificatePrefix string
	providerName      string
	roleARNTemplate   string
}

func (f *commonFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.verbose, "v", false, "debug logs on stderr")
	fs.BoolVar(&f.json, "json", false, "print the report as one JSON object instead of text")
	fs.Var(&f.selected, "select", "a contact center's Name or InternalName (repeatable; default every Amazon Connect contact center)")
	fs.DurationVar(&f.renewBefore, "renew-before", 720*time.Hour, "rotate certificates that expire within this window")
	fs.IntVar(&f.keySize, "key-size", 4096, "RSA key size of a new certificate: 2048 or 4096")
	fs.StringVar(&f.certificatePrefix, "certificate-prefix", "VoiceCert_", "DeveloperName prefix of the certificates voicecert creates")
	fs.StringVar(&f.providerName, "aws-provider-name", "", "IAM SAML provider name, used when the connected app's Role attribute does not name the provider ARN (default SalesforceServiceVoiceIdp)")
	fs.StringVar(&f.roleARNTemplate, "aws-role-arn-template", "", "role to assume into each AWS account for the IAM calls, e.g. 'arn:aws:iam::{account}:role/NAME'")
}

// validate reports every bad common flag together.
func (f *commonFlags) validate() error {
	var errs []error
	if f.renewBefore <= 0 {
		errs = append(errs, fmt.Errorf("--renew-before %v must be positive, e.g. 720h", f.renewBefore))
	}
	if f.keySize != 2048 && f.keySize != 4096 {
		errs = append(errs, fmt.Errorf("--key-size %d is not supported; use 2048 or 4096", f.keySize))
	}
	if t := f.roleARNTemplate; t != "" && (!strings.Contains(t, "{account}") || !strings.HasPrefix(t, "arn:")) {
		errs = append(errs, fmt.Errorf("--aws-role-arn-template %q must be a role ARN containing {account}, e.g. 'arn:aws:iam::{account}:role/NAME'", t))
	}
	if err := errors.Join(errs...); err != nil {
		return withCode(exitRefused, err)
	}
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("empty value")
	}
	*s = append(*s, v)
	return nil
}
