package sftest

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
)

// maxSOAPBody bounds a Metadata API request (deploy zips are sent inline, base64).
const maxSOAPBody = 50 << 20

var soapPath = regexp.MustCompile(`^/services/Soap/m/(\d+\.\d)(?:/([A-Za-z0-9]{15}|[A-Za-z0-9]{18}))?/?$`)

// soapOps are the operations the fake serves, with whether each is a write.
var soapOps = map[string]bool{
	"readMetadata": false, "listMetadata": false, "checkDeployStatus": false,
	"updateMetadata": true, "upsertMetadata": true, "createMetadata": true, "deploy": true,
}

// soapFault is a fault answer: HTTP 500, as jsforce requires to notice an expired
// session.
type soapFault struct {
	code    string // "sf:INVALID_SESSION_ID", "soapenv:Client", "UNKNOWN_EXCEPTION"
	message string // the faultstring
}

func (f *soapFault) Error() string { return f.message }

func sfFault(code, message string) *soapFault {
	return &soapFault{code: "sf:" + code, message: code + ": " + message}
}

func writeSOAPFault(w http.ResponseWriter, f *soapFault) {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="` + nsSOAPEnv + `" xmlns:sf="` + nsMetadata + `" xmlns:xsi="` + nsXSI + `"><soapenv:Body><soapenv:Fault><faultcode>`)
	xmlEscape(&b, f.code)
	b.WriteString("</faultcode><faultstring>")
	xmlEscape(&b, f.message)
	b.WriteString("</faultstring>")
	if code, ok := strings.CutPrefix(f.code, "sf:"); ok || !strings.Contains(f.code, ":") {
		if !ok {
			code = f.code
		}
		msg := strings.TrimPrefix(f.message, code+": ")
		b.WriteString(`<detail><sf:UnexpectedErrorFault xsi:type="sf:UnexpectedErrorFault"><sf:exceptionCode>`)
		xmlEscape(&b, code)
		b.WriteString("</sf:exceptionCode><sf:exceptionMessage>")
		xmlEscape(&b, msg)
		b.WriteString("</sf:exceptionMessage></sf:UnexpectedErrorFault></detail>")
	}
	b.WriteString("</soapenv:Fault></soapenv:Body></soapenv:Envelope>")
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(http.StatusInternalServerError)
	io.WriteString(w, b.String())
}

// writeSOAP answers with an operation response; body is the XML inside
// soapenv:Body, unprefixed in the metadata namespace.
func writeSOAP(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="`+nsSOAPEnv+`" xmlns="`+nsMetadata+`" xmlns:xsi="`+nsXSI+`"><soapenv:Body>`+body+`</soapenv:Body></soapenv:Envelope>`)
}

// soapCall is a decoded, schema-checked Metadata API request.
type soapCall struct {
	version   string
	op        *node
	token     *token
	allOrNone bool
}

func (s *Server) handleSOAP(w http.ResponseWriter, r *http.Request, c *call) {
	sc, f := s.decodeSOAP(r, c)
	if f != nil {
		writeSOAPFault(w, f)
		return
	}
	if fault := s.injected(c.operation, c.typ); fault != nil {
		if fault.Status >= 502 {
			writeGatewayError(w, fault.Status)
			return
		}
		msg := fault.Message
		if msg == "" {
			msg = defaultFaultMessage(fault.Code)
			switch fault.Code {
			case "INVALID_SESSION_ID":
				msg = "Invalid Session ID found in SessionHeader: Illegal Session"
			case "REQUEST_LIMIT_EXCEEDED":
				// The real SOAP wording.
				msg = "ConcurrentRequests (Concurrent API Requests) Limit exceeded."
			}
		}
		writeSOAPFault(w, sfFault(fault.Code, msg))
		return
	}
	var body string
	switch sc.op.Name.Local {
	case "readMetadata":
		body, f = s.readMetadata(c.org, sc)
	case "updateMetadata", "upsertMetadata", "createMetadata":
		body, f = s.saveMetadata(c.org, sc)
	case "listMetadata":
		body, f = s.listMetadata(c.org, sc)
	case "deploy":
		body, f = s.deploy(c.org, sc)
	case "checkDeployStatus":
		body, f = s.checkDeployStatus(c.org, sc)
	}
	if f != nil {
		writeSOAPFault(w, f)
		return
	}
	writeSOAP(w, body)
}

