package sftest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"
)

// OrgConfig describes one org of the fake. The zero value is a usable org: one admin
// user (not API-only), one API-only user, one OAuth app for JWT bearer and client
// credentials, one 2048-bit IdP certificate valid for a year, the identity provider
// enabled on it, and one Amazon Connect contact center whose connected app names
// that certificate.
type OrgConfig struct {
	// Name is the My Domain name; it also names the org's path prefix (see the
	// package doc). Zero: "voicecert-dev" for the first org, "org2", "org3", ...
	Name string
	// ID is the 18-character org ID (00D...). Zero: derived from the org's position.
	ID string
	// Users are the org's users. Zero: "admin@<name>.example" and the API-only
	// "integration@<name>.example".
	Users []UserConfig
	// OAuthApps are the apps that may request tokens. Zero: one app whose JWT
	// certificate is generated from a pooled key (see [Org.OAuthKey]).
	OAuthApps []OAuthAppConfig
	// Certificates exist when the server starts. Zero: one named
	// "SelfSignedCert_<date>_<time>" as Salesforce names its own.
	Certificates []CertificateConfig
	// IdPCertificate is the DeveloperName of the identity provider's certificate.
	// Zero: the first certificate.
	IdPCertificate string
	// IdPDisabled turns the identity provider off (enableIdentityProvider=false).
	IdPDisabled bool
	// ContactCenters are the org's CallCenter records. Zero: one contact center;
	// set NoContactCenters for none.
	ContactCenters   []ContactCenterConfig
	NoContactCenters bool
	// ConnectedApps are SAML connected apps that are not behind a contact center
	// (they sign with the org default unless they name a certificate), and managed
	// apps.
	ConnectedApps []ConnectedAppConfig
}

// UserConfig describes a user.
type UserConfig struct {
	Username string // required
	Email    string // zero: Username
	// APIOnly marks an "API Only User": tokens work, frontdoor.jsp gives no UI
	// session, so the SSO probe cannot run.
	APIOnly bool
	ID      string // zero: generated (005...)
}

// OAuthAppConfig describes an app (external client app or connected app) that gets
// tokens through the JWT bearer flow or the client credentials flow.
type OAuthAppConfig struct {
	// ClientID is the consumer key. Zero: generated.
	ClientID string
	// Certificate verifies JWT bearer assertions. Zero: a certificate for a pooled
	// key, which [Org.OAuthKey] returns.
	Certificate *x509.Certificate
	// ClientSecret enables the client credentials flow. Zero: generated.
	ClientSecret string
	// RunAs is the client credentials user. Zero: the org's first user.
	RunAs string
	// Scopes granted to tokens. Zero: "api web full refresh_token openid".
	Scopes []string
}

// CertificateConfig describes a certificate that exists when the server starts.
type CertificateConfig struct {
	DeveloperName string // required
	MasterLabel   string // zero: DeveloperName
	KeySize       int    // 2048 (zero) or 4096
	// ExpiresAt is the certificate's NotAfter. Zero: created now with Salesforce's
	// validity (1 year for 2048 bits, 2 years for 4096).
	ExpiresAt time.Time
}

// ContactCenterConfig describes an Amazon Connect contact center (a CallCenter with
// a reqHvcc section) and the SSO connected app behind it.
type ContactCenterConfig struct {
	InternalName string // the CallCenter fullName; zero: "ContactCenter<N>"
	Name         string // displayName; zero: InternalName
	Region       string // zero: "us-east-1"
	InstanceID   string // Amazon Connect instance ID; zero: derived
	// Provider is reqTelephonyProvider. Zero: AMAZON_CONNECT.
	Provider string
	// App is the SSO connected app. Zero fields take the SCV defaults:
	// FullName "<InternalName>_Connected_App", the org's IdP certificate named
	// explicitly, a Role attribute for account 123456789012.
	App ConnectedAppConfig
}

// ConnectedAppConfig describes a SAML connected app.
type ConnectedAppConfig struct {
	FullName string // required for ConnectedApps; see ContactCenterConfig.App
	Label    string // zero: FullName with underscores as spaces
	// Certificate is samlConfig.certificate: a DeveloperName, or "" for the org's
	// default IdP certificate. Set UseOrgDefault in a contact center's app to
	// keep it "" there.
	Certificate   string
	UseOrgDefault bool
	// SignWith makes the app sign with this certificate whatever it names: the
	// misconfigured-signer knob.
	SignWith         string
	EntityURL        string // zero: urn:amazon:webservices
	ACSURL           string // zero: https://signin.aws.amazon.com/saml
	SigningAlgorithm string // samlSigningAlgoType: SHA256 (zero) or SHA1
	// RoleARN and ProviderARN make the Role attribute, a formula that is one string
	// literal "role-arn,provider-arn".
	RoleARN, ProviderARN string
	// StartURL is the RelayState of IdP-initiated SSO.
	StartURL string
	// Managed makes the app part of an installed managed package (namespace
	// "vendor"): listMetadata reports manageableState "installed" and updates fail.
	Managed bool
	// ProfileNames, PermissionSetNames and IPRanges enrich the record.
	ProfileNames       []string
	PermissionSetNames []string
	IPRanges           [][2]string // start, end
}

