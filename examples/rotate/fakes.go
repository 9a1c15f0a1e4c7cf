package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voicecert/voicecert/awsidp/iamtest"
	"github.com/voicecert/voicecert/salesforce/sftest"
)

// fakeOptions configure the fakes that sim and demo start.
type fakeOptions struct {
	sfAddr, awsAddr   string
	contactCenters    int
	expiresIn         time.Duration
	latency           time.Duration
	trustFirstOnly    bool
	assertionLifetime time.Duration
	// org and account, when set, adjust the org and the AWS account before the
	// fakes start (tests).
	org     func(*sftest.OrgConfig)
	account func(*iamtest.Account)
	// requestLog, when set, receives one JSON line per request to either fake.
	requestLog io.Writer
	logger     *slog.Logger
}

// simProviderName is the IAM SAML provider the simulated account holds, as
// Service Cloud Voice names it.
const simProviderName = "SalesforceServiceVoiceIdp"

// fakes are a running sftest org and iamtest account wired together: the
// provider trusts the org's IdP certificate, and a role per contact center
// trusts the provider.
type fakes struct {
	sf   *sftest.Server
	iam  *iamtest.Server
	info simInfo
	dir  string // holds the JWT key; removed by close

}

// simInfo is the line sim prints (DESIGN §8).
type simInfo struct {
	Salesforce     simSalesforce      `json:"salesforce"`
	AWS            simAWS             `json:"aws"`
	ContactCenters []simContactCenter `json:"contact_centers"`
	Env            map[string]string  `json:"env"`
}

type simSalesforce struct {
	InstanceURL string `json:"instance_url"`
	AccessToken string `json:"access_token"`
	APIVersion  string `json:"api_version"`
	OrgID       string `json:"org_id"`
	ClientID    string `json:"client_id"`
	Username    string `json:"username"`
	JWTKeyFile  string `json:"jwt_key_file"`
}

type simAWS struct {
	EndpointURL     string `json:"endpoint_url"`
	Region          string `json:"region"`
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
	AccountID       string `json:"account_id"`
}

type simContactCenter struct {
	Name            string `json:"name"`
	InternalName    string `json:"internal_name"`
	ConnectedApp    string `json:"connected_app"`
	ConnectedAppID  string `json:"connected_app_id"`
	IdentityURL     string `json:"identity_url"`
	SAMLProviderARN string `json:"saml_provider_arn"`
	RoleARN         string `json:"role_arn"`
}

// startFakes starts sftest and iamtest on loopback, wired as Service Cloud Voice
// wires a real org and account.
func startFakes(ctx context.Context, o fakeOptions) (_ *fakes, err error) {
	for _, a := range []struct{ flag, addr string }{{"--sf-addr", o.sfAddr}, {"--aws-addr", o.awsAddr}} {
		if err := checkLoopbackAddr(a.flag, a.addr); err != nil {
			return nil, err
		}
	}
	if o.contactCenters < 1 || o.contactCenters > 50 {
		return nil, refused("--contact-centers %d: give 1 to 50", o.contactCenters)
	}
	if o.expiresIn <= 0 {
		return nil, refused("--expires-in %v must be positive", o.expiresIn)
	}
	if o.assertionLifetime <= 0 {
		return nil, refused("--assertion-lifetime %v must be positive", o.assertionLifetime)
	}
	if o.latency < 0 {
		return nil, refused("--latency %v is negative", o.latency)
	}
	f := &fakes{}
	var (
		reqLog *requestLog
		sfLog  func(sftest.Request)
		iamLog io.Writer
	)
	if o.requestLog != nil {
		reqLog = &requestLog{w: o.requestLog}
		sfLog, iamLog = reqLog.salesforce, reqLog
	}
	defer func() {
		if err != nil {
			f.close()
		}
	}()

	now := time.Now()
	ccs := make([]sftest.ContactCenterConfig, o.contactCenters)
	for i := range ccs {
		ccs[i] = sftest.ContactCenterConfig{InternalName: fmt.Sprintf("ContactCenter%d", i+1), Name: fmt.Sprintf("Contact Center %d", i+1)}
	}
	cert := "SelfSignedCert_" + now.UTC().Format("02Jan2006_150405")
	orgCfg := sftest.OrgConfig{
		Certificates:   []sftest.CertificateConfig{{DeveloperName: cert, ExpiresAt: now.Add(o.expiresIn)}},
		ContactCenters: ccs,
	}
	if o.org != nil {
		o.org(&orgCfg)
	}
	f.sf, err = sftest.Start(sftest.Config{
		Addr:              o.sfAddr,
		Latency:           o.latency,
		TokensNeverExpire: true,
		AssertionLifetime: o.assertionLifetime,
		OnRequest:         sfLog,
		Logger:            o.logger,
		Orgs:              []sftest.OrgConfig{orgCfg},
	})
	if err != nil {
		return nil, failed("sim: starting the Salesforce fake: %w", err)
	}
	org := f.sf.DefaultOrg()
	metadata, err := getIdPMetadata(ctx, org.InstanceURL())
	if err != nil {
		return nil, err
	}
	account := iamtest.Account{
		ID:         iamtest.DefaultAccountID,
		AccessKeys: []iamtest.AccessKey{{ID: iamtest.DefaultAccessKeyID, Secret: iamtest.DefaultSecretAccessKey}},
		Providers:  []iamtest.Provider{{Name: simProviderName, Document: metadata}},
	}
	for _, cc := range org.ContactCenters() {
		_, role, _ := strings.Cut(cc.RoleARN, ":role/")
		account.Roles = append(account.Roles, iamtest.Role{Name: role})
	}
	if o.account != nil {
		o.account(&account)
	}
	f.iam, err = iamtest.Start(iamtest.Config{
		Addr:           o.awsAddr,
		Latency:        o.latency,
		TrustFirstOnly: o.trustFirstOnly,
		Accounts:       []iamtest.Account{account},
		RequestLog:     iamLog,
		Logger:         o.logger,
	})
	if err != nil {
		return nil, failed("sim: starting the AWS fake: %w", err)
	}
	if err := f.describe(); err != nil {
		return nil, err
	}
	if reqLog != nil {
		reqLog.on.Store(true) // from here on, every request is the user's
	}
	return f, nil
}

