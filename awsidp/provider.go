package awsidp

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/voicecert/voicecert/samlmeta"
)

// Provider is an IAM SAML provider as read with GetSAMLProvider.
//
// It deliberately has no ValidUntil: IAM sets that to about 100 years after
// the provider was created, and it says nothing about the certificates. Their
// expiry is each certificate's NotAfter, in Entities.
type Provider struct {
	ARN        string
	UUID       string    // SAMLProviderUUID, used in the per-provider ACS URL
	CreateDate time.Time // when the provider was created
	Document   []byte    // SAMLMetadataDocument exactly as IAM returned it

	// Parsed is the parsed Document, nil when it does not parse (ParseError
	// then says why; the provider can still be restored from Document).
	Parsed     *samlmeta.Document
	ParseError error

	// Entities lists, per entityID in document order, the signing certificates
	// an SP trusts (KeyDescriptor use="signing" or without use), with their
	// expiry (Certificate.NotAfter). Empty when the document does not parse.
	Entities []Entity
}

// Entity is one EntityDescriptor of a provider's document: one identity
// provider (for Salesforce, one org, whose entityID is its issuer).
type Entity struct {
	EntityID     string
	Certificates []*samlmeta.Certificate // signing certificates, in document order
}

// Entity returns the entity with the given entityID, or nil.
func (p *Provider) Entity(entityID string) *Entity {
	for i := range p.Entities {
		if p.Entities[i].EntityID == entityID {
			return &p.Entities[i]
		}
	}
	return nil
}

// Trusts reports whether the entity has a signing certificate with the given
// SHA-256 fingerprint (lowercase hex).
func (e *Entity) Trusts(sha256 string) bool {
	for _, c := range e.Certificates {
		if c.SHA256 == sha256 {
			return true
		}
	}
	return false
}

// Provider reads the SAML provider with the given ARN.
func (c *Client) Provider(ctx context.Context, arn string) (*Provider, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if _, err := ParseProviderARN(arn); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	out, err := c.get(ctx, arn)
	if err != nil {
		return nil, err
	}
	p := &Provider{
		ARN:        arn,
		UUID:       aws.ToString(out.SAMLProviderUUID),
		CreateDate: aws.ToTime(out.CreateDate),
		Document:   []byte(aws.ToString(out.SAMLMetadataDocument)),
	}
	p.Parsed, p.ParseError = samlmeta.Parse(p.Document)
	if p.ParseError != nil {
		c.logger().WarnContext(ctx, "awsidp: the provider's document does not parse", "arn", arn, "error", p.ParseError)
		return p, nil
	}
	for _, e := range p.Parsed.Entities {
		p.Entities = append(p.Entities, Entity{EntityID: e.EntityID, Certificates: e.SigningCertificates()})
	}
	return p, nil
}

// get calls GetSAMLProvider and maps its error.
func (c *Client) get(ctx context.Context, arn string) (*iam.GetSAMLProviderOutput, error) {
	out, err := c.IAM.GetSAMLProvider(ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: aws.String(arn)}, withoutQuotaRetry)
	if err != nil {
		return nil, awsError("IAM", "GetSAMLProvider", err, iamKind("GetSAMLProvider"))
	}
	c.logger().DebugContext(ctx, "awsidp: read SAML provider", "arn", arn, "bytes", len(aws.ToString(out.SAMLMetadataDocument)))
	return out, nil
}

// document reads the provider's current document.
func (c *Client) document(ctx context.Context, arn string) ([]byte, error) {
	out, err := c.get(ctx, arn)
	if err != nil {
		return nil, err
	}
	return []byte(aws.ToString(out.SAMLMetadataDocument)), nil
}
