package salesforce

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Certificate is a certificate of the org's Certificate and Key Management.
type Certificate struct {
	// ID is the record id (0P1...).
	ID string
	// DeveloperName is the certificate's unique name; connected apps and the Identity
	// Provider setting refer to it by this name.
	DeveloperName string
	// MasterLabel is the label shown in Setup.
	MasterLabel string
	// ExpirationDate is when the certificate expires.
	ExpirationDate time.Time
	// KeySize is the RSA key size in bits.
	KeySize int
	// PEM is the certificate (public part only); set by [Client.Certificate] and
	// [Client.CreateCertificate], nil in [Client.ListCertificates].
	PEM []byte
}

// certificateRecord is a Tooling API Certificate record.
type certificateRecord struct {
	ID             string `json:"Id"`
	DeveloperName  string `json:"DeveloperName"`
	MasterLabel    string `json:"MasterLabel"`
	ExpirationDate sfTime `json:"ExpirationDate"`
	KeySize        int    `json:"KeySize"`
}

func (r certificateRecord) certificate() Certificate {
	return Certificate{ID: r.ID, DeveloperName: r.DeveloperName, MasterLabel: r.MasterLabel,
		ExpirationDate: r.ExpirationDate.Time, KeySize: r.KeySize}
}

const certificateFields = "Id, DeveloperName, MasterLabel, ExpirationDate, KeySize"

// ListCertificates lists the org's certificates with their expiry (Tooling API),
// without PEM.
func (c *Client) ListCertificates(ctx context.Context) ([]Certificate, error) {
	recs, err := query[certificateRecord](ctx, c, "SELECT "+certificateFields+" FROM Certificate ORDER BY DeveloperName", true)
	if err != nil {
		return nil, err
	}
	out := make([]Certificate, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.certificate())
	}
	return out, nil
}

// developerNamePattern is what Salesforce accepts as a DeveloperName: a letter, then
// letters, digits and single underscores, not ending with an underscore, at most 80.
var developerNamePattern = regexp.MustCompile(`^[A-Za-z](?:[A-Za-z0-9]|_[A-Za-z0-9]){0,79}$`)

func checkDeveloperName(name string) error {
	if !developerNamePattern.MatchString(name) || len(name) > 80 {
		return fmt.Errorf("salesforce: %q is not a certificate name: use a letter, then letters, digits and "+
			"single underscores (at most 80 characters, not ending with an underscore)", name)
	}
	return nil
}

// findCertificate returns the Tooling record of a certificate, or ErrNotFound.
func (c *Client) findCertificate(ctx context.Context, name string) (*Certificate, error) {
	recs, err := query[certificateRecord](ctx, c,
		"SELECT "+certificateFields+" FROM Certificate WHERE DeveloperName = "+soqlString(name), true)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%w: certificate %q", ErrNotFound, name)
	}
	cert := recs[0].certificate()
	return &cert, nil
}

// Certificate returns a certificate by DeveloperName, with its PEM. It returns an
// error matching [ErrNotFound] when there is none.
func (c *Client) Certificate(ctx context.Context, developerName string) (*Certificate, error) {
	if err := checkDeveloperName(developerName); err != nil {
		return nil, err
	}
	cert, err := c.findCertificate(ctx, developerName)
	if err != nil {
		return nil, err
	}
	cert.PEM, err = c.certificatePEM(ctx, developerName)
	if err != nil {
		return nil, err
	}
	return cert, nil
}

// certificatePEM reads a certificate's PEM: readMetadata('Certificate').content, or,
// when Salesforce leaves content out, a Metadata retrieve of certs/NAME.crt.
func (c *Client) certificatePEM(ctx context.Context, name string) ([]byte, error) {
	recs, err := c.readMetadata(ctx, "Certificate", []string{name})
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%w: certificate %q (readMetadata)", ErrNotFound, name)
	}
	var meta struct {
		Content string `xml:"content"` // base64Binary
	}
	if err := recs[0].decode(&meta); err != nil {
		return nil, fmt.Errorf("salesforce: readMetadata Certificate %s: %w", name, err)
	}
	content, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(meta.Content), ""))
	if err != nil {
		return nil, fmt.Errorf("salesforce: readMetadata Certificate %s: the content is not base64", name)
	}
	if len(bytes.TrimSpace(content)) == 0 {
		c.log.Debug("salesforce: certificate content not in readMetadata; retrieving", "certificate", name)
		content, err = c.retrieveCertificate(ctx, name)
		if err != nil {
			return nil, err
		}
	}
	return certificatePEMBlock(name, content)
}

// certificatePEMBlock checks that content holds a PEM certificate and returns its
// first CERTIFICATE block.
func certificatePEMBlock(name string, content []byte) ([]byte, error) {
	rest := content
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("salesforce: certificate %q: the content is not a PEM certificate", name)
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return nil, fmt.Errorf("salesforce: certificate %q: the PEM does not hold an X.509 certificate: %w", name, err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: block.Bytes}), nil
	}
}

