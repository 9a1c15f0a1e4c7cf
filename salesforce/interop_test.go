package salesforce_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicecert/voicecert/internal/fakeclock"
	"github.com/voicecert/voicecert/salesforce"
	"github.com/voicecert/voicecert/salesforce/sftest"
	"github.com/voicecert/voicecert/samlmeta"
)

// TestRotationCallsAgainstFakeOrg runs every call of a rotation against the fake org
// (strict about schema order), on two orgs of one server: the second lives under a
// path prefix. It checks the outcome in the fake's own state, not in the client's
// view of it.
func TestRotationCallsAgainstFakeOrg(t *testing.T) {
	t.Parallel()
	clock := fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	srv := sftest.NewServer(t, sftest.WithConfig(sftest.Config{
		Now: clock.Now, Sleep: clock.Sleep, StrictElementOrder: true, DeployPolls: 2,
		Orgs: []sftest.OrgConfig{{Name: "acme"}, {Name: "beta", ConnectedApps: []sftest.ConnectedAppConfig{
			{FullName: "Zendesk", EntityURL: "https://acme.zendesk.com", ACSURL: "https://acme.zendesk.com/access/saml"},
			{FullName: "Vendor_App", Managed: true},
		}}},
	}))
	for _, org := range srv.Orgs() {
		t.Run(org.Name(), func(t *testing.T) {
			ctx := context.Background()
			c, err := salesforce.New(salesforce.Config{
				OrgID: org.ID(),
				Auth: salesforce.JWTBearer{LoginURL: org.LoginURL(), ClientID: org.OAuthClientID(),
					Username: org.Username(), Key: org.OAuthKey()},
				Now: clock.Now, Sleep: clock.Sleep, Logger: salesforce.SuiteLogger(),
			})
			if err != nil {
				t.Fatal(err)
			}
			issuer, err := c.Issuer(ctx)
			if err != nil || issuer != org.InstanceURL() {
				t.Fatalf("Issuer = %q, %v; want %q", issuer, err, org.InstanceURL())
			}
			ccs, err := c.ListContactCenters(ctx)
			if err != nil || len(ccs) != 1 {
				t.Fatalf("ListContactCenters = %+v, %v", ccs, err)
			}
			app := ccs[0].ConnectedApp

			created, err := c.CreateCertificate(ctx, "VoiceCert_20260301", "VoiceCert 2026-03-01", 4096)
			if err != nil {
				t.Fatal(err)
			}
			block, _ := pem.Decode(created.PEM)
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			if !cert.Equal(org.Certificate("VoiceCert_20260301")) || !created.ExpirationDate.After(clock.Now()) {
				t.Errorf("created certificate is not the org's, or has no expiry: %+v", created)
			}
			_, err = c.CreateCertificate(ctx, "VoiceCert_20260301", "again", 4096)
			salesforce.NoteError(err)
			if !errors.Is(err, salesforce.ErrCertificateExists) {
				t.Errorf("second create: %v, want ErrCertificateExists", err)
			}

			if err := c.SetIdentityProviderCertificate(ctx, created.DeveloperName); err != nil {
				t.Fatal(err)
			}
			if err := c.SetConnectedAppCertificate(ctx, app, created.DeveloperName); err != nil {
				t.Fatal(err)
			}
			appCert, _ := org.ConnectedAppCertificate(app)
			if diff := cmp.Diff([]string{created.DeveloperName, created.DeveloperName}, []string{org.IdPCertificate(), appCert}); diff != "" {
				t.Errorf("IdP and app certificates in the org (-want +got):\n%s", diff)
			}
			writes := c.Stats().Writes
			if err := c.SetConnectedAppCertificate(ctx, app, created.DeveloperName); err != nil || c.Stats().Writes != writes {
				t.Errorf("a second switch wrote again (%v)", err)
			}

			sso, err := c.ProbeSSO(ctx, ccs[0].IdentityURL)
			if err != nil {
				t.Fatal(err)
			}
			v, err := samlmeta.VerifyResponse(sso.SAMLResponse, samlmeta.VerifyOptions{Trusted: []*x509.Certificate{cert}, Now: clock.Now()})
			if err != nil {
				t.Fatalf("the assertion is not signed by the new certificate: %v", err)
			}
			if v.Signer.SHA256 != samlmeta.Fingerprint(cert.Raw) || sso.RelayState != ccs[0].RelayState {
				t.Errorf("signer %s, relay state %q", v.Signer.SHA256, sso.RelayState)
			}

			md, err := c.IdPMetadata(ctx)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := samlmeta.Parse(md)
			if err != nil || doc.Entity(issuer) == nil {
				t.Fatalf("metadata has no entity %s: %v", issuer, err)
			}
			signing := doc.Entity(issuer).SigningCertificates()
			if len(signing) != 1 || signing[0].SHA256 != samlmeta.Fingerprint(cert.Raw) {
				t.Errorf("published metadata does not carry the new certificate")
			}

			var orgWrites int
			for _, r := range srv.Writes() {
				if r.Org == org.ID() {
					orgWrites++
				}
			}
			if got := c.Stats().Writes; got != orgWrites {
				t.Errorf("client counted %d writes, the org saw %d", got, orgWrites)
			}
		})
	}

	t.Run("managed app", func(t *testing.T) {
		org := srv.Org("beta")
		tok, err := org.IssueToken(org.Username())
		if err != nil {
			t.Fatal(err)
		}
		salesforce.NoteSecret(tok)
		c, err := salesforce.New(salesforce.Config{InstanceURL: org.InstanceURL(), OrgID: org.ID(),
			Auth: salesforce.StaticToken{AccessToken: tok}, Now: clock.Now, Sleep: clock.Sleep, Logger: salesforce.SuiteLogger()})
		if err != nil {
			t.Fatal(err)
		}
		apps, err := c.ListSAMLConnectedApps(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		states := map[string]string{}
		for _, a := range apps {
			states[a.FullName] = a.ManageableState + "," + a.Certificate
		}
		if !strings.HasPrefix(states["vendor__Vendor_App"]+states["Vendor_App"], "installed") || !strings.HasPrefix(states["Zendesk"], "unmanaged,") {
			t.Errorf("apps: %v", states)
		}
	})

	t.Run("API-only user", func(t *testing.T) {
		org := srv.DefaultOrg()
		c, err := salesforce.New(salesforce.Config{
			Auth: salesforce.JWTBearer{LoginURL: org.LoginURL(), ClientID: org.OAuthClientID(),
				Username: strings.Replace(org.Username(), "admin@", "integration@", 1), Key: org.OAuthKey()},
			Now: clock.Now, Sleep: clock.Sleep,
		})
		if err != nil {
			t.Fatal(err)
		}
		ccs, err := c.ListContactCenters(context.Background())
		if err != nil || len(ccs) == 0 {
			t.Fatalf("ListContactCenters = %v, %v", ccs, err)
		}
		_, err = c.ProbeSSO(context.Background(), ccs[0].IdentityURL)
		salesforce.NoteError(err)
		if !errors.Is(err, salesforce.ErrAPIOnlyUser) {
			t.Errorf("err = %v, want ErrAPIOnlyUser", err)
		}
	})
}

// TestFaultsFromFakeOrg: the client's retry and re-authentication rules, against the
// fake's injected faults.
func TestFaultsFromFakeOrg(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fault     sftest.Fault
		wantErr   error
		wantToken int // token requests
	}{
		{"request limit on a read is retried", sftest.Fault{Operation: "readMetadata", Code: "REQUEST_LIMIT_EXCEEDED"}, nil, 1},
		{"503 on a query is retried", sftest.Fault{Operation: "tooling/query", Status: 503}, nil, 1},
		{"expired session renews once", sftest.Fault{Operation: "readMetadata", Code: "INVALID_SESSION_ID"}, nil, 2},
		{"a session refused twice fails", sftest.Fault{Operation: "readMetadata", Code: "INVALID_SESSION_ID", AndAfter: true}, salesforce.ErrInvalidSession, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
			srv := sftest.NewServer(t, sftest.WithNow(clock.Now), sftest.WithSleep(clock.Sleep), sftest.WithFault(tt.fault))
			org := srv.DefaultOrg()
			c, err := salesforce.New(salesforce.Config{
				Auth: salesforce.JWTBearer{LoginURL: org.LoginURL(), ClientID: org.OAuthClientID(),
					Username: org.Username(), Key: org.OAuthKey()},
				Now: clock.Now, Sleep: clock.Sleep, Logger: salesforce.SuiteLogger(),
			})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Certificate(context.Background(), org.IdPCertificate())
			salesforce.NoteError(err)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			tokens := 0
			for _, r := range srv.Requests() {
				if r.Operation == "oauth2/token" {
					tokens++
				}
			}
			if tokens != tt.wantToken {
				t.Errorf("%d token requests, want %d", tokens, tt.wantToken)
			}
		})
	}
}

