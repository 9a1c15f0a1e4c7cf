package sftest

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// A small SOQL: SELECT f, ... FROM Object [WHERE cond] [ORDER BY f [ASC|DESC]
// [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n], where cond combines comparisons
// (=, !=, <>, <, <=, >, >=, LIKE, IN (...), NOT IN (...)) with AND, OR, NOT and
// parentheses. As in Salesforce, AND and OR may not be mixed at one level without
// parentheses, text comparisons ignore case, and a date field compares only with an
// unquoted date literal.

type soqlError struct {
	code    string // MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE
	message string
	pos     int // byte offset in the query
}

func (e *soqlError) Error() string { return e.code + ": " + e.message }

// render formats the error as Salesforce does: the query, a caret under the
// position, the row and column, then the message.
func (e *soqlError) render(query string) string {
	col := e.pos + 1
	caret := strings.Repeat(" ", max(e.pos, 0)) + "^"
	return fmt.Sprintf("\n%s\n%s\nERROR at Row:1:Column:%d\n%s", query, caret, col, e.message)
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokString
	tokNumber
	tokDate
	tokDateTime
	tokPunct
)

type soqlToken struct {
	kind tokKind
	text string // identifiers and punctuation as written; strings unescaped
	pos  int
}

var (
	dateLit     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}`)
	dateTimeLit = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})`)
)

func lexSOQL(q string) ([]soqlToken, *soqlError) {
	var out []soqlToken
	i := 0
	for i < len(q) {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'':
			start := i
			var b strings.Builder
			i++
			closed := false
			for i < len(q) {
				if q[i] == '\\' && i+1 < len(q) {
					switch q[i+1] {
					case 'n':
						b.WriteByte('\n')
					case 't':
						b.WriteByte('\t')
					default:
						b.WriteByte(q[i+1])
					}
					i += 2
					continue
				}
				if q[i] == '\'' {
					closed = true
					i++
					break
				}
				b.WriteByte(q[i])
				i++
			}
			if !closed {
				return nil, &soqlError{"MALFORMED_QUERY", "line 1:" + strconv.Itoa(start) + " mismatched character '<EOF>' expecting '''", start}
			}
			out = append(out, soqlToken{tokString, b.String(), start})
		case c >= '0' && c <= '9' || c == '-' && i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9':
			if m := dateTimeLit.FindString(q[i:]); m != "" {
				out = append(out, soqlToken{tokDateTime, m, i})
				i += len(m)
				continue
			}
			if m := dateLit.FindString(q[i:]); m != "" {
				out = append(out, soqlToken{tokDate, m, i})
				i += len(m)
				continue
			}
			start := i
			i++
			for i < len(q) && (q[i] >= '0' && q[i] <= '9' || q[i] == '.') {
				i++
			}
			out = append(out, soqlToken{tokNumber, q[start:i], start})
		case c == '_' || unicode.IsLetter(rune(c)):
			start := i
			for i < len(q) && (q[i] == '_' || q[i] == '.' || unicode.IsLetter(rune(q[i])) || q[i] >= '0' && q[i] <= '9') {
				i++
			}
			out = append(out, soqlToken{tokIdent, q[start:i], start})
		case strings.ContainsRune("(),", rune(c)):
			out = append(out, soqlToken{tokPunct, string(c), i})
			i++
		case c == '=' || c == '<' || c == '>' || c == '!':
			start := i
			i++
			if i < len(q) && (q[i] == '=' || c == '<' && q[i] == '>') {
				i++
			}
			op := q[start:i]
			if op == "!" {
				return nil, &soqlError{"MALFORMED_QUERY", "unexpected token: '!'", start}
			}
			out = append(out, soqlToken{tokPunct, op, start})
		default:
			return nil, &soqlError{"MALFORMED_QUERY", fmt.Sprintf("unexpected token: '%c'", c), i}
		}
	}
	out = append(out, soqlToken{tokEOF, "", len(q)})
	return out, nil
}

type soqlQuery struct {
	count     bool        // SELECT COUNT(): the answer is the number of rows, with no records
	fields    []soqlToken // as written
	object    soqlToken
	where     soqlExpr
	orderBy   []soqlOrder
	limit     int // -1: none
	offset    int
	fieldDefs []*fieldDef // resolved, in SELECT order
	sobj      *sobject
}

