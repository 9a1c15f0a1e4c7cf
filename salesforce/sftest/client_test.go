package sftest_test

// The voicecert salesforce client against the fake, over real HTTP. Only this
// external test package imports the client: package sftest itself imports nothing
// from it, so the two cannot share a wire type and drift together.

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicecert/voicecert/internal/fakeclock"
	"github.com/voicecert/voicecert/salesforce"
	"github.com/voicecert/voicecert/salesforce/sftest"
	"github.com/voicecert/voicecert/samlmeta"
)

// strict makes the fake refuse Metadata elements out of schema order, so these
// tests also prove the client writes schema order.
func strict(c *sftest.Config) { c.StrictElementOrder = true }

func newClient(t *testing.T, org *sftest.Org, clock *fakeclock.Clock, username string, change func(*salesforce.Config)) *salesforce.Client {
	t.Helper()
	cfg := salesforce.Config{
		InstanceURL: org.InstanceURL(),
		Auth: salesforce.JWTBearer{
			LoginURL: org.InstanceURL(), ClientID: org.OAuthClientID(), Username: username,
			Key: org.OAuthKey(), Now: clock.Now,
		},
		OrgID: org.ID(),
		Now:   clock.Now,
		Sleep: clock.Sleep,
	}
	if change != nil {
		change(&cfg)
	}
	c, err := salesforce.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func count(reqs []sftest.Request, operation string) int {
	n := 0
	for _, r := range reqs {
		if r.Operation == operation {
			n++
		}
	}
	return n
}

func richApp() sftest.ContactCenterConfig {
	return sftest.ContactCenterConfig{InternalName: "Support", Name: "Support Center", Region: "eu-west-2",
		App: sftest.ConnectedAppConfig{
			Certificate:        "Old_Cert",
			ProfileNames:       []string{"System Administrator", "Voice Agent"},
			PermissionSetNames: []string{"Contact_Center_Admin_Amazon_Connect", "Voice_Users"},
			IPRanges:           [][2]string{{"10.0.0.1", "10.0.0.255"}, {"192.168.1.1", "192.168.1.9"}},
		}}
}

// TestClientManualSteps runs every manual step of DESIGN §1 through the client and
// reads each one back, from the fake's side too.
func TestClientManualSteps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, clock := newServer(t, strict, sftest.WithOrgs(sftest.OrgConfig{
		Name:           "acme",
		Certificates:   []sftest.CertificateConfig{{DeveloperName: "Old_Cert", ExpiresAt: t0.Add(10 * 24 * time.Hour)}},
		ContactCenters: []sftest.ContactCenterConfig{richApp(), {InternalName: "Sales"}},
		ConnectedApps:  []sftest.ConnectedAppConfig{{FullName: "Wiki_SSO", UseOrgDefault: true, EntityURL: "wiki"}},
	}))
	org := srv.DefaultOrg()
	c := newClient(t, org, clock, org.Username(), nil)

	if id, err := c.OrgID(ctx); err != nil || id != org.ID() {
		t.Fatalf("OrgID %q, %v", id, err)
	}
	if iss, err := c.Issuer(ctx); err != nil || iss != org.InstanceURL() {
		t.Fatalf("Issuer %q, %v", iss, err)
	}
	centers, err := c.ListContactCenters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []sftest.ContactCenter
	for _, cc := range centers {
		got = append(got, sftest.ContactCenter{Name: cc.Name, InternalName: cc.InternalName, ConnectedApp: cc.ConnectedApp,
			ConnectedAppID: cc.ConnectedAppID, IdentityURL: cc.IdentityURL, RelayState: cc.RelayState, Region: cc.Region,
			RoleARN: cc.RoleARN, ProviderARN: cc.ProviderARN})
	}
	want := org.ContactCenters()
	sort.Slice(want, func(i, j int) bool { return want[i].InternalName < want[j].InternalName })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("contact centers (-fake +client):\n%s", diff)
	}
	support := want[1]

	// Step 1: the app's IdP certificate and its expiry.
	app, err := c.ConnectedApp(ctx, support.ConnectedApp)
	if err != nil || app.Certificate != "Old_Cert" || !app.SAML || app.ManageableState != "unmanaged" {
		t.Fatalf("ConnectedApp %+v, %v", app, err)
	}
	certs, err := c.ListCertificates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var old *salesforce.Certificate
	for i := range certs {
		if certs[i].DeveloperName == "Old_Cert" {
			old = &certs[i]
		}
	}
	if old == nil || old.KeySize != 2048 || old.ExpirationDate.Format("2006-01-02") != "2026-03-11" {
		t.Errorf("Old_Cert listed as %+v", old)
	}

	// Step 2: a new certificate, read back with its PEM.
	created, err := c.CreateCertificate(ctx, "VoiceCert_2026", "VoiceCert 2026", 4096)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(created.PEM)
	if block == nil {
		t.Fatal("no PEM")
	}
	parsed, err := x509.ParseCertificate(block.Bytes)
	// Two years from its creation (the client polled on the fake clock). The Tooling
	// API's ExpirationDate is a date; the PEM has the exact NotAfter.
	if err != nil || !parsed.Equal(org.Certificate("VoiceCert_2026")) || created.KeySize != 4096 ||
		created.ExpirationDate.Format("2006-01-02") != "2028-03-01" || parsed.NotAfter.Format("2006-01-02") != "2028-03-01" {
		t.Fatalf("created %s, %d bits, expires %v (%v)", created.DeveloperName, created.KeySize, created.ExpirationDate, err)
	}

	// Step 3: the IdP setting, and the published metadata.
	if err := c.SetIdentityProviderCertificate(ctx, "VoiceCert_2026"); err != nil {
		t.Fatal(err)
	}
	if idp, err := c.IdentityProvider(ctx); err != nil || idp.CertificateName != "VoiceCert_2026" || !idp.Enabled || org.IdPCertificate() != "VoiceCert_2026" {
		t.Fatalf("IdentityProvider %+v, %v", idp, err)
	}
	meta, err := c.IdPMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := samlmeta.Parse(meta)
	if err != nil {
		t.Fatal(err)
	}
	if sc := doc.Entity(org.InstanceURL()).SigningCertificates(); len(sc) != 1 || !sc[0].X509.Equal(parsed) {
		t.Errorf("published metadata signs with %v", sc)
	}

	// Step 4: the app, patched.
	before, _ := org.ConnectedAppXML(support.ConnectedApp)
	if err := c.SetConnectedAppCertificate(ctx, support.ConnectedApp, "VoiceCert_2026"); err != nil {
		t.Fatal(err)
	}
	after, _ := org.ConnectedAppXML(support.ConnectedApp)
	if diff := cmp.Diff(strings.Replace(before, "<certificate>Old_Cert</certificate>", "<certificate>VoiceCert_2026</certificate>", 1), after); diff != "" {
		t.Errorf("the patch changed more than samlConfig/certificate (-want +got):\n%s", diff)
	}
	for _, kept := range []string{"<profileName>Voice Agent</profileName>", "<permissionSetName>Voice_Users</permissionSetName>", "<ipRanges><end>192.168.1.9</end><start>192.168.1.1</start></ipRanges>", "RoleSessionName"} {
		if !strings.Contains(after, kept) {
			t.Errorf("the patched record lost %s", kept)
		}
	}

	// Step 6: SSO, signed by the new certificate.
	sso, err := c.ProbeSSO(ctx, support.IdentityURL)
	if err != nil {
		t.Fatal(err)
	}
	v, err := samlmeta.VerifyResponse(sso.SAMLResponse, samlmeta.VerifyOptions{Trusted: []*x509.Certificate{parsed}, Now: clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if sso.RelayState != support.RelayState || sso.Action != "https://signin.aws.amazon.com/saml" ||
		v.Assertion.Attribute(salesforce.AWSRoleAttribute)[0] != support.RoleARN+","+support.ProviderARN {
		t.Errorf("SSO response %v, role %v", sso, v.Assertion.Attribute(salesforce.AWSRoleAttribute))
	}

	// The blast radius: apps on the org default.
	apps, err := c.ListSAMLConnectedApps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var onDefault []string
	for _, a := range apps {
		if a.Certificate == "" {
			onDefault = append(onDefault, a.FullName)
		}
	}
	if diff := cmp.Diff([]string{"Wiki_SSO"}, onDefault); diff != "" {
		t.Errorf("apps on the org default (-want +got):\n%s", diff)
	}

	// Writes: deploy, and one update per switch; the client's count agrees.
	var writes []string
	for _, w := range srv.Writes() {
		writes = append(writes, w.Operation+" "+w.Type)
	}
	if diff := cmp.Diff([]string{"deploy ", "updateMetadata IdentityProviderSettings", "updateMetadata ConnectedApp"}, writes); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	if c.Stats().Writes != 3 {
		t.Errorf("client counted %d writes", c.Stats().Writes)
	}

	// A second run writes nothing.
	if err := c.SetIdentityProviderCertificate(ctx, "VoiceCert_2026"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetConnectedAppCertificate(ctx, support.ConnectedApp, "VoiceCert_2026"); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Writes()); n != 3 {
		t.Errorf("a second run wrote (%d writes)", n)
	}
}

func TestClientSessionRenewal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name       string
		fault      sftest.Fault
		wantErr    error
		wantTokens int
	}{
		{"refused once", sftest.Fault{Operation: "readMetadata", Code: "INVALID_SESSION_ID"}, nil, 2},
		{"refused twice", sftest.Fault{Operation: "readMetadata", AndAfter: true, Code: "INVALID_SESSION_ID"}, salesforce.ErrInvalidSession, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, clock := newServer(t, strict, sftest.WithFault(tt.fault))
			org := srv.DefaultOrg()
			c := newClient(t, org, clock, org.Username(), nil)
			_, err := c.IdentityProvider(ctx)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("IdentityProvider: %v, want %v", err, tt.wantErr)
			}
			if n := count(srv.Requests(), "oauth2/token"); n != tt.wantTokens {
				t.Errorf("%d token requests, want %d (one renewal, never a loop)", n, tt.wantTokens)
			}
		})
	}
	t.Run("token expired on the clock", func(t *testing.T) {
		t.Parallel()
		srv, clock := newServer(t, strict)
		org := srv.DefaultOrg()
		c := newClient(t, org, clock, org.Username(), nil)
		if _, err := c.ListCertificates(ctx); err != nil {
			t.Fatal(err)
		}
		clock.Advance(3 * time.Hour)
		if _, err := c.ListCertificates(ctx); err != nil {
			t.Fatal(err)
		}
		if n := count(srv.Requests(), "oauth2/token"); n != 2 {
			t.Errorf("%d token requests, want 2", n)
		}
	})
}

func TestClientRetriesAndFaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("REQUEST_LIMIT_EXCEEDED is retried", func(t *testing.T) {
		t.Parallel()
		srv, clock := newServer(t, strict, sftest.WithFault(sftest.Fault{Operation: "tooling/query", Type: "Certificate", Code: "REQUEST_LIMIT_EXCEEDED"}))
		org := srv.DefaultOrg()
		c := newClient(t, org, clock, org.Username(), nil)
		if _, err := c.ListCertificates(ctx); err != nil {
			t.Fatal(err)
		}
		if n := count(srv.Requests(), "tooling/query"); n != 2 {
			t.Errorf("%d queries, want 2", n)
		}
	})
	t.Run("503 on a read is retried", func(t *testing.T) {
		t.Parallel()
		srv, clock := newServer(t, strict, sftest.WithFault(sftest.Fault{Operation: "readMetadata", Status: http.StatusServiceUnavailable}))
		org := srv.DefaultOrg()
		c := newClient(t, org, clock, org.Username(), nil)
		if _, err := c.IdentityProvider(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a fault while polling a deploy", func(t *testing.T) {
		t.Parallel()
		srv, clock := newServer(t, strict, sftest.WithFault(sftest.Fault{Operation: "checkDeployStatus", AndAfter: true, Code: "UNKNOWN_EXCEPTION", Message: "the pod is unwell"}))
		org := srv.DefaultOrg()
		c := newClient(t, org, clock, org.Username(), nil)
		_, err := c.CreateCertificate(ctx, "VoiceCert_X", "VoiceCert X", 2048)
		if err == nil || !strings.Contains(err.Error(), "checkDeployStatus") || !strings.Contains(err.Error(), "UNKNOWN_EXCEPTION") {
			t.Errorf("error %v does not name the failed poll", err)
		}
	})
}

