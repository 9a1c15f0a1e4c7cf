package samlmeta

import "fmt"

// CompareEntities says in words how two entities differ in what a service provider
// trusts: the entityID, the SingleSignOnService endpoints (binding and location) and
// the set of signing certificates, by SHA-256. Prefixes, attribute order, whitespace,
// validUntil and cacheDuration are ignored. It returns nil when they are equivalent.
func CompareEntities(a, b *EntityDescriptor) []string {
	switch {
	case a == nil && b == nil:
		return nil
	case a == nil:
		return []string{fmt.Sprintf("entity %q added", b.EntityID)}
	case b == nil:
		return []string{fmt.Sprintf("entity %q removed", a.EntityID)}
	}
	var diffs []string
	if a.EntityID != b.EntityID {
		diffs = append(diffs, fmt.Sprintf("entityID changed from %q to %q", a.EntityID, b.EntityID))
	}
	ssoKey := func(e Endpoint) string { return e.Binding + " " + e.Location }
	removed, added := setDiff(keys(a.SingleSignOnServices(), ssoKey), keys(b.SingleSignOnServices(), ssoKey))
	for _, k := range removed {
		diffs = append(diffs, "SingleSignOnService removed: "+k)
	}
	for _, k := range added {
		diffs = append(diffs, "SingleSignOnService added: "+k)
	}
	certKey := func(c *Certificate) string { return c.SHA256 }
	ac, bc := a.SigningCertificates(), b.SigningCertificates()
	removed, added = setDiff(keys(ac, certKey), keys(bc, certKey))
	for _, fp := range removed {
		diffs = append(diffs, "signing certificate removed: "+describe(ac, fp))
	}
	for _, fp := range added {
		diffs = append(diffs, "signing certificate added: "+describe(bc, fp))
	}
	return diffs
}

// CompareDocuments compares two documents entity by entity, matched by entityID, as
// [CompareEntities] does. Differences are prefixed with the entityID when either
// document holds more than one entity. It returns nil when they are equivalent.
func CompareDocuments(a, b *Document) []string {
	var ae, be []*EntityDescriptor
	if a != nil {
		ae = a.Entities
	}
	if b != nil {
		be = b.Entities
	}
	if len(ae) == 1 && len(be) == 1 {
		return CompareEntities(ae[0], be[0])
	}
	byID := func(list []*EntityDescriptor) map[string]*EntityDescriptor {
		m := make(map[string]*EntityDescriptor, len(list))
		for _, e := range list {
			m[e.EntityID] = e
		}
		return m
	}
	am, bm := byID(ae), byID(be)
	var diffs []string
	for _, x := range ae {
		y := bm[x.EntityID]
		if y == nil {
			diffs = append(diffs, fmt.Sprintf("entity %q removed", x.EntityID))
			continue
		}
		for _, d := range CompareEntities(x, y) {
			diffs = append(diffs, fmt.Sprintf("entity %q: %s", x.EntityID, d))
		}
	}
	for _, y := range be {
		if am[y.EntityID] == nil {
			diffs = append(diffs, fmt.Sprintf("entity %q added", y.EntityID))
		}
	}
	return diffs
}

// describe names a certificate of list by fingerprint, with its subject and expiry.
func describe(list []*Certificate, fp string) string {
	for _, c := range list {
		if c.SHA256 == fp {
			return fmt.Sprintf("sha256 %s (%s, expires %s)", c.SHA256, c.Subject, c.NotAfter.UTC().Format("2006-01-02"))
		}
	}
	return "sha256 " + fp
}

// keys maps a list to its keys in order.
func keys[T any](list []T, key func(T) string) []string {
	out := make([]string, len(list))
	for i, x := range list {
		out[i] = key(x)
	}
	return out
}

// setDiff returns the keys only in a and those only in b, each in its list's order,
// each once.
func setDiff(a, b []string) (onlyA, onlyB []string) {
	inA, inB := set(a), set(b)
	return missing(a, inB), missing(b, inA)
}

func set(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, k := range list {
		m[k] = true
	}
	return m
}

// missing returns the keys of list that are not in other, in order, each once.
func missing(list []string, other map[string]bool) []string {
	var out []string
	done := map[string]bool{}
	for _, k := range list {
		if !other[k] && !done[k] {
			done[k] = true
			out = append(out, k)
		}
	}
	return out
}
