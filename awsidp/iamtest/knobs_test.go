package iamtest_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/google/go-cmp/cmp"

	"github.com/voicecert/voicecert/awsidp/iamtest"
	"github.com/voicecert/voicecert/internal/fakeclock"
)

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault iamtest.Fault
		// want holds, per call, the expected code and status ("" for success).
		want []string
	}{
		{"third call throttled", iamtest.Fault{Operation: "ListSAMLProviders", Nth: 3, Code: "Throttling"},
			[]string{"", "", "Throttling 400 Rate exceeded", "", ""}},
		{"every call from the second", iamtest.Fault{Operation: "ListSAMLProviders", Nth: 2, AndAfter: true, Code: "ServiceFailure"},
			[]string{"", "ServiceFailure 500 Request processing has failed due to some unknown error, exception or failure.", "ServiceFailure 500 Request processing has failed due to some unknown error, exception or failure."}},
		{"own message, first call", iamtest.Fault{Operation: "ListSAMLProviders", Code: "LimitExceeded", Message: "Cannot exceed quota for X: 1"},
			[]string{"LimitExceeded 409 Cannot exceed quota for X: 1", ""}},
		{"other operation untouched", iamtest.Fault{Operation: "UpdateSAMLProvider", Code: "Throttling", AndAfter: true},
			[]string{"", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := iamtest.NewServer(t, iamtest.WithFaults(tt.fault))
			client, _ := defaultClients(srv)
			var got []string
			for range tt.want {
				_, err := client.ListSAMLProviders(context.Background(), &iam.ListSAMLProvidersInput{})
				if err == nil {
					got = append(got, "")
					continue
				}
				code, status, _ := apiError(t, err)
				_, _, msg := stsError(t, err)
				got = append(got, strings.Join([]string{code, strconv.Itoa(status), msg}, " "))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if n := srv.Calls("ListSAMLProviders"); n != len(tt.want) {
				t.Errorf("Calls = %d, want %d", n, len(tt.want))
			}
		})
	}
}

func TestInjectFaultWhileRunning(t *testing.T) {
	t.Parallel()
	srv := iamtest.NewServer(t)
	client, _ := defaultClients(srv)
	list := func() error {
		_, err := client.ListSAMLProviders(context.Background(), &iam.ListSAMLProvidersInput{})
		return err
	}
	if err := list(); err != nil {
		t.Fatal(err)
	}
	srv.InjectFault(iamtest.Fault{Operation: "ListSAMLProviders", Nth: 2, AndAfter: true, Code: "Throttling"})
	if code, _, _ := apiError(t, list()); code != "Throttling" {
		t.Errorf("after InjectFault: %s, want Throttling", code)
	}
	srv.ClearFaults()
	if err := list(); err != nil {
		t.Errorf("after ClearFaults: %v", err)
	}
}

func TestSDKRetriesThrottling(t *testing.T) {
	t.Parallel()
	srv := iamtest.NewServer(t, iamtest.WithFaults(iamtest.Fault{Operation: "ListSAMLProviders", Code: "Throttling"}))
	client := iam.New(iam.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 3,
		Credentials: aws.NewCredentialsCache(staticKey{}),
	}, func(o *iam.Options) {
		o.Retryer = retryNoWait(o.Retryer)
	})
	if _, err := client.ListSAMLProviders(context.Background(), &iam.ListSAMLProvidersInput{}); err != nil {
		t.Fatalf("the SDK's retryer did not get past one Throttling: %v", err)
	}
	if n := srv.Calls("ListSAMLProviders"); n != 2 {
		t.Errorf("calls = %d, want 2 (throttled, then retried)", n)
	}
}

