package salesforce

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestListContactCenters(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on(http.MethodGet, "/services/data/v63.0/query", reply{status: 200, body: fixture(t, "query_callcenters.json"),
		check: func(t *testing.T, req *http.Request, _ []byte) {
			if got, want := req.URL.Query().Get("q"), "SELECT Id, Name, InternalName FROM CallCenter"; got != want {
				t.Errorf("q = %q, want %q", got, want)
			}
		}})
	h.onSOAP("readMetadata",
		reply{status: 200, body: fixture(t, "read_callcenters.xml"), check: expectRead("CallCenter", "LegacyCTI", "SupportEast", "SupportWest")},
		reply{status: 200, body: fixture(t, "read_connectedapps_all.xml"),
			check: expectRead("ConnectedApp", "SupportEast_Connected_App", "SupportWest_Connected_App")})
	h.onSOAP("listMetadata", ok(fixture(t, "list_connectedapps.xml")))
	got, err := h.c.ListContactCenters(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []ContactCenter{
		{ID: "04v5g000000AaabAAC", Name: "Support East", InternalName: "SupportEast", ConnectedAppID: "0H45g000000PqRs",
			ConnectedApp: "SupportEast_Connected_App",
			IdentityURL:  "https://acme.my.salesforce.com/idp/login?app=0sp5g000000XyzB",
			RelayState:   "https://us-east-1.console.aws.amazon.com/connect/federate/8f7d6c5b-0000-4000-8000-00000000000e",
			Region:       "us-east-1", RoleARN: "arn:aws:iam::123456789012:role/SupportEast-SAMLRole", ProviderARN: provARN},
		{ID: "04v5g000000AaaaAAC", Name: "Support West", InternalName: "SupportWest", ConnectedAppID: "0H45g000000PqRtCAK",
			ConnectedApp: "SupportWest_Connected_App",
			IdentityURL:  "https://acme.my.salesforce.com/idp/login?app=0sp5g000000XyzC",
			RelayState:   "https://us-west-2.console.aws.amazon.com/connect/federate/1a2b3c4d-0000-4000-8000-00000000000w",
			Region:       "us-west-2", RoleARN: roleARN, ProviderARN: provARN},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("contact centers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Stats{Reads: 4}, h.c.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestListContactCentersNone(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on(http.MethodGet, "/services/data/v63.0/query", ok(`{"totalSize":0,"done":true,"records":[]}`))
	got, err := h.c.ListContactCenters(context.Background())
	if err != nil || got != nil {
		t.Errorf("ListContactCenters = %v, %v; want nil, nil", got, err)
	}
}
