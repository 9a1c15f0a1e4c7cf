package salesforce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/voicecert/voicecert/samlmeta"
)

// MaxMetadataSize caps the IdP metadata document, in bytes: the largest document
// IAM accepts, as package samlmeta enforces it.
const MaxMetadataSize = samlmeta.MaxDocumentSize

// IdPMetadata downloads the org's SAML IdP metadata from
// {instance}/.well-known/samlidp.xml. The document is public: no credentials are
// sent, redirects are followed only on the same host, and it is capped at
// [MaxMetadataSize]. The bytes are returned as served; parsing them and deciding what
// to trust is the caller's job (package samlmeta).
func (c *Client) IdPMetadata(ctx context.Context) ([]byte, error) {
	s, err := c.session(ctx)
	if err != nil {
		return nil, err
	}
	hc := sameHostClient(c.hc, s.base.Host, nil)
	body, err := c.do(ctx, call{op: "IdP metadata", maxBody: MaxMetadataSize, client: hc,
		build: func(s *session) (*http.Request, error) {
			req, err := http.NewRequest(http.MethodGet, s.resolve("/.well-known/samlidp.xml", nil), nil)
			if err != nil {
				return nil, fmt.Errorf("salesforce: building a request: %w", err)
			}
			req.Header.Set("Accept", "application/samlmetadata+xml, application/xml, text/xml")
			return req, nil
		}})
	if err != nil {
		return nil, err
	}
	if !strings.Contains(string(body[:min(len(body), 4096)]), "EntityDescriptor") {
		return nil, errors.New("salesforce: /.well-known/samlidp.xml is not SAML metadata: is the Identity Provider enabled?")
	}
	return body, nil
}

// errOtherHost is returned by redirects to another host.
var errOtherHost = errors.New("redirect to another host refused")

// sameHostClient returns a copy of hc that follows redirects only to host (at most
// ten), keeping cookies in jar when it is not nil.
func sameHostClient(hc *http.Client, host string, jar http.CookieJar) *http.Client {
	cp := *hc
	cp.Jar = jar
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("too many redirects")
		}
		if !strings.EqualFold(req.URL.Host, host) {
			return fmt.Errorf("%w: %s", errOtherHost, req.URL.Host)
		}
		if err := checkScheme(req.URL); err != nil {
			return err
		}
		return nil
	}
	return &cp
}
