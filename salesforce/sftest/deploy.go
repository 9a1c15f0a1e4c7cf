package sftest

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"
)

// deploy() of certificates: a zip with package.xml, certs/NAME.crt (empty: Salesforce
// generates the key pair) and certs/NAME.crt-meta.xml. The job is Queued when
// deploy answers, InProgress on the next DeployPolls checkDeployStatus calls, then
// Succeeded (or Failed), when its certificates come into existence.

type deployJob struct {
	id              string
	org             *org
	user            *user
	created         time.Time
	started         time.Time
	completed       time.Time
	polls           int
	checkOnly       bool
	rollbackOnError bool
	ignoreWarnings  bool
	certs           []deployCert
	failures        []deployMessage
	successes       []deployMessage
	errorMessage    string
	done            bool
	status          string
}

type deployCert struct {
	name, label, fileName string
	keySize               int
}

type deployMessage struct {
	componentType, fileName, fullName, id, problem string
	created, changed                               bool
}

// maxZipEntry and maxZipTotal bound what a deploy zip may expand to, per file and
// in all, so that a small zip cannot make the fake hold gigabytes. (Salesforce's
// own limits are larger, 400 MB uncompressed; no deploy a test sends comes near
// either.)
const (
	maxZipEntry = 10 << 20
	maxZipTotal = 50 << 20
)

func (s *Server) deploy(o *org, sc *soapCall) (string, *soapFault) {
	opts := sc.op.child("DeployOptions")
	flag := func(name string, def bool) bool {
		v := opts.child(name)
		if v == nil {
			return def
		}
		return v.Text == "true" || v.Text == "1"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	job := &deployJob{
		id: o.nextID(prefixDeploy), org: o, user: sc.token.user, created: now,
		checkOnly: flag("checkOnly", false), rollbackOnError: flag("rollbackOnError", true),
		ignoreWarnings: flag("ignoreWarnings", false), status: "Pending",
	}
	data, err := base64.StdEncoding.DecodeString(stripSpace(sc.op.childText("ZipFile")))
	if err == nil {
		s.planDeploy(job, data, flag("singlePackage", false))
	} else {
		job.errorMessage = "The zip file could not be decoded"
	}
	s.deploys[job.id] = job
	return "<deployResponse><result><done>false</done><id>" + job.id + "</id><state>Queued</state></result></deployResponse>", nil
}

// planDeploy reads the zip and checks every component, recording failures.
func (s *Server) planDeploy(job *deployJob, data []byte, singlePackage bool) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		job.errorMessage = "Unable to read the zip file: " + err.Error()
		return
	}
	files := map[string][]byte{}
	total := 0
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			job.errorMessage = "Unable to read " + f.Name + " in the zip file"
			return
		}
		b, err := io.ReadAll(io.LimitReader(rc, int64(min(maxZipEntry, maxZipTotal-total))+1))
		rc.Close()
		switch {
		case err != nil:
			job.errorMessage = "Unable to read " + f.Name + " in the zip file"
			return
		case len(b) > maxZipEntry:
			job.errorMessage = fmt.Sprintf("The file %s in the zip file is larger than %d bytes", f.Name, maxZipEntry)
			return
		case total+len(b) > maxZipTotal:
			job.errorMessage = fmt.Sprintf("The zip file expands to more than %d bytes", maxZipTotal)
			return
		}
		total += len(b)
		files[f.Name] = b
	}
	// package.xml at the root (singlePackage) or in one top-level folder.
	root := ""
	if _, ok := files["package.xml"]; !ok {
		for name := range files {
			if dir, file := path.Split(name); file == "package.xml" && strings.Count(dir, "/") == 1 && !singlePackage {
				root = dir
			}
		}
	}
	pkg, ok := files[root+"package.xml"]
	if !ok {
		// Real problem text for this failure.
		job.failures = append(job.failures, deployMessage{fileName: "package.xml", fullName: "package.xml", problem: "No package.xml found"})
		return
	}
	doc, err := parseXML(pkg)
	if err != nil || doc.Name.Local != "Package" || doc.Name.Space != nsMetadata {
		job.failures = append(job.failures, deployMessage{fileName: root + "package.xml", fullName: "package.xml", problem: "Error parsing file: package.xml is not a Package in the namespace " + nsMetadata})
		return
	}
	job.successes = append(job.successes, deployMessage{fileName: root + "package.xml", fullName: "package.xml", changed: true})
	schema, _ := loadSchema()
	for _, types := range doc.all("types") {
		typ := types.childText("name")
		for _, m := range types.all("members") {
			name := m.Text
			if typ != "Certificate" {
				job.failures = append(job.failures, deployMessage{componentType: typ, fileName: root + "package.xml", fullName: name,
					problem: "sftest deploys only Certificate components; " + typ + " is not supported"})
				continue
			}
			fail := func(file, problem string) {
				job.failures = append(job.failures, deployMessage{componentType: "Certificate", fileName: file, fullName: name, problem: problem})
			}
			crt := root + "certs/" + name + ".crt"
			metaFile := crt + "-meta.xml"
			meta, ok := files[metaFile]
			content, hasCrt := files[crt]
			if !ok || !hasCrt {
				// Real wording of this problem.
				fail(root+"package.xml", fmt.Sprintf("An object '%s' of type Certificate was named in package.xml, but was not found in zipped directory", name))
				continue
			}
			if !developerNameRE.MatchString(name) || len(name) > 80 {
				fail(metaFile, "The Certificate Unique Name can only contain underscores and alphanumeric characters. It must be unique, begin with a letter, not include spaces, not end with an underscore, and not contain two consecutive underscores.")
				continue
			}
			rec, err := parseXML(meta)
			if err != nil {
				fail(metaFile, "Error parsing file: "+err.Error())
				continue
			}
			if rec.Name.Space != nsMetadata || rec.Name.Local != "Certificate" {
				fail(metaFile, fmt.Sprintf("Error parsing file: Element {%s}%s invalid at this location", rec.Name.Space, rec.Name.Local))
				continue
			}
			if serr := schema.validate(rec, schema.complex["Certificate"], s.cfg.StrictElementOrder); serr != nil {
				if serr.missing != "" {
					fail(metaFile, "Required fields are missing: ["+serr.missing+"]")
				} else {
					fail(metaFile, "Error parsing file: "+serr.message)
				}
				continue
			}
			keySize := 2048
			if ks := rec.childText("keySize"); ks != "" {
				keySize, _ = strconv.Atoi(strings.TrimSpace(ks))
			}
			if keySize != 2048 && keySize != 4096 {
				// No real sample; Salesforce documents 2048 and 4096 as the only
				// sizes.
				fail(metaFile, fmt.Sprintf("Invalid key size %d. Valid values are 2048 and 4096.", keySize))
				continue
			}
			if ca := rec.childText("caSigned"); ca == "true" || ca == "1" {
				fail(metaFile, "sftest does not issue CA-signed certificates (caSigned=true)")
				continue
			}
			if len(bytes.TrimSpace(content)) > 0 {
				fail(crt, "sftest only generates certificates: certs/"+name+".crt must be empty")
				continue
			}
			label := rec.childText("masterLabel")
			if len(label) > 64 {
				fail(metaFile, "Label: data value too large: max length=64")
				continue
			}
			job.certs = append(job.certs, deployCert{name: name, label: label, fileName: crt, keySize: keySize})
		}
	}
}

