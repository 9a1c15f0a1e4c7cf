package salesforce

import (
	"bytes"
	"context"
	"fmt"
)

// identityProviderFullName is the fullName of the org's IdentityProviderSettings:
// the type name without "Settings", as for every Settings type.
const identityProviderFullName = "IdentityProvider"

// IdentityProviderSettings is the org's Identity Provider setting (Metadata type
// IdentityProviderSettings, API 57.0 and later).
type IdentityProviderSettings struct {
	// CertificateName is the DeveloperName of the certificate the org signs SAML
	// assertions with, for every connected app on the default IdP certificate.
	// (Salesforce documents it as "the name of a certificate"; voicecert sends the
	// DeveloperName, which the observed-signer check confirms live.)
	CertificateName string
	// Enabled reports whether Salesforce acts as an identity provider.
	Enabled bool
}

// IdentityProvider reads the org's Identity Provider setting. It returns an error
// matching [ErrNotFound] when the org has none (it was never enabled).
func (c *Client) IdentityProvider(ctx context.Context) (*IdentityProviderSettings, error) {
	recs, err := c.readMetadata(ctx, "IdentityProviderSettings", []string{identityProviderFullName})
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%w: IdentityProviderSettings: enable the Identity Provider in Setup first", ErrNotFound)
	}
	var v struct {
		CertificateName string `xml:"certificateName"`
		Enabled         bool   `xml:"enableIdentityProvider"`
	}
	if err := recs[0].decode(&v); err != nil {
		return nil, fmt.Errorf("salesforce: readMetadata IdentityProviderSettings: %w", err)
	}
	return &IdentityProviderSettings{CertificateName: v.CertificateName, Enabled: v.Enabled}, nil
}

// SetIdentityProviderCertificate points the org's Identity Provider setting at the
// certificate named name, sending back the enableIdentityProvider value it read.
// The certificate must exist (an error matching [ErrNotFound] otherwise). When the
// setting already names it, nothing is written.
func (c *Client) SetIdentityProviderCertificate(ctx context.Context, name string) error {
	if err := checkDeveloperName(name); err != nil {
		return err
	}
	cur, err := c.IdentityProvider(ctx)
	if err != nil {
		return err
	}
	if cur.CertificateName == name {
		return nil
	}
	if _, err := c.findCertificate(ctx, name); err != nil {
		return fmt.Errorf("%w; the Identity Provider cannot be pointed at it", err)
	}
	var rec bytes.Buffer
	rec.WriteString(`<metadata xsi:type="IdentityProviderSettings">`)
	element(&rec, "fullName", identityProviderFullName)
	element(&rec, "certificateName", name)
	element(&rec, "enableIdentityProvider", boolText(cur.Enabled))
	rec.WriteString(`</metadata>`)
	return c.writeChecked(ctx, "updateMetadata IdentityProviderSettings", func() error {
		return c.updateMetadata(ctx, "IdentityProviderSettings", rec.Bytes())
	}, func() (bool, error) {
		now, err := c.IdentityProvider(ctx)
		if err != nil {
			return false, err
		}
		return now.CertificateName == name, nil
	})
}