// DefaultAccountID is the AWS account of the default Role attributes.
const DefaultAccountID = "123456789012"

type user struct {
	UserConfig
	id string
}

type oauthApp struct {
	OAuthAppConfig
	key *rsa.PrivateKey // nil when the config gave the certificate
}

type certificate struct {
	id            string
	developerName string
	masterLabel   string
	keySize       int
	key           *rsa.PrivateKey
	cert          *x509.Certificate
	created       time.Time
}

func (c *certificate) pem() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})
}

type connectedApp struct {
	fullName string
	id       string // 0H4
	spID     string // 0sp
	signWith string
	managed  bool
	record   *node // the ConnectedApp record, xsi:type="ConnectedApp"
	created  time.Time
	modified time.Time
}

func (a *connectedApp) saml() *node { return a.record.child("samlConfig") }

type callCenter struct {
	id      string
	record  *node
	created time.Time
}

// org is the state of one org. The server's mutex guards it.
type org struct {
	index       int
	name        string
	id          string
	prefix      string // "" or "/org/<name>"
	users       []*user
	apps        []*oauthApp
	certs       []*certificate
	idpCert     string
	idpEnabled  bool
	connected   []*connectedApp
	callCenters []*callCenter
	counter     int
	created     time.Time
	// cachedSigners are the apps' signers before the last change of signers, used
	// until signersChangedAt + Config.SignerCacheDelay.
	cachedSigners    map[string]string
	signersChangedAt time.Time
}

// effectiveSigner is the DeveloperName of the certificate an app signs with: the
// misconfigured-signer knob, else samlConfig.certificate, else the org default.
func (o *org) effectiveSigner(a *connectedApp) string {
	if a.signWith != "" {
		return a.signWith
	}
	if c := a.saml().childText("certificate"); c != "" {
		return c
	}
	return o.idpCert
}

// noteSigners remembers every app's signer before a change that may move them, so
// that SSO keeps the old signers for Config.SignerCacheDelay. A change inside the
// delay keeps the older memory, as a cache would.
func (o *org) noteSigners(now time.Time, delay time.Duration) {
	if delay <= 0 || o.cachedSigners != nil && now.Before(o.signersChangedAt.Add(delay)) {
		return
	}
	o.cachedSigners = map[string]string{}
	for _, a := range o.connected {
		if a.saml() != nil {
			o.cachedSigners[a.fullName] = o.effectiveSigner(a)
		}
	}
	o.signersChangedAt = now
}

func (o *org) nextID(prefix string) string {
	o.counter++
	return makeID(prefix, o.index+1, o.counter)
}

func (o *org) userByName(name string) *user {
	for _, u := range o.users {
		if strings.EqualFold(u.Username, name) {
			return u
		}
	}
	return nil
}

func (o *org) cert(name string) *certificate {
	for _, c := range o.certs {
		if c.developerName == name {
			return c
		}
	}
	return nil
}

func (o *org) app(fullName string) *connectedApp {
	for _, a := range o.connected {
		if a.fullName == fullName {
			return a
		}
	}
	return nil
}

func (o *org) callCenter(fullName string) *callCenter {
	for _, c := range o.callCenters {
		if c.record.childText("fullName") == fullName {
			return c
		}
	}
	return nil
}

var developerNameRE = regexp.MustCompile(`^[A-Za-z](?:[A-Za-z0-9]|_[A-Za-z0-9])*$`)