// checkLoopbackAddr refuses a listen address that is not on loopback: the fakes
// hold well-known credentials and must not be reachable from the network.
func checkLoopbackAddr(flag, addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return refused("%s %q is not HOST:PORT: use 127.0.0.1:0", flag, addr)
	}
	if !isLoopback(host) {
		return refused("%s %q is not a loopback address; the simulator serves this machine only: use 127.0.0.1:PORT", flag, addr)
	}
	return nil
}

// getIdPMetadata downloads the fake org's IdP metadata, as an admin does before
// creating the IAM provider.
func getIdPMetadata(ctx context.Context, instanceURL string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, instanceURL+"/.well-known/samlidp.xml", nil)
	if err != nil {
		return nil, failed("sim: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, failed("sim: reading the fake org's IdP metadata: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxFetch))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, failed("sim: reading the fake org's IdP metadata: HTTP %d %v", resp.StatusCode, err)
	}
	return data, nil
}

// describe fills f.info and writes the JWT key into a private temporary directory.
func (f *fakes) describe() error {
	org := f.sf.DefaultOrg()
	token, err := org.IssueToken(org.Username())
	if err != nil {
		return failed("sim: issuing the access token: %w", err)
	}
	f.dir, err = os.MkdirTemp("", "voicecert-sim-")
	if err != nil {
		return failed("sim: creating a temporary directory: %w", err)
	}
	keyFile := filepath.Join(f.dir, "jwt.key")
	der, err := x509.MarshalPKCS8PrivateKey(org.OAuthKey())
	if err != nil {
		return failed("sim: encoding the JWT key: %w", err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return failed("sim: writing the JWT key: %w", err)
	}
	const region = "us-east-1"
	f.info = simInfo{
		Salesforce: simSalesforce{
			InstanceURL: org.InstanceURL(), AccessToken: token, APIVersion: "63.0", OrgID: org.ID(),
			ClientID: org.OAuthClientID(), Username: org.Username(), JWTKeyFile: keyFile,
		},
		AWS: simAWS{
			EndpointURL: f.iam.URL, Region: region, AccessKeyID: iamtest.DefaultAccessKeyID,
			SecretAccessKey: iamtest.DefaultSecretAccessKey, AccountID: iamtest.DefaultAccountID,
		},
		ContactCenters: []simContactCenter{},
	}
	for _, cc := range org.ContactCenters() {
		f.info.ContactCenters = append(f.info.ContactCenters, simContactCenter{
			Name: cc.Name, InternalName: cc.InternalName, ConnectedApp: cc.ConnectedApp, ConnectedAppID: cc.ConnectedAppID,
			IdentityURL: cc.IdentityURL, SAMLProviderARN: cc.ProviderARN, RoleARN: cc.RoleARN,
		})
	}
	f.info.Env = map[string]string{
		"SF_INSTANCE_URL": f.info.Salesforce.InstanceURL, "SF_ACCESS_TOKEN": token,
		"AWS_ENDPOINT_URL": f.iam.URL, "AWS_REGION": region,
		"AWS_ACCESS_KEY_ID": iamtest.DefaultAccessKeyID, "AWS_SECRET_ACCESS_KEY": iamtest.DefaultSecretAccessKey,
	}
	return nil
}

// requestLog writes the request logs of both fakes into one stream, one JSON
// line per request: sftest's entries with "service":"salesforce", iamtest's as
// it writes them ("service":"iam" or "sts"). Every line has "write". Both fakes
// log a request before they answer it, so a write is in the log before the
// client learns it succeeded.
type requestLog struct {
	mu sync.Mutex
	w  io.Writer
	on atomic.Bool // false while the fakes are being set up
}

// Write writes one line that iamtest formatted.
func (l *requestLog) Write(line []byte) (int, error) {
	if !l.on.Load() {
		return len(line), nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(line)
}

// salesforce logs one sftest request.
func (l *requestLog) salesforce(r sftest.Request) {
	line, err := json.Marshal(struct {
		Service string `json:"service"`
		sftest.Request
	}{"salesforce", r})
	if err != nil {
		return
	}
	_, _ = l.Write(append(line, '\n'))
}

// close stops both fakes, flushes the log and removes the temporary directory.
func (f *fakes) close() error {
	if f.iam != nil {
		f.iam.Close()
	}
	if f.sf != nil {
		f.sf.Close()
	}
	if f.dir != "" {
		return os.RemoveAll(f.dir)
	}
	return nil
}
