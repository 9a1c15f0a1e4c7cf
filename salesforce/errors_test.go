package salesforce

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicecert/voicecert/internal/testenv"
)

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		err   error
		want  *Error
		is    []error
		isNot []error
	}{
		{"REST invalid session", restError("query", 401, []byte(fixture(t, "rest_invalid_session.json"))),
			&Error{Op: "query", Code: "INVALID_SESSION_ID", Message: "Session expired or invalid", StatusCode: 401,
				Hint: "the session expired or was revoked: check the token source"},
			[]error{ErrInvalidSession}, []error{ErrRequestLimit, ErrNotFound}},
		{"REST request limit", restError("query", 403, []byte(fixture(t, "rest_request_limit.json"))),
			&Error{Op: "query", Code: "REQUEST_LIMIT_EXCEEDED", Message: "TotalRequests Limit exceeded.", StatusCode: 403,
				Hint: "the org's API limits are exhausted: retry later"},
			[]error{ErrRequestLimit}, []error{ErrInvalidSession, ErrTransient}},
		{"REST field error", restError("update", 400, []byte(`[{"message":"Required fields are missing: [Name]","errorCode":"REQUIRED_FIELD_MISSING","fields":["Name"]}]`)),
			&Error{Op: "update", Code: "REQUIRED_FIELD_MISSING", Message: "Required fields are missing: [Name]", Fields: []string{"Name"}, StatusCode: 400},
			nil, []error{ErrNotFound}},
		{"REST several errors", restError("query", 400, []byte(`[{"message":"a","errorCode":"X"},{"message":"b","errorCode":"Y"}]`)),
			&Error{Op: "query", Code: "X", Message: "a (and Y: b)", StatusCode: 400}, nil, nil},
		{"REST 503 HTML", restError("query", 503, []byte("<html><body>Service\n Unavailable</body></html>")),
			&Error{Op: "query", Code: "Service Unavailable", Message: "<html><body>Service Unavailable</body></html>", StatusCode: 503},
			[]error{ErrTransient}, nil},
		{"REST 404", restError("get", 404, []byte(`[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]`)),
			&Error{Op: "get", Code: "NOT_FOUND", Message: "The requested resource does not exist", StatusCode: 404},
			[]error{ErrNotFound}, nil},
		{"SOAP invalid session", soapError("readMetadata", 500, []byte(fixture(t, "fault_invalid_session.xml"))),
			&Error{Op: "readMetadata", Code: "INVALID_SESSION_ID", StatusCode: 500,
				Message: "Invalid Session ID found in SessionHeader: Illegal Session. Session not found, missing session key",
				Hint:    "the session expired or was revoked: check the token source"},
			[]error{ErrInvalidSession}, []error{ErrTransient}},
		{"SOAP request limit", soapError("deploy", 500, []byte(fixture(t, "fault_request_limit.xml"))),
			&Error{Op: "deploy", Code: "REQUEST_LIMIT_EXCEEDED", StatusCode: 500,
				Message: "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
				Hint:    "the org's API limits are exhausted: retry later"},
			[]error{ErrRequestLimit}, nil},
		{"SOAP invalid type", soapError("listMetadata", 500, []byte(fixture(t, "fault_invalid_type.xml"))),
			&Error{Op: "listMetadata", Code: "INVALID_TYPE", StatusCode: 500, Message: "This type of object is not available for this organization"},
			nil, []error{ErrInvalidSession, ErrRequestLimit}},
		{"SOAP 502 without fault", soapError("readMetadata", 502, []byte("Bad Gateway")),
			&Error{Op: "readMetadata", Code: "Bad Gateway", Message: "Bad Gateway", StatusCode: 502}, []error{ErrTransient}, nil},
		{"SaveResult", saveResultError("updateMetadata", "X", []saveError{{Fields: []string{"f"}, Message: "m", StatusCode: "INVALID_CROSS_REFERENCE_KEY"}}),
			&Error{Op: "updateMetadata", Code: "INVALID_CROSS_REFERENCE_KEY", Message: "X: m", Fields: []string{"f"}, StatusCode: 200},
			[]error{ErrNotFound}, nil},
		{"token endpoint", tokenError(400, []byte(fixture(t, "token_error_unapproved.json"))),
			&Error{Op: "token", Code: "invalid_grant", Message: "user hasn't approved this consumer", StatusCode: 400,
				Hint: "pre-authorize the user for the connected app: set Permitted Users to \"Admin approved users are pre-authorized\" and add the user's profile or a permission set"},
			[]error{ErrAuthentication}, []error{ErrInvalidSession}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			suite.err(tt.err)
			var got *Error
			if !errors.As(tt.err, &got) {
				t.Fatalf("%v is not an *Error", tt.err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			for _, s := range tt.is {
				if !errors.Is(tt.err, s) {
					t.Errorf("errors.Is(%v, %v) = false", tt.err, s)
				}
			}
			for _, s := range tt.isNot {
				if errors.Is(tt.err, s) {
					t.Errorf("errors.Is(%v, %v) = true", tt.err, s)
				}
			}
			if !strings.HasPrefix(tt.err.Error(), "salesforce: ") {
				t.Errorf("error %q does not start with the package name", tt.err)
			}
		})
	}
}