// newCertificate creates a self-signed certificate the way Salesforce does: subject
// "CN=<name>, OU=<15-char org ID>, O=Salesforce.com, L=San Francisco, ST=CA,
// C=USA", valid 1 year (2048 bits) or 2 years (4096 bits) unless expires is set.
func (s *Server) newCertificate(o *org, name, label string, keySize int, expires time.Time) (*certificate, error) {
	if keySize == 0 {
		keySize = 2048
	}
	if keySize != 2048 && keySize != 4096 {
		return nil, fmt.Errorf("sftest: certificate %s: key size %d: use 2048 or 4096", name, keySize)
	}
	if !developerNameRE.MatchString(name) || len(name) > 80 {
		return nil, fmt.Errorf("sftest: certificate name %q is not a valid DeveloperName", name)
	}
	if label == "" {
		label = name
	}
	key, err := s.newKey(keySize)
	if err != nil {
		return nil, fmt.Errorf("sftest: key for certificate %s: %w", name, err)
	}
	now := s.now()
	if expires.IsZero() {
		expires = now.AddDate(keySize/2048, 0, 0)
	}
	notBefore := now
	if !expires.After(notBefore) {
		notBefore = expires.Add(-365 * 24 * time.Hour)
	}
	serial, err := rand.Int(s.rand, new(big.Int).Lsh(big.NewInt(1), 100))
	if err != nil {
		return nil, fmt.Errorf("sftest: serial for certificate %s: %w", name, err)
	}
	subject := pkix.Name{
		CommonName:         name,
		OrganizationalUnit: []string{id15(o.id)},
		Organization:       []string{"Salesforce.com"},
		Locality:           []string{"San Francisco"},
		Province:           []string{"CA"},
		Country:            []string{"USA"},
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		Issuer:                subject,
		NotBefore:             notBefore.UTC().Truncate(time.Second),
		NotAfter:              expires.UTC().Truncate(time.Second),
		BasicConstraintsValid: true,
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		SignatureAlgorithm:    x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(s.rand, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("sftest: create certificate %s: %w", name, err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &certificate{
		id: o.nextID(prefixCertificate), developerName: name, masterLabel: label,
		keySize: keySize, key: key, cert: parsed, created: now,
	}, nil
}

// buildOrg turns a config into state, filling the documented defaults.
func (s *Server) buildOrg(i int, cfg OrgConfig) (*org, error) {
	o := &org{index: i, name: cfg.Name, id: cfg.ID, idpEnabled: !cfg.IdPDisabled, created: s.now()}
	if o.name == "" {
		o.name = "voicecert-dev"
		if i > 0 {
			o.name = fmt.Sprintf("org%d", i+1)
		}
	}
	if o.id == "" {
		o.id = makeID(prefixOrg, i+1, 1)
	}
	if len(o.id) != 18 || !strings.HasPrefix(o.id, prefixOrg) {
		return nil, fmt.Errorf("sftest: org %s: ID %q is not an 18-character 00D... ID", o.name, o.id)
	}
	if i > 0 {
		o.prefix = "/org/" + o.name
	}
	var errs []error
	users := cfg.Users
	if len(users) == 0 {
		users = []UserConfig{
			{Username: "admin@" + o.name + ".example"},
			{Username: "integration@" + o.name + ".example", APIOnly: true},
		}
	}
	for _, u := range users {
		if u.Username == "" {
			errs = append(errs, fmt.Errorf("sftest: org %s: a user has no Username", o.name))
			continue
		}
		if u.Email == "" {
			u.Email = u.Username
		}
		id := u.ID
		if id == "" {
			id = o.nextID(prefixUser)
		}
		o.users = append(o.users, &user{UserConfig: u, id: id})
	}
	apps := cfg.OAuthApps
	if len(apps) == 0 {
		apps = []OAuthAppConfig{{}}
	}
	for j, a := range apps {
		app := &oauthApp{OAuthAppConfig: a}
		if app.ClientID == "" {
			sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", o.id, j)))
			app.ClientID = fmt.Sprintf("3MVG9%s%02d%x", id15(o.id), j+1, sum)[:85]
		}
		if app.ClientSecret == "" {
			app.ClientSecret = fmt.Sprintf("%X", sha256.Sum256([]byte(app.ClientID)))[:64]
		}
		if app.RunAs == "" && len(o.users) > 0 {
			app.RunAs = o.users[0].Username
		}
		if len(app.Scopes) == 0 {
			app.Scopes = []string{"api", "web", "full", "refresh_token", "openid"}
		}
		if app.Certificate == nil {
			c, err := s.newCertificate(o, fmt.Sprintf("OAuthApp%d", j+1), "", 2048, time.Time{})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			app.Certificate, app.key = c.cert, c.key
		}
		o.apps = append(o.apps, app)
	}
	certs := cfg.Certificates
	if len(certs) == 0 {
		certs = []CertificateConfig{{DeveloperName: "SelfSignedCert_" + s.now().UTC().Format("02Jan2006_150405")}}
	}
	for _, c := range certs {
		if o.cert(c.DeveloperName) != nil {
			errs = append(errs, fmt.Errorf("sftest: org %s: certificate %s is defined twice", o.name, c.DeveloperName))
			continue
		}
		cert, err := s.newCertificate(o, c.DeveloperName, c.MasterLabel, c.KeySize, c.ExpiresAt)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		o.certs = append(o.certs, cert)
	}
	o.idpCert = cfg.IdPCertificate
	if o.idpCert == "" && len(o.certs) > 0 {
		o.idpCert = o.certs[0].developerName
	}
	if o.cert(o.idpCert) == nil {
		errs = append(errs, fmt.Errorf("sftest: org %s: IdP certificate %q is not one of the org's certificates", o.name, o.idpCert))
	}
	centers := cfg.ContactCenters
	if len(centers) == 0 && !cfg.NoContactCenters {
		centers = []ContactCenterConfig{{}}
	}
	for j, cc := range centers {
		if err := s.addContactCenter(o, j, cc); err != nil {
			errs = append(errs, err)
		}
	}
	for _, a := range cfg.ConnectedApps {
		if _, err := s.addConnectedApp(o, a); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return o, nil
}

func (s *Server) addContactCenter(o *org, j int, cc ContactCenterConfig) error {
	if cc.InternalName == "" {
		cc.InternalName = fmt.Sprintf("ContactCenter%d", j+1)
	}
	if cc.Name == "" {
		cc.Name = cc.InternalName
	}
	if cc.Region == "" {
		cc.Region = "us-east-1"
	}
	if cc.Provider == "" {
		cc.Provider = "AMAZON_CONNECT"
	}
	if cc.InstanceID == "" {
		sum := sha256.Sum256([]byte(o.id + cc.InternalName))
		h := hex.EncodeToString(sum[:16])
		cc.InstanceID = h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	}
	if o.callCenter(cc.InternalName) != nil {
		return fmt.Errorf("sftest: org %s: contact center %s is defined twice", o.name, cc.InternalName)
	}
	relay := fmt.Sprintf("https://%s.console.aws.amazon.com/connect/federate/%s", cc.Region, cc.InstanceID)
	a := cc.App
	if a.FullName == "" {
		a.FullName = cc.InternalName + "_Connected_App"
	}
	if a.Label == "" {
		a.Label = cc.Name + " Connected App"
	}
	if a.Certificate == "" && !a.UseOrgDefault {
		a.Certificate = o.idpCert
	}
	if a.RoleARN == "" {
		a.RoleARN = fmt.Sprintf("arn:aws:iam::%s:role/%s-SAMLRole", DefaultAccountID, cc.InternalName)
	}
	if a.ProviderARN == "" {
		a.ProviderARN = fmt.Sprintf("arn:aws:iam::%s:saml-provider/SalesforceServiceVoiceIdp", DefaultAccountID)
	}
	if a.StartURL == "" {
		a.StartURL = relay
	}
	if a.PermissionSetNames == nil {
		a.PermissionSetNames = []string{"Contact_Center_Admin_Amazon_Connect"}
	}
	if a.ProfileNames == nil {
		a.ProfileNames = []string{"System Administrator"}
	}
	app := o.app(a.FullName)
	if app == nil {
		var err error
		if app, err = s.addConnectedApp(o, a); err != nil {
			return err
		}
	}
	identity := o.instanceURL(s.URL) + "/idp/login?app=" + id15(app.spID)
	item := func(name, label, value string) *node {
		return elc("items", el("label", label), el("name", name), el("value", value))
	}
	adapter := o.instanceURL(s.URL) + "/hvcc/amz/index.html"
	rec := elc("records",
		el("fullName", cc.InternalName),
		el("adapterUrl", adapter),
		el("displayName", cc.Name),
		el("displayNameLabel", "Display Name"),
		el("internalNameLabel", "Internal Name"),
		elc("sections",
			item("reqInternalName", "Internal Name", cc.InternalName),
			item("reqDisplayName", "Display Name", cc.Name),
			item("reqAdapterUrl", "CTI Adapter URL", adapter),
			item("reqVendorInfoApiName", "Vendor Info API Name", "c__AMAZON_CONNECT"),
			item("reqVersion", "Version", "4.0"),
			el("label", "General Information"),
			el("name", "reqGeneralInfo"),
		),
		elc("sections",
			item("reqTelephonyProvider", "Telephony Provider", cc.Provider),
			item("reqInstanceName", "Instance Name", strings.ToLower(cc.InternalName)),
			item("reqInstanceId", "Instance ID", cc.InstanceID),
			item("reqRegion", "Region", cc.Region),
			item("reqConnectedAppId", "Connected App ID", app.id),
			item("reqIdentityUrl", "Identity URL", identity),
			item("reqRelayState", "Relay State", relay),
			item("reqSettingsRelayState", "Settings Relay State", relay),
			el("label", "Service Voice Settings"),
			el("name", "reqHvcc"),
		),
		el("version", "4.0"),
	)
	rec.Type.Space, rec.Type.Local = nsMetadata, "CallCenter"
	o.callCenters = append(o.callCenters, &callCenter{id: o.nextID(prefixCallCenter), record: rec, created: s.now()})
	return nil
}

func (s *Server) addConnectedApp(o *org, a ConnectedAppConfig) (*connectedApp, error) {
	if a.FullName == "" {
		return nil, fmt.Errorf("sftest: org %s: a connected app has no FullName", o.name)
	}
	if a.Managed && !strings.Contains(a.FullName, "__") {
		a.FullName = "vendor__" + a.FullName
	}
	if o.app(a.FullName) != nil {
		return nil, fmt.Errorf("sftest: org %s: connected app %s is defined twice", o.name, a.FullName)
	}
	if a.Label == "" {
		a.Label = strings.ReplaceAll(a.FullName, "_", " ")
	}
	if a.EntityURL == "" {
		a.EntityURL = "urn:amazon:webservices"
	}
	if a.ACSURL == "" {
		a.ACSURL = "https://signin.aws.amazon.com/saml"
	}
	if a.SigningAlgorithm == "" {
		a.SigningAlgorithm = "SHA256"
	}
	if a.Certificate != "" && o.cert(a.Certificate) == nil {
		return nil, fmt.Errorf("sftest: org %s: connected app %s names unknown certificate %s", o.name, a.FullName, a.Certificate)
	}
	if a.SignWith != "" && o.cert(a.SignWith) == nil {
		return nil, fmt.Errorf("sftest: org %s: connected app %s signs with unknown certificate %s", o.name, a.FullName, a.SignWith)
	}
	rec := elc("records", el("fullName", a.FullName))
	if a.RoleARN != "" {
		rec.Children = append(rec.Children,
			elc("attributes", el("formula", `"`+a.RoleARN+","+a.ProviderARN+`"`), el("key", "https://aws.amazon.com/SAML/Attributes/Role")),
			elc("attributes", el("formula", "$User.Email"), el("key", "https://aws.amazon.com/SAML/Attributes/RoleSessionName")),
		)
	}
	rec.Children = append(rec.Children,
		el("contactEmail", "admin@"+o.name+".example"),
		el("description", "SAML single sign-on for "+a.Label),
	)
	for _, r := range a.IPRanges {
		rec.Children = append(rec.Children, elc("ipRanges", el("end", r[1]), el("start", r[0])))
	}
	rec.Children = append(rec.Children, el("label", a.Label))
	for _, p := range a.PermissionSetNames {
		rec.Children = append(rec.Children, el("permissionSetName", p))
	}
	for _, p := range a.ProfileNames {
		rec.Children = append(rec.Children, el("profileName", p))
	}
	var certEl *node
	if a.Certificate != "" {
		certEl = el("certificate", a.Certificate)
	}
	rec.Children = append(rec.Children, elc("samlConfig",
		el("acsUrl", a.ACSURL),
		certEl,
		el("entityUrl", a.EntityURL),
		el("samlNameIdFormat", "Persistent"),
		el("samlSigningAlgoType", a.SigningAlgorithm),
		el("samlSubjectType", "PersistentId"),
	))
	if a.StartURL != "" {
		rec.Children = append(rec.Children, el("startUrl", a.StartURL))
	}
	rec.Type.Space, rec.Type.Local = nsMetadata, "ConnectedApp"
	schema, err := loadSchema()
	if err != nil {
		return nil, err
	}
	if serr := schema.validate(rec, schema.complex["ConnectedApp"], true); serr != nil {
		return nil, fmt.Errorf("sftest: org %s: connected app %s: %s", o.name, a.FullName, serr.message)
	}
	now := s.now()
	app := &connectedApp{
		fullName: a.FullName, id: o.nextID(prefixConnectedApp), spID: o.nextID(prefixSAMLSP),
		signWith: a.SignWith, managed: a.Managed, record: rec, created: now, modified: now,
	}
	o.connected = append(o.connected, app)
	return app, nil
}

// instanceURL is the org's instance (My Domain) URL as clients see it; it is also the
// org's IdP issuer and entityID.
func (o *org) instanceURL(serverURL string) string { return serverURL + o.prefix }
