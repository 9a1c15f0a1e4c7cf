package iamtest

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Namespaces of the two Query APIs, used as the default namespace of every body.
const (
	iamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"
	stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// apiError is an error answer: the wire code, its message, and the HTTP status and
// fault type that go with the code. detail is for the request log only (never sent):
// it says which rule failed where the wire message is deliberately vague.
type apiError struct {
	Code    string
	Message string
	Status  int
	detail  string
}

func (e *apiError) Error() string { return "iamtest: " + e.Code + ": " + e.Message }

// codeStatus holds the HTTP status of each error code the fake sends. Sources are in
// ../shared/reference/aws-wire.md §1.7 and §2.3; [I] marks codes whose status is an
// inference there (409 for LimitExceeded, EntityAlreadyExists, ConcurrentModification)
// and the SigV4 codes, which the reference does not cover (their statuses follow the
// AWS common-errors tables).
var codeStatus = map[string]int{
	"InvalidInput":               http.StatusBadRequest,
	"NoSuchEntity":               http.StatusNotFound,
	"ServiceFailure":             http.StatusInternalServerError,
	"Throttling":                 http.StatusBadRequest,
	"LimitExceeded":              http.StatusConflict,
	"EntityAlreadyExists":        http.StatusConflict,
	"ConcurrentModification":     http.StatusConflict,
	"InvalidIdentityToken":       http.StatusBadRequest,
	"IDPRejectedClaim":           http.StatusForbidden,
	"ExpiredTokenException":      http.StatusBadRequest,
	"MalformedPolicyDocument":    http.StatusBadRequest,
	"PackedPolicyTooLarge":       http.StatusBadRequest,
	"RegionDisabledException":    http.StatusForbidden,
	"AccessDenied":               http.StatusForbidden,
	"ValidationError":            http.StatusBadRequest,
	"InvalidAction":              http.StatusBadRequest,
	"MissingAction":              http.StatusBadRequest,
	"MissingAuthenticationToken": http.StatusForbidden,
	"IncompleteSignature":        http.StatusBadRequest,
	"InvalidClientTokenId":       http.StatusForbidden,
	"SignatureDoesNotMatch":      http.StatusForbidden,
	"ExpiredToken":               http.StatusForbidden,
}

// newError returns the error answer for code, with the status that code has on the
// wire (400 for a code the table does not know).
func newError(code, message string) *apiError {
	status, ok := codeStatus[code]
	if !ok {
		status = http.StatusBadRequest
	}
	return &apiError{Code: code, Message: message, Status: status}
}

// faultType is the <Type> of an error: Receiver for server faults, else Sender.
func faultType(status int) string {
	if status >= 500 {
		return "Receiver"
	}
	return "Sender"
}

// writeError writes the Query error envelope: RequestId is a sibling of Error, as AWS
// sends it and as aws-sdk-go-v2's wrapped-error decoder expects.
func writeError(w http.ResponseWriter, ns, requestID string, e *apiError) {
	var b bytes.Buffer
	b.WriteString(`<ErrorResponse xmlns="` + ns + `"><Error><Type>`)
	b.WriteString(faultType(e.Status))
	b.WriteString(`</Type><Code>`)
	b.WriteString(textEscaper.Replace(e.Code))
	b.WriteString(`</Code><Message>`)
	b.WriteString(textEscaper.Replace(e.Message))
	b.WriteString(`</Message></Error><RequestId>`)
	b.WriteString(requestID)
	b.WriteString("</RequestId></ErrorResponse>\n")
	writeBody(w, requestID, e.Status, b.Bytes())
}

// writeResult writes a success envelope: <OpResponse><OpResult>result</OpResult>
// <ResponseMetadata/></OpResponse>, Result first (some SDKs depend on that order).
// result is already-escaped XML; an empty result omits the Result element, as
// DeleteSAMLProvider does.
func writeResult(w http.ResponseWriter, ns, op, requestID string, result []byte, withResult bool) {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<%sResponse xmlns="%s">`, op, ns)
	if withResult {
		fmt.Fprintf(&b, "<%sResult>", op)
		b.Write(result)
		fmt.Fprintf(&b, "</%sResult>", op)
	}
	fmt.Fprintf(&b, "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>\n", requestID, op)
	writeBody(w, requestID, http.StatusOK, b.Bytes())
}

func writeBody(w http.ResponseWriter, requestID string, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("X-Amzn-Requestid", requestID)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// xmlWriter builds the inside of a Result element. Text is always escaped as
// character data, never CDATA, so a metadata document travels as text.
type xmlWriter struct{ bytes.Buffer }

// elem writes <name>text</name> with text escaped.
func (x *xmlWriter) elem(name, text string) {
	x.WriteString("<" + name + ">")
	x.WriteString(textEscaper.Replace(text))
	x.WriteString("</" + name + ">")
}

// textEscaper escapes character data the way Java XML writers do: only &, < and >
// (and a carriage return, which a parser would otherwise turn into a newline).
// Quotes and newlines stay literal, unlike encoding/xml's EscapeText: a metadata
// document then costs a client few entity expansions, which matters to AWS SDK for
// JavaScript versions that cap them at 1000 (aws-wire.md §5.2). How AWS itself
// escapes is [?] there.
var textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#xD;")

// time writes a timestamp in ISO 8601 UTC with milliseconds, as IAM does.
func (x *xmlWriter) time(name string, t time.Time) {
	x.elem(name, formatTime(t))
}

func (x *xmlWriter) open(name string)  { x.WriteString("<" + name + ">") }
func (x *xmlWriter) close(name string) { x.WriteString("</" + name + ">") }

func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
