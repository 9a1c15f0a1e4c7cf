package main

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"log/slog"
	"os"

	"github.com/voicecert/voicecert/salesforce"
)

// sfAuth is how the CLI gets Salesforce access tokens.
type sfAuth string

const (
	sfAuthToken             sfAuth = "access token"       // SF_INSTANCE_URL + SF_ACCESS_TOKEN
	sfAuthJWT               sfAuth = "JWT bearer"         // SF_CLIENT_ID + SF_USERNAME + SF_JWT_KEY_FILE
	sfAuthClientCredentials sfAuth = "client credentials" // SF_CLIENT_ID + SF_CLIENT_SECRET
)

// sfSettings says where the Salesforce org is and how to authenticate, from
// flags or the environment (DESIGN §8). Secrets (the access token, the client
// secret) come from the environment only, never from flags, which other users of
// the machine can read in the process list.
type sfSettings struct {
	instanceURL string // SF_INSTANCE_URL, --sf-instance-url
	loginURL    string // SF_LOGIN_URL, --sf-login-url; zero: the instance URL
	apiVersion  string // SF_API_VERSION, --sf-api-version; zero: the package default
	orgID       string // SF_ORG_ID, --sf-org-id: pins the org
	clientID    string // SF_CLIENT_ID, --sf-client-id
	username    string // SF_USERNAME, --sf-username
	jwtKeyFile  string // SF_JWT_KEY_FILE, --sf-jwt-key-file

	accessToken  string // SF_ACCESS_TOKEN. Secret.
	clientSecret string // SF_CLIENT_SECRET. Secret.
}

// register adds the non-secret Salesforce flags to fs; their defaults are empty
// and the environment fills what flags leave empty (see fromEnv).
func (s *sfSettings) register(fs *flag.FlagSet) {
	fs.StringVar(&s.instanceURL, "sf-instance-url", "", "the org's My Domain URL (env SF_INSTANCE_URL)")
	fs.StringVar(&s.loginURL, "sf-login-url", "", "where tokens are requested (env SF_LOGIN_URL; default the instance URL)")
	fs.StringVar(&s.apiVersion, "sf-api-version", "", "Salesforce API version (env SF_API_VERSION; default 63.0)")
	fs.StringVar(&s.orgID, "sf-org-id", "", "the org ID to expect; a token for another org is refused (env SF_ORG_ID)")
	fs.StringVar(&s.clientID, "sf-client-id", "", "consumer key of the External Client App (env SF_CLIENT_ID)")
	fs.StringVar(&s.username, "sf-username", "", "user for the JWT bearer flow (env SF_USERNAME)")
	fs.StringVar(&s.jwtKeyFile, "sf-jwt-key-file", "", "PEM file of the JWT signing key (env SF_JWT_KEY_FILE)")
}

// fromEnv fills what the flags left empty from the environment.
func (s *sfSettings) fromEnv(getenv env) {
	for _, f := range []struct {
		v   *string
		key string
	}{
		{&s.instanceURL, "SF_INSTANCE_URL"},
		{&s.loginURL, "SF_LOGIN_URL"},
		{&s.apiVersion, "SF_API_VERSION"},
		{&s.orgID, "SF_ORG_ID"},
		{&s.clientID, "SF_CLIENT_ID"},
		{&s.username, "SF_USERNAME"},
		{&s.jwtKeyFile, "SF_JWT_KEY_FILE"},
		{&s.accessToken, "SF_ACCESS_TOKEN"},
		{&s.clientSecret, "SF_CLIENT_SECRET"},
	} {
		if *f.v == "" {
			*f.v = getenv(f.key)
		}
	}
}

