package salesforce

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicecert/voicecert/internal/testenv"
)

func TestIdPMetadata(t *testing.T) {
	t.Parallel()
	real := string(testenv.ReadShared(t, "fixtures/salesforce-idp-2017/idp-metadata.xml"))
	noAuth := func(t *testing.T, req *http.Request, _ []byte) {
		if req.Header.Get("Authorization") != "" || req.Header.Get("Cookie") != "" {
			t.Errorf("credentials sent for the public metadata")
		}
	}
	tests := []struct {
		name    string
		replies map[string][]reply
		want    string
		wantErr string
	}{
		{"served", map[string][]reply{"/.well-known/samlidp.xml": {{status: 200, body: real, check: noAuth}}}, real, ""},
		{"same-host redirect followed", map[string][]reply{
			"/.well-known/samlidp.xml": {{status: 302, header: http.Header{"Location": {"/idp/metadata.xml"}}, check: noAuth}},
			"/idp/metadata.xml":        {{status: 200, body: real, check: noAuth}},
		}, real, ""},
		{"redirect to another host refused", map[string][]reply{
			"/.well-known/samlidp.xml": {{status: 302, header: http.Header{"Location": {"https://evil.example/samlidp.xml"}}}},
		}, "", "another host"},
		{"too large", map[string][]reply{
			"/.well-known/samlidp.xml": {{status: 200, body: "<md:EntityDescriptor>" + strings.Repeat(" ", MaxMetadataSize)}},
		}, "", "larger than"},
		{"not metadata", map[string][]reply{
			"/.well-known/samlidp.xml": {{status: 200, body: "<html>Log in</html>"}},
		}, "", "not SAML metadata"},
		{"not found", map[string][]reply{
			"/.well-known/samlidp.xml": {{status: 404, body: "<html>Not Found</html>"}},
		}, "", "Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			for path, replies := range tt.replies {
				h.on(http.MethodGet, path, replies...)
			}
			got, err := h.c.IdPMetadata(context.Background())
			suite.err(err)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("metadata (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIdPMetadataNotFoundIsErrNotFound(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on(http.MethodGet, "/.well-known/samlidp.xml", reply{status: 404, body: "<html>Not Found</html>"})
	_, err := h.c.IdPMetadata(context.Background())
	suite.err(err)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}
