package salesforce

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinels that callers branch on with errors.Is. An [*Error] matches the sentinel of
// its code, so errors.Is(err, ErrInvalidSession) holds for a REST 401 and for a SOAP
// fault alike.
var (
	// ErrNotFound means the named certificate, connected app, setting or record does not
	// exist (or the user cannot see it).
	ErrNotFound = errors.New("salesforce: not found")
	// ErrInvalidSession means Salesforce refused the session (INVALID_SESSION_ID), even
	// after one re-authentication.
	ErrInvalidSession = errors.New("salesforce: invalid session")
	// ErrRequestLimit means Salesforce refused the call for an API limit
	// (REQUEST_LIMIT_EXCEEDED), after the retries.
	ErrRequestLimit = errors.New("salesforce: request limit exceeded")
	// ErrAuthentication means the token endpoint refused the credentials.
	ErrAuthentication = errors.New("salesforce: authentication failed")
	// ErrWrongOrg means the token belongs to another org than the one configured.
	ErrWrongOrg = errors.New("salesforce: token is for another org")
	// ErrJWTAccessToken means the access token is a JWT, which Metadata SOAP calls refuse.
	ErrJWTAccessToken = errors.New("salesforce: JWT-format access token")
	// ErrInsecureURL means a URL is not https (plain http is allowed for loopback only).
	ErrInsecureURL = errors.New("salesforce: insecure URL")
	// ErrAPIOnlyUser means the user cannot open a UI session (the "API Only User"
	// permission), so the SSO probe cannot run.
	ErrAPIOnlyUser = errors.New("salesforce: API-only user")
	// ErrNoWebScope means the token lacks the web (or full) scope that frontdoor.jsp needs,
	// so the SSO probe cannot run.
	ErrNoWebScope = errors.New("salesforce: token lacks the web scope")
	// ErrNoAccess means the user may not use the connected app (Salesforce answered
	// "Insufficient Privileges"; the user lacks the SCV permission set).
	ErrNoAccess = errors.New("salesforce: insufficient privileges")
	// ErrCertificateExists means a certificate with that DeveloperName already exists.
	ErrCertificateExists = errors.New("salesforce: certificate already exists")
	// ErrDeployFailed means a Metadata deploy finished without success.
	ErrDeployFailed = errors.New("salesforce: deploy failed")
	// ErrUnexpectedChange means that, after an update, reading the component back showed a
	// difference other than the one sent.
	ErrUnexpectedChange = errors.New("salesforce: unexpected change after update")
	// ErrTransient means that a temporary failure (HTTP 502/503/504, a reset connection)
	// persisted through the retries.
	ErrTransient = errors.New("salesforce: temporary failure")
)

// Error is an error reported by Salesforce: a REST error, a SOAP fault, a SaveResult
// error or a token endpoint error. It never holds a token or any other secret: only
// what Salesforce said about the failure.
type Error struct {
	// Op names the call that failed, such as "query" or "updateMetadata".
	Op string
	// Code is Salesforce's code: the REST errorCode, the SOAP faultcode without its
	// prefix, the SaveResult statusCode, or the OAuth error.
	Code string
	// Message is Salesforce's message (faultstring, error_description, ...).
	Message string
	// Fields are the fields the error is about, when Salesforce names them.
	Fields []string
	// StatusCode is the HTTP status of the answer (200 for SaveResult errors).
	StatusCode int
	// Hint tells the admin what to do, when the code is one we know.
	Hint string
}

// Error returns "salesforce: OP: CODE: MESSAGE (fields ...) (HTTP n); HINT".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("salesforce: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if len(e.Fields) > 0 {
		fmt.Fprintf(&b, " (fields %s)", strings.Join(e.Fields, ", "))
	}
	if e.StatusCode != 0 && e.StatusCode != http.StatusOK {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Is reports whether the error's code belongs to target's sentinel.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrInvalidSession:
		return e.Code == "INVALID_SESSION_ID" || (e.StatusCode == http.StatusUnauthorized && e.Op != "token")
	case ErrRequestLimit:
		return e.Code == "REQUEST_LIMIT_EXCEEDED"
	case ErrNotFound:
		return e.Code == "NOT_FOUND" || e.Code == "INVALID_CROSS_REFERENCE_KEY" ||
			e.StatusCode == http.StatusNotFound
	case ErrTransient:
		return transientStatus(e.StatusCode)
	case ErrAuthentication:
		return e.Op == "token"
	}
	return false
}

// transientStatus reports whether an HTTP status is worth retrying.
func transientStatus(code int) bool {
	return code == http.StatusBadGateway || code == http.StatusServiceUnavailable ||
		code == http.StatusGatewayTimeout
}

// restError turns a non-2xx REST answer into an error. Salesforce sends a JSON array
// of {errorCode, message, fields}; anything else is reported by status, with at most
// a short, sanitized excerpt of the body.
func restError(op string, status int, body []byte) error {
	var list []struct {
		ErrorCode string   `json:"errorCode"`
		Message   string   `json:"message"`
		Fields    []string `json:"fields"`
	}
	if err := json.Unmarshal(body, &list); err == nil && len(list) > 0 {
		first := list[0]
		e := &Error{Op: op, Code: first.ErrorCode, Message: strings.TrimSpace(first.Message),
			Fields: first.Fields, StatusCode: status}
		if len(list) > 1 {
			var more []string
			for _, x := range list[1:] {
				more = append(more, x.ErrorCode+": "+strings.TrimSpace(x.Message))
			}
			e.Message += " (and " + strings.Join(more, "; ") + ")"
		}
		e.Hint = hintFor(e.Code)
		return e
	}
	return &Error{Op: op, Code: http.StatusText(status), Message: excerpt(body), StatusCode: status,
		Hint: hintFor("")}
}