type soqlOrder struct {
	field     soqlToken
	desc      bool
	nullsLast bool
	resolved  *fieldDef
}

type soqlExpr interface{}

type soqlCmp struct {
	field    soqlToken
	op       string // = != < <= > >= LIKE IN NOTIN
	values   []soqlToken
	resolved *fieldDef
}

type soqlBool struct {
	and   bool
	items []soqlExpr
}

type soqlNot struct{ e soqlExpr }

var comparisonOps = map[string]bool{"=": true, "!=": true, "<>": true, "<": true, "<=": true, ">": true, ">=": true}

type soqlParser struct {
	toks []soqlToken
	i    int
}

func (p *soqlParser) peek() soqlToken { return p.toks[p.i] }
func (p *soqlParser) next() soqlToken { t := p.toks[p.i]; p.i++; return t }

// punct reports whether the token k places ahead is the punctuation text.
func (p *soqlParser) punct(k int, text string) bool {
	if p.i+k >= len(p.toks) {
		return false
	}
	t := p.toks[p.i+k]
	return t.kind == tokPunct && t.text == text
}

func (p *soqlParser) keyword(words ...string) bool {
	t := p.peek()
	if t.kind != tokIdent {
		return false
	}
	for _, w := range words {
		if strings.EqualFold(t.text, w) {
			return true
		}
	}
	return false
}

func (p *soqlParser) unexpected() *soqlError {
	t := p.peek()
	if t.kind == tokEOF {
		return &soqlError{"MALFORMED_QUERY", "unexpected token: '<EOF>'", t.pos}
	}
	text := t.text
	if t.kind == tokString {
		text = "'" + text + "'"
	}
	return &soqlError{"MALFORMED_QUERY", fmt.Sprintf("unexpected token: '%s'", text), t.pos}
}

var soqlReserved = map[string]bool{"SELECT": true, "FROM": true, "WHERE": true, "AND": true, "OR": true, "NOT": true,
	"ORDER": true, "BY": true, "LIMIT": true, "OFFSET": true, "IN": true, "LIKE": true, "ASC": true, "DESC": true,
	"NULLS": true, "NULL": true, "TRUE": true, "FALSE": true}

func parseSOQL(q string) (*soqlQuery, *soqlError) {
	toks, err := lexSOQL(q)
	if err != nil {
		return nil, err
	}
	p := &soqlParser{toks: toks}
	out := &soqlQuery{limit: -1}
	if !p.keyword("SELECT") {
		return nil, p.unexpected()
	}
	p.next()
	if p.keyword("COUNT") && p.punct(1, "(") && p.punct(2, ")") {
		// jsforce's sobject().count() sends SELECT count() FROM ...
		p.i += 3
		out.count = true
	}
	for !out.count {
		t := p.peek()
		if t.kind != tokIdent || soqlReserved[strings.ToUpper(t.text)] {
			return nil, p.unexpected()
		}
		out.fields = append(out.fields, p.next())
		if p.peek().kind == tokPunct && p.peek().text == "," {
			p.next()
			continue
		}
		break
	}
	if !p.keyword("FROM") {
		return nil, p.unexpected()
	}
	p.next()
	if t := p.peek(); t.kind != tokIdent || soqlReserved[strings.ToUpper(t.text)] {
		return nil, p.unexpected()
	}
	out.object = p.next()
	if p.keyword("WHERE") {
		p.next()
		e, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		out.where = e
	}
	if p.keyword("ORDER") {
		p.next()
		if !p.keyword("BY") {
			return nil, p.unexpected()
		}
		p.next()
		for {
			t := p.peek()
			if t.kind != tokIdent || soqlReserved[strings.ToUpper(t.text)] {
				return nil, p.unexpected()
			}
			o := soqlOrder{field: p.next()}
			if p.keyword("ASC", "DESC") {
				o.desc = strings.EqualFold(p.next().text, "DESC")
			}
			if p.keyword("NULLS") {
				p.next()
				if !p.keyword("FIRST", "LAST") {
					return nil, p.unexpected()
				}
				o.nullsLast = strings.EqualFold(p.next().text, "LAST")
			}
			out.orderBy = append(out.orderBy, o)
			if p.peek().kind == tokPunct && p.peek().text == "," {
				p.next()
				continue
			}
			break
		}
	}
	if p.keyword("LIMIT") {
		p.next()
		n, err := p.integer()
		if err != nil {
			return nil, err
		}
		out.limit = n
	}
	if p.keyword("OFFSET") {
		p.next()
		n, err := p.integer()
		if err != nil {
			return nil, err
		}
		out.offset = n
	}
	if p.peek().kind != tokEOF {
		return nil, p.unexpected()
	}
	return out, nil
}

