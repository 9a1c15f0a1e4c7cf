package iamtest_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/voicecert/voicecert/awsidp/iamtest"
	"github.com/voicecert/voicecert/internal/fakeclock"
	"github.com/voicecert/voicecert/samlmeta"
)

// apiError returns the wire code, HTTP status and request ID of an SDK error.
func apiError(t *testing.T, err error) (code string, status int, requestID string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an API error", err)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status, requestID = re.HTTPStatusCode(), re.ServiceRequestID()
	}
	return ae.ErrorCode(), status, requestID
}

func TestSAMLProviderLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := fakeclock.New(t0)
	srv := iamtest.NewServer(t, iamtest.WithClock(clock.Now, clock.Sleep))
	client, _ := defaultClients(srv)
	s1, s2 := newSigner(t, "one"), newSigner(t, "two")
	doc := metadata(orgIssuer, s1.cert)

	created, err := client.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{
		Name:                 aws.String("SalesforceServiceVoiceIdp"),
		SAMLMetadataDocument: aws.String(string(doc)),
		Tags:                 []types.Tag{{Key: aws.String("team"), Value: aws.String("voice")}, {Key: aws.String("app"), Value: aws.String("scv")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:iam::123456789012:saml-provider/SalesforceServiceVoiceIdp"
	if diff := cmp.Diff(arn, aws.ToString(created.SAMLProviderArn)); diff != "" {
		t.Errorf("CreateSAMLProvider ARN (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"app", "team"}, tagKeys(created.Tags)); diff != "" {
		t.Errorf("CreateSAMLProvider tags, sorted by key (-want +got):\n%s", diff)
	}

	clock.Advance(time.Hour)
	list, err := client.ListSAMLProviders(ctx, &iam.ListSAMLProvidersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.SAMLProviderList) != 1 {
		t.Fatalf("ListSAMLProviders = %d providers, want 1", len(list.SAMLProviderList))
	}
	entry := list.SAMLProviderList[0]
	if got := aws.ToString(entry.Arn); got != arn {
		t.Errorf("listed ARN = %s, want %s", got, arn)
	}
	if !aws.ToTime(entry.CreateDate).Equal(t0) || !aws.ToTime(entry.ValidUntil).Equal(t0.AddDate(100, 0, 0)) {
		t.Errorf("listed CreateDate, ValidUntil = %v, %v; want %v and 100 years later", entry.CreateDate, entry.ValidUntil, t0)
	}

	got, err := client.GetSAMLProvider(ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(doc), aws.ToString(got.SAMLMetadataDocument)); diff != "" {
		t.Errorf("GetSAMLProvider document, byte for byte (-want +got):\n%s", diff)
	}
	if uuid := aws.ToString(got.SAMLProviderUUID); !strings.HasPrefix(uuid, "SAMLSP") || len(uuid) != 22 {
		t.Errorf("SAMLProviderUUID = %q, want SAMLSP + 16 characters", uuid)
	}
	if !aws.ToTime(got.CreateDate).Equal(t0) || !aws.ToTime(got.ValidUntil).Equal(t0.AddDate(100, 0, 0)) {
		t.Errorf("CreateDate, ValidUntil = %v, %v; want %v and 100 years later", got.CreateDate, got.ValidUntil, t0)
	}
	if got.AssertionEncryptionMode != types.AssertionEncryptionModeTypeAllowed {
		t.Errorf("AssertionEncryptionMode = %q, want Allowed", got.AssertionEncryptionMode)
	}
	if diff := cmp.Diff([]string{"app", "team"}, tagKeys(got.Tags)); diff != "" {
		t.Errorf("GetSAMLProvider tags (-want +got):\n%s", diff)
	}

	// Update: metadata only; the document comes back as sent.
	doc2 := metadata(orgIssuer, s1.cert, s2.cert)
	upd, err := client.UpdateSAMLProvider(ctx, &iam.UpdateSAMLProviderInput{SAMLProviderArn: aws.String(arn), SAMLMetadataDocument: aws.String(string(doc2))})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(upd.SAMLProviderArn) != arn {
		t.Errorf("UpdateSAMLProvider ARN = %s, want %s", aws.ToString(upd.SAMLProviderArn), arn)
	}
	got, err = client.GetSAMLProvider(ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(doc2), aws.ToString(got.SAMLMetadataDocument)); diff != "" {
		t.Errorf("document after update (-want +got):\n%s", diff)
	}
	_, err = client.UpdateSAMLProvider(ctx, &iam.UpdateSAMLProviderInput{SAMLProviderArn: aws.String(arn)})
	if code, status, _ := apiError(t, err); code != "InvalidInput" || status != 400 {
		t.Errorf("update without a document = %s %d, want InvalidInput 400", code, status)
	}

	// Tags.
	if _, err := client.TagSAMLProvider(ctx, &iam.TagSAMLProviderInput{SAMLProviderArn: aws.String(arn), Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.UntagSAMLProvider(ctx, &iam.UntagSAMLProviderInput{SAMLProviderArn: aws.String(arn), TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := client.ListSAMLProviderTags(ctx, &iam.ListSAMLProviderTagsInput{SAMLProviderArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"app", "env"}, tagKeys(tags.Tags)); diff != "" {
		t.Errorf("tags after tag and untag (-want +got):\n%s", diff)
	}

	// Create twice: EntityAlreadyExists.
	_, err = client.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{Name: aws.String("SalesforceServiceVoiceIdp"), SAMLMetadataDocument: aws.String(string(doc))})
	var exists *types.EntityAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Errorf("second create = %v, want EntityAlreadyExists", err)
	}

	if _, err := client.DeleteSAMLProvider(ctx, &iam.DeleteSAMLProviderInput{SAMLProviderArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	_, err = client.GetSAMLProvider(ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: aws.String(arn)})
	var nse *types.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Fatalf("get after delete = %v, want NoSuchEntity", err)
	}
	if code, status, requestID := apiError(t, err); code != "NoSuchEntity" || status != 404 || requestID == "" {
		t.Errorf("get after delete = %s %d request ID %q, want NoSuchEntity 404 with a request ID", code, status, requestID)
	}

	var ops []string
	for _, r := range srv.Requests() {
		if r.Write {
			ops = append(ops, r.Operation)
		}
	}
	want := []string{"CreateSAMLProvider", "UpdateSAMLProvider", "UpdateSAMLProvider", "TagSAMLProvider", "UntagSAMLProvider", "CreateSAMLProvider", "DeleteSAMLProvider"}
	if diff := cmp.Diff(want, ops); diff != "" {
		t.Errorf("requests marked as writes (-want +got):\n%s", diff)
	}
	if n := len(srv.Writes()); n != 5 {
		t.Errorf("successful writes = %d, want 5", n)
	}
}

func tagKeys(tags []types.Tag) []string {
	var out []string
	for _, t := range tags {
		out = append(out, aws.ToString(t.Key))
	}
	return out
}

// readCert reads a PEM certificate from testdata.
func readCert(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no PEM block", name)
	}
	return block.Bytes
}

// metadataCase is a document and IAM's verdict on it.
type metadataCase struct {
	name     string
	doc      []byte
	wantCode string // "" accepted
	detail   string // substring of the request log's Detail
}

// metadataCases covers each metadata rule IAM enforces, accepted and refused.
func metadataCases(t *testing.T) []metadataCase {
	good := newSigner(t, "good")
	k1024 := key(t, 1024)
	cert1024 := selfSigned(t, k1024, "1024-bit", t0, t0.AddDate(1, 0, 0))
	subjectKeyID := asn1.ObjectIdentifier{2, 5, 29, 14}
	dupExt := selfSigned(t, key(t, 2048), "repeated extension", t0, t0.AddDate(1, 0, 0),
		pkix.Extension{Id: subjectKeyID, Value: []byte{4, 2, 1, 2}},
		pkix.Extension{Id: subjectKeyID, Value: []byte{4, 2, 1, 2}})
	rsa512 := readCert(t, "rsa512-cert.pem")
	rsa1016 := readCert(t, "rsa1016-cert.pem")
	withDER := func(der []byte) []byte {
		return []byte(strings.Replace(string(metadata(orgIssuer, good.cert)),
			encodeB64(good.cert.Raw), encodeB64(der), 1))
	}
	valid := metadata(orgIssuer, good.cert)
	// manyKeys adds n more KeyDescriptors to the valid document.
	manyKeys := func(n int) []byte {
		var b strings.Builder
		for range n {
			b.WriteString(`<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + encodeB64(good.cert.Raw) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`)
		}
		return []byte(strings.Replace(string(valid), "<md:NameIDFormat>", b.String()+"<md:NameIDFormat>", 1))
	}
	// padded is a certificate-less document (IAM requires no certificate) padded
	// with a comment to n characters.
	padded := func(n int) []byte {
		bare := string(metadata(orgIssuer))
		pad := n - len(bare) - len("<!---->\n")
		return []byte(strings.Replace(bare, "\n<md:", "\n<!--"+strings.Repeat("x", pad)+"-->\n<md:", 1))
	}

	return []metadataCase{
		{"valid", valid, "", ""},
		{"1024-bit key is accepted", metadata(orgIssuer, cert1024), "", ""},
		{"4096-bit key", metadata(orgIssuer, selfSigned(t, key(t, 4096), "4096", t0, t0.AddDate(1, 0, 0))), "", ""},
		{"two entities", metadataEntities(entityXML(orgIssuer, good.cert), entityXML("https://other.my.salesforce.com", good.cert)), "", ""},
		{"exactly 1000 characters", padded(1000), "", ""},
		{"byte order mark", append([]byte("\uFEFF"), valid...), "InvalidInput", "byte order mark"},
		{"999 characters", padded(999), "InvalidInput", "999 characters"},
		{"text only", []byte(strings.Repeat("not xml ", 200)), "InvalidInput", "no root element"},
		{"not well-formed", []byte("<md:EntityDescriptor>" + strings.Repeat("<a>", 400)), "InvalidInput", "not well-formed"},
		{"not metadata", []byte("<html>" + strings.Repeat("<p>x</p>", 200) + "</html>"), "InvalidInput", "not SAML metadata"},
		{"no entityID", []byte(strings.Replace(string(valid), `entityID="`+orgIssuer+`"`, "", 1)), "InvalidInput", "no entityID"},
		{"DOCTYPE", []byte(strings.Replace(string(valid), "?>\n", "?>\n<!DOCTYPE md:EntityDescriptor>\n", 1)), "InvalidInput", "DOCTYPE"},
		{"certificate not DER", withDER([]byte(strings.Repeat("not a certificate ", 40))), "InvalidInput", "not DER"},
		{"512-bit key", withDER(rsa512), "InvalidInput", "512 bits"},
		{"1016-bit key", withDER(rsa1016), "InvalidInput", "1016 bits"},
		{"repeated extension", withDER(dupExt.Raw), "InvalidInput", "repeats extension 2.5.29.14"},
		{"10 keys", manyKeys(9), "", ""},
		{"11 keys", manyKeys(10), "LimitExceeded", "11 keys"},
		{"samlmeta's 512-bit certificate", withDER(readCert(t, "../../../samlmeta/testdata/weak-key-512.pem")), "InvalidInput", "512 bits"},
		{"samlmeta's repeated basicConstraints", withDER(readCert(t, "../../../samlmeta/testdata/repeated-extension.pem")), "InvalidInput", "repeats extension 2.5.29.19"},
	}
}

// TestAgreesWithSamlmetaCheck compares IAM's verdicts, as this fake models them,
// with samlmeta's pre-upload check (its IAM group), which awsidp runs before every
// write. The two are written apart on purpose; a disagreement means one of them
// models IAM wrongly, or a write that awsidp lets through fails at IAM.
//
// The quotas (10 keys, 10 entities per provider: LimitExceeded here) are left out:
// samlmeta.Check does not model them, so awsidp learns of them from IAM's answer.
func TestAgreesWithSamlmetaCheck(t *testing.T) {
	t.Parallel()
	for _, tt := range metadataCases(t) {
		if tt.wantCode == "LimitExceeded" {
			continue
		}
		iamRefuses := tt.wantCode != ""
		findings := samlmeta.Check(tt.doc, samlmeta.CheckOptions{Now: t0}).InGroup(samlmeta.GroupIAM).Errors()
		if checkRefuses := len(findings) > 0; checkRefuses != iamRefuses {
			t.Errorf("%s: iamtest refuses = %v, samlmeta.Check refuses = %v (%v)", tt.name, iamRefuses, checkRefuses, findings)
		}
	}
}

func TestMetadataRules(t *testing.T) {
	t.Parallel()
	tests := metadataCases(t)
	valid := metadata(orgIssuer, newSigner(t, "existing").cert)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			srv := iamtest.NewServer(t)
			client, _ := defaultClients(srv)
			_, err := client.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{Name: aws.String("P"), SAMLMetadataDocument: aws.String(string(tt.doc))})
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("CreateSAMLProvider = %v, want success (log: %+v)", err, srv.Requests())
				}
				return
			}
			code, status, _ := apiError(t, err)
			wantStatus := map[string]int{"InvalidInput": 400, "LimitExceeded": 409}[tt.wantCode]
			if code != tt.wantCode || status != wantStatus {
				t.Fatalf("CreateSAMLProvider = %s %d (%v), want %s %d", code, status, err, tt.wantCode, wantStatus)
			}
			reqs := srv.Requests()
			if d := reqs[len(reqs)-1].Detail; !strings.Contains(d, tt.detail) {
				t.Errorf("logged detail = %q, want it to mention %q", d, tt.detail)
			}

			// Update is held to the same rules, and the old document stays.
			arn, err := srv.AddProvider(iamtest.DefaultAccountID, iamtest.Provider{Name: "Existing", Document: valid})
			if err != nil {
				t.Fatal(err)
			}
			_, err = client.UpdateSAMLProvider(ctx, &iam.UpdateSAMLProviderInput{SAMLProviderArn: aws.String(arn), SAMLMetadataDocument: aws.String(string(tt.doc))})
			if code, _, _ := apiError(t, err); code != tt.wantCode {
				t.Errorf("UpdateSAMLProvider = %s, want %s", code, tt.wantCode)
			}
			if doc, _ := srv.Document(arn); string(doc) != string(valid) {
				t.Error("a refused update changed the document")
			}
		})
	}
}

