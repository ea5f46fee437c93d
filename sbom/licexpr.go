package sbom

import (
	"errors"
	"strings"
)

// licenseExpr is a parsed SPDX license expression (SPDX 2.3 Annex D):
// a leaf license (with an optional WITH exception) or an AND/OR node.
type licenseExpr struct {
	op    string // "", "AND", "OR"
	id    string // leaf: "GPL-2.0-only WITH Classpath-exception-2.0"
	left  *licenseExpr
	right *licenseExpr
}

// parenSpacer makes parentheses separate tokens.
var parenSpacer = strings.NewReplacer("(", " ( ", ")", " ) ")

var errLicenseSyntax = errors.New("not an SPDX license expression")

// maxLicenseExprTokens bounds the work spent on one expression from an
// untrusted document.
const maxLicenseExprTokens = 4096

// parseLicenseExpr parses with the Annex D precedence: WITH binds
// tightest, then AND, then OR.
func parseLicenseExpr(s string) (*licenseExpr, error) {
	toks := strings.Fields(parenSpacer.Replace(s))
	if len(toks) == 0 || len(toks) > maxLicenseExprTokens {
		return nil, errLicenseSyntax
	}
	p := &licParser{toks: toks}
	e, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.i != len(p.toks) {
		return nil, errLicenseSyntax
	}
	return e, nil
}

type licParser struct {
	toks []string
	i    int
}

func (p *licParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

// Nesting is bounded by the token count, which is bounded above.
func (p *licParser) or(depth int) (*licenseExpr, error) {
	l, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), "OR") {
		p.i++
		r, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		l = &licenseExpr{op: "OR", left: l, right: r}
	}
	return l, nil
}

func (p *licParser) and(depth int) (*licenseExpr, error) {
	l, err := p.atom(depth)
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), "AND") {
		p.i++
		r, err := p.atom(depth)
		if err != nil {
			return nil, err
		}
		l = &licenseExpr{op: "AND", left: l, right: r}
	}
	return l, nil
}

func (p *licParser) atom(depth int) (*licenseExpr, error) {
	t := p.peek()
	switch {
	case t == "":
		return nil, errLicenseSyntax
	case t == "(":
		p.i++
		e, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, errLicenseSyntax
		}
		p.i++
		return e, nil
	case t == ")" || isLicenseOperator(t):
		return nil, errLicenseSyntax
	}
	if !isLicenseIDToken(t) {
		return nil, errLicenseSyntax
	}
	p.i++
	id := t
	if strings.EqualFold(p.peek(), "WITH") {
		p.i++
		exc := p.peek()
		if exc == "" || !isLicenseIDToken(exc) || isLicenseOperator(exc) {
			return nil, errLicenseSyntax
		}
		p.i++
		id += " WITH " + exc
	}
	return &licenseExpr{id: id}, nil
}

func isLicenseOperator(t string) bool {
	return strings.EqualFold(t, "AND") || strings.EqualFold(t, "OR") || strings.EqualFold(t, "WITH")
}

// isLicenseIDToken accepts the idstring characters of Annex D plus '+'
// ("GPL-2.0+") and ':' (DocumentRef-x:LicenseRef-y).
func isLicenseIDToken(t string) bool {
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '+' || c == ':') {
			return false
		}
	}
	return t != ""
}

// denied returns the leaves that make e unacceptable: every leaf of an AND
// that is denied, and for an OR only if all alternatives are denied (the
// consumer could otherwise pick the allowed one).
func (e *licenseExpr) denied(isDenied func(string) bool) []string {
	switch e.op {
	case "AND":
		return append(e.left.denied(isDenied), e.right.denied(isDenied)...)
	case "OR":
		l := e.left.denied(isDenied)
		if len(l) == 0 {
			return nil
		}
		r := e.right.denied(isDenied)
		if len(r) == 0 {
			return nil
		}
		return append(l, r...)
	}
	if isDenied(e.id) {
		return []string{e.id}
	}
	return nil
}