// maxCertFile caps the size of a certificate file read from a retrieved zip.
const maxCertFile = 1 << 20

// retrieveCertificate retrieves certs/NAME.crt.
func (c *Client) retrieveCertificate(ctx context.Context, name string) ([]byte, error) {
	data, err := c.retrieve(ctx, "Certificate", name)
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("salesforce: retrieve Certificate %s: %w", name, err)
	}
	for _, f := range zr.File {
		if f.Name != "certs/"+name+".crt" && f.Name != "unpackaged/certs/"+name+".crt" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("salesforce: retrieve Certificate %s: %w", name, err)
		}
		defer rc.Close()
		data, err := io.ReadAll(io.LimitReader(rc, maxCertFile+1))
		if err != nil {
			return nil, fmt.Errorf("salesforce: retrieve Certificate %s: reading %s: %w", name, f.Name, err)
		}
		if len(data) > maxCertFile {
			return nil, fmt.Errorf("salesforce: retrieve Certificate %s: %s is larger than %d bytes, too large for a certificate", name, f.Name, maxCertFile)
		}
		return data, nil
	}
	return nil, fmt.Errorf("%w: certs/%s.crt is not in the retrieved zip", ErrNotFound, name)
}

// CreateCertificate creates a self-signed certificate whose key Salesforce generates
// and keeps (privateKeyExportable=false), by a Metadata deploy of an empty
// certs/NAME.crt and its NAME.crt-meta.xml. keySize must be 2048 or 4096. It never
// reuses a name: when a certificate named developerName exists (read right before
// deploying), it returns an error matching [ErrCertificateExists] and changes
// nothing. It returns the certificate read back, with its PEM and ExpirationDate.
func (c *Client) CreateCertificate(ctx context.Context, developerName, label string, keySize int) (*Certificate, error) {
	var problems []error
	if err := checkDeveloperName(developerName); err != nil {
		problems = append(problems, err)
	}
	if label == "" || utf8.RuneCountInString(label) > 64 {
		problems = append(problems, fmt.Errorf("salesforce: certificate label %q must have 1 to 64 characters", label))
	}
	if keySize != 2048 && keySize != 4096 {
		problems = append(problems, fmt.Errorf("salesforce: key size %d: Salesforce supports 2048 or 4096 bits", keySize))
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	exists := func() (bool, error) {
		_, err := c.findCertificate(ctx, developerName)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	found, err := exists()
	if err != nil {
		return nil, err
	}
	if found {
		return nil, fmt.Errorf("%w: %q; choose another name", ErrCertificateExists, developerName)
	}
	pkg, err := certificatePackage(c.version, developerName, label, keySize)
	if err != nil {
		return nil, err
	}
	var id string
	sent := 0
	err = c.writeChecked(ctx, "deploy Certificate "+developerName, func() error {
		var err error
		sent++
		id, err = c.deploy(ctx, pkg)
		return err
	}, exists)
	if err != nil {
		return nil, err
	}
	if id != "" {
		if err := c.waitDeploy(ctx, id); err != nil {
			// A deploy whose answer was lost may still have run (deployments are
			// queued, so the re-read before sending again can miss it); the one
			// sent again then fails on the duplicate name. The certificate, absent
			// before the first deploy, exists: that is success.
			if sent < 2 || !errors.Is(err, ErrDeployFailed) {
				return nil, err
			}
			if found, ferr := exists(); ferr != nil || !found {
				return nil, err
			}
			c.log.Debug("salesforce: an earlier deploy whose answer was lost created the certificate", "certificate", developerName)
		}
	}
	return c.Certificate(ctx, developerName)
}

// certificatePackage builds the deploy zip for a new self-signed certificate.
func certificatePackage(version, name, label string, keySize int) ([]byte, error) {
	var pkg bytes.Buffer
	pkg.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	pkg.WriteString(`<Package xmlns="` + metadataNS + `"><types>`)
	element(&pkg, "members", name)
	element(&pkg, "name", "Certificate")
	pkg.WriteString(`</types>`)
	element(&pkg, "version", version)
	pkg.WriteString("</Package>\n")

	var meta bytes.Buffer
	meta.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	meta.WriteString(`<Certificate xmlns="` + metadataNS + `">`)
	element(&meta, "caSigned", "false")
	element(&meta, "keySize", fmt.Sprint(keySize))
	element(&meta, "masterLabel", label)
	element(&meta, "privateKeyExportable", "false")
	meta.WriteString("</Certificate>\n")

	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"package.xml", pkg.Bytes()},
		// An empty .crt tells Salesforce to generate the key pair itself.
		{"certs/" + name + ".crt", nil},
		{"certs/" + name + ".crt-meta.xml", meta.Bytes()},
	} {
		w, err := zw.Create(f.name)
		if err != nil {
			return nil, fmt.Errorf("salesforce: building the deploy zip: %w", err)
		}
		if _, err := w.Write(f.data); err != nil {
			return nil, fmt.Errorf("salesforce: building the deploy zip: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("salesforce: building the deploy zip: %w", err)
	}
	return out.Bytes(), nil
}