// TestMetadataNotUTF8 goes around the SDK, which cannot send invalid UTF-8: its
// form encoder replaces the bad byte.
func TestMetadataNotUTF8(t *testing.T) {
	t.Parallel()
	srv := iamtest.NewServer(t)
	doc := strings.Replace(string(metadata(orgIssuer, newSigner(t, "utf8").cert)), "nameid-format", "nameid\xff-format", 1)
	_, err := srv.AddProvider(iamtest.DefaultAccountID, iamtest.Provider{Name: "P", Document: []byte(doc)})
	if err == nil || !strings.Contains(err.Error(), "not UTF-8") {
		t.Errorf("AddProvider(not UTF-8) = %v, want IAM's refusal naming UTF-8", err)
	}
}

func encodeB64(der []byte) string { return b64(der) }

func TestAuthentication(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := iamtest.NewServer(t)
	tests := []struct {
		name, keyID, secret string
		wantCode            string
	}{
		{"known key", iamtest.DefaultAccessKeyID, iamtest.DefaultSecretAccessKey, ""},
		{"wrong secret", iamtest.DefaultAccessKeyID, "not-the-secret", "SignatureDoesNotMatch"},
		{"unknown key", "AKIAUNKNOWNKEY000000", "secret", "InvalidClientTokenId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, _ := clients(srv, tt.keyID, tt.secret)
			_, err := client.ListSAMLProviders(ctx, &iam.ListSAMLProvidersInput{})
			if tt.wantCode == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if code, status, _ := apiError(t, err); code != tt.wantCode || status != 403 {
				t.Errorf("ListSAMLProviders = %s %d, want %s 403", code, status, tt.wantCode)
			}
		})
	}

	t.Run("scoped to the wrong service", func(t *testing.T) {
		body := "Action=ListSAMLProviders&Version=2010-05-08"
		req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		sum := sha256.Sum256([]byte(body))
		creds := aws.Credentials{AccessKeyID: iamtest.DefaultAccessKeyID, SecretAccessKey: iamtest.DefaultSecretAccessKey}
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "sts", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 403 || !strings.Contains(string(data), "<Code>SignatureDoesNotMatch</Code><Message>Credential should be scoped to correct service: 'iam'. </Message>") {
			t.Errorf("IAM action signed for sts = %d %s, want 403 SignatureDoesNotMatch naming iam", resp.StatusCode, data)
		}

		// The same signer, scoped to iam, passes: the fake's SigV4 matches the SDK's.
		req, _ = http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("IAM action signed for iam = %d, want 200", resp.StatusCode)
		}
	})

	t.Run("body changed after signing", func(t *testing.T) {
		signedBody := "Action=ListSAMLProviders&Version=2010-05-08&Note=aaaa"
		sum := sha256.Sum256([]byte(signedBody))
		req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(signedBody))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		// The signed payload hash travels in a header too, as S3 clients send it.
		req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
		creds := aws.Credentials{AccessKeyID: iamtest.DefaultAccessKeyID, SecretAccessKey: iamtest.DefaultSecretAccessKey}
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		tampered := "Action=ListSAMLProviders&Version=2010-05-08&Note=bbbb" // same length
		req.Body = io.NopCloser(strings.NewReader(tampered))
		req.ContentLength = int64(len(tampered))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 403 || !strings.Contains(string(data), "<Code>SignatureDoesNotMatch</Code>") {
			t.Errorf("tampered body = %d %s, want 403 SignatureDoesNotMatch", resp.StatusCode, data)
		}
	})

	t.Run("GET with a query string", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/?Version=2011-06-15&Action=GetCallerIdentity&Note=a%20b%2A~", nil)
		if err != nil {
			t.Fatal(err)
		}
		creds := aws.Credentials{AccessKeyID: iamtest.DefaultAccessKeyID, SecretAccessKey: iamtest.DefaultSecretAccessKey}
		sum := sha256.Sum256(nil)
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "sts", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(data), "<Account>123456789012</Account>") {
			t.Errorf("signed GET = %d %s, want 200 with the caller's account", resp.StatusCode, data)
		}
	})

	t.Run("unsigned", func(t *testing.T) {
		client := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{}})
		_, err := client.ListSAMLProviders(ctx, &iam.ListSAMLProvidersInput{})
		if code, status, _ := apiError(t, err); code != "MissingAuthenticationToken" || status != 403 {
			t.Errorf("unsigned ListSAMLProviders = %s %d, want MissingAuthenticationToken 403", code, status)
		}
	})
}