func TestOnWriteAndRequestLog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var mu sync.Mutex
	var hooked []string
	var w *world
	other := newSigner(t, "someone else's")
	w = newWorld(t, iamtest.WithOnWrite(func(r iamtest.Request) {
		mu.Lock()
		hooked = append(hooked, r.Operation)
		mu.Unlock()
		// Another administrator changes the document right after our write.
		if err := w.srv.SetDocument(w.provider, metadata(orgIssuer, other.cert)); err != nil {
			t.Error(err)
		}
	}))
	next := newSigner(t, "next")
	if _, err := w.iam.UpdateSAMLProvider(ctx, &iam.UpdateSAMLProviderInput{SAMLProviderArn: aws.String(w.provider), SAMLMetadataDocument: aws.String(string(metadata(orgIssuer, w.signer.cert, next.cert)))}); err != nil {
		t.Fatal(err)
	}
	got, err := w.iam.GetSAMLProvider(ctx, &iam.GetSAMLProviderInput{SAMLProviderArn: aws.String(w.provider)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(aws.ToString(got.SAMLMetadataDocument), b64(other.cert.Raw)) {
		t.Error("the hook's change behind the client's back is not visible")
	}
	if _, err := w.iam.UpdateSAMLProvider(ctx, &iam.UpdateSAMLProviderInput{SAMLProviderArn: aws.String(w.provider), SAMLMetadataDocument: aws.String("too short")}); err == nil {
		t.Fatal("invalid update accepted")
	}
	if diff := cmp.Diff([]string{"UpdateSAMLProvider"}, hooked); diff != "" {
		t.Errorf("OnWrite calls, successful writes only (-want +got):\n%s", diff)
	}
	type entry struct {
		Operation, Service, Account, Code string
		Write                             bool
		Status                            int
	}
	var log []entry
	for _, r := range w.srv.Requests() {
		if r.Time != t0 || r.Method != "POST" || r.Path != "/" || r.RequestID == "" {
			t.Errorf("request %+v: want time t0, POST /, a request ID", r)
		}
		log = append(log, entry{r.Operation, r.Service, r.Account, r.Code, r.Write, r.Status})
	}
	want := []entry{
		{"UpdateSAMLProvider", "iam", iamtest.DefaultAccountID, "", true, 200},
		{"GetSAMLProvider", "iam", iamtest.DefaultAccountID, "", false, 200},
		{"UpdateSAMLProvider", "iam", iamtest.DefaultAccountID, "InvalidInput", true, 400},
	}
	if diff := cmp.Diff(want, log); diff != "" {
		t.Errorf("request log (-want +got):\n%s", diff)
	}
	w.srv.ResetRequests()
	if n := len(w.srv.Requests()); n != 0 || w.srv.Calls("UpdateSAMLProvider") != 2 {
		t.Errorf("after ResetRequests: %d entries, %d update calls; want 0 and 2", n, w.srv.Calls("UpdateSAMLProvider"))
	}
}

func TestRequestLogFile(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	srv := iamtest.NewServer(t, iamtest.WithConfig(iamtest.Config{Now: func() time.Time { return t0 }, RequestLog: &buf}))
	client, _ := defaultClients(srv)
	if _, err := client.ListSAMLProviders(context.Background(), &iam.ListSAMLProvidersInput{}); err != nil {
		t.Fatal(err)
	}
	_, _ = client.DeleteSAMLProvider(context.Background(), &iam.DeleteSAMLProviderInput{SAMLProviderArn: aws.String(srv.ProviderARN(iamtest.DefaultAccountID, "Gone"))})
	want := `{"time":"2026-03-01T12:00:00Z","method":"POST","path":"/","service":"iam","operation":"ListSAMLProviders","account":"123456789012","write":false,"status":200,"request_id":"00000001-1a2b-4c3d-8e4f-000000000001"}
{"time":"2026-03-01T12:00:00Z","method":"POST","path":"/","service":"iam","operation":"DeleteSAMLProvider","account":"123456789012","write":true,"status":404,"code":"NoSuchEntity","request_id":"00000002-1a2b-4c3d-8e4f-000000000002"}
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("request log lines (-want +got):\n%s", diff)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLatencyOnFakeClock(t *testing.T) {
	t.Parallel()
	clock := fakeclock.New(t0)
	srv := iamtest.NewServer(t, iamtest.WithClock(clock.Now, clock.Sleep), iamtest.WithLatency(250*time.Millisecond))
	client, _ := defaultClients(srv)
	for range 4 {
		if _, err := client.ListSAMLProviders(context.Background(), &iam.ListSAMLProvidersInput{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := clock.Now().Sub(t0); got != time.Second {
		t.Errorf("fake time after 4 calls with 250 ms latency = %v, want 1s", got)
	}
}

func TestStartValidation(t *testing.T) {
	t.Parallel()
	_, err := iamtest.Start(iamtest.Config{
		Addr: "0.0.0.0:0",
	})
	if err == nil || !strings.Contains(err.Error(), "not loopback") {
		t.Errorf("Start on 0.0.0.0 = %v, want a loopback refusal", err)
	}
	_, err = iamtest.Start(iamtest.Config{Accounts: []iamtest.Account{
		{ID: "12", Partition: "aws-mars", AccessKeys: []iamtest.AccessKey{{ID: "K"}}},
		{ID: "123456789012", Providers: []iamtest.Provider{{Name: "P", Document: []byte("<x/>")}}, Roles: []iamtest.Role{{Name: "bad name"}}},
	}})
	for _, want := range []string{`ID "12"`, "aws-mars", "ID and a secret", "IAM would refuse its document", `role name "bad name"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Start with a bad config = %v; want every problem, including %q", err, want)
		}
	}
	srv, err := iamtest.Start(iamtest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	srv.Close() // idempotent
}
