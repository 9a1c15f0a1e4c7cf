package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voicecert/voicecert/awsidp/iamtest"
	"github.com/voicecert/voicecert/certrotate"
	"github.com/voicecert/voicecert/salesforce/sftest"
)

// startTestFakes starts the fakes in process for one test and returns the
// environment that points the CLI at them.
func startTestFakes(t *testing.T, o fakeOptions) (*fakes, map[string]string) {
	t.Helper()
	if o.sfAddr == "" {
		o.sfAddr, o.awsAddr = "127.0.0.1:0", "127.0.0.1:0"
	}
	if o.contactCenters == 0 {
		o.contactCenters = 2
	}
	if o.expiresIn == 0 {
		o.expiresIn = 240 * time.Hour
	}
	if o.assertionLifetime == 0 {
		o.assertionLifetime = time.Second
	}
	f, err := startFakes(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.close() })
	return f, hermeticAWS(t, f.info.Env)
}

func TestRotationRefusesBadInput(t *testing.T) {
	t.Parallel()
	_, env := startTestFakes(t, fakeOptions{})
	tests := []struct {
		name    string
		vars    map[string]string
		args    []string
		wantErr []string
	}{
		{name: "key size", vars: env, args: []string{"plan", "--key-size", "1024"}, wantErr: []string{"--key-size 1024"}},
		{name: "argument", vars: env, args: []string{"status", "Contact Center 1"}, wantErr: []string{"--select NAME"}},
		{name: "strategy", vars: env, args: []string{"apply", "--strategy", "swap"}, wantErr: []string{`--strategy "swap"`}},
		{name: "unknown contact center", vars: env, args: []string{"plan", "--select", "Nope"}, wantErr: []string{"Nope", "Contact Center 1"}},
		{name: "propagation wait", vars: env, args: []string{"apply", "--propagation-wait", "-1s"}, wantErr: []string{"--propagation-wait -1s is negative"}},
		{name: "no credentials", vars: map[string]string{}, args: []string{"status"}, wantErr: []string{"no Salesforce credentials"}},
		{name: "http instance off loopback", vars: map[string]string{"SF_INSTANCE_URL": "http://example.my.salesforce.com", "SF_ACCESS_TOKEN": "00Dx!y"},
			args: []string{"verify"}, wantErr: []string{"SF_INSTANCE_URL", "use https://"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, "", tt.vars, tt.args...)
			if got.code != exitRefused {
				t.Errorf("exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", got.code, exitRefused, got.stdout, got.stderr)
			}
			assertOneLineError(t, got.stderr, tt.wantErr...)
			js := runCLI(t, "", tt.vars, append(tt.args, "--json")...)
			var rep struct{ Outcome, Error string }
			if err := json.Unmarshal([]byte(js.stdout), &rep); err != nil || rep.Outcome != "refused" || rep.Error == "" {
				t.Errorf("--json on a refusal: %v, report %+v\n%s", err, rep, js.stdout)
			}
		})
	}
}

func TestApplyNeedsConsent(t *testing.T) {
	t.Parallel()
	f, env := startTestFakes(t, fakeOptions{org: func(o *sftest.OrgConfig) {
		o.ConnectedApps = append(o.ConnectedApps, sftest.ConnectedAppConfig{FullName: "Expense_Reports", UseOrgDefault: true})
	}})
	plan := runCLI(t, "", env, "plan", "--json")
	if plan.code != exitAttention || !strings.Contains(plan.stdout, `"affected-apps"`) {
		t.Fatalf("plan: exit %d, want %d with affected-apps consent:\n%s%s", plan.code, exitAttention, plan.stdout, plan.stderr)
	}
	before := len(f.sf.Writes()) + len(f.iam.Writes())
	got := runCLI(t, "", env, "apply", "--yes", "--propagation-wait", "0")
	if got.code != exitRefused {
		t.Errorf("apply without consent: exit %d, want %d\n%s", got.code, exitRefused, got.stderr)
	}
	assertOneLineError(t, got.stderr, "affected-apps", "--accept-affected", "nothing was written")
	if n := len(f.sf.Writes()) + len(f.iam.Writes()) - before; n != 0 {
		t.Errorf("apply without consent made %d writes", n)
	}
	got = runCLI(t, "", env, "apply", "--yes", "--accept-affected", "--propagation-wait", "0")
	if got.code != exitOK {
		t.Errorf("apply --accept-affected: exit %d\n%s%s", got.code, got.stdout, got.stderr)
	}
}

