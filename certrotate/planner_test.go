package certrotate

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	orgA   = "00D000000000001EAA"
	provP  = "arn:aws:iam::111122223333:saml-provider/SalesforceServiceVoiceIdp"
	provQ  = "arn:aws:iam::444455556666:saml-provider/SalesforceServiceVoiceIdp"
	shaOld = "0a0a"
	shaS   = "5e5e"
	shaX   = "9999"
)

var (
	soon  = t0.Add(9 * 24 * time.Hour)
	later = t0.Add(365 * 24 * time.Hour)
	far   = t0.Add(2 * 365 * 24 * time.Hour)
)

// org returns an org whose contact centers (name → app certificate, "" for the org
// default) all sit behind provP, which trusts the given certificates.
func org(idp string, ccs map[string]string, trusted ...string) *orgState {
	o := &orgState{
		OrgID: orgA, Issuer: "https://acme.my.salesforce.com", IdPCertificate: idp,
		Certificates: []certState{
			{Name: "Old", Expires: soon, SHA256: shaOld},
			{Name: "Fresh", Expires: later, SHA256: shaX},
		},
		Providers: map[string]*providerState{provP: {ARN: provP, Trusted: trusted,
			Expires: map[string]time.Time{shaOld: soon, shaX: later, shaS: far}}},
	}
	for _, name := range sortedKeys(ccs) {
		o.ContactCenters = append(o.ContactCenters, ccState{
			Name: name, App: appState{FullName: name + "_App", Certificate: ccs[name]},
			ProviderARN: provP, Selected: true,
		})
	}
	return o
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

func withSuccessor(o *orgState) *orgState {
	o.Certificates = append(o.Certificates, certState{Name: "VoiceCert_20261201_000000", Expires: far, SHA256: shaS})
	return o
}

// specLines renders specs as "marker name target +add -remove".
func specLines(specs []stepSpec) []string {
	var out []string
	for _, s := range specs {
		line := fmt.Sprintf("%s %s %s", s.Change.Action.Symbol(), s.Name, s.Target)
		if len(s.Add) > 0 {
			line += " +" + strings.Join(s.Add, ",")
		}
		if len(s.Remove) > 0 {
			line += " -" + strings.Join(s.Remove, ",")
		}
		out = append(out, line)
	}
	return out
}

func TestPlanOrg(t *testing.T) {
	t.Parallel()
	newName := "VoiceCert_20261203_170000"
	tests := []struct {
		name         string
		org          *orgState
		opt          planOptions
		want         []string
		wantMoving   []string
		wantSucc     string
		wantAffected []string
		wantNotes    int
	}{
		{
			name: "nothing due",
			org:  org("Fresh", map[string]string{"CC1": "Fresh"}, shaX),
		},
		{
			name: "one due, overlap",
			org:  org("Old", map[string]string{"CC1": "Old"}, shaOld),
			want: []string{
				"+ salesforce/create-certificate " + orgA,
				"~ aws/add-certificate " + provP + " +(new)",
				"~ salesforce/switch-identity-provider " + orgA,
				"~ salesforce/switch-connected-app CC1",
				"- aws/remove-old-certificate " + provP + " -" + shaOld,
			},
			wantMoving: []string{"CC1"}, wantSucc: newName,
		},
		{
			name: "one due, replace",
			org:  org("Old", map[string]string{"CC1": "Old"}, shaOld),
			opt:  planOptions{Strategy: StrategyReplace},
			want: []string{
				"+ salesforce/create-certificate " + orgA,
				"~ salesforce/switch-identity-provider " + orgA,
				"~ salesforce/switch-connected-app CC1",
				"~ aws/replace-certificate " + provP + " +(new) -" + shaOld,
			},
			wantMoving: []string{"CC1"}, wantSucc: newName,
		},
		{
			name: "five contact centers, some on the org default",
			org:  org("Old", map[string]string{"CC1": "", "CC2": "Old", "CC3": "", "CC4": "Old", "CC5": "Old"}, shaOld),
			want: []string{
				"+ salesforce/create-certificate " + orgA,
				"~ aws/add-certificate " + provP + " +(new)",
				"~ salesforce/switch-identity-provider " + orgA,
				"~ salesforce/switch-connected-app CC2",
				"~ salesforce/switch-connected-app CC4",
				"~ salesforce/switch-connected-app CC5",
				"- aws/remove-old-certificate " + provP + " -" + shaOld,
			},
			wantMoving: []string{"CC1", "CC2", "CC3", "CC4", "CC5"}, wantSucc: newName, wantNotes: 1,
		},
		{
			name: "successor exists: found again, not created twice",
			org:  withSuccessor(org("Old", map[string]string{"CC1": "Old"}, shaOld)),
			want: []string{
				"~ aws/add-certificate " + provP + " +" + shaS,
				"~ salesforce/switch-identity-provider " + orgA,
				"~ salesforce/switch-connected-app CC1",
				"- aws/remove-old-certificate " + provP + " -" + shaOld,
			},
			wantMoving: []string{"CC1"}, wantSucc: "VoiceCert_20261201_000000",
		},
		{
			name: "stopped after the IdP switch",
			org:  withSuccessor(org("VoiceCert_20261201_000000", map[string]string{"CC1": "Old", "CC2": ""}, shaOld, shaS)),
			want: []string{
				"~ salesforce/switch-connected-app CC1",
				"- aws/remove-old-certificate " + provP + " -" + shaOld,
			},
			wantMoving: []string{"CC1", "CC2"}, wantSucc: "VoiceCert_20261201_000000",
		},
		{
			name: "stopped before the prune",
			org:  withSuccessor(org("VoiceCert_20261201_000000", map[string]string{"CC1": "VoiceCert_20261201_000000"}, shaOld, shaS)),
			want: []string{"- aws/remove-old-certificate " + provP + " -" + shaOld},
		},
		{
			name: "done",
			org:  withSuccessor(org("VoiceCert_20261201_000000", map[string]string{"CC1": "VoiceCert_20261201_000000"}, shaS)),
		},
		{
			name: "replace stopped inside the window: drift repair",
			org:  withSuccessor(org("VoiceCert_20261201_000000", map[string]string{"CC1": "VoiceCert_20261201_000000"}, shaOld)),
			opt:  planOptions{Strategy: StrategyReplace},
			want: []string{
				"~ aws/trust-signing-certificate " + provP + " +" + shaS,
				"~ aws/replace-certificate " + provP + " -" + shaOld,
			},
		},
		{
			name: "drift: AWS does not trust the fresh signer",
			org:  org("Fresh", map[string]string{"CC1": "Fresh"}, shaOld),
			want: []string{
				"~ aws/trust-signing-certificate " + provP + " +" + shaX,
				"- aws/remove-old-certificate " + provP + " -" + shaOld,
			},
		},
		{
			name: "drift and due: repair first, then rotate",
			org:  org("Old", map[string]string{"CC1": "Old"}),
			want: []string{
				"~ aws/trust-signing-certificate " + provP + " +" + shaOld,
				"+ salesforce/create-certificate " + orgA,
				"~ aws/add-certificate " + provP + " +(new)",
				"~ salesforce/switch-identity-provider " + orgA,
				"~ salesforce/switch-connected-app CC1",
				"- aws/remove-old-certificate " + provP + " -" + shaOld,
			},
			wantMoving: []string{"CC1"}, wantSucc: newName,
		},
		{
			name: "forced although fresh",
			org:  org("Fresh", map[string]string{"CC1": "Fresh"}, shaX),
			opt:  planOptions{Force: true},
			want: []string{
				"+ salesforce/create-certificate " + orgA,
				"~ aws/add-certificate " + provP + " +(new)",
				"~ salesforce/switch-identity-provider " + orgA,
				"~ salesforce/switch-connected-app CC1",
				"- aws/remove-old-certificate " + provP + " -" + shaX,
			},
			wantMoving: []string{"CC1"}, wantSucc: newName,
		},
		{
			name: "a newer certificate someone else trusts is kept",
			org:  withSuccessor(org("Fresh", map[string]string{"CC1": "Fresh"}, shaX, shaS)),
		},
		{
			name: "unselected contact center on the old certificate keeps it trusted",
			org: func() *orgState {
				o := org("Old", map[string]string{"CC1": "Old", "CC2": "Old"}, shaOld)
				o.ContactCenters[1].Selected = false
				return o
			}(),
			want: []string{
				"+ salesforce/create-certificate " + orgA,
				"~ aws/add-certificate " + provP + " +(new)",
				"~ salesforce/switch-identity-provider " + orgA,
				"~ salesforce/switch-connected-app CC1",
			},
			wantMoving: []string{"CC1"}, wantSucc: newName,
		},
		{
			name: "other SAML apps: blast radius",
			org: func() *orgState {
				o := org("Old", map[string]string{"CC1": "Old"}, shaOld)
				o.OtherApps = []appState{{FullName: "Wiki"}, {FullName: "Payroll", Certificate: "Old"}, {FullName: "Mail", Certificate: "Fresh"}}
				return o
			}(),
			want: []string{
				"+ salesforce/create-certificate " + orgA,
				"~ aws/add-certificate " + provP + " +(new)",
				"~ salesforce/switch-identity-provider " + orgA,
				"~ salesforce/switch-connected-app CC1",
				"- aws/remove-old-certificate " + provP + " -" + shaOld,
			},
			wantMoving: []string{"CC1"}, wantSucc: newName, wantAffected: []string{"Wiki", "Payroll"},
		},
		{
			name: "two providers",
			org: func() *orgState {
				o := org("Old", map[string]string{"CC1": "Old", "CC2": "Old"}, shaOld)
				o.ContactCenters[1].ProviderARN = provQ
				o.Providers[provQ] = &providerState{ARN: provQ, Trusted: []string{shaOld}}
				return o
			}(),
			want: []string{
				"+ salesforce/create-certificate " + orgA,
				"~ aws/add-certificate " + provP + " +(new)",
				"~ aws/add-certificate " + provQ + " +(new)",
				"~ salesforce/switch-identity-provider " + orgA,
				"~ salesforce/switch-connected-app CC1",
				"~ salesforce/switch-connected-app CC2",
				"- aws/remove-old-certificate " + provP + " -" + shaOld,
				"- aws/remove-old-certificate " + provQ + " -" + shaOld,
			},
			wantMoving: []string{"CC1", "CC2"}, wantSucc: newName,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opt := tt.opt
			opt.Now, opt.RenewBefore, opt.Prefix = t0, 30*24*time.Hour, "VoiceCert_"
			if opt.Strategy == "" {
				opt.Strategy = StrategyOverlap
			}
			p, err := planOrg(tt.org, opt)
			if err != nil {
				t.Fatalf("planOrg: %v", err)
			}
			if diff := cmp.Diff(tt.want, specLines(p.Steps)); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantMoving, p.Moving); diff != "" {
				t.Errorf("moving (-want +got):\n%s", diff)
			}
			if p.Successor.Name != tt.wantSucc {
				t.Errorf("successor %q, want %q", p.Successor.Name, tt.wantSucc)
			}
			var affected []string
			for _, a := range p.Affected {
				affected = append(affected, a.Name)
			}
			if diff := cmp.Diff(tt.wantAffected, affected); diff != "" {
				t.Errorf("affected (-want +got):\n%s", diff)
			}
			if len(p.Notes) != tt.wantNotes {
				t.Errorf("notes %q, want %d", p.Notes, tt.wantNotes)
			}
		})
	}
}