func (p *soqlParser) integer() (int, *soqlError) {
	t := p.peek()
	if t.kind != tokNumber {
		return 0, p.unexpected()
	}
	n, err := strconv.Atoi(t.text)
	if err != nil || n < 0 {
		return 0, p.unexpected()
	}
	p.next()
	return n, nil
}

// parseOr parses a condition list of one operator: a OR b OR c, or a AND b AND c.
func (p *soqlParser) parseOr() (soqlExpr, *soqlError) {
	first, err := p.parseFactor()
	if err != nil {
		return nil, err
	}
	if !p.keyword("AND", "OR") {
		return first, nil
	}
	and := strings.EqualFold(p.peek().text, "AND")
	b := &soqlBool{and: and, items: []soqlExpr{first}}
	for p.keyword("AND", "OR") {
		if strings.EqualFold(p.peek().text, "AND") != and {
			// SOQL needs parentheses to mix AND and OR.
			return nil, p.unexpected()
		}
		p.next()
		e, err := p.parseFactor()
		if err != nil {
			return nil, err
		}
		b.items = append(b.items, e)
	}
	return b, nil
}

func (p *soqlParser) parseFactor() (soqlExpr, *soqlError) {
	if p.keyword("NOT") {
		p.next()
		e, err := p.parseFactor()
		if err != nil {
			return nil, err
		}
		return &soqlNot{e}, nil
	}
	if t := p.peek(); t.kind == tokPunct && t.text == "(" {
		p.next()
		e, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if t := p.peek(); t.kind != tokPunct || t.text != ")" {
			return nil, p.unexpected()
		}
		p.next()
		return e, nil
	}
	t := p.peek()
	if t.kind != tokIdent || soqlReserved[strings.ToUpper(t.text)] {
		return nil, p.unexpected()
	}
	c := &soqlCmp{field: p.next()}
	switch {
	case p.keyword("LIKE"):
		p.next()
		c.op = "LIKE"
	case p.keyword("IN"):
		p.next()
		c.op = "IN"
	case p.keyword("NOT"):
		p.next()
		if !p.keyword("IN") {
			return nil, p.unexpected()
		}
		p.next()
		c.op = "NOTIN"
	default:
		op := p.peek()
		if op.kind != tokPunct || !comparisonOps[op.text] {
			return nil, p.unexpected()
		}
		p.next()
		c.op = op.text
		if c.op == "<>" {
			c.op = "!="
		}
	}
	if c.op == "IN" || c.op == "NOTIN" {
		if t := p.peek(); t.kind != tokPunct || t.text != "(" {
			return nil, p.unexpected()
		}
		p.next()
		for {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			c.values = append(c.values, v)
			t := p.next()
			if t.kind == tokPunct && t.text == "," {
				continue
			}
			if t.kind == tokPunct && t.text == ")" {
				break
			}
			p.i--
			return nil, p.unexpected()
		}
		return c, nil
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	c.values = []soqlToken{v}
	return c, nil
}

func (p *soqlParser) value() (soqlToken, *soqlError) {
	t := p.peek()
	switch t.kind {
	case tokString, tokNumber, tokDate, tokDateTime:
		return p.next(), nil
	case tokIdent:
		if p.keyword("NULL", "TRUE", "FALSE") {
			return p.next(), nil
		}
	}
	return soqlToken{}, p.unexpected()
}

// Field types of the fake's objects.
const (
	ftID       = "id"
	ftString   = "string"
	ftInt      = "int"
	ftBool     = "boolean"
	ftDate     = "date"
	ftDateTime = "datetime"
)

type fieldDef struct {
	name string // canonical API name
	typ  string
}

type row map[string]any // canonical field name → string, int, bool, time.Time or nil

type sobject struct {
	name    string
	tooling bool
	fields  []*fieldDef
	rows    func(s *Server, o *org) []row
}

func (so *sobject) field(name string) *fieldDef {
	for _, f := range so.fields {
		if strings.EqualFold(f.name, name) {
			return f
		}
	}
	return nil
}

// resolve checks object and field names against the object's schema.
func (q *soqlQuery) resolve(objects []*sobject) *soqlError {
	for _, so := range objects {
		if strings.EqualFold(so.name, q.object.text) {
			q.sobj = so
		}
	}
	if q.sobj == nil {
		return &soqlError{"INVALID_TYPE", fmt.Sprintf("sObject type '%s' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", q.object.text), q.object.pos}
	}
	noColumn := func(t soqlToken) *soqlError {
		return &soqlError{"INVALID_FIELD", fmt.Sprintf("No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", t.text, q.sobj.name), t.pos}
	}
	seen := map[string]bool{}
	for _, t := range q.fields {
		f := q.sobj.field(t.text)
		if f == nil {
			return noColumn(t)
		}
		if seen[f.name] {
			return &soqlError{"MALFORMED_QUERY", "duplicate field selected: " + f.name, t.pos}
		}
		seen[f.name] = true
		q.fieldDefs = append(q.fieldDefs, f)
	}
	for i := range q.orderBy {
		f := q.sobj.field(q.orderBy[i].field.text)
		if f == nil {
			return noColumn(q.orderBy[i].field)
		}
		q.orderBy[i].resolved = f
	}
	var walk func(e soqlExpr) *soqlError
	walk = func(e soqlExpr) *soqlError {
		switch x := e.(type) {
		case *soqlBool:
			for _, it := range x.items {
				if err := walk(it); err != nil {
					return err
				}
			}
		case *soqlNot:
			return walk(x.e)
		case *soqlCmp:
			f := q.sobj.field(x.field.text)
			if f == nil {
				return noColumn(x.field)
			}
			x.resolved = f
			for _, v := range x.values {
				if err := checkLiteral(f, v, x.op); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if q.where != nil {
		return walk(q.where)
	}
	return nil
}

func checkLiteral(f *fieldDef, v soqlToken, op string) *soqlError {
	isNull := v.kind == tokIdent && strings.EqualFold(v.text, "NULL")
	if isNull {
		if op == "=" || op == "!=" || op == "IN" || op == "NOTIN" {
			return nil
		}
		return &soqlError{"MALFORMED_QUERY", "invalid use of null", v.pos}
	}
	bad := func(kind string) *soqlError {
		if v.kind == tokString {
			return &soqlError{"INVALID_FIELD", fmt.Sprintf("value of filter criterion for field '%s' must be of type %s and should not be enclosed in quotes", f.name, kind), v.pos}
		}
		return &soqlError{"INVALID_FIELD", fmt.Sprintf("value of filter criterion for field '%s' must be of type %s", f.name, kind), v.pos}
	}
	switch f.typ {
	case ftID, ftString:
		if v.kind != tokString {
			return &soqlError{"INVALID_FIELD", fmt.Sprintf("value of filter criterion for field '%s' must be of type string and should be enclosed in quotes", f.name), v.pos}
		}
	case ftInt:
		if v.kind != tokNumber {
			return bad("double")
		}
	case ftBool:
		if v.kind != tokIdent {
			return bad("boolean")
		}
	case ftDate:
		if v.kind != tokDate {
			return bad("date")
		}
	case ftDateTime:
		if v.kind != tokDateTime {
			return bad("dateTime")
		}
	}
	if op == "LIKE" && f.typ != ftString && f.typ != ftID {
		return &soqlError{"INVALID_FIELD", fmt.Sprintf("invalid operator on %s field: LIKE", f.typ), v.pos}
	}
	return nil
}

// compare orders two non-nil values of one field type.
func compareValues(typ string, a, b any) int {
	switch typ {
	case ftInt:
		x, y := a.(int), b.(int)
		return cmpOrdered(x, y)
	case ftBool:
		x, y := a.(bool), b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case ftDate:
		// A date has no time of day.
		return strings.Compare(a.(time.Time).UTC().Format("2006-01-02"), b.(time.Time).UTC().Format("2006-01-02"))
	case ftDateTime:
		return a.(time.Time).Compare(b.(time.Time))
	}
	return strings.Compare(strings.ToLower(a.(string)), strings.ToLower(b.(string)))
}

func cmpOrdered[T int | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func literalValue(f *fieldDef, v soqlToken) any {
	if v.kind == tokIdent {
		switch strings.ToUpper(v.text) {
		case "NULL":
			return nil
		case "TRUE":
			return true
		case "FALSE":
			return false
		}
	}
	switch f.typ {
	case ftInt:
		n, _ := strconv.ParseFloat(v.text, 64)
		return int(n)
	case ftDate:
		t, _ := time.Parse("2006-01-02", v.text)
		return t
	case ftDateTime:
		t, _ := parseDateTime(v.text)
		return t
	}
	return v.text
}

func (c *soqlCmp) match(r row) bool {
	f := c.resolved
	got := r[f.name]
	switch c.op {
	case "IN", "NOTIN":
		in := false
		for _, v := range c.values {
			if valuesEqual(f, got, literalValue(f, v)) {
				in = true
			}
		}
		return in == (c.op == "IN")
	case "LIKE":
		s, ok := got.(string)
		return ok && likeMatch(strings.ToLower(c.values[0].text), strings.ToLower(s))
	}
	want := literalValue(f, c.values[0])
	switch c.op {
	case "=":
		return valuesEqual(f, got, want)
	case "!=":
		return !valuesEqual(f, got, want)
	}
	if got == nil || want == nil {
		return false
	}
	n := compareValues(f.typ, got, want)
	switch c.op {
	case "<":
		return n < 0
	case "<=":
		return n <= 0
	case ">":
		return n > 0
	case ">=":
		return n >= 0
	}
	return false
}

func valuesEqual(f *fieldDef, a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if f.typ == ftID {
		return sameID(a.(string), b.(string))
	}
	if f.typ == ftDate {
		x, y := a.(time.Time), b.(time.Time)
		return x.Format("2006-01-02") == y.Format("2006-01-02")
	}
	return compareValues(f.typ, a, b) == 0
}

// likeMatch implements LIKE's % (any run) and _ (one character).
func likeMatch(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '%':
		for i := 0; i <= len(s); i++ {
			if likeMatch(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '_':
		return s != "" && likeMatch(pattern[1:], s[1:])
	}
	return s != "" && s[0] == pattern[0] && likeMatch(pattern[1:], s[1:])
}

func evalExpr(e soqlExpr, r row) bool {
	switch x := e.(type) {
	case *soqlCmp:
		return x.match(r)
	case *soqlNot:
		return !evalExpr(x.e, r)
	case *soqlBool:
		for _, it := range x.items {
			v := evalExpr(it, r)
			if x.and && !v {
				return false
			}
			if !x.and && v {
				return true
			}
		}
		return x.and
	}
	return true
}

// run filters, sorts, offsets and limits rows.
func (q *soqlQuery) run(rows []row) []row {
	var out []row
	for _, r := range rows {
		if q.where == nil || evalExpr(q.where, r) {
			out = append(out, r)
		}
	}
	if len(q.orderBy) > 0 {
		sort.SliceStable(out, func(i, j int) bool {
			for _, o := range q.orderBy {
				a, b := out[i][o.resolved.name], out[j][o.resolved.name]
				var n int
				switch {
				case a == nil && b == nil:
					n = 0
				case a == nil:
					n = -1
					if o.nullsLast {
						n = 1
					}
				case b == nil:
					n = 1
					if o.nullsLast {
						n = -1
					}
				default:
					n = compareValues(o.resolved.typ, a, b)
					if o.desc {
						n = -n
					}
				}
				if n != 0 {
					return n < 0
				}
			}
			return false
		})
	}
	if q.offset > 0 {
		if q.offset >= len(out) {
			out = nil
		} else {
			out = out[q.offset:]
		}
	}
	if q.limit >= 0 && len(out) > q.limit {
		out = out[:q.limit]
	}
	return out
}