// complete finishes a job: certificates are created unless a failure (with
// rollbackOnError) or checkOnly forbids it. The caller holds s.mu.
func (s *Server) complete(job *deployJob) {
	now := s.now()
	job.done, job.completed = true, now
	if job.errorMessage != "" {
		job.status = "Failed"
		return
	}
	var created []*certificate
	for _, c := range job.certs {
		if existing := job.org.cert(c.name); existing != nil {
			job.failures = append(job.failures, deployMessage{componentType: "Certificate", fileName: c.fileName, fullName: c.name,
				problem: "duplicate value found: DeveloperName duplicates value on record with id: " + id15(existing.id)})
			continue
		}
		cert, err := s.newCertificate(job.org, c.name, c.label, c.keySize, time.Time{})
		if err != nil {
			job.failures = append(job.failures, deployMessage{componentType: "Certificate", fileName: c.fileName, fullName: c.name, problem: err.Error()})
			continue
		}
		created = append(created, cert)
		job.successes = append(job.successes, deployMessage{componentType: "Certificate", fileName: c.fileName, fullName: c.name, id: cert.id, created: true, changed: true})
	}
	switch {
	case len(job.failures) > 0 && (job.rollbackOnError || len(created) == 0):
		job.status = "Failed"
		// Rolled back: nothing is kept, and nothing counts as deployed.
		var kept []deployMessage
		for _, m := range job.successes {
			if m.componentType == "" {
				kept = append(kept, m)
			}
		}
		job.successes = kept
		return
	case len(job.failures) > 0:
		job.status = "SucceededPartial"
	default:
		job.status = "Succeeded"
	}
	if !job.checkOnly {
		job.org.certs = append(job.org.certs, created...)
	}
}

