// Package certrotate rotates the SAML IdP certificate of Salesforce Service Cloud
// Voice contact centers on Amazon Connect: it discovers what each org signs with
// and what each AWS IAM SAML provider trusts, builds a [Plan] of idempotent steps
// by reads only, prints it like terraform plan, and applies it with machine
// verification of single sign-on after every switch.
//
// A [Step] is a plain value with a stable catalogue name (such as
// [StepAddCertificate]), a target, a read-only Check, an Apply, a Verify and an
// optional Undo. [Plan.Apply] calls Check again right before each Apply, so every
// "done?" is read from Salesforce and AWS rather than from a journal: a re-run
// after a crash converges, and a re-run after success writes nothing.
//
// Two strategies: [StrategyOverlap] (the default) makes AWS trust the new
// certificate before any switch and removes the old one after a grace, so SSO
// never fails; [StrategyReplace] follows the documented manual procedure and
// reports the measured window in which SSO failed.
//
// Every entry point returns a [Report] whose JSON is the reference CLI's --json
// output.
package certrotate
