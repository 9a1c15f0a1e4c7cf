package awsidp

import (
	"fmt"
	"regexp"
	"strings"
)

// Partition is an AWS partition: the first field of an ARN after "arn:". Each
// partition has its own sign-in host, which is where SAML responses are posted
// and what IAM expects as their Recipient and audience.
type Partition string

// The partitions awsidp knows. Others are refused rather than guessed at.
const (
	PartitionAWS   Partition = "aws"        // commercial regions
	PartitionUSGov Partition = "aws-us-gov" // AWS GovCloud (US)
	PartitionChina Partition = "aws-cn"     // the China regions
)

var signInHosts = map[Partition]string{
	PartitionAWS:   "signin.aws.amazon.com",
	PartitionUSGov: "signin.amazonaws-us-gov.com",
	PartitionChina: "signin.amazonaws.cn",
}

// Known reports whether p is one of the partitions awsidp knows.
func (p Partition) Known() bool {
	_, ok := signInHosts[p]
	return ok
}

// SignInHost returns the partition's AWS sign-in host, for example
// "signin.aws.amazon.com", or "" for an unknown partition.
func (p Partition) SignInHost() string { return signInHosts[p] }

// SAMLEndpoint returns the URL an identity provider posts SAML responses to in
// this partition, for example "https://signin.aws.amazon.com/saml". IAM expects
// it as the Recipient of the assertion's SubjectConfirmationData. It returns ""
// for an unknown partition.
func (p Partition) SAMLEndpoint() string {
	if !p.Known() {
		return ""
	}
	return "https://" + p.SignInHost() + "/saml"
}

// Audience returns the SAML audience IAM accepts in this partition: the
// partition's SAML endpoint. (IAM also accepts "urn:amazon:webservices" in the
// commercial partition.) It returns "" for an unknown partition.
func (p Partition) Audience() string { return p.SAMLEndpoint() }

// PartitionForRegion returns the partition that holds region: "us-gov-…"
// regions are in aws-us-gov, "cn-…" regions in aws-cn, the rest in aws.
func PartitionForRegion(region string) Partition {
	switch {
	case strings.HasPrefix(region, "us-gov-"):
		return PartitionUSGov
	case strings.HasPrefix(region, "cn-"):
		return PartitionChina
	default:
		return PartitionAWS
	}
}

// Resource types of the IAM ARNs awsidp handles.
const (
	ResourceSAMLProvider = "saml-provider"
	ResourceRole         = "role"
)

// ARN is a parsed IAM ARN of a SAML provider or a role, such as
// "arn:aws:iam::123456789012:saml-provider/SalesforceServiceVoiceIdp" or
// "arn:aws-us-gov:iam::123456789012:role/path/Name-SAMLRole". IAM ARNs have no
// region.
type ARN struct {
	Partition    Partition
	AccountID    string // 12 digits
	ResourceType string // ResourceSAMLProvider or ResourceRole
	Path         string // roles only: "/" or "/a/b/"; empty for a SAML provider
	Name         string
}

var (
	accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)
	// IAM names: alphanumerics and _+=,.@- (the IAM API reference's [\w+=,.@-]).
	providerNamePattern = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
	roleNamePattern     = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	pathPattern         = regexp.MustCompile(`^/([\w+=,.@-]+/)*$`)
)

// ParseARN parses an IAM ARN of a SAML provider or a role in a known
// partition. Anything else (another service, a region, an unknown partition,
// a malformed account ID or name) is an error that names the problem.
func ParseARN(s string) (ARN, error) {
	fail := func(why string) (ARN, error) {
		return ARN{}, fmt.Errorf("awsidp: %q is not an IAM SAML provider or role ARN: %s", s, why)
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return fail(`want "arn:PARTITION:iam::ACCOUNT:saml-provider/NAME" or "…:role/NAME"`)
	}
	a := ARN{Partition: Partition(parts[1]), AccountID: parts[4]}
	switch {
	case !a.Partition.Known():
		return fail(fmt.Sprintf("unknown partition %q (want aws, aws-us-gov or aws-cn)", parts[1]))
	case parts[2] != "iam":
		return fail(fmt.Sprintf("service is %q, not iam", parts[2]))
	case parts[3] != "":
		return fail("IAM ARNs have no region")
	case !accountIDPattern.MatchString(a.AccountID):
		return fail("the account ID must be 12 digits")
	}
	resource := parts[5]
	switch {
	case strings.HasPrefix(resource, ResourceSAMLProvider+"/"):
		a.ResourceType = ResourceSAMLProvider
		a.Name = strings.TrimPrefix(resource, ResourceSAMLProvider+"/")
		if !providerNamePattern.MatchString(a.Name) {
			return fail("a SAML provider name is 1 to 128 characters of letters, digits and _+=,.@-")
		}
	case strings.HasPrefix(resource, ResourceRole+"/"):
		a.ResourceType = ResourceRole
		rest := strings.TrimPrefix(resource, ResourceRole)
		i := strings.LastIndex(rest, "/")
		a.Path, a.Name = rest[:i+1], rest[i+1:]
		if !pathPattern.MatchString(a.Path) {
			return fail("malformed role path")
		}
		if !roleNamePattern.MatchString(a.Name) {
			return fail("a role name is 1 to 64 characters of letters, digits and _+=,.@-")
		}
	default:
		return fail(`the resource must be "saml-provider/NAME" or "role/NAME"`)
	}
	return a, nil
}

// ParseProviderARN parses s as the ARN of an IAM SAML provider.
func ParseProviderARN(s string) (ARN, error) {
	a, err := ParseARN(s)
	if err != nil {
		return ARN{}, err
	}
	if a.ResourceType != ResourceSAMLProvider {
		return ARN{}, fmt.Errorf("awsidp: %q is a %s ARN, not a saml-provider ARN", s, a.ResourceType)
	}
	return a, nil
}

// ProviderARN returns the ARN of the SAML provider called name in an account.
func ProviderARN(p Partition, accountID, name string) ARN {
	return ARN{Partition: p, AccountID: accountID, ResourceType: ResourceSAMLProvider, Name: name}
}

// String formats a as an ARN; it is the inverse of [ParseARN].
func (a ARN) String() string {
	resource := a.ResourceType + "/" + a.Name
	if a.ResourceType == ResourceRole {
		path := a.Path
		if path == "" {
			path = "/"
		}
		resource = a.ResourceType + path + a.Name
	}
	return "arn:" + string(a.Partition) + ":iam::" + a.AccountID + ":" + resource
}
