package sftest

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Metadata API CRUD calls on the types the fake holds: Certificate, ConnectedApp,
// IdentityProviderSettings, CallCenter.

// maxCRUDRecords is the Metadata API's limit of components per CRUD call.
const maxCRUDRecords = 10

func soapTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// saveError is one Error of a SaveResult.
type saveError struct {
	code    string
	message string
	fields  []string
}

func (s *Server) certificateRecord(c *certificate) *node {
	rec := elc("records",
		el("fullName", c.developerName),
		el("content", base64.StdEncoding.EncodeToString(c.pem())),
		el("caSigned", "false"),
		el("encryptedWithPlatformEncryption", "false"),
		el("expirationDate", soapTime(c.cert.NotAfter)),
		el("keySize", strconv.Itoa(c.keySize)),
		el("masterLabel", c.masterLabel),
		el("privateKeyExportable", "false"),
	)
	rec.Type.Space, rec.Type.Local = nsMetadata, "Certificate"
	return rec
}

func identityProviderRecord(o *org) *node {
	rec := elc("records",
		el("fullName", "IdentityProvider"),
		el("certificateName", o.idpCert),
		el("enableIdentityProvider", strconv.FormatBool(o.idpEnabled)),
	)
	rec.Type.Space, rec.Type.Local = nsMetadata, "IdentityProviderSettings"
	return rec
}

func apiVersion(v string) float64 {
	f, _ := strconv.ParseFloat(v, 64)
	return f
}

func (s *Server) readMetadata(o *org, sc *soapCall) (string, *soapFault) {
	typ := sc.op.childText("type")
	names := sc.op.all("fullNames")
	switch typ {
	case "Certificate", "ConnectedApp", "CallCenter":
	case "IdentityProviderSettings":
		if apiVersion(sc.version) >= 57 {
			break
		}
		fallthrough
	default:
		// Real faultstring (no "CODE: " prefix) for readMetadata of a type that
		// cannot be read.
		return "", &soapFault{code: "sf:UNKNOWN_EXCEPTION", message: typ + " is not a valid metadata type for reading"}
	}
	if len(names) > maxCRUDRecords {
		// No real sample; EXCEEDED_ID_LIMIT is the documented code for too many
		// records in one call.
		return "", sfFault("EXCEEDED_ID_LIMIT", fmt.Sprintf("record limit reached. cannot submit more than %d records into this call", maxCRUDRecords))
	}
	var b strings.Builder
	b.WriteString("<readMetadataResponse><result>")
	s.mu.Lock()
	for _, n := range names {
		var rec *node
		switch typ {
		case "Certificate":
			if c := o.cert(n.Text); c != nil {
				rec = s.certificateRecord(c)
			}
		case "ConnectedApp":
			if a := o.app(n.Text); a != nil {
				rec = a.record
			}
		case "CallCenter":
			if cc := o.callCenter(n.Text); cc != nil {
				rec = cc.record
			}
		case "IdentityProviderSettings":
			if n.Text == "IdentityProvider" {
				rec = identityProviderRecord(o)
			}
		}
		if rec == nil {
			// Not found: a nil placeholder in the name's place, as live orgs
			// send, although ReadResult.records is not nillable in the schema.
			// jsforce's metadata.read needs it (it reads records[0] and fails
			// on an empty result), and answers {} for it.
			b.WriteString(`<records xsi:nil="true"/>`)
			continue
		}
		writeRecord(&b, rec, "records")
	}
	s.mu.Unlock()
	b.WriteString("</result></readMetadataResponse>")
	return b.String(), nil
}