// TestSchemaIsStrict shows that the schema check of TestMain can fail: requests
// that break the Metadata WSDL in the ways a hand-written client could (a required
// boolean left out, children out of order, a record without xsi:type, an unknown
// element, a bad enumeration, an id of the wrong length, something extra in the
// envelope) are each rejected.
func TestSchemaIsStrict(t *testing.T) {
	t.Parallel()
	testenv.Shared(t, "schemas/salesforce/metadata-63.xsd")
	xmllint := testenv.Tool(t, "xmllint")
	envelope := func(body string) string {
		return `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ` +
			`xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://soap.sforce.com/2006/04/metadata">` +
			`<soapenv:Header><SessionHeader><sessionId>x</sessionId></SessionHeader></soapenv:Header><soapenv:Body>` + body +
			`</soapenv:Body></soapenv:Envelope>`
	}
	idp := func(inner string) string {
		return envelope(`<updateMetadata><metadata xsi:type="IdentityProviderSettings">` + inner + `</metadata></updateMetadata>`)
	}
	good := idp(`<fullName>IdentityProvider</fullName><certificateName>C</certificateName><enableIdentityProvider>true</enableIdentityProvider>`)
	bad := map[string]string{
		"required-boolean-missing": idp(`<fullName>IdentityProvider</fullName><certificateName>C</certificateName>`),
		"out-of-order":             idp(`<fullName>IdentityProvider</fullName><enableIdentityProvider>true</enableIdentityProvider><certificateName>C</certificateName>`),
		"no-xsi-type":              envelope(`<updateMetadata><metadata><fullName>IdentityProvider</fullName><certificateName>C</certificateName><enableIdentityProvider>true</enableIdentityProvider></metadata></updateMetadata>`),
		"unknown-element":          idp(`<fullName>IdentityProvider</fullName><certificateName>C</certificateName><enableIdentityProvider>true</enableIdentityProvider><extra/>`),
		"bad-enum":                 envelope(`<updateMetadata><metadata xsi:type="ConnectedApp"><contactEmail>a</contactEmail><label>l</label><samlConfig><acsUrl>u</acsUrl><entityUrl>e</entityUrl><samlSubjectType>Nobody</samlSubjectType></samlConfig></metadata></updateMetadata>`),
		"short-id":                 envelope(`<checkDeployStatus><asyncProcessId>0Af3B</asyncProcessId><includeDetails>true</includeDetails></checkDeployStatus>`),
		"no-session-header":        strings.Replace(good, `<SessionHeader><sessionId>x</sessionId></SessionHeader>`, ``, 1),
		"two-operations":           strings.Replace(good, `</updateMetadata>`, `</updateMetadata><listMetadata><asOfVersion>63.0</asOfVersion></listMetadata>`, 1),
		"cert-meta-out-of-order":   `<Certificate xmlns="http://soap.sforce.com/2006/04/metadata"><keySize>2048</keySize><caSigned>false</caSigned><masterLabel>x</masterLabel></Certificate>`,
	}
	dir := t.TempDir()
	args := []string{"--noout", "--nonet", "--schema", filepath.Join("testdata", "soap-envelope.xsd")}
	write := func(name, data string) {
		p := filepath.Join(dir, name+".xml")
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	write("good", good)
	for name, data := range bad {
		write(name, data)
	}
	out, _ := exec.Command(xmllint, args...).CombinedOutput()
	if !strings.Contains(string(out), "good.xml validates") {
		t.Errorf("the good request does not validate:\n%s", out)
	}
	for name := range bad {
		if !strings.Contains(string(out), name+".xml fails to validate") {
			t.Errorf("%s was not rejected:\n%s", name, out)
		}
	}
}

func TestTokenHint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code, desc, want string
	}{
		{"invalid_grant", "user hasn't approved this consumer", "pre-authorize the user"},
		{"invalid_grant", "expired authorization code", "check the clock"},
		// "unexpected" is not "expired": no clock hint.
		{"invalid_grant", "unexpected error in assertion", "check the username, the login URL"},
		{"invalid_client_id", "client identifier invalid", "consumer key"},
	}
	for _, tt := range tests {
		if got := tokenHint(tt.code, tt.desc); !strings.Contains(got, tt.want) {
			t.Errorf("tokenHint(%q, %q) = %q, want it to contain %q", tt.code, tt.desc, got, tt.want)
		}
	}
}
