package sftest

import (
	"fmt"
	"net/http"
)

// Fault makes calls of one operation fail: the Nth matching call, or every call
// from the Nth on. The error takes the operation's own form: a JSON error array on
// REST, a SOAP fault on the Metadata API, {"error","error_description"} on OAuth.
type Fault struct {
	// Operation is a [Request].Operation: "oauth2/token", "query",
	// "tooling/query", "readMetadata", "updateMetadata", "upsertMetadata",
	// "createMetadata", "listMetadata", "deploy", "checkDeployStatus",
	// "samlidp.xml", "frontdoor.jsp", "idp/login".
	Operation string
	// Type limits the fault to one metadata type (SOAP) or queried object (REST).
	// "" matches every call of the operation.
	Type string
	// Nth is the 1-based matching call that fails. Zero: the first.
	Nth int
	// AndAfter makes every matching call from the Nth on fail.
	AndAfter bool
	// Code is the error code, e.g. "INVALID_SESSION_ID", "REQUEST_LIMIT_EXCEEDED",
	// "UNKNOWN_EXCEPTION" (SOAP, REST) or "invalid_grant" (OAuth).
	Code string
	// Message is the error text. Zero: a message like Salesforce's for the code.
	Message string
	// Status overrides the HTTP status. Zero: 401 for INVALID_SESSION_ID and 403
	// for REQUEST_LIMIT_EXCEEDED on REST, 500 on SOAP, 400 on OAuth. 502, 503 and
	// 504 answer with an HTML page, as a load balancer does.
	Status int
}

type faultState struct {
	Fault
	seen int
}

// AddFault injects a fault from now on.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultState{Fault: f})
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// injected returns the fault that applies to this call, if any. It counts the call.
func (s *Server) injected(operation, typ string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	var hit *Fault
	for _, f := range s.faults {
		if f.Operation != operation || f.Type != "" && f.Type != typ {
			continue
		}
		f.seen++
		nth := f.Nth
		if nth == 0 {
			nth = 1
		}
		if f.seen == nth || f.AndAfter && f.seen > nth {
			if hit == nil {
				hit = &f.Fault
			}
		}
	}
	return hit
}

func defaultFaultMessage(code string) string {
	switch code {
	case "INVALID_SESSION_ID":
		return "Session expired or invalid"
	case "REQUEST_LIMIT_EXCEEDED":
		return "TotalRequests Limit exceeded."
	case "UNKNOWN_EXCEPTION":
		return "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)"
	}
	return fmt.Sprintf("injected %s", code)
}

// writeGatewayError answers as a load balancer in front of Salesforce does.
func writeGatewayError(w http.ResponseWriter, status int) {
	writeHTML(w, status, fmt.Sprintf("<html><body><h1>%d %s</h1></body></html>", status, http.StatusText(status)))
}