func TestNoSecretsWithVerbose(t *testing.T) {
	t.Parallel()
	f, env := startTestFakes(t, fakeOptions{})
	key := f.sf.DefaultOrg().OAuthKey()
	secrets := []string{
		f.info.Salesforce.AccessToken,
		f.info.AWS.SecretAccessKey,
		"PRIVATE KEY",
		base64.StdEncoding.EncodeToString(key.D.Bytes())[:40],
		"PHNhbWxwOlJlc3BvbnNl", // base64 of "<samlp:Response": a SAMLResponse
		"<samlp:Response", "sid=",
	}
	jwtEnv := map[string]string{
		"SF_INSTANCE_URL": f.info.Salesforce.InstanceURL, "SF_CLIENT_ID": f.info.Salesforce.ClientID,
		"SF_USERNAME": f.info.Salesforce.Username, "SF_JWT_KEY_FILE": f.info.Salesforce.JWTKeyFile,
	}
	for k, v := range env {
		if !strings.HasPrefix(k, "SF_") {
			jwtEnv[k] = v
		}
	}
	for _, run := range []struct {
		vars map[string]string
		args []string
	}{
		{env, []string{"status", "-v"}},
		{jwtEnv, []string{"plan", "-v", "--json"}},
		{env, []string{"apply", "-v", "--yes", "--propagation-wait", "0"}},
		{jwtEnv, []string{"verify", "-v", "--json"}},
	} {
		got := runCLI(t, "", run.vars, run.args...)
		if got.code != exitOK && got.code != exitAttention {
			t.Errorf("%v: exit %d\n%s", run.args, got.code, got.stderr)
		}
		if !strings.Contains(got.stderr, "level=DEBUG") {
			t.Errorf("%v: -v printed no debug log", run.args)
		}
		for _, s := range secrets {
			if strings.Contains(got.stdout+got.stderr, s) {
				t.Errorf("%v printed a secret (%.12s…)", run.args, s)
			}
		}
	}
	var rep struct{ Outcome string }
	got := runCLI(t, "", env, "verify", "--json")
	if err := json.Unmarshal([]byte(got.stdout), &rep); err != nil || got.code != exitOK {
		t.Errorf("verify --json after apply: exit %d, %v", got.code, err)
	}
}

func TestApplyFailure(t *testing.T) {
	t.Parallel()
	restore := "aws iam update-saml-provider --saml-provider-arn arn:aws:iam::123456789012:saml-provider/SalesforceServiceVoiceIdp --saml-metadata-document file://"
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
	}{
		// The second connected app's switch fails: apply undoes the first switch,
		// the IdP setting and the AWS addition, verifies SSO on the old
		// certificate, and exits 4.
		{name: "rolled back", wantCode: exitRolledBack, wantOut: []string{"FAILED and rolled back", "rolled back", "never deleted"}},
		// With --no-rollback it stops there, and says what changed and how to
		// restore it by hand.
		{name: "no rollback", args: []string{"--no-rollback"}, wantCode: exitFailed,
			wantOut: []string{"Still changed:", "salesforce/switch-connected-app Contact Center 1", restore, "Contact Center 1: SelfSignedCert_"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, env := startTestFakes(t, fakeOptions{contactCenters: 3})
			f.sf.AddFault(sftest.Fault{Operation: "updateMetadata", Type: "ConnectedApp", Nth: 2, Code: "UNKNOWN_EXCEPTION"})
			backups := t.TempDir()
			got := runCLI(t, "", env, append([]string{"apply", "--yes", "--propagation-wait", "0", "--backup-dir", backups}, tt.args...)...)
			if got.code != tt.wantCode {
				t.Fatalf("apply: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", got.code, tt.wantCode, got.stdout, got.stderr)
			}
			assertOneLineError(t, got.stderr, "UNKNOWN_EXCEPTION")
			for _, want := range append(tt.wantOut, "Saved the current document of arn:aws:iam::123456789012:saml-provider/SalesforceServiceVoiceIdp to "+backups) {
				if !strings.Contains(got.stdout, want) {
					t.Errorf("apply's output does not say %q:\n%s", want, got.stdout)
				}
			}
			// A rerun, the fault spent, converges and SSO works.
			if got := runCLI(t, "", env, "apply", "--yes", "--propagation-wait", "0"); got.code != exitOK {
				t.Errorf("apply after the failure: exit %d\n%s%s", got.code, got.stdout, got.stderr)
			}
			if got := runCLI(t, "", env, "verify"); got.code != exitOK {
				t.Errorf("verify: exit %d\n%s%s", got.code, got.stdout, got.stderr)
			}
		})
	}
}