func (s *Server) decodeSOAP(r *http.Request, c *call) (*soapCall, *soapFault) {
	m := soapPath.FindStringSubmatch(c.path)
	if m == nil {
		return nil, &soapFault{code: "soapenv:Client", message: "No service available at " + c.path}
	}
	if !supportedVersion(m[1]) {
		// No real sample; UNSUPPORTED_API_VERSION is the documented ExceptionCode.
		return nil, sfFault("UNSUPPORTED_API_VERSION", "Invalid Api version specified on URL")
	}
	if r.Method != http.MethodPost {
		return nil, &soapFault{code: "soapenv:Client", message: "Only POST is supported"}
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxSOAPBody+1))
	if err != nil {
		return nil, &soapFault{code: "soapenv:Client", message: "Unable to read the request"}
	}
	if len(data) > maxSOAPBody {
		return nil, sfFault("EXCEEDED_MAX_SIZE_REQUEST", "Request exceeds the maximum size")
	}
	env, err := parseXML(data)
	if err != nil {
		// A real XML parse error on Salesforce's SOAP APIs comes back as an
		// unprefixed UNKNOWN_EXCEPTION with an UnexpectedErrorFault detail.
		return nil, &soapFault{code: "UNKNOWN_EXCEPTION", message: "UNKNOWN_EXCEPTION: " + err.Error()}
	}
	if env.Name.Local != "Envelope" {
		return nil, &soapFault{code: "soapenv:Client", message: fmt.Sprintf("Element {%s}%s invalid at this location", env.Name.Space, env.Name.Local)}
	}
	if env.Name.Space != nsSOAPEnv {
		return nil, &soapFault{code: "soapenv:VersionMismatch", message: "Wrong SOAP envelope namespace: " + env.Name.Space}
	}
	var header, body *node
	for _, ch := range env.Children {
		switch {
		case ch.Name.Space == nsSOAPEnv && ch.Name.Local == "Header" && header == nil && body == nil:
			header = ch
		case ch.Name.Space == nsSOAPEnv && ch.Name.Local == "Body" && body == nil:
			body = ch
		default:
			return nil, faultFrom(invalidLocation(ch))
		}
	}
	if body == nil || len(body.Children) != 1 {
		return nil, &soapFault{code: "soapenv:Client", message: "The SOAP Body must hold exactly one operation element"}
	}
	op := body.Children[0]
	schema, err := loadSchema()
	if err != nil {
		return nil, sfFault("UNKNOWN_EXCEPTION", err.Error())
	}
	decl := schema.elements[op.Name.Local]
	if _, served := soapOps[op.Name.Local]; op.Name.Space != nsMetadata || !served || decl == nil {
		// Salesforce's SOAP stack names an unknown operation this way.
		return nil, &soapFault{code: "soapenv:Client", message: fmt.Sprintf("No operation available for request {%s}%s, please check the WSDL for the service.", op.Name.Space, op.Name.Local)}
	}
	c.operation = op.Name.Local
	c.write = soapOps[op.Name.Local]
	var sessionID *node
	allOrNone := false
	if header != nil {
		for _, h := range header.Children {
			if h.Name.Space != nsMetadata {
				continue // headers of other namespaces are not ours to judge
			}
			hd := schema.elements[h.Name.Local]
			switch h.Name.Local {
			case "SessionHeader", "CallOptions", "AllOrNoneHeader":
			default:
				return nil, faultFrom(invalidLocation(h))
			}
			if serr := schema.validate(h, hd.Anonymous, s.cfg.StrictElementOrder); serr != nil {
				return nil, faultFrom(serr)
			}
			switch h.Name.Local {
			case "SessionHeader":
				sessionID = h.child("sessionId")
			case "AllOrNoneHeader":
				v := h.childText("allOrNone")
				allOrNone = v == "true" || v == "1"
			}
		}
	}
	if serr := schema.validate(op, decl.Anonymous, s.cfg.StrictElementOrder); serr != nil {
		return nil, faultFrom(serr)
	}
	c.typ = soapType(op)
	if sessionID == nil {
		return nil, sfFault("INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session. Session not found, missing session key")
	}
	s.mu.Lock()
	t := s.lookupToken(c.org, strings.TrimSpace(sessionID.Text))
	s.mu.Unlock()
	if t == nil {
		return nil, sfFault("INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session")
	}
	return &soapCall{version: m[1], op: op, token: t, allOrNone: allOrNone}, nil
}

// soapType is the metadata type a call concerns, for the log and for faults.
func soapType(op *node) string {
	switch op.Name.Local {
	case "readMetadata":
		return op.childText("type")
	case "listMetadata":
		if q := op.child("queries"); q != nil {
			return q.childText("type")
		}
	case "updateMetadata", "upsertMetadata", "createMetadata":
		if md := op.child("metadata"); md != nil {
			return md.Type.Local
		}
	}
	return ""
}

func faultFrom(err *schemaError) *soapFault {
	return &soapFault{code: err.faultCode, message: err.message}
}
