// Package certrotate rotates the SAML IdP certificate of Salesforce Service Cloud
// Voice contact centers on Amazon Connect: it discovers what each org signs with
// and what each AWS IAM SAML provider trusts, builds a [Plan] of idempotent steps
// by reads only, prints it like terraform plan, and applies it with machine
// verification of single sign-on after every switch and every AWS edit.
//
// [Build] reads (it never writes) and returns the plan; [Plan.Render] prints it;
// [Plan.Apply] carries it out and returns a [Report]. [Status] and [Verify] serve
// "what is the state" and "does SSO work". A dry run is the plan.
//
// A [Step] is a plain value with a stable catalogue name (such as
// [StepAddCertificate]), a target, a read-only Check, an Apply, a Verify and an
// optional Undo. [Plan.Apply] calls Check again right before each Apply, so every
// "done?" is read from Salesforce and AWS rather than from a journal: a re-run
// after a crash converges, and a re-run after success writes nothing. The one
// decision that must survive a crash, which new certificate, is found again by
// rule (the successor: the newest certificate named with Config.CertificatePrefix
// that outlives the old one and the renew window), so it is never created twice.
//
// Two strategies: [StrategyOverlap] (the default) makes AWS trust the new
// certificate before any switch and removes the old one after a grace, so SSO
// never fails; when AWS refuses or ignores the second key it finishes as replace
// and says so in Report.Fallback. [StrategyReplace] follows the documented manual
// procedure and reports the measured window in which SSO failed.
//
// Orgs rotate concurrently (Config.Concurrency); the steps of one org run in
// order; writes to one provider are serialized across orgs, and a [Locker]
// (such as [FileLocker]) guards against two runs at once. A failure rolls the
// org back (AWS trust first, then Salesforce), unless it is not caused by a
// certificate (AccessDenied, a rejected claim), which stops the run as it is.
//
// Every entry point returns a [Report] whose JSON is the reference CLI's --json
// output.
package certrotate
