package salesforce

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// ContactCenter is a Service Cloud Voice contact center on Amazon Connect: a
// CallCenter whose reqHvcc section says reqTelephonyProvider = AMAZON_CONNECT.
type ContactCenter struct {
	// ID is the CallCenter record id (04v...).
	ID string
	// Name is the CallCenter's name, shown in Setup.
	Name string
	// InternalName is its unique internal name (the Metadata fullName).
	InternalName string
	// ConnectedAppID is reqConnectedAppId: the id (0H4...) of the app that signs the
	// contact center's SAML assertions.
	ConnectedAppID string
	// ConnectedApp is that app's Metadata fullName; empty when no app has that id.
	ConnectedApp string
	// IdentityURL is reqIdentityUrl: where IdP-initiated SSO into Amazon Connect
	// starts (https://MyDomain/idp/login?app=0sp...).
	IdentityURL string
	// RelayState is reqSettingsRelayState (reqRelayState when that is absent): the
	// Amazon Connect federation URL.
	RelayState string
	// Region is reqRegion, the AWS region of the Amazon Connect instance.
	Region string
	// RoleARN and ProviderARN come from the connected app's Role attribute, when its
	// formula is one string literal (see [ConnectedApp]); empty otherwise.
	RoleARN, ProviderARN string
}

// callCenterXML is the part of a CallCenter record read here.
type callCenterXML struct {
	FullName string `xml:"fullName"`
	Sections []struct {
		Name  string `xml:"name"`
		Items []struct {
			Name  string `xml:"name"`
			Value string `xml:"value"`
		} `xml:"items"`
	} `xml:"sections"`
}

// item returns the value of an item of a section.
func (x *callCenterXML) item(section, name string) string {
	for _, s := range x.Sections {
		if s.Name != section {
			continue
		}
		for _, it := range s.Items {
			if it.Name == name {
				return strings.TrimSpace(it.Value)
			}
		}
	}
	return ""
}

// ListContactCenters lists the org's Amazon Connect contact centers, sorted by
// InternalName, each resolved to its connected app and, when the app's Role
// attribute is a string literal, to the AWS role and provider ARNs. Call centers of
// other telephony providers are left out.
func (c *Client) ListContactCenters(ctx context.Context) ([]ContactCenter, error) {
	type callCenterRecord struct {
		ID           string `json:"Id"`
		Name         string `json:"Name"`
		InternalName string `json:"InternalName"`
	}
	rows, err := query[callCenterRecord](ctx, c, "SELECT Id, Name, InternalName FROM CallCenter", false)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	byName := make(map[string]callCenterRecord, len(rows))
	names := make([]string, 0, len(rows))
	for _, r := range rows {
		byName[r.InternalName] = r
		names = append(names, r.InternalName)
	}
	sort.Strings(names)
	recs, err := c.readMetadata(ctx, "CallCenter", names)
	if err != nil {
		return nil, err
	}
	var out []ContactCenter
	for _, rec := range recs {
		var x callCenterXML
		if err := rec.decode(&x); err != nil {
			return nil, fmt.Errorf("salesforce: readMetadata CallCenter: %w", err)
		}
		if x.item("reqHvcc", "reqTelephonyProvider") != "AMAZON_CONNECT" {
			continue
		}
		row, ok := byName[x.FullName]
		if !ok {
			continue
		}
		cc := ContactCenter{
			ID: row.ID, Name: row.Name, InternalName: row.InternalName,
			ConnectedAppID: x.item("reqHvcc", "reqConnectedAppId"),
			IdentityURL:    x.item("reqHvcc", "reqIdentityUrl"),
			RelayState:     x.item("reqHvcc", "reqSettingsRelayState"),
			Region:         x.item("reqHvcc", "reqRegion"),
		}
		if cc.RelayState == "" {
			cc.RelayState = x.item("reqHvcc", "reqRelayState")
		}
		out = append(out, cc)
	}
	if len(out) == 0 {
		return nil, nil
	}
	if err := c.resolveConnectedApps(ctx, out); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].InternalName < out[j].InternalName })
	return out, nil
}

// resolveConnectedApps fills each contact center's connected app fullName (matched
// by its 0H4 id in listMetadata) and Role attribute ARNs.
func (c *Client) resolveConnectedApps(ctx context.Context, ccs []ContactCenter) error {
	files, err := c.listMetadata(ctx, "ConnectedApp")
	if err != nil {
		return err
	}
	var names []string
	for i := range ccs {
		for _, f := range files {
			if ccs[i].ConnectedAppID != "" && sameID(f.ID, ccs[i].ConnectedAppID) {
				ccs[i].ConnectedApp = f.FullName
				names = append(names, f.FullName)
				break
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	names = slices.Compact(names)
	recs, err := c.readMetadata(ctx, "ConnectedApp", names)
	if err != nil {
		return err
	}
	apps := make(map[string]*ConnectedApp, len(recs))
	for _, rec := range recs {
		app, err := connectedApp(rec, "", nil)
		if err != nil {
			return err
		}
		apps[app.FullName] = app
	}
	for i := range ccs {
		if app, ok := apps[ccs[i].ConnectedApp]; ok {
			ccs[i].RoleARN, ccs[i].ProviderARN = app.RoleARN, app.ProviderARN
		}
	}
	return nil
}

// sameID reports whether two Salesforce ids (15 or 18 characters) are the same.
func sameID(a, b string) bool {
	if len(a) < 15 || len(b) < 15 {
		return false
	}
	return a[:15] == b[:15]
}
