package awsidp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"log/slog"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/google/go-cmp/cmp"

	"github.com/voicecert/voicecert/samlmeta"
)

// trusted returns, per entityID, the SHA-256 of the signing certificates of doc.
func trusted(t *testing.T, doc string) map[string][]string {
	t.Helper()
	parsed, err := samlmeta.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("the provider's document does not parse: %v", err)
	}
	out := map[string][]string{}
	for _, e := range parsed.Entities {
		out[e.EntityID] = []string{}
		for _, c := range e.SigningCertificates() {
			out[e.EntityID] = append(out[e.EntityID], c.SHA256)
		}
	}
	return out
}

// entityBytes returns the bytes of the EntityDescriptor of id in doc.
func entityBytes(t *testing.T, doc, id string) string {
	t.Helper()
	start := strings.Index(doc, `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="`+id+`"`)
	if start < 0 {
		t.Fatalf("entity %s not in the document", id)
	}
	end := strings.Index(doc[start:], "</md:EntityDescriptor>")
	return doc[start : start+end]
}

func TestApply(t *testing.T) {
	t.Parallel()
	c := certs()
	one := metadata(entity{orgA, []*x509.Certificate{c.old}})
	both := metadata(entity{orgA, []*x509.Certificate{c.old, c.new}})
	twoOrgs := metadata(entity{orgA, []*x509.Certificate{c.old}}, entity{orgB, []*x509.Certificate{c.other}})
	tests := []struct {
		name        string
		doc         string
		edit        Edit // ARN and Expected default to the provider and doc
		wantWrites  int
		wantTrusted map[string][]string
		wantChanged bool
		wantErr     error
		wantText    string
	}{
		{name: "add", doc: one, edit: Edit{EntityID: orgA, Add: c.new},
			wantWrites: 1, wantChanged: true, wantTrusted: map[string][]string{orgA: {sha(c.old), sha(c.new)}}},
		{name: "add present", doc: both, edit: Edit{EntityID: orgA, Add: c.new},
			wantTrusted: map[string][]string{orgA: {sha(c.old), sha(c.new)}}},
		{name: "remove", doc: both, edit: Edit{EntityID: orgA, RemoveSHA256: sha(c.old)},
			wantWrites: 1, wantChanged: true, wantTrusted: map[string][]string{orgA: {sha(c.new)}}},
		{name: "remove absent", doc: one, edit: Edit{EntityID: orgA, RemoveSHA256: sha(c.new)},
			wantTrusted: map[string][]string{orgA: {sha(c.old)}}},
		{name: "swap", doc: one, edit: Edit{EntityID: orgA, Add: c.new, RemoveSHA256: sha(c.old)},
			wantWrites: 1, wantChanged: true, wantTrusted: map[string][]string{orgA: {sha(c.new)}}},
		{name: "swap done", doc: metadata(entity{orgA, []*x509.Certificate{c.new}}), edit: Edit{EntityID: orgA, Add: c.new, RemoveSHA256: sha(c.old)},
			wantTrusted: map[string][]string{orgA: {sha(c.new)}}},
		{name: "add on a shared provider", doc: twoOrgs, edit: Edit{EntityID: orgB, Add: c.third},
			wantWrites: 1, wantChanged: true, wantTrusted: map[string][]string{orgA: {sha(c.old)}, orgB: {sha(c.other), sha(c.third)}}},
		{name: "1024-bit key accepted without policy", doc: one, edit: Edit{EntityID: orgA, Add: c.weak},
			wantWrites: 1, wantChanged: true, wantTrusted: map[string][]string{orgA: {sha(c.old), sha(c.weak)}}},
		{name: "1024-bit key refused by policy", doc: one, edit: Edit{EntityID: orgA, Add: c.weak, RequirePolicy: true},
			wantErr: ErrInvalidMetadata, wantText: "policy/new-certificate-key"},
		{name: "remove the last certificate", doc: one, edit: Edit{EntityID: orgA, RemoveSHA256: sha(c.old)},
			wantErr: ErrInvalidMetadata, wantText: "removing the certificate"},
		{name: "unknown entity", doc: twoOrgs, edit: Edit{EntityID: "https://initech.my.salesforce.com", Add: c.new},
			wantErr: samlmeta.ErrEntityNotFound, wantText: "(it has: " + orgA + ", " + orgB + ")"},
		{name: "changed behind the plan", doc: both, edit: Edit{EntityID: orgA, Add: c.new, Expected: []byte(one)},
			wantErr: ErrDocumentChanged, wantText: "signing certificate added"},
		{name: "changed in bytes only", doc: one, edit: Edit{EntityID: orgA, Add: c.new, Expected: []byte(strings.ReplaceAll(one, "\n", "\r\n"))},
			wantErr: ErrDocumentChanged, wantText: "bytes differ, though not"},
		{name: "no expected document", doc: one, edit: Edit{EntityID: orgA, Add: c.new, Expected: []byte{}},
			wantErr: ErrInvalidInput, wantText: "never writes blind"},
		{name: "nothing to do", doc: one, edit: Edit{EntityID: orgA},
			wantErr: ErrInvalidInput, wantText: "set Add, RemoveSHA256 or both"},
		{name: "same certificate both ways", doc: one, edit: Edit{EntityID: orgA, Add: c.old, RemoveSHA256: sha(c.old)},
			wantErr: ErrInvalidInput, wantText: "name the same certificate"},
		{name: "uppercase fingerprint", doc: both, edit: Edit{EntityID: orgA, RemoveSHA256: strings.ToUpper(sha(c.old))},
			wantErr: ErrInvalidInput, wantText: "64 lowercase hex"},
		{name: "role ARN", doc: one, edit: Edit{ARN: testRole, EntityID: orgA, Add: c.new},
			wantErr: ErrInvalidInput, wantText: "not a saml-provider ARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeIAM(map[string]string{testProvider: tt.doc})
			e := tt.edit
			if e.ARN == "" {
				e.ARN = testProvider
			}
			if e.Expected == nil {
				e.Expected = []byte(tt.doc)
			}
			res, err := newTestClient(f).Apply(context.Background(), e)
			if got := f.writes(); got != tt.wantWrites {
				t.Errorf("UpdateSAMLProvider calls = %d, want %d", got, tt.wantWrites)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantText) {
					t.Fatalf("Apply error = %v, want %v containing %q", err, tt.wantErr, tt.wantText)
				}
				if !strings.HasPrefix(err.Error(), "awsidp: ") {
					t.Errorf("error %q does not start with the package name", err)
				}
				if f.doc(testProvider) != tt.doc {
					t.Errorf("the provider's document changed")
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			now := f.doc(testProvider)
			if diff := cmp.Diff(tt.wantTrusted, trusted(t, now)); diff != "" {
				t.Errorf("trusted certificates (-want +got):\n%s", diff)
			}
			want := &Result{Previous: []byte(tt.doc), Current: []byte(now), Changed: tt.wantChanged}
			if diff := cmp.Diff(want, res); diff != "" {
				t.Errorf("Result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyKeepsSiblingsByteIdentical(t *testing.T) {
	t.Parallel()
	c := certs()
	doc := metadata(entity{orgA, []*x509.Certificate{c.old, c.new}}, entity{orgB, []*x509.Certificate{c.other}})
	f := newFakeIAM(map[string]string{testProvider: doc})
	client := newTestClient(f)
	res, err := client.Apply(context.Background(), Edit{ARN: testProvider, EntityID: orgA, RemoveSHA256: sha(c.old), Expected: []byte(doc)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(entityBytes(t, doc, orgB), entityBytes(t, string(res.Current), orgB)); diff != "" {
		t.Errorf("sibling entity changed (-before +after):\n%s", diff)
	}
	// Adding twice makes one write.
	for range 2 {
		cur := f.doc(testProvider)
		if _, err := client.Apply(context.Background(), Edit{ARN: testProvider, EntityID: orgB, Add: c.third, Expected: []byte(cur)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.writes(); got != 2 {
		t.Errorf("UpdateSAMLProvider calls = %d, want 2 (one remove, one add)", got)
	}
	if diff := cmp.Diff(entityBytes(t, string(res.Current), orgA), entityBytes(t, f.doc(testProvider), orgA)); diff != "" {
		t.Errorf("sibling entity changed (-before +after):\n%s", diff)
	}
}

func TestApplyAbortsWhenChangedBeforeTheRead(t *testing.T) {
	t.Parallel()
	c := certs()
	planned := metadata(entity{orgA, []*x509.Certificate{c.old}})
	f := newFakeIAM(map[string]string{testProvider: planned})
	f.before = func(op string) {
		if op == "GetSAMLProvider" { // someone replaces the metadata between plan and apply
			f.setDoc(testProvider, metadata(entity{orgA, []*x509.Certificate{c.other}}))
		}
	}
	_, err := newTestClient(f).Apply(context.Background(), Edit{ARN: testProvider, EntityID: orgA, Add: c.new, Expected: []byte(planned)})
	if !errors.Is(err, ErrDocumentChanged) {
		t.Fatalf("Apply error = %v, want ErrDocumentChanged", err)
	}
	for _, s := range []string{"signing certificate removed", "signing certificate added", "plan again"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	if diff := cmp.Diff([]string{"GetSAMLProvider"}, f.callLog()); diff != "" {
		t.Errorf("IAM calls (-want +got):\n%s", diff)
	}
}

func TestApplyWritesMetadataOnly(t *testing.T) {
	t.Parallel()
	c := certs()
	doc := metadata(entity{orgA, []*x509.Certificate{c.old}})
	f := newFakeIAM(map[string]string{testProvider: doc})
	if _, err := newTestClient(f).Apply(context.Background(), Edit{ARN: testProvider, EntityID: orgA, Add: c.new, Expected: []byte(doc)}); err != nil {
		t.Fatal(err)
	}
	in := f.updates[0]
	if in.AssertionEncryptionMode != "" || in.AddPrivateKey != nil || in.RemovePrivateKey != nil {
		t.Errorf("UpdateSAMLProvider sent more than the metadata: %+v", in)
	}
	if aws.ToString(in.SAMLProviderArn) != testProvider || aws.ToString(in.SAMLMetadataDocument) == "" {
		t.Errorf("UpdateSAMLProvider input lacks the ARN or document")
	}
	if diff := cmp.Diff([]string{"GetSAMLProvider", "UpdateSAMLProvider", "GetSAMLProvider"}, f.callLog()); diff != "" {
		t.Errorf("IAM calls (-want +got):\n%s", diff)
	}
}

func TestApplyWriteFailures(t *testing.T) {
	t.Parallel()
	c := certs()
	doc := metadata(entity{orgA, []*x509.Certificate{c.old}})
	tests := []struct {
		name       string
		err        error
		transform  func(string) string
		want       error
		wantResult bool
	}{
		{name: "IAM refuses", err: apiError("UpdateSAMLProvider", 400, &iamtypes.InvalidInputException{Message: aws.String("Could not parse metadata.")}), want: ErrInvalidMetadata},
		{name: "quota", err: apiError("UpdateSAMLProvider", 409, &iamtypes.LimitExceededException{Message: aws.String("Keys per SAML provider")}), want: ErrLimitExceeded},
		{name: "read back differs", transform: func(string) string { return metadata(entity{orgA, []*x509.Certificate{c.other}}) }, want: ErrNotConfirmed, wantResult: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeIAM(map[string]string{testProvider: doc})
			if tt.err != nil {
				f.fail["UpdateSAMLProvider"] = tt.err
			}
			f.transform = tt.transform
			res, err := newTestClient(f).Apply(context.Background(), Edit{ARN: testProvider, EntityID: orgA, Add: c.new, Expected: []byte(doc)})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Apply error = %v, want %v", err, tt.want)
			}
			if (res != nil) != tt.wantResult {
				t.Fatalf("Result = %v, want one: %v", res, tt.wantResult)
			}
			if res != nil && string(res.Previous) != doc {
				t.Errorf("Result.Previous is not the document before the write")
			}
		})
	}
}

func TestApplyAcceptsReadBackWithOtherBytesSameContent(t *testing.T) {
	t.Parallel()
	c := certs()
	doc := metadata(entity{orgA, []*x509.Certificate{c.old}})
	f := newFakeIAM(map[string]string{testProvider: doc})
	f.transform = func(s string) string { return strings.ReplaceAll(s, "   ", "  ") }
	res, err := newTestClient(f).Apply(context.Background(), Edit{ARN: testProvider, EntityID: orgA, Add: c.new, Expected: []byte(doc)})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if string(res.Current) != f.doc(testProvider) {
		t.Errorf("Result.Current is not what IAM holds")
	}
}

// smallKeyCert returns a certificate for a 512-bit RSA public key, signed by a
// pool key: IAM refuses keys under 1024 bits.
func smallKeyCert(t *testing.T) *x509.Certificate {
	t.Helper()
	c := certs()
	n, _ := new(big.Int).SetString("c2e1a4b1d3f59d27f6a3c8e5b9d1f0a7e4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b3a2918f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a291807f6e5d", 16)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(99),
		Subject:      pkix.Name{CommonName: "Tiny"},
		NotBefore:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.old, &rsa.PublicKey{N: n, E: 65537}, c.keys[c.old])
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestApplyCatchesIAMKeySizeLocally(t *testing.T) {
	t.Parallel()
	c := certs()
	doc := metadata(entity{orgA, []*x509.Certificate{c.old}})
	f := newFakeIAM(map[string]string{testProvider: doc})
	_, err := newTestClient(f).Apply(context.Background(), Edit{ARN: testProvider, EntityID: orgA, Add: smallKeyCert(t), Expected: []byte(doc)})
	if !errors.Is(err, ErrInvalidMetadata) || !strings.Contains(err.Error(), "iam/key-size") {
		t.Fatalf("Apply error = %v, want ErrInvalidMetadata naming iam/key-size", err)
	}
	if f.writes() != 0 {
		t.Errorf("UpdateSAMLProvider was called")
	}
}

func TestRestore(t *testing.T) {
	t.Parallel()
	c := certs()
	before := metadata(entity{orgA, []*x509.Certificate{c.old}})
	after := metadata(entity{orgA, []*x509.Certificate{c.old, c.new}})
	short := `<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + orgA + `"/>`
	tests := []struct {
		name       string
		holds      string // what the provider holds
		previous   string
		expected   string
		wantWrites int
		wantErr    error
		wantText   string
	}{
		{name: "restore", holds: after, previous: before, expected: after, wantWrites: 1},
		{name: "already restored", holds: before, previous: before, expected: after},
		{name: "changed since", holds: metadata(entity{orgA, []*x509.Certificate{c.other}}), previous: before, expected: after, wantErr: ErrDocumentChanged},
		{name: "BOM", holds: after, previous: "\ufeff" + before, expected: after, wantErr: ErrInvalidMetadata, wantText: "iam/utf8-no-bom"},
		{name: "not UTF-8", holds: after, previous: strings.Replace(before, "unspecified", "unspec\xffified", 1), expected: after, wantErr: ErrInvalidMetadata, wantText: "iam/utf8"},
		{name: "too short", holds: after, previous: short, expected: after, wantErr: ErrInvalidMetadata, wantText: "iam/length"},
		{name: "not metadata", holds: after, previous: strings.Repeat("<x/>", 300), expected: after, wantErr: ErrInvalidMetadata, wantText: "iam/"},
		{name: "other entityID", holds: after, previous: metadata(entity{orgB, []*x509.Certificate{c.old}}), expected: after, wantErr: ErrInvalidMetadata, wantText: "entityIDs would change"},
		{name: "no previous", holds: after, previous: "", expected: after, wantErr: ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeIAM(map[string]string{testProvider: tt.holds})
			err := newTestClient(f).Restore(context.Background(), testProvider, []byte(tt.previous), []byte(tt.expected))
			if got := f.writes(); got != tt.wantWrites {
				t.Errorf("UpdateSAMLProvider calls = %d, want %d", got, tt.wantWrites)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantText) {
					t.Fatalf("Restore error = %v, want %v containing %q", err, tt.wantErr, tt.wantText)
				}
				if f.doc(testProvider) != tt.holds {
					t.Errorf("the provider's document changed")
				}
				return
			}
			if err != nil {
				t.Fatalf("Restore: %v", err)
			}
			if f.doc(testProvider) != tt.previous {
				t.Errorf("the provider does not hold the previous document")
			}
		})
	}
}

func TestApplyThenRestoreRoundTrip(t *testing.T) {
	t.Parallel()
	c := certs()
	doc := metadata(entity{orgA, []*x509.Certificate{c.old}}, entity{orgB, []*x509.Certificate{c.other}})
	f := newFakeIAM(map[string]string{testProvider: doc})
	client := newTestClient(f)
	res, err := client.Apply(context.Background(), Edit{ARN: testProvider, EntityID: orgA, Add: c.new, RemoveSHA256: sha(c.old), Expected: []byte(doc)})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Restore(context.Background(), testProvider, res.Previous, res.Current); err != nil {
		t.Fatal(err)
	}
	if f.doc(testProvider) != doc {
		t.Errorf("the restored document differs from the original")
	}
}

func TestApplyRefusesOverTheKeyQuota(t *testing.T) {
	t.Parallel()
	c := certs()
	ten := append([]*x509.Certificate{c.old}, c.filler[:9]...)
	doc := metadata(entity{orgA, ten})
	f := newFakeIAM(map[string]string{testProvider: doc})
	_, err := newTestClient(f).Apply(context.Background(), Edit{ARN: testProvider, EntityID: orgA, Add: c.new, Expected: []byte(doc)})
	if !errors.Is(err, ErrLimitExceeded) || !strings.Contains(err.Error(), "11 keys; IAM allows 10") {
		t.Fatalf("Apply error = %v, want ErrLimitExceeded naming 11 keys", err)
	}
	if f.writes() != 0 {
		t.Errorf("UpdateSAMLProvider was called")
	}
	// A swap at the quota stays within it.
	if _, err := newTestClient(f).Apply(context.Background(), Edit{ARN: testProvider, EntityID: orgA, Add: c.new, RemoveSHA256: sha(c.old), Expected: []byte(doc)}); err != nil {
		t.Fatalf("swap at the quota: %v", err)
	}
}

func TestApplyTellsLocalRefusalFromIAMRefusal(t *testing.T) {
	t.Parallel()
	c := certs()
	doc := metadata(entity{orgA, []*x509.Certificate{c.old}})
	f := newFakeIAM(map[string]string{testProvider: doc})
	_, local := newTestClient(f).Apply(context.Background(), Edit{ARN: testProvider, EntityID: orgA, Add: smallKeyCert(t), Expected: []byte(doc)})
	f.fail["UpdateSAMLProvider"] = apiError("UpdateSAMLProvider", 400, &iamtypes.InvalidInputException{Message: aws.String("Could not parse metadata.")})
	_, remote := newTestClient(f).Apply(context.Background(), Edit{ARN: testProvider, EntityID: orgA, Add: c.new, Expected: []byte(doc)})
	var ae *Error
	if !errors.Is(local, ErrInvalidMetadata) || errors.As(local, &ae) {
		t.Errorf("local refusal = %v, want ErrInvalidMetadata without an *Error", local)
	}
	if !errors.Is(remote, ErrInvalidMetadata) || !errors.As(remote, &ae) || ae.Code != "InvalidInput" {
		t.Errorf("IAM refusal = %v, want ErrInvalidMetadata in an *Error with code InvalidInput", remote)
	}
}

func TestLogsNeverHoldDocuments(t *testing.T) {
	t.Parallel()
	c := certs()
	doc := metadata(entity{orgA, []*x509.Certificate{c.old}})
	f := newFakeIAM(map[string]string{testProvider: doc})
	var logs bytes.Buffer
	client := newTestClient(f)
	client.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	if _, err := client.FindProvider(ctx, ""); err != nil {
		t.Fatal(err)
	}
	res, err := client.Apply(ctx, Edit{ARN: testProvider, EntityID: orgA, Add: c.new, Expected: []byte(doc)})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Restore(ctx, testProvider, res.Previous, res.Current); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "updated SAML provider") || !strings.Contains(logs.String(), "restored SAML provider") {
		t.Fatalf("the writes were not logged:\n%s", logs.String())
	}
	for _, secretish := range []string{"<md:", "EntityDescriptor", base64.StdEncoding.EncodeToString(c.new.Raw)[:40]} {
		if strings.Contains(logs.String(), secretish) {
			t.Errorf("the logs hold document content %q:\n%s", secretish, logs.String())
		}
	}
}
