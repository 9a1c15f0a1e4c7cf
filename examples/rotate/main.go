// Command rotate is the reference CLI of voicecert: it rotates the SAML identity
// provider certificate of Salesforce Service Cloud Voice contact centers on Amazon
// Connect, end to end, and shows how to embed the public packages.
//
// Usage:
//
//	rotate demo      [--strategy overlap|replace] [--contact-centers N] [--json]
//	rotate sim       [--sf-addr 127.0.0.1:0] [--aws-addr 127.0.0.1:0] [--contact-centers 2]
//	                 [--expires-in 240h] [--latency 0] [--iam-trust all|first]
//	                 [--assertion-lifetime 5m] [--request-log FILE]
//	rotate status    [--json]
//	rotate plan      [--json]
//	rotate apply     [--yes] [--json] [--strategy overlap|replace] [--force]
//	                 [--accept-affected] [--accept-unobserved] [--no-rollback]
//	                 [--prune-grace DUR] [--propagation-wait 30s] [--backup-dir DIR]
//	rotate verify    [--json]
//	rotate metadata inspect FILE|URL [--json]
//
// Exit codes: 0 done, 1 failed, 2 attention (changes pending, rotation due), 3
// refused before any write, 4 rolled back.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
