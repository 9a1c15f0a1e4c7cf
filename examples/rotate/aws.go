package main

import (
	"context"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// roleSessionName names the sessions the CLI opens with --aws-role-arn-template,
// so that CloudTrail shows who changed the provider.
const roleSessionName = "voicecert-rotate"

// loadAWS loads the AWS configuration from the SDK's standard chain (profiles,
// environment, instance roles). The variables the CLI is given (the process
// environment, or a test's) take precedence for the region, profile, endpoint
// and static keys, so that exporting the env of 'rotate sim' is enough.
func loadAWS(ctx context.Context, getenv env) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if v := getenv("AWS_REGION"); v != "" {
		opts = append(opts, config.WithRegion(v))
	}
	if v := getenv("AWS_CONFIG_FILE"); v != "" {
		opts = append(opts, config.WithSharedConfigFiles([]string{v}))
	}
	if v := getenv("AWS_SHARED_CREDENTIALS_FILE"); v != "" {
		opts = append(opts, config.WithSharedCredentialsFiles([]string{v}))
	}
	if v := getenv("AWS_PROFILE"); v != "" {
		opts = append(opts, config.WithSharedConfigProfile(v))
	}
	if v := getenv("AWS_ENDPOINT_URL"); v != "" {
		if err := checkServiceURL("AWS_ENDPOINT_URL", v); err != nil {
			return aws.Config{}, err
		}
		opts = append(opts, config.WithBaseEndpoint(v))
	}
	if id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, refused("loading the AWS configuration: %v; check AWS_PROFILE and ~/.aws/config", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, refused("no AWS region: set AWS_REGION (IAM is global: any region of your partition, e.g. us-east-1)")
	}
	return cfg, nil
}

// awsAccounts gives the IAM and STS clients of each AWS account: the loaded
// configuration's own, or, with a role ARN template, a role assumed into the
// account for the IAM calls.
type awsAccounts struct {
	base aws.Config
	// roleARNTemplate holds {account} and optionally {partition}; empty means
	// every account is reached with the base credentials.
	roleARNTemplate string
}

// roleARN returns the role to assume into account, "" without a template.
func (a *awsAccounts) roleARN(partition, account string) string {
	if a.roleARNTemplate == "" {
		return ""
	}
	return strings.NewReplacer("{account}", account, "{partition}", partition).Replace(a.roleARNTemplate)
}

// clients returns the IAM and STS clients for account in partition. STS serves
// the SSO probe (AssumeRoleWithSAML), which is unsigned and needs no role.
func (a *awsAccounts) clients(partition, account string) (*iam.Client, *sts.Client) {
	stsClient := sts.NewFromConfig(a.base)
	cfg := a.base.Copy()
	if role := a.roleARN(partition, account); role != "" {
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, role,
			func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = roleSessionName }))
	}
	return iam.NewFromConfig(cfg), stsClient
}

// checkServiceURL accepts https URLs, and http URLs on loopback (the simulator).
func checkServiceURL(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return refused("%s %q is not a URL; give https://HOST", name, raw)
	}
	if err := allowedURL(u); err != nil {
		return refused("%s %s: %w", name, redactURL(u), err)
	}
	return nil
}