// saveMetadata serves updateMetadata, upsertMetadata and createMetadata. Update
// replaces the whole component: elements the request omits are cleared, as the
// real Metadata API does.
func (s *Server) saveMetadata(o *org, sc *soapCall) (string, *soapFault) {
	op := sc.op.Name.Local
	records := sc.op.all("metadata")
	if len(records) > maxCRUDRecords {
		return "", sfFault("EXCEEDED_ID_LIMIT", fmt.Sprintf("record limit reached. cannot submit more than %d records into this call", maxCRUDRecords))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	type outcome struct {
		fullName string
		created  bool
		errs     []saveError
		apply    func()
	}
	var results []outcome
	for _, rec := range records {
		res := outcome{fullName: rec.childText("fullName")}
		switch {
		case rec.missing != "":
			res.errs = []saveError{{"REQUIRED_FIELD_MISSING", "Required fields are missing: [" + rec.missing + "]", []string{rec.missing}}}
		case res.fullName == "":
			res.errs = []saveError{{"REQUIRED_FIELD_MISSING", "Required fields are missing: [fullName]", []string{"fullName"}}}
		default:
			res.created, res.apply, res.errs = s.saveRecord(o, op, rec)
		}
		results = append(results, res)
	}
	failed := false
	for _, r := range results {
		failed = failed || len(r.errs) > 0
	}
	if failed && sc.allOrNone {
		// AllOrNoneHeader: one failure rolls back every record of the call.
		for i := range results {
			if len(results[i].errs) == 0 {
				results[i].errs = []saveError{{"ALL_OR_NONE_OPERATION_ROLLED_BACK", "Record rolled back because not all records were valid and the request was using AllOrNone header", nil}}
			}
		}
	}
	var b strings.Builder
	b.WriteString("<" + op + "Response>")
	for _, r := range results {
		if len(r.errs) == 0 && r.apply != nil {
			o.noteSigners(s.now(), s.cfg.SignerCacheDelay)
			r.apply()
		}
		b.WriteString("<result>")
		if op == "upsertMetadata" {
			b.WriteString("<created>" + strconv.FormatBool(r.created && len(r.errs) == 0) + "</created>")
		}
		for _, e := range r.errs {
			b.WriteString("<errors>")
			for _, f := range e.fields {
				b.WriteString("<fields>")
				xmlEscape(&b, f)
				b.WriteString("</fields>")
			}
			b.WriteString("<message>")
			xmlEscape(&b, e.message)
			b.WriteString("</message><statusCode>" + e.code + "</statusCode></errors>")
		}
		b.WriteString("<fullName>")
		xmlEscape(&b, r.fullName)
		b.WriteString("</fullName><success>" + strconv.FormatBool(len(r.errs) == 0) + "</success></result>")
	}
	b.WriteString("</" + op + "Response>")
	return b.String(), nil
}

func crossRef(field, typ, name string) []saveError {
	// Salesforce's wording for a reference to a component that does not exist.
	return []saveError{{"INVALID_CROSS_REFERENCE_KEY", fmt.Sprintf("In field: %s - no %s named %s found", field, typ, name), []string{field}}}
}

// saveRecord checks one record and returns how to apply it. The caller holds s.mu.
func (s *Server) saveRecord(o *org, op string, rec *node) (created bool, apply func(), errs []saveError) {
	name := rec.childText("fullName")
	now := s.now()
	stored := rec.clone()
	stored.Name.Local = "records"
	stored.missing = ""
	switch rec.Type.Local {
	case "ConnectedApp":
		a := o.app(name)
		if a == nil && op == "updateMetadata" {
			return false, nil, crossRef("fullName", "ConnectedApp", name)
		}
		if a != nil && op == "createMetadata" {
			return false, nil, []saveError{{"DUPLICATE_DEVELOPER_NAME", "There is already a ConnectedApp named " + name, []string{"fullName"}}}
		}
		if a != nil && a.managed {
			// CANNOT_MODIFY_MANAGED_OBJECT is the documented StatusCode; the
			// message follows Salesforce's wording for managed components.
			return false, nil, []saveError{{"CANNOT_MODIFY_MANAGED_OBJECT", fmt.Sprintf("Cannot modify managed object: entity=ConnectedApplication, component=%s, state=installed", id15(a.id)), nil}}
		}
		if cert := stored.child("samlConfig").childText("certificate"); cert != "" && o.cert(cert) == nil {
			return false, nil, crossRef("certificate", "Certificate", cert)
		}
		if a == nil {
			return true, func() {
				o.connected = append(o.connected, &connectedApp{
					fullName: name, id: o.nextID(prefixConnectedApp), spID: o.nextID(prefixSAMLSP),
					record: stored, created: now, modified: now,
				})
			}, nil
		}
		return false, func() { a.record, a.modified = stored, now }, nil
	case "IdentityProviderSettings":
		if name != "IdentityProvider" {
			return false, nil, crossRef("fullName", "IdentityProviderSettings", name)
		}
		if op == "createMetadata" {
			return false, nil, []saveError{{"FIELD_INTEGRITY_EXCEPTION", "Settings cannot be created, only updated", []string{"fullName"}}}
		}
		cert := rec.childText("certificateName")
		if o.cert(cert) == nil {
			return false, nil, crossRef("certificateName", "Certificate", cert)
		}
		enabled := rec.childText("enableIdentityProvider")
		return false, func() { o.idpCert, o.idpEnabled = cert, enabled == "true" || enabled == "1" }, nil
	case "Certificate":
		c := o.cert(name)
		if c == nil {
			// The fake creates certificates only through deploy, the path known
			// to generate a key pair.
			return false, nil, []saveError{{"FIELD_INTEGRITY_EXCEPTION", "Certificates are created with deploy", []string{"fullName"}}}
		}
		if op == "createMetadata" {
			return false, nil, []saveError{{"DUPLICATE_DEVELOPER_NAME", "There is already a Certificate named " + name, []string{"fullName"}}}
		}
		if rec.child("content") != nil {
			return false, nil, []saveError{{"FIELD_INTEGRITY_EXCEPTION", "The certificate content cannot be changed", []string{"content"}}}
		}
		if ks := rec.childText("keySize"); ks != "" && ks != strconv.Itoa(c.keySize) {
			return false, nil, []saveError{{"FIELD_INTEGRITY_EXCEPTION", "The key size of an existing certificate cannot be changed", []string{"keySize"}}}
		}
		if rec.childText("caSigned") == "true" {
			return false, nil, []saveError{{"FIELD_INTEGRITY_EXCEPTION", "A self-signed certificate cannot become CA-signed", []string{"caSigned"}}}
		}
		label := rec.childText("masterLabel")
		return false, func() { c.masterLabel = label }, nil
	case "CallCenter":
		cc := o.callCenter(name)
		if cc == nil && op == "updateMetadata" {
			return false, nil, crossRef("fullName", "CallCenter", name)
		}
		if cc != nil && op == "createMetadata" {
			return false, nil, []saveError{{"DUPLICATE_DEVELOPER_NAME", "There is already a CallCenter named " + name, []string{"fullName"}}}
		}
		if cc == nil {
			return true, func() {
				o.callCenters = append(o.callCenters, &callCenter{id: o.nextID(prefixCallCenter), record: stored, created: now})
			}, nil
		}
		return false, func() { cc.record = stored }, nil
	}
	return false, nil, []saveError{{"INVALID_TYPE", "This type of object is not available for this organization", nil}}
}

func (s *Server) listMetadata(o *org, sc *soapCall) (string, *soapFault) {
	queries := sc.op.all("queries")
	if len(queries) > 3 {
		return "", sfFault("INVALID_OPERATION", "listMetadata accepts at most 3 queries")
	}
	for _, q := range queries {
		switch t := q.childText("type"); t {
		case "Certificate", "ConnectedApp", "CallCenter":
		default:
			// Real wording of this fault.
			return "", sfFault("INVALID_TYPE", "Unknown type:"+t)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	admin := o.users[0]
	var b strings.Builder
	for _, q := range queries {
		file := func(fileName, fullName, id string, created, modified time.Time, managed bool, typ string) {
			b.WriteString("<result><createdById>" + admin.id + "</createdById><createdByName>Admin User</createdByName>")
			b.WriteString("<createdDate>" + soapTime(created) + "</createdDate><fileName>")
			xmlEscape(&b, fileName)
			b.WriteString("</fileName><fullName>")
			xmlEscape(&b, fullName)
			b.WriteString("</fullName><id>" + id + "</id><lastModifiedById>" + admin.id + "</lastModifiedById>")
			b.WriteString("<lastModifiedByName>Admin User</lastModifiedByName><lastModifiedDate>" + soapTime(modified) + "</lastModifiedDate>")
			if managed {
				ns, _, _ := strings.Cut(fullName, "__")
				b.WriteString("<manageableState>installed</manageableState><namespacePrefix>" + ns + "</namespacePrefix>")
			} else {
				b.WriteString("<manageableState>unmanaged</manageableState>")
			}
			b.WriteString("<type>" + typ + "</type></result>")
		}
		switch q.childText("type") {
		case "Certificate":
			for _, c := range o.certs {
				file("certs/"+c.developerName+".crt", c.developerName, c.id, c.created, c.created, false, "Certificate")
			}
		case "ConnectedApp":
			for _, a := range o.connected {
				file("connectedApps/"+a.fullName+".connectedApp", a.fullName, a.id, a.created, a.modified, a.managed, "ConnectedApp")
			}
		case "CallCenter":
			for _, cc := range o.callCenters {
				n := cc.record.childText("fullName")
				file("callCenters/"+n+".callCenter", n, cc.id, cc.created, cc.created, false, "CallCenter")
			}
		}
	}
	if b.Len() == 0 {
		return "<listMetadataResponse/>", nil
	}
	return "<listMetadataResponse>" + b.String() + "</listMetadataResponse>", nil
}