// TestProbeSSORenewsAnExpiredSession: frontdoor.jsp refuses an expired session the
// way it refuses an API-only user; the probe must tell them apart, renew the session
// once and succeed, not report an API-only user.
func TestProbeSSORenewsAnExpiredSession(t *testing.T) {
	t.Parallel()
	clock := fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	srv := sftest.NewServer(t, sftest.WithNow(clock.Now), sftest.WithSleep(clock.Sleep))
	org := srv.DefaultOrg()
	c, err := salesforce.New(salesforce.Config{
		Auth: salesforce.JWTBearer{LoginURL: org.LoginURL(), ClientID: org.OAuthClientID(),
			Username: org.Username(), Key: org.OAuthKey()},
		Now: clock.Now, Sleep: clock.Sleep, Logger: salesforce.SuiteLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Issuer(ctx); err != nil {
		t.Fatal(err)
	}
	srv.ExpireTokens()
	resp, err := c.ProbeSSO(ctx, org.ContactCenters()[0].IdentityURL)
	salesforce.NoteError(err)
	if err != nil {
		t.Fatalf("ProbeSSO after the session expired: %v", err)
	}
	if len(resp.SAMLResponse) == 0 {
		t.Fatal("ProbeSSO returned no SAMLResponse")
	}
	tokens := 0
	for _, r := range srv.Requests() {
		if r.Operation == "oauth2/token" {
			tokens++
		}
	}
	if tokens != 2 {
		t.Errorf("%d token requests, want 2 (the first session and one renewal)", tokens)
	}
}
