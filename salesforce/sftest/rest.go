package sftest

import (
	"bytes"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The objects the fake answers SOQL for. REST: CallCenter, ConnectedApplication,
// Organization, User. Tooling: Certificate.
var sobjects = []*sobject{
	{
		name: "CallCenter",
		fields: []*fieldDef{{"Id", ftID}, {"Name", ftString}, {"InternalName", ftString}, {"AdapterUrl", ftString},
			{"Version", ftString}, {"CustomSettings", ftString}, {"CreatedDate", ftDateTime}},
		rows: func(s *Server, o *org) []row {
			var out []row
			for _, cc := range o.callCenters {
				out = append(out, row{
					"Id": cc.id, "Name": cc.record.childText("displayName"), "InternalName": cc.record.childText("fullName"),
					"AdapterUrl": cc.record.childText("adapterUrl"), "Version": nilIfEmpty(cc.record.childText("version")),
					"CustomSettings": nilIfEmpty(cc.record.childText("customSettings")), "CreatedDate": cc.created,
				})
			}
			return out
		},
	},
	{
		name:   "ConnectedApplication",
		fields: []*fieldDef{{"Id", ftID}, {"Name", ftString}, {"CreatedDate", ftDateTime}, {"LastModifiedDate", ftDateTime}},
		rows: func(s *Server, o *org) []row {
			var out []row
			for _, a := range o.connected {
				out = append(out, row{"Id": a.id, "Name": a.record.childText("label"), "CreatedDate": a.created, "LastModifiedDate": a.modified})
			}
			return out
		},
	},
	{
		name:   "Organization",
		fields: []*fieldDef{{"Id", ftID}, {"Name", ftString}, {"IsSandbox", ftBool}, {"OrganizationType", ftString}, {"InstanceName", ftString}},
		rows: func(s *Server, o *org) []row {
			return []row{{"Id": o.id, "Name": o.name, "IsSandbox": false, "OrganizationType": "Developer Edition", "InstanceName": "SFTEST1"}}
		},
	},
	{
		name:   "User",
		fields: []*fieldDef{{"Id", ftID}, {"Username", ftString}, {"Email", ftString}, {"IsActive", ftBool}},
		rows: func(s *Server, o *org) []row {
			var out []row
			for _, u := range o.users {
				out = append(out, row{"Id": u.id, "Username": u.Username, "Email": u.Email, "IsActive": true})
			}
			return out
		},
	},
	{
		name:    "Certificate",
		tooling: true,
		fields: []*fieldDef{{"Id", ftID}, {"DeveloperName", ftString}, {"MasterLabel", ftString}, {"ExpirationDate", ftDate},
			{"KeySize", ftInt}, {"CreatedDate", ftDateTime}},
		rows: func(s *Server, o *org) []row {
			var out []row
			for _, c := range o.certs {
				out = append(out, row{
					"Id": c.id, "DeveloperName": c.developerName, "MasterLabel": c.masterLabel,
					"ExpirationDate": c.cert.NotAfter, "KeySize": c.keySize, "CreatedDate": c.created,
				})
			}
			return out
		},
	},
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

type cursor struct {
	id      string
	org     *org
	tooling bool
	sobj    *sobject
	fields  []*fieldDef
	records []row
	total   int
	batch   int
}

var restPath = regexp.MustCompile(`^/services/data/v(\d+\.\d)(/.*)?$`)

func supportedVersion(v string) bool {
	f, err := strconv.ParseFloat(v, 64)
	return err == nil && f >= 20 && f <= 66
}

func (s *Server) handleREST(w http.ResponseWriter, r *http.Request, c *call) {
	if c.path == "/services/data/" || c.path == "/services/data" {
		c.operation = "versions"
		writeJSON(w, http.StatusOK, []map[string]string{
			{"label": "Spring '25", "url": "/services/data/v63.0", "version": "63.0"},
		})
		return
	}
	m := restPath.FindStringSubmatch(c.path)
	if m == nil || !supportedVersion(m[1]) {
		writeRESTError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	version, rest := m[1], m[2]
	if rest == "" || rest == "/" {
		c.operation = "resources"
		s.handleResources(w, r, c, version)
		return
	}
	tooling := strings.HasPrefix(rest, "/tooling/")
	if tooling {
		rest = strings.TrimPrefix(rest, "/tooling")
		c.operation = "tooling/query"
	} else {
		c.operation = "query"
	}
	if rest != "/query" && rest != "/query/" && !strings.HasPrefix(rest, "/query/") {
		c.operation = ""
		writeRESTError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	if r.Method != http.MethodGet {
		writeRESTError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "HTTP Method '"+r.Method+"' not allowed. Allowed are GET")
		return
	}
	s.mu.Lock()
	t := s.lookupToken(c.org, bearer(r))
	s.mu.Unlock()
	if t == nil {
		writeInvalidSession(w)
		return
	}
	locator := strings.TrimPrefix(strings.TrimPrefix(rest, "/query"), "/")
	if locator != "" {
		s.queryMore(w, c, version, tooling, locator)
		return
	}
	q := r.URL.Query().Get("q")
	query, serr := parseSOQL(q)
	if serr == nil {
		var objs []*sobject
		for _, so := range sobjects {
			if so.tooling == tooling {
				objs = append(objs, so)
			}
		}
		serr = query.resolve(objs)
	}
	if query != nil && query.sobj != nil {
		c.typ = query.sobj.name
	}
	if s.restFault(w, c) {
		return
	}
	if serr != nil {
		writeRESTError(w, http.StatusBadRequest, serr.code, serr.render(q))
		return
	}
	batch := s.cfg.BatchSize
	if batch <= 0 {
		batch = 2000
	}
	if opt := r.Header.Get("Sforce-Query-Options"); opt != "" {
		for _, part := range strings.Split(opt, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			if n, err := strconv.Atoi(v); strings.EqualFold(k, "batchSize") && err == nil && n >= 200 && n < batch {
				batch = n
			}
		}
	}
	s.mu.Lock()
	rows := query.run(query.sobj.rows(s, c.org))
	records := rows
	if query.count {
		records = nil // COUNT() answers totalSize with an empty records array
	}
	cur := &cursor{org: c.org, tooling: tooling, sobj: query.sobj, fields: query.fieldDefs, records: records, total: len(rows), batch: batch}
	page := s.page(cur, 0, version)
	s.mu.Unlock()
	writeRawJSON(w, page)
}

// handleResources answers GET /services/data/vXX.X, the resources of a version.
// jsforce's identity() reads its "identity" URL when it was given a bare access
// token. Salesforce lists about forty resources; the fake lists those it serves.
func (s *Server) handleResources(w http.ResponseWriter, r *http.Request, c *call, version string) {
	if r.Method != http.MethodGet {
		writeRESTError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "HTTP Method '"+r.Method+"' not allowed. Allowed are GET,HEAD")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookupToken(c.org, bearer(r))
	if t == nil {
		writeInvalidSession(w)
		return
	}
	base := "/services/data/v" + version
	writeJSON(w, http.StatusOK, map[string]string{
		"identity": s.identityURL(c.org, t.user),
		"query":    base + "/query",
		"tooling":  base + "/tooling",
	})
}

func (s *Server) restFault(w http.ResponseWriter, c *call) bool {
	f := s.injected(c.operation, c.typ)
	if f == nil {
		return false
	}
	status := f.Status
	switch {
	case status >= 502:
		writeGatewayError(w, status)
		return true
	case status != 0:
	case f.Code == "INVALID_SESSION_ID":
		status = http.StatusUnauthorized
	case f.Code == "REQUEST_LIMIT_EXCEEDED":
		status = http.StatusForbidden
	default:
		status = http.StatusInternalServerError
	}
	msg := f.Message
	if msg == "" {
		msg = defaultFaultMessage(f.Code)
	}
	writeRESTError(w, status, f.Code, msg)
	return true
}

func (s *Server) queryMore(w http.ResponseWriter, c *call, version string, tooling bool, locator string) {
	id, offStr, ok := strings.Cut(locator, "-")
	off, err := strconv.Atoi(offStr)
	s.mu.Lock()
	cur := s.cursors[id]
	if !ok || err != nil || cur == nil || cur.org != c.org || cur.tooling != tooling || off < 0 || off > len(cur.records) {
		s.mu.Unlock()
		writeRESTError(w, http.StatusBadRequest, "INVALID_QUERY_LOCATOR", "invalid query locator")
		return
	}
	c.typ = cur.sobj.name
	s.mu.Unlock()
	if s.restFault(w, c) {
		return
	}
	s.mu.Lock()
	page := s.page(cur, off, version)
	s.mu.Unlock()
	writeRawJSON(w, page)
}

// page renders records [off, off+batch) of a result, keeping a cursor when more
// remain. Keys keep Salesforce's order, which encoding/json maps would lose. The
// caller holds s.mu.
func (s *Server) page(cur *cursor, off int, version string) []byte {
	end := min(off+cur.batch, len(cur.records))
	done := end == len(cur.records)
	var next string
	if !done {
		if cur.id == "" {
			cur.id = cur.org.nextID(prefixQueryCursor)
			s.cursors[cur.id] = cur
		}
		tool := ""
		if cur.tooling {
			tool = "/tooling"
		}
		next = "/services/data/v" + version + tool + "/query/" + cur.id + "-" + strconv.Itoa(end)
	}
	var b bytes.Buffer
	kv := func(k string, v any) {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		key := marshalJSON(k)
		val := marshalJSON(v)
		b.Write(key)
		b.WriteByte(':')
		b.Write(val)
	}
	b.WriteByte('{')
	if cur.tooling {
		kv("size", cur.total)
		kv("totalSize", cur.total)
		kv("done", done)
		if done {
			kv("queryLocator", nil)
		} else {
			kv("queryLocator", cur.id+"-"+strconv.Itoa(end))
			kv("nextRecordsUrl", next)
		}
		kv("entityTypeName", cur.sobj.name)
	} else {
		kv("totalSize", cur.total)
		kv("done", done)
		if !done {
			kv("nextRecordsUrl", next)
		}
	}
	b.WriteString(`,"records":[`)
	for i, r := range cur.records[off:end] {
		if i > 0 {
			b.WriteByte(',')
		}
		tool := ""
		if cur.tooling {
			tool = "/tooling"
		}
		attrs := marshalJSON(struct {
			Type string `json:"type"`
			URL  string `json:"url"`
		}{cur.sobj.name, "/services/data/v" + version + tool + "/sobjects/" + cur.sobj.name + "/" + r["Id"].(string)})
		b.WriteString(`{"attributes":`)
		b.Write(attrs)
		for _, f := range cur.fields {
			b.WriteByte(',')
			key := marshalJSON(f.name)
			val := marshalJSON(jsonValue(f, r[f.name]))
			b.Write(key)
			b.WriteByte(':')
			b.Write(val)
		}
		b.WriteByte('}')
	}
	b.WriteString("]}")
	return b.Bytes()
}

// jsonValue renders a field as Salesforce's REST API does: dates as YYYY-MM-DD,
// datetimes as 2006-01-02T15:04:05.000+0000.
func jsonValue(f *fieldDef, v any) any {
	t, ok := v.(time.Time)
	if !ok {
		return v
	}
	if f.typ == ftDate {
		return t.UTC().Format("2006-01-02")
	}
	return t.UTC().Format("2006-01-02T15:04:05.000-0700")
}

func writeRawJSON(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}
