package certrotate

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestReportJSONShape pins the report's JSON to DESIGN §8: every key, in order,
// with lists as [] and unknown times as "".
func TestReportJSONShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rep  Report
		want string
	}{
		{
			name: "zero",
			rep:  Report{},
			want: `{"outcome":"","error":"","strategy":"","changed":false,"fallback":"","consent_needed":[],` +
				`"contact_centers":[],"affected_apps":[],"steps":[],` +
				`"api_calls":{"salesforce_reads":0,"salesforce_writes":0,"aws_reads":0,"aws_writes":0}}`,
		},
		{
			name: "full",
			rep: Report{
				Outcome: OutcomeApplied, Strategy: StrategyReplace, Changed: true, Fallback: "",
				ConsentNeeded: []Consent{ConsentAffectedApps},
				ContactCenters: []ContactCenterReport{{
					Name: "CC1", OrgID: "00D000000000001EAA",
					SAMLProviderARN: "arn:aws:iam::111122223333:saml-provider/SalesforceServiceVoiceIdp",
					OldCertificate:  CertificateInfo{Name: "Old", Expires: Timestamp(time.Date(2026, 12, 13, 0, 0, 0, 0, time.UTC)), SHA256: "aa"},
					NewCertificate:  CertificateInfo{Name: "VoiceCert_1", Expires: Timestamp(time.Date(2028, 12, 3, 0, 0, 0, 0, time.UTC)), SHA256: "bb"},
					ObservedSigner:  "bb", AWSTrusts: []string{"bb"}, Verified: true, Verification: VerificationSSOProbe,
					SSOUnavailableMS: 1500,
					SSOWindow: SSOWindow{
						Start: Timestamp(time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC)),
						End:   Timestamp(time.Date(2026, 12, 3, 17, 0, 1, 500_000_000, time.UTC)),
					},
				}},
				AffectedApps: []AffectedApp{{Name: "Other", Reason: "signs with the org default"}},
				Steps: []StepReport{{Name: StepCreateCertificate, Target: "00D000000000001EAA", Action: ActionCreate,
					Status: "applied", DurationMS: 12, Detail: "d"}},
				APICalls: APICalls{SalesforceReads: 1, SalesforceWrites: 2, AWSReads: 3, AWSWrites: 4},
			},
			want: `{"outcome":"applied","error":"","strategy":"replace","changed":true,"fallback":"",` +
				`"consent_needed":["affected-apps"],` +
				`"contact_centers":[{"name":"CC1","org_id":"00D000000000001EAA",` +
				`"saml_provider_arn":"arn:aws:iam::111122223333:saml-provider/SalesforceServiceVoiceIdp",` +
				`"old_certificate":{"name":"Old","expires":"2026-12-13T00:00:00Z","sha256":"aa"},` +
				`"new_certificate":{"name":"VoiceCert_1","expires":"2028-12-03T00:00:00Z","sha256":"bb"},` +
				`"observed_signer":"bb","aws_trusts":["bb"],"verified":true,"verification":"sso-probe",` +
				`"sso_unavailable_ms":1500,"sso_window":{"start":"2026-12-03T17:00:00Z","end":"2026-12-03T17:00:01.5Z"}}],` +
				`"affected_apps":[{"name":"Other","reason":"signs with the org default"}],` +
				`"steps":[{"name":"salesforce/create-certificate","target":"00D000000000001EAA","action":"create",` +
				`"status":"applied","duration_ms":12,"detail":"d"}],` +
				`"api_calls":{"salesforce_reads":1,"salesforce_writes":2,"aws_reads":3,"aws_writes":4}}`,
		},
		{
			name: "contact center with nothing known",
			rep:  Report{ContactCenters: []ContactCenterReport{{Name: "CC"}}},
			want: `{"outcome":"","error":"","strategy":"","changed":false,"fallback":"","consent_needed":[],` +
				`"contact_centers":[{"name":"CC","org_id":"","saml_provider_arn":"",` +
				`"old_certificate":{"name":"","expires":"","sha256":""},"new_certificate":{"name":"","expires":"","sha256":""},` +
				`"observed_signer":"","aws_trusts":[],"verified":false,"verification":"none",` +
				`"sso_unavailable_ms":0,"sso_window":{"start":"","end":""}}],` +
				`"affected_apps":[],"steps":[],` +
				`"api_calls":{"salesforce_reads":0,"salesforce_writes":0,"aws_reads":0,"aws_writes":0}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := json.Marshal(tt.rep)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("JSON (-want +got):\n%s", diff)
			}
			// The pointer marshals the same, and the JSON reads back.
			gotPtr, _ := json.Marshal(&tt.rep)
			if string(gotPtr) != string(got) {
				t.Errorf("*Report marshals differently:\n%s", gotPtr)
			}
			var back Report
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
		})
	}
}

// TestReportKeysMatchDesign checks the set of keys against the example object of
// DESIGN §8, copied here verbatim.
func TestReportKeysMatchDesign(t *testing.T) {
	t.Parallel()
	const design = `{"outcome":"planned|nothing-to-do|applied|refused|failed|rolled_back","error":"",
 "strategy":"overlap","changed":true,"fallback":"","consent_needed":["affected-apps|unobserved-signer"],
 "contact_centers":[{"name":"…","org_id":"…","saml_provider_arn":"…",
   "old_certificate":{"name":"…","expires":"RFC 3339","sha256":"lowercase hex"},
   "new_certificate":{"name":"…","expires":"…","sha256":"…"},
   "observed_signer":"sha256","aws_trusts":["sha256"],
   "verified":true,"verification":"sso-probe|consistency-only|none",
   "sso_unavailable_ms":0,"sso_window":{"start":"…","end":"…"}}],
 "affected_apps":[{"name":"…","reason":"…"}],
 "steps":[{"name":"…","target":"…","action":"create|update|delete|none",
   "status":"planned|applied|skipped|failed|rolled_back","duration_ms":0,"detail":"…"}],
 "api_calls":{"salesforce_reads":0,"salesforce_writes":0,"aws_reads":0,"aws_writes":0}}`
	var want any
	if err := json.Unmarshal([]byte(design), &want); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(Report{
		ContactCenters: []ContactCenterReport{{AWSTrusts: []string{""}}},
		AffectedApps:   []AffectedApp{{}}, Steps: []StepReport{{}}, ConsentNeeded: []Consent{""},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(keys(want), keys(got)); diff != "" {
		t.Errorf("report keys (-design +got):\n%s", diff)
	}
}

// keys returns the JSON paths of v's object keys and the kinds of its leaves.
func keys(v any) map[string]string {
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(path+"."+k, e)
			}
		case []any:
			out[path] = "array"
			for _, e := range x {
				walk(path+"[]", e)
			}
		case string:
			out[path] = "string"
		case float64:
			out[path] = "number"
		case bool:
			out[path] = "bool"
		default:
			out[path] = "null"
		}
	}
	walk("", v)
	return out
}