// soapFault is the body of a SOAP 1.1 fault.
type soapFault struct {
	Code   string `xml:"faultcode"`
	String string `xml:"faultstring"`
}

// soapError turns a SOAP answer that is not a success into an error: a Fault (HTTP 500
// in practice) or any non-200 status.
func soapError(op string, status int, body []byte) error {
	var env struct {
		Body struct {
			Fault *soapFault `xml:"Fault"`
		} `xml:"Body"`
	}
	if err := xml.Unmarshal(body, &env); err == nil && env.Body.Fault != nil {
		code := env.Body.Fault.Code
		if i := strings.LastIndex(code, ":"); i >= 0 {
			code = code[i+1:]
		}
		msg := strings.TrimSpace(env.Body.Fault.String)
		msg = strings.TrimPrefix(msg, code+": ")
		return &Error{Op: op, Code: code, Message: msg, StatusCode: status, Hint: hintFor(code)}
	}
	return &Error{Op: op, Code: http.StatusText(status), Message: excerpt(body), StatusCode: status}
}

// saveError is one entry of SaveResult.errors (WSDL type Error).
type saveError struct {
	Fields     []string `xml:"fields"`
	Message    string   `xml:"message"`
	StatusCode string   `xml:"statusCode"`
}

// saveResultError turns a SaveResult with success=false into an error.
func saveResultError(op, fullName string, errs []saveError) error {
	if len(errs) == 0 {
		return &Error{Op: op, Code: "UNKNOWN", Message: fullName + ": success=false without errors",
			StatusCode: http.StatusOK}
	}
	var all []error
	for _, x := range errs {
		all = append(all, &Error{Op: op, Code: x.StatusCode, Message: fullName + ": " + x.Message,
			Fields: x.Fields, StatusCode: http.StatusOK, Hint: hintFor(x.StatusCode)})
	}
	if len(all) == 1 {
		return all[0]
	}
	return errors.Join(all...)
}

// tokenError turns an error answer of the token endpoint into an error that tells the
// admin what to do.
func tokenError(status int, body []byte) error {
	var r struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Error == "" {
		return &Error{Op: "token", Code: http.StatusText(status), Message: excerpt(body), StatusCode: status,
			Hint: "check the login URL: it must be the org's My Domain URL or login/test.salesforce.com"}
	}
	return &Error{Op: "token", Code: r.Error, Message: r.Description, StatusCode: status,
		Hint: tokenHint(r.Error, r.Description)}
}

// tokenHint says what to do about a token endpoint error.
func tokenHint(code, desc string) string {
	d := strings.ToLower(desc)
	switch {
	case strings.Contains(d, "hasn't approved") || strings.Contains(d, "not approved"):
		return "pre-authorize the user for the connected app: set Permitted Users to " +
			"\"Admin approved users are pre-authorized\" and add the user's profile or a permission set"
	case strings.Contains(d, "audience"):
		return "the JWT audience must be https://login.salesforce.com, https://test.salesforce.com " +
			"or the org's My Domain URL; set JWTBearer.Audience"
	case strings.Contains(d, "expired"):
		return "the JWT has expired: check the clock of this machine"
	case strings.Contains(d, "user") && (strings.Contains(d, "inactive") || strings.Contains(d, "not found")):
		return "check the username: it must be an active user of this org"
	case code == "invalid_client_id" || strings.Contains(d, "client identifier"):
		return "check the client id: it must be the consumer key of the connected app or external client app"
	case code == "invalid_client" || code == "invalid_client_credentials":
		return "check the client id and secret, and that the client credentials flow is enabled with a run-as user"
	case strings.Contains(d, "signature") || strings.Contains(d, "certificate"):
		return "upload the certificate of the JWT signing key to the connected app (Use digital signatures)"
	case code == "invalid_grant":
		return "check the username, the login URL, and that the app is approved for the user"
	case code == "inactive_user" || code == "inactive_org":
		return "the user or the org is inactive"
	case code == "rate_limit_exceeded":
		return "too many logins: wait and retry"
	}
	return "check the connected app's OAuth settings"
}

// hintFor says what to do about a Salesforce error code, when we know.
func hintFor(code string) string {
	switch code {
	case "INVALID_SESSION_ID":
		return "the session expired or was revoked: check the token source"
	case "REQUEST_LIMIT_EXCEEDED":
		return "the org's API limits are exhausted: retry later"
	case "INSUFFICIENT_ACCESS", "INSUFFICIENT_ACCESS_OR_READONLY":
		return "the user needs Customize Application and Modify Metadata Through Metadata API Functions"
	case "API_DISABLED_FOR_ORG", "API_CURRENTLY_DISABLED":
		return "the user's profile needs the API Enabled permission"
	case "":
		return ""
	}
	return ""
}

// excerpt returns the start of an unexpected answer body, for errors: at most 200
// bytes, one line. Bodies of error answers never carry the caller's secrets.
func excerpt(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