func TestSuccessorRule(t *testing.T) {
	t.Parallel()
	renewBy := t0.Add(30 * 24 * time.Hour)
	tests := []struct {
		name  string
		certs []certState
		want  string
	}{
		{name: "none"},
		{name: "wrong prefix", certs: []certState{{Name: "Other_1", Expires: far}}},
		{name: "inside the renew window", certs: []certState{{Name: "VoiceCert_1", Expires: t0.Add(20 * 24 * time.Hour)}}},
		{name: "not later than the current one", certs: []certState{{Name: "VoiceCert_1", Expires: soon}}},
		{name: "the newest wins", certs: []certState{
			{Name: "VoiceCert_1", Expires: later}, {Name: "VoiceCert_3", Expires: far}, {Name: "VoiceCert_2", Expires: later.Add(time.Hour)},
		}, want: "VoiceCert_3"},
		{name: "same expiry: the later name", certs: []certState{
			{Name: "VoiceCert_1", Expires: far}, {Name: "VoiceCert_2", Expires: far},
		}, want: "VoiceCert_2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := successor(tt.certs, "VoiceCert_", soon, renewBy)
			if ok != (tt.want != "") || got.Name != tt.want {
				t.Errorf("successor = %q, %v; want %q", got.Name, ok, tt.want)
			}
		})
	}
}

func TestPlanOrgUnknownCertificate(t *testing.T) {
	t.Parallel()
	o := org("Old", map[string]string{"CC1": "Gone"}, shaOld)
	_, err := planOrg(o, planOptions{Now: t0, RenewBefore: time.Hour, Prefix: "VoiceCert_", Strategy: StrategyOverlap})
	if err == nil || !strings.Contains(err.Error(), `contact center CC1 signs with certificate "Gone", which the org does not list`) {
		t.Errorf("planOrg error = %v", err)
	}
}