func TestWire(t *testing.T) {
	t.Parallel()
	srv := iamtest.NewServer(t)
	resp, err := http.Post(srv.URL, "application/x-www-form-urlencoded", strings.NewReader("Action=GetSAMLProvider&Version=2010-05-08&SAMLProviderArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Asaml-provider%2FX"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Header.Get("X-Amzn-Requestid")
	want := `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>MissingAuthenticationToken</Code><Message>Request is missing Authentication Token</Message></Error><RequestId>` + id + "</RequestId></ErrorResponse>\n"
	if diff := cmp.Diff(want, string(body)); diff != "" {
		t.Errorf("error body (-want +got):\n%s", diff)
	}
	if id == "" || resp.StatusCode != 403 || resp.Header.Get("Content-Type") != "text/xml" {
		t.Errorf("status %d, Content-Type %q, X-Amzn-Requestid %q; want 403, text/xml and an ID", resp.StatusCode, resp.Header.Get("Content-Type"), id)
	}

	resp2, err := http.Post(srv.URL, "application/x-www-form-urlencoded", strings.NewReader("Action=GetSAMLProvider&Version=2011-06-15"))
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != 400 {
		t.Errorf("IAM action with STS version: status %d, want 400 InvalidAction", resp2.StatusCode)
	}
}

// TestDocumentRoundTrip checks that GetSAMLProvider gives back the uploaded bytes,
// whatever they hold: CRLF line ends, entities, quotes, a CDATA end marker.
func TestDocumentRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := iamtest.NewServer(t)
	client, _ := defaultClients(srv)
	doc := strings.ReplaceAll(string(metadata(orgIssuer, newSigner(t, "crlf").cert)), "\n", "\r\n")
	doc = strings.Replace(doc, "<md:NameIDFormat>", `<!-- "Q&amp;A" ]]> 'é' -->`+"\t<md:NameIDFormat>", 1)
	created, err := client.CreateSAMLProvider(ctx, &iam.CreateSAMLProviderInput{Name: aws.String("P"), SAMLMetadataDocument: aws.String(doc)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := client.GetSAMLProvider(ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: created.SAMLProviderArn})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(doc, aws.ToString(got.SAMLMetadataDocument)); diff != "" {
		t.Errorf("document after a round trip (-want +got):\n%s", diff)
	}
}
