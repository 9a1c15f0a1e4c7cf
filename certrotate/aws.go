package certrotate

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/voicecert/voicecert/awsidp"
)

// AWSClients are the AWS API clients of one account, usually *iam.Client and
// *sts.Client built from the caller's aws.Config (iam.NewFromConfig,
// sts.NewFromConfig). STS may use anonymous credentials: AssumeRoleWithSAML is
// unsigned.
type AWSClients struct {
	IAM awsidp.IAMAPI
	STS awsidp.STSAPI
}

// awsCounts counts AWS calls for the report: UpdateSAMLProvider is the only write.
type awsCounts struct {
	reads, writes atomic.Int64
}

// countingIAM counts the calls it passes on.
type countingIAM struct {
	awsidp.IAMAPI
	n *awsCounts
}

func (c countingIAM) ListSAMLProviders(ctx context.Context, in *iam.ListSAMLProvidersInput, opts ...func(*iam.Options)) (*iam.ListSAMLProvidersOutput, error) {
	c.n.reads.Add(1)
	return c.IAMAPI.ListSAMLProviders(ctx, in, opts...)
}

func (c countingIAM) GetSAMLProvider(ctx context.Context, in *iam.GetSAMLProviderInput, opts ...func(*iam.Options)) (*iam.GetSAMLProviderOutput, error) {
	c.n.reads.Add(1)
	return c.IAMAPI.GetSAMLProvider(ctx, in, opts...)
}

func (c countingIAM) UpdateSAMLProvider(ctx context.Context, in *iam.UpdateSAMLProviderInput, opts ...func(*iam.Options)) (*iam.UpdateSAMLProviderOutput, error) {
	c.n.writes.Add(1)
	return c.IAMAPI.UpdateSAMLProvider(ctx, in, opts...)
}

// countingSTS counts AssumeRoleWithSAML as a read (DESIGN §3).
type countingSTS struct {
	awsidp.STSAPI
	n *awsCounts
}

func (c countingSTS) AssumeRoleWithSAML(ctx context.Context, in *sts.AssumeRoleWithSAMLInput, opts ...func(*sts.Options)) (*sts.AssumeRoleWithSAMLOutput, error) {
	c.n.reads.Add(1)
	return c.STSAPI.AssumeRoleWithSAML(ctx, in, opts...)
}

// account is one AWS account's clients, wrapped for counting.
type account struct {
	idp *awsidp.Client
	sts awsidp.STSAPI
}

// accounts gives the clients per (partition, account), asking Config.AWS once each.
type accounts struct {
	cfg *Config
	n   awsCounts

	mu   sync.Mutex
	byID map[string]*account
}

func (a *accounts) get(ctx context.Context, partition, accountID string) (*account, error) {
	key := partition + ":" + accountID
	a.mu.Lock()
	defer a.mu.Unlock()
	if acc := a.byID[key]; acc != nil {
		return acc, nil
	}
	cl, err := a.cfg.AWS(ctx, partition, accountID)
	if err != nil {
		return nil, fmt.Errorf("certrotate: AWS clients for account %s (%s): %w", accountID, partition, err)
	}
	if cl == nil || cl.IAM == nil || cl.STS == nil {
		return nil, fmt.Errorf("certrotate: Config.AWS returned no IAM or STS client for account %s (%s)", accountID, partition)
	}
	acc := &account{
		idp: &awsidp.Client{IAM: countingIAM{cl.IAM, &a.n}, Logger: a.cfg.Logger, Now: a.cfg.Now},
		sts: countingSTS{cl.STS, &a.n},
	}
	if a.byID == nil {
		a.byID = map[string]*account{}
	}
	a.byID[key] = acc
	return acc, nil
}

// forProvider returns the clients of the account that owns the provider arn.
func (a *accounts) forProvider(ctx context.Context, arn string) (*account, error) {
	parsed, err := awsidp.ParseProviderARN(arn)
	if err != nil {
		return nil, err
	}
	return a.get(ctx, string(parsed.Partition), parsed.AccountID)
}
