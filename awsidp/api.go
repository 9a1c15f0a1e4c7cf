package awsidp

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// IAMAPI is the part of the IAM API that awsidp calls. *iam.Client satisfies it;
// build one from your own aws.Config with iam.NewFromConfig. The method set is
// deliberately small: awsidp reads providers and writes metadata documents,
// nothing else (it never creates or deletes a provider, and never sends
// AssertionEncryptionMode or private keys).
type IAMAPI interface {
	ListSAMLProviders(ctx context.Context, params *iam.ListSAMLProvidersInput, optFns ...func(*iam.Options)) (*iam.ListSAMLProvidersOutput, error)
	GetSAMLProvider(ctx context.Context, params *iam.GetSAMLProviderInput, optFns ...func(*iam.Options)) (*iam.GetSAMLProviderOutput, error)
	UpdateSAMLProvider(ctx context.Context, params *iam.UpdateSAMLProviderInput, optFns ...func(*iam.Options)) (*iam.UpdateSAMLProviderOutput, error)
}

// STSAPI is the part of the STS API that the SSO probe calls. *sts.Client
// satisfies it. AssumeRoleWithSAML needs no AWS credentials: the SDK sends it
// unsigned, so the client can be built with aws.AnonymousCredentials.
type STSAPI interface {
	AssumeRoleWithSAML(ctx context.Context, params *sts.AssumeRoleWithSAMLInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleWithSAMLOutput, error)
}

// The SDK clients must keep satisfying the interfaces above.
var (
	_ IAMAPI = (*iam.Client)(nil)
	_ STSAPI = (*sts.Client)(nil)
)
