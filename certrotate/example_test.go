package certrotate_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/voicecert/voicecert/awsidp"
	"github.com/voicecert/voicecert/awsidp/iamtest"
	"github.com/voicecert/voicecert/certrotate"
	"github.com/voicecert/voicecert/internal/fakeclock"
	"github.com/voicecert/voicecert/salesforce"
	"github.com/voicecert/voicecert/salesforce/sftest"
)

// Example rotates the certificate of one contact center whose certificate
// expires in ten days, against the fake Salesforce org and the fake IAM + STS
// (on one fake clock, so the prune grace passes at once).
func Example() {
	ctx := context.Background()
	clock := fakeclock.New(time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC))

	// A fake org with one Amazon Connect contact center.
	sf, err := sftest.Start(sftest.Config{Now: clock.Now, Sleep: clock.Sleep, Orgs: []sftest.OrgConfig{{
		Certificates: []sftest.CertificateConfig{{
			DeveloperName: "SelfSignedCert_2025", ExpiresAt: clock.Now().Add(10 * 24 * time.Hour),
		}},
		ContactCenters: []sftest.ContactCenterConfig{{InternalName: "Support"}},
	}}})
	if err != nil {
		log.Fatal(err)
	}
	defer sf.Close()
	org := sf.DefaultOrg()
	token, err := org.IssueToken(org.Username())
	if err != nil {
		log.Fatal(err)
	}
	client, err := salesforce.New(salesforce.Config{
		InstanceURL: org.InstanceURL(), Auth: salesforce.StaticToken{AccessToken: token},
		Now: clock.Now, Sleep: clock.Sleep,
	})
	if err != nil {
		log.Fatal(err)
	}

	// A fake AWS account whose SAML provider trusts the org's IdP metadata.
	metadata, err := client.IdPMetadata(ctx)
	if err != nil {
		log.Fatal(err)
	}
	iamSrv, err := iamtest.Start(iamtest.Config{Now: clock.Now, Sleep: clock.Sleep, Accounts: []iamtest.Account{{
		ID:         sftest.DefaultAccountID,
		AccessKeys: []iamtest.AccessKey{{ID: iamtest.DefaultAccessKeyID, Secret: iamtest.DefaultSecretAccessKey}},
		Providers:  []iamtest.Provider{{Name: awsidp.DefaultProviderName, Document: metadata}},
		Roles:      []iamtest.Role{{Name: "Support-SAMLRole"}},
	}}})
	if err != nil {
		log.Fatal(err)
	}
	defer iamSrv.Close()
	awsConfig := aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(iamSrv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(iamtest.DefaultAccessKeyID, iamtest.DefaultSecretAccessKey, ""),
	}

	cfg := certrotate.Config{
		Orgs: []*salesforce.Client{client},
		AWS: func(ctx context.Context, partition, accountID string) (*certrotate.AWSClients, error) {
			return &certrotate.AWSClients{IAM: iam.NewFromConfig(awsConfig), STS: sts.NewFromConfig(awsConfig)}, nil
		},
		KeySize: 2048,
		Now:     clock.Now,
		Sleep:   clock.Sleep,
		OnEvent: func(ev certrotate.Event) {
			if ev.Kind != certrotate.EventPlanned && ev.Kind != certrotate.EventStarted {
				fmt.Printf("%-8s %s\n", ev.Kind, ev.Step)
			}
		},
	}
	plan, err := certrotate.Build(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(plan.Changed())
	report, err := plan.Apply(ctx)
	if err != nil {
		log.Fatal(err)
	}
	cc := report.ContactCenters[0]
	fmt.Println(report.Outcome, cc.Name, cc.NewCertificate.Name, cc.Verification, cc.SSOUnavailableMS)
	// Output:
	// true
	// applied  salesforce/create-certificate
	// applied  aws/add-certificate
	// applied  salesforce/switch-identity-provider
	// applied  salesforce/switch-connected-app
	// applied  aws/remove-old-certificate
	// applied Support VoiceCert_20261203_170000 sso-probe 0
}