func (s *Server) checkDeployStatus(o *org, sc *soapCall) (string, *soapFault) {
	id := sc.op.childText("asyncProcessId")
	details := sc.op.childText("includeDetails")
	s.mu.Lock()
	defer s.mu.Unlock()
	var job *deployJob
	for k, j := range s.deploys {
		if sameID(k, id) && j.org == o {
			job = j
		}
	}
	if job == nil {
		// No real sample; INVALID_ID_FIELD is the documented code for an ID that
		// names nothing.
		return "", sfFault("INVALID_ID_FIELD", "invalid id: "+id)
	}
	polls := s.cfg.DeployPolls
	if polls <= 0 {
		polls = 1
	}
	if !job.done {
		job.polls++
		if job.polls == 1 {
			job.started = s.now()
		}
		if job.polls > polls {
			s.complete(job)
		} else {
			job.status = "InProgress"
		}
	}
	return "<checkDeployStatusResponse>" + job.result(details == "true" || details == "1") + "</checkDeployStatusResponse>", nil
}

// result renders a DeployResult, children in schema (alphabetical) order.
func (j *deployJob) result(includeDetails bool) string {
	var b strings.Builder
	tag := func(name, v string) {
		b.WriteString("<" + name + ">")
		xmlEscape(&b, v)
		b.WriteString("</" + name + ">")
	}
	last := j.created
	if !j.started.IsZero() {
		last = j.started
	}
	if j.done {
		last = j.completed
	}
	b.WriteString("<result>")
	tag("checkOnly", strconv.FormatBool(j.checkOnly))
	if j.done {
		tag("completedDate", soapTime(j.completed))
	}
	tag("createdBy", id15(j.user.id))
	tag("createdByName", "Admin User")
	tag("createdDate", soapTime(j.created))
	b.WriteString("<details>")
	if includeDetails && j.done {
		msg := func(element string, m deployMessage, success bool) {
			b.WriteString("<" + element + ">")
			tag("changed", strconv.FormatBool(m.changed))
			tag("componentType", m.componentType)
			tag("created", strconv.FormatBool(m.created))
			tag("createdDate", soapTime(j.completed))
			tag("deleted", "false")
			tag("fileName", m.fileName)
			tag("fullName", m.fullName)
			if m.id != "" {
				tag("id", m.id)
			}
			if m.problem != "" {
				tag("problem", m.problem)
				tag("problemType", "Error")
			}
			tag("success", strconv.FormatBool(success))
			b.WriteString("</" + element + ">")
		}
		for _, m := range j.failures {
			msg("componentFailures", m, false)
		}
		for _, m := range j.successes {
			msg("componentSuccesses", m, true)
		}
	}
	b.WriteString("<runTestResult><numFailures>0</numFailures><numTestsRun>0</numTestsRun><totalTime>0.0</totalTime></runTestResult></details>")
	tag("done", strconv.FormatBool(j.done))
	if j.errorMessage != "" && j.done {
		tag("errorMessage", j.errorMessage)
		tag("errorStatusCode", "UNKNOWN_EXCEPTION")
	}
	tag("id", j.id)
	tag("ignoreWarnings", strconv.FormatBool(j.ignoreWarnings))
	tag("lastModifiedDate", soapTime(last))
	total := len(j.certs) + len(j.failures)
	deployed := 0
	if j.done {
		for _, m := range j.successes {
			if m.componentType != "" {
				deployed++
			}
		}
		total = deployed + len(j.failures)
	}
	tag("numberComponentErrors", strconv.Itoa(len(j.failures)*btoi(j.done)))
	tag("numberComponentsDeployed", strconv.Itoa(deployed))
	tag("numberComponentsTotal", strconv.Itoa(total))
	tag("numberTestErrors", "0")
	tag("numberTestsCompleted", "0")
	tag("numberTestsTotal", "0")
	tag("rollbackOnError", strconv.FormatBool(j.rollbackOnError))
	tag("runTestsEnabled", "false")
	if !j.started.IsZero() {
		tag("startDate", soapTime(j.started))
	}
	tag("status", j.status)
	tag("success", strconv.FormatBool(j.done && (j.status == "Succeeded" || j.status == "SucceededPartial")))
	b.WriteString("</result>")
	return b.String()
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