func TestApplyConfirmsOnATerminal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		answer   string
		wantCode int
	}{
		{answer: "no\n", wantCode: exitRefused},
		{answer: "y\n", wantCode: exitRefused},
		{answer: "", wantCode: exitRefused},
		{answer: "yes\n", wantCode: exitOK},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSpace(tt.answer), func(t *testing.T) {
			t.Parallel()
			f, env := startTestFakes(t, fakeOptions{contactCenters: 1})
			var stdout, stderr bytes.Buffer
			c := &cli{stdin: strings.NewReader(tt.answer), stdout: &stdout, stderr: &stderr,
				getenv: func(k string) string { return env[k] }, log: newLogger(&stderr, false), interactive: true}
			code := exitCode(c.dispatch(t.Context(), []string{"apply", "--propagation-wait", "0"}))
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d\n%s%s", code, tt.wantCode, stdout.String(), stderr.String())
			}
			if !strings.Contains(stderr.String(), "Apply these changes?") {
				t.Errorf("apply did not ask:\n%s", stderr.String())
			}
			if writes := len(f.sf.Writes()) + len(f.iam.Writes()); (writes > 0) != (tt.wantCode == exitOK) {
				t.Errorf("%d writes after answer %q", writes, tt.answer)
			}
		})
	}
}

func TestRoleARNTemplate(t *testing.T) {
	t.Parallel()
	f, env := startTestFakes(t, fakeOptions{account: func(a *iamtest.Account) {
		a.Roles = append(a.Roles, iamtest.Role{Name: "VoiceCertRotator"})
	}})
	got := runCLI(t, "", env, "plan", "--aws-role-arn-template", "arn:{partition}:iam::{account}:role/VoiceCertRotator")
	if got.code != exitAttention {
		t.Fatalf("plan: exit %d\n%s%s", got.code, got.stdout, got.stderr)
	}
	assumed := 0
	for _, r := range f.iam.Requests() {
		if r.Operation == "AssumeRole" && r.Status == 200 {
			assumed++
		}
	}
	if assumed == 0 {
		t.Error("no AssumeRole call: the template was not used")
	}
	got = runCLI(t, "", env, "plan", "--aws-role-arn-template", "arn:aws:iam::{account}:role/Missing")
	if got.code != exitFailed {
		t.Errorf("plan with a role that does not exist: exit %d, want %d\n%s", got.code, exitFailed, got.stderr)
	}
	assertOneLineError(t, got.stderr, "Missing")
}

func TestConcurrentAppliesWriteOnce(t *testing.T) {
	t.Parallel()
	f, env := startTestFakes(t, fakeOptions{contactCenters: 2})
	var wg sync.WaitGroup
	results := make([]result, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runCLI(t, "", env, "apply", "--yes", "--propagation-wait", "0")
		}()
	}
	wg.Wait()
	for i, got := range results {
		if got.code != exitOK {
			t.Errorf("apply %d: exit %d\n%s%s", i, got.code, got.stdout, got.stderr)
		}
	}
	// One rotation: create, add to AWS, switch the IdP, switch 2 apps, prune.
	if n := len(f.sf.Writes()) + len(f.iam.Writes()); n != 6 {
		t.Errorf("two concurrent applies made %d writes, want the 6 of one rotation", n)
	}
}

func TestStatusExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     fakeOptions
		setup    func(t *testing.T, f *fakes)
		wantCode int
		wantOut  []string
	}{
		{name: "due", wantCode: exitAttention, wantOut: []string{"A rotation is due", "works"}},
		{name: "healthy", opts: fakeOptions{expiresIn: 90 * 24 * time.Hour}, wantCode: exitOK, wantOut: []string{"Healthy", "works"}},
		{name: "AWS trusts another certificate", opts: fakeOptions{expiresIn: 90 * 24 * time.Hour},
			setup: func(t *testing.T, f *fakes) {
				// Replace the provider's document with one that trusts a
				// certificate Salesforce does not sign with.
				doc, err := os.ReadFile("testdata/two-certs.xml")
				if err != nil {
					t.Fatal(err)
				}
				doc = []byte(strings.ReplaceAll(string(doc), "https://voicecert-example.my.salesforce.com", f.info.Salesforce.InstanceURL))
				if err := f.iam.SetDocument(f.info.ContactCenters[0].SAMLProviderARN, doc); err != nil {
					t.Fatal(err)
				}
			},
			wantCode: exitAttention, wantOut: []string{"BROKEN", "NO"}},
		{name: "Salesforce signs with another certificate than configured", opts: fakeOptions{expiresIn: 90 * 24 * time.Hour,
			org: func(o *sftest.OrgConfig) {
				o.Certificates = append(o.Certificates, sftest.CertificateConfig{DeveloperName: "Other_Cert", ExpiresAt: time.Now().AddDate(1, 0, 0)})
				o.ContactCenters[0].App.SignWith = "Other_Cert"
			}},
			wantCode: exitFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, env := startTestFakes(t, tt.opts)
			if tt.setup != nil {
				tt.setup(t, f)
			}
			got := runCLI(t, "", env, "status")
			if got.code == exitFailed {
				assertOneLineError(t, got.stderr, "status:", "Other_Cert", "assumption", "nothing was written")
			}
			if got.code != tt.wantCode {
				t.Fatalf("status: exit %d, want %d\n%s%s", got.code, tt.wantCode, got.stdout, got.stderr)
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(got.stdout, want) {
					t.Errorf("status does not say %q:\n%s", want, got.stdout)
				}
			}
			js := runCLI(t, "", env, "status", "--json")
			if js.code != tt.wantCode || !json.Valid([]byte(js.stdout)) {
				t.Errorf("status --json: exit %d, want %d, valid JSON %v:\n%s", js.code, tt.wantCode, json.Valid([]byte(js.stdout)), js.stdout)
			}
		})
	}
}

// TestProgressOneLinePerStep: a step that failed for several contact centers at
// once (a joined error) still prints one progress line.
func TestProgressOneLinePerStep(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	p := &progress{w: &out}
	p.event(certrotate.Event{Kind: certrotate.EventFailed, Step: certrotate.StepSwitchConnectedApp, Target: "CC1",
		Action: certrotate.ActionUpdate, Detail: "contact center A: rejected\ncontact center B: rejected"})
	got := out.String()
	if strings.Count(got, "\n") != 1 || !strings.Contains(got, "contact center A: rejected; contact center B: rejected") {
		t.Errorf("progress printed %q, want one line with both failures", got)
	}
}

// TestSummaryAfterFailure: a failed apply's summary lists what is still
// changed and how to restore each saved provider document by hand, warning that
// a whole document also reverts other orgs' entities in that provider.
func TestSummaryAfterFailure(t *testing.T) {
	t.Parallel()
	const arn = "arn:aws:iam::111122223333:saml-provider/SalesforceServiceVoiceIdp"
	rep := &certrotate.Report{
		Outcome: certrotate.OutcomeFailed,
		Steps: []certrotate.StepReport{
			{Name: certrotate.StepAddCertificate, Target: arn, Status: certrotate.EventApplied},
			{Name: certrotate.StepSwitchIdentityProvider, Target: "00D000000000001", Status: certrotate.EventFailed},
		},
	}
	var out strings.Builder
	renderSummary(&out, rep, []backup{{arn: arn, file: "/tmp/b/provider.xml"}}, time.Second)
	for _, want := range []string{
		"Still changed:\n  " + certrotate.StepAddCertificate + " " + arn + "\n",
		"it also reverts what other orgs sharing the provider changed since",
		"aws iam update-saml-provider --saml-provider-arn " + arn + " --saml-metadata-document file:///tmp/b/provider.xml",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

// TestEarlyErrorReportNamesTheStrategy: a --json report of an error found before
// certrotate runs names the strategy asked for, not the default.
func TestEarlyErrorReportNamesTheStrategy(t *testing.T) {
	t.Parallel()
	_, env := startTestFakes(t, fakeOptions{})
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"apply", "--json", "--strategy", "replace", "extra"}, "replace"},
		{[]string{"apply", "--json", "--strategy", "replace", "--prune-grace", "-1s"}, "replace"},
		{[]string{"apply", "--json", "extra"}, "overlap"},
	} {
		got := runCLI(t, "", env, tt.args...)
		var rep struct{ Outcome, Strategy string }
		if err := json.Unmarshal([]byte(got.stdout), &rep); err != nil || rep.Outcome != "refused" || rep.Strategy != tt.want {
			t.Errorf("%v: report %+v (%v), want outcome refused, strategy %s\n%s", tt.args, rep, err, tt.want, got.stdout)
		}
	}
}
