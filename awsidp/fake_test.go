package awsidp

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// fakeIAM is an in-memory IAMAPI for unit tests: providers by ARN, a call log,
// injected errors and a hook that runs before each call (to change a document
// behind a plan's back).
type fakeIAM struct {
	mu        sync.Mutex
	docs      map[string]string // ARN -> document
	created   time.Time
	calls     []string // operation names, in order
	updates   []*iam.UpdateSAMLProviderInput
	fail      map[string]error    // operation -> error to return
	before    func(op string)     // runs before each call, unlocked
	transform func(string) string // applied to documents on write (to simulate IAM rewriting)
}

func newFakeIAM(docs map[string]string) *fakeIAM {
	f := &fakeIAM{docs: map[string]string{}, fail: map[string]error{},
		created: time.Date(2025, 12, 22, 8, 14, 52, 0, time.UTC)}
	for k, v := range docs {
		f.docs[k] = v
	}
	return f
}

func (f *fakeIAM) start(op string) error {
	if f.before != nil {
		f.before(op)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, op)
	return f.fail[op]
}

func (f *fakeIAM) setDoc(arn, doc string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.docs[arn] = doc
}

func (f *fakeIAM) doc(arn string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.docs[arn]
}

func (f *fakeIAM) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeIAM) writes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.updates)
}

func (f *fakeIAM) ListSAMLProviders(ctx context.Context, in *iam.ListSAMLProvidersInput, _ ...func(*iam.Options)) (*iam.ListSAMLProvidersOutput, error) {
	if err := f.start("ListSAMLProviders"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &iam.ListSAMLProvidersOutput{}
	for arn := range f.docs {
		out.SAMLProviderList = append(out.SAMLProviderList, iamtypes.SAMLProviderListEntry{
			Arn: aws.String(arn), CreateDate: aws.Time(f.created), ValidUntil: aws.Time(f.created.AddDate(100, 0, 0)),
		})
	}
	return out, nil
}

func (f *fakeIAM) GetSAMLProvider(ctx context.Context, in *iam.GetSAMLProviderInput, _ ...func(*iam.Options)) (*iam.GetSAMLProviderOutput, error) {
	if err := f.start("GetSAMLProvider"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	doc, ok := f.docs[aws.ToString(in.SAMLProviderArn)]
	if !ok {
		return nil, apiError("GetSAMLProvider", 404, &iamtypes.NoSuchEntityException{Message: aws.String("SAML provider not found")})
	}
	return &iam.GetSAMLProviderOutput{
		SAMLMetadataDocument:    aws.String(doc),
		CreateDate:              aws.Time(f.created),
		ValidUntil:              aws.Time(f.created.AddDate(100, 0, 0)),
		SAMLProviderUUID:        aws.String("SAMLSPEXAMPLE0123456789"),
		AssertionEncryptionMode: iamtypes.AssertionEncryptionModeTypeAllowed,
	}, nil
}

func (f *fakeIAM) UpdateSAMLProvider(ctx context.Context, in *iam.UpdateSAMLProviderInput, _ ...func(*iam.Options)) (*iam.UpdateSAMLProviderOutput, error) {
	if err := f.start("UpdateSAMLProvider"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := aws.ToString(in.SAMLProviderArn)
	if _, ok := f.docs[arn]; !ok {
		return nil, apiError("UpdateSAMLProvider", 404, &iamtypes.NoSuchEntityException{Message: aws.String("SAML provider not found")})
	}
	f.updates = append(f.updates, in)
	doc := aws.ToString(in.SAMLMetadataDocument)
	if f.transform != nil {
		doc = f.transform(doc)
	}
	f.docs[arn] = doc
	return &iam.UpdateSAMLProviderOutput{SAMLProviderArn: aws.String(arn)}, nil
}

// apiError wraps an API error the way the SDK does: an OperationError around
// an awshttp.ResponseError carrying the HTTP status and request ID.
func apiError(op string, status int, err error) error {
	return &smithy.OperationError{
		ServiceID:     "IAM",
		OperationName: op,
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
				Err:      err,
			},
			RequestID: "3a8a2d33-0000-4000-8000-000000000001",
		},
	}
}