// TestClientBadInput: each bad input is refused with no write, as the request log
// shows, and nothing changes in the org.
func TestClientBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, clock := newServer(t, strict, sftest.WithOrgs(
		sftest.OrgConfig{
			Name:           "acme",
			Certificates:   []sftest.CertificateConfig{{DeveloperName: "Old_Cert"}},
			ContactCenters: []sftest.ContactCenterConfig{richApp()},
			ConnectedApps:  []sftest.ConnectedAppConfig{{FullName: "Partner", Managed: true}},
		},
		sftest.OrgConfig{Name: "globex"},
	))
	org := srv.Org("acme")
	app := org.ContactCenters()[0].ConnectedApp
	tests := []struct {
		name    string
		call    func(c *salesforce.Client) error
		change  func(*salesforce.Config)
		wantErr error
	}{
		{"key size 1024", func(c *salesforce.Client) error {
			_, err := c.CreateCertificate(ctx, "VoiceCert_1024", "x", 1024)
			return err
		}, nil, nil},
		{"existing certificate name", func(c *salesforce.Client) error {
			_, err := c.CreateCertificate(ctx, "Old_Cert", "x", 2048)
			return err
		}, nil, salesforce.ErrCertificateExists},
		{"unknown certificate for the IdP", func(c *salesforce.Client) error {
			return c.SetIdentityProviderCertificate(ctx, "Nope")
		}, nil, salesforce.ErrNotFound},
		{"unknown certificate for the app", func(c *salesforce.Client) error {
			return c.SetConnectedAppCertificate(ctx, app, "Nope")
		}, nil, salesforce.ErrNotFound},
		{"unknown app", func(c *salesforce.Client) error {
			return c.SetConnectedAppCertificate(ctx, "Nope", "Old_Cert")
		}, nil, salesforce.ErrNotFound},
		{"token of another org", func(c *salesforce.Client) error {
			_, err := c.ListCertificates(ctx)
			return err
		}, func(cfg *salesforce.Config) { cfg.OrgID = srv.Org("globex").ID() }, salesforce.ErrWrongOrg},
	}
	// Sequential: each case counts the writes it caused on the shared server.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, org, clock, org.Username(), tt.change)
			before := len(srv.Writes())
			err := tt.call(c)
			if err == nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
			if w := srv.Writes(); len(w) != before {
				t.Errorf("a refused input was written: %+v", w[before:])
			}
		})
	}
	t.Run("managed app", func(t *testing.T) {
		c := newClient(t, org, clock, org.Username(), nil)
		before, _ := org.ConnectedAppXML("vendor__Partner")
		if err := c.SetConnectedAppCertificate(ctx, "vendor__Partner", "Old_Cert"); err == nil {
			t.Error("a managed app was updated")
		}
		if after, _ := org.ConnectedAppXML("vendor__Partner"); after != before {
			t.Error("the managed app changed")
		}
	})
	if got := org.CertificateNames(); len(got) != 1 || org.IdPCertificate() != "Old_Cert" {
		t.Errorf("the org changed: certificates %v, IdP %s", got, org.IdPCertificate())
	}
}

func TestClientSSOProbeRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, clock := newServer(t, sftest.WithOrgs(
		sftest.OrgConfig{Name: "main"},
		sftest.OrgConfig{Name: "apionly", OAuthApps: []sftest.OAuthAppConfig{{Scopes: []string{"api"}}}},
	))
	main := srv.Org("main")
	tests := []struct {
		name     string
		org      *sftest.Org
		username string
		want     error
	}{
		{"API-only user", main, "integration@main.example", salesforce.ErrAPIOnlyUser},
		{"no web scope", srv.Org("apionly"), "admin@apionly.example", salesforce.ErrNoWebScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, tt.org, clock, tt.username, nil)
			if _, err := c.ProbeSSO(ctx, tt.org.ContactCenters()[0].IdentityURL); !errors.Is(err, tt.want) {
				t.Errorf("ProbeSSO: %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("second org under its path prefix", func(t *testing.T) {
		t.Parallel()
		org := srv.Org("apionly")
		c := newClient(t, org, clock, org.Username(), func(cfg *salesforce.Config) {
			cfg.Auth = salesforce.ClientCredentials{LoginURL: org.InstanceURL(), ClientID: org.OAuthClientID(), ClientSecret: org.OAuthClientSecret()}
		})
		if iss, err := c.Issuer(ctx); err != nil || iss != srv.URL+"/org/apionly" {
			t.Errorf("Issuer %q, %v", iss, err)
		}
		if centers, err := c.ListContactCenters(ctx); err != nil || len(centers) != 1 || !strings.HasPrefix(centers[0].IdentityURL, srv.URL+"/org/apionly/idp/login?app=0sp") {
			t.Errorf("contact centers %+v, %v", centers, err)
		}
	})
}