// auth returns the authentication the settings describe: an access token when
// one is given, else the JWT bearer flow, else client credentials. It names
// what is missing when none is complete.
func (s *sfSettings) auth() (sfAuth, error) {
	switch {
	case s.accessToken != "":
		if s.instanceURL == "" {
			return "", refused("SF_ACCESS_TOKEN is set but SF_INSTANCE_URL is not: set it to the org's My Domain URL")
		}
		return sfAuthToken, nil
	case s.clientID != "" && (s.username != "" || s.jwtKeyFile != ""):
		var missing []string
		if s.username == "" {
			missing = append(missing, "SF_USERNAME")
		}
		if s.jwtKeyFile == "" {
			missing = append(missing, "SF_JWT_KEY_FILE")
		}
		if s.loginURL == "" && s.instanceURL == "" {
			missing = append(missing, "SF_LOGIN_URL or SF_INSTANCE_URL")
		}
		if len(missing) > 0 {
			return "", refused("the JWT bearer flow needs %s as well as SF_CLIENT_ID", joinAnd(missing))
		}
		return sfAuthJWT, nil
	case s.clientID != "" && s.clientSecret != "":
		if s.loginURL == "" && s.instanceURL == "" {
			return "", refused("client credentials need SF_LOGIN_URL or SF_INSTANCE_URL (the org's My Domain URL)")
		}
		return sfAuthClientCredentials, nil
	case s.clientID != "":
		return "", refused("SF_CLIENT_ID is set but neither SF_USERNAME + SF_JWT_KEY_FILE (JWT bearer) nor SF_CLIENT_SECRET (client credentials) is")
	}
	return "", refused("no Salesforce credentials: set SF_INSTANCE_URL + SF_ACCESS_TOKEN, or SF_CLIENT_ID + SF_USERNAME + SF_JWT_KEY_FILE, or SF_CLIENT_ID + SF_CLIENT_SECRET (for the simulator: eval the env of 'rotate sim')")
}

// tokenURL is where tokens are requested: the login URL, else the instance URL.
func (s *sfSettings) tokenURL() string {
	if s.loginURL != "" {
		return s.loginURL
	}
	return s.instanceURL
}

// readRSAKey reads an RSA private key from a PEM file (PKCS #1 or PKCS #8). Its
// errors never quote the file's content.
func readRSAKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, refused("cannot read the JWT key file %s: %w", path, unwrapPath(err))
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, refused("the JWT key file %s holds no PEM block; give the PEM private key whose certificate the External Client App holds", path)
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, refused("the JWT key file %s: the RSA private key does not parse; give an unencrypted PEM key", path)
		}
		return key, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, refused("the JWT key file %s: the PKCS #8 private key does not parse; give an unencrypted PEM key", path)
		}
		key, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, refused("the JWT key file %s holds a %T key; the JWT bearer flow needs RSA (RS256)", path, k)
		}
		return key, nil
	case "ENCRYPTED PRIVATE KEY":
		return nil, refused("the JWT key file %s is encrypted; decrypt it (openssl pkey -in FILE -out PLAIN) and keep it readable only by you", path)
	}
	return nil, refused("the JWT key file %s holds a PEM %q block; give a PRIVATE KEY or RSA PRIVATE KEY", path, block.Type)
}

// joinAnd joins names as "a, b and c".
func joinAnd(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	out := names[0]
	for _, n := range names[1 : len(names)-1] {
		out += ", " + n
	}
	return out + " and " + names[len(names)-1]
}

// salesforceConfig returns the salesforce.Config the settings describe, reading
// the JWT key when the JWT bearer flow is used. logger receives the client's
// debug lines.
func (s *sfSettings) salesforceConfig(logger *slog.Logger) (salesforce.Config, error) {
	mode, err := s.auth()
	if err != nil {
		return salesforce.Config{}, err
	}
	for _, u := range []struct{ name, v string }{{"SF_INSTANCE_URL", s.instanceURL}, {"SF_LOGIN_URL", s.loginURL}} {
		if u.v != "" {
			if err := checkServiceURL(u.name, u.v); err != nil {
				return salesforce.Config{}, err
			}
		}
	}
	cfg := salesforce.Config{InstanceURL: s.instanceURL, APIVersion: s.apiVersion, OrgID: s.orgID, Logger: logger}
	switch mode {
	case sfAuthToken:
		cfg.Auth = salesforce.StaticToken{AccessToken: s.accessToken, InstanceURL: s.instanceURL}
	case sfAuthJWT:
		key, err := readRSAKey(s.jwtKeyFile)
		if err != nil {
			return salesforce.Config{}, err
		}
		cfg.Auth = salesforce.JWTBearer{LoginURL: s.tokenURL(), ClientID: s.clientID, Username: s.username, Key: key}
	case sfAuthClientCredentials:
		cfg.Auth = salesforce.ClientCredentials{LoginURL: s.tokenURL(), ClientID: s.clientID, ClientSecret: s.clientSecret}
	}
	logger.Debug("salesforce settings", "auth", string(mode), "instance_url", s.instanceURL, "login_url", s.tokenURL(), "org_id", s.orgID)
	return cfg, nil
}
