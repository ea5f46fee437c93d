// Package canonical turns JSON text into its OLPC canonical form, the bytes
// that in-toto Metablock signatures cover (securesystemslib's canonical
// JSON: no white space, object members sorted by name, strings escaping only
// `\` and `"`, integers only).
//
// It gives exactly what go-securesystemslib's cjson.EncodeCanonical gives
// for the same JSON text (a fuzz test holds it to that), in one pass over
// the text instead of a decode into maps and interfaces and an encode
// back: on a link of 100,000 artifacts it is the difference between the
// signature check costing more than everything else together and costing
// little.
package canonical

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// ErrSyntax is returned for text that is not one JSON value.
var ErrSyntax = errors.New("invalid JSON")

// Encode returns the canonical form of the JSON value in data.
func Encode(data []byte) ([]byte, error) {
	// The member stack is sized for the input up front: grown by append,
	// a list of 100,000 members would allocate five times its size.
	c := &canon{in: data, out: make([]byte, 0, len(data)), members: make([]member, 0, min(len(data)/64, 1<<20))}
	if err := c.value(0); err != nil {
		return nil, err
	}
	c.ws()
	if c.pos != len(c.in) {
		return nil, c.syntax("trailing data after the value")
	}
	return c.out, nil
}

// maxDepth bounds nesting as encoding/json does.
const maxDepth = 10000

type canon struct {
	in  []byte
	pos int
	out []byte
	// members is a stack of the members of the objects being encoded,
	// shared by all levels so that small objects allocate nothing.
	members []member
}

// member is one object member as written to out: its name (unescaped)
// and where its encoding ("name":value) starts and ends in out.
type member struct {
	name       []byte
	start, end int
}

func (c *canon) syntax(what string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrSyntax, what, c.pos)
}

func (c *canon) ws() {
	for c.pos < len(c.in) {
		switch c.in[c.pos] {
		case ' ', '\t', '\n', '\r':
			c.pos++
		default:
			return
		}
	}
}

func (c *canon) value(depth int) error {
	if depth > maxDepth {
		return c.syntax("nested too deeply")
	}
	c.ws()
	if c.pos >= len(c.in) {
		return c.syntax("unexpected end of input")
	}
	switch b := c.in[c.pos]; {
	case b == '{':
		return c.object(depth)
	case b == '[':
		return c.array(depth)
	case b == '"':
		s, err := c.str()
		if err != nil {
			return err
		}
		c.writeString(s)
		return nil
	case b == 't':
		return c.literal("true")
	case b == 'f':
		return c.literal("false")
	case b == 'n':
		return c.literal("null")
	case b == '-' || (b >= '0' && b <= '9'):
		return c.number()
	}
	return c.syntax(fmt.Sprintf("unexpected character %q", c.in[c.pos]))
}

func (c *canon) literal(lit string) error {
	if len(c.in)-c.pos < len(lit) || string(c.in[c.pos:c.pos+len(lit)]) != lit {
		return c.syntax("invalid literal")
	}
	c.pos += len(lit)
	c.out = append(c.out, lit...)
	return nil
}

// number copies an integer as written. Canonical JSON has no other
// numbers: like cjson, a fraction or exponent, or an integer outside
// int64, is an error.
func (c *canon) number() error {
	start := c.pos
	if c.in[c.pos] == '-' {
		c.pos++
	}
	first := c.pos
	if n := c.digits(); n == 0 || (c.in[first] == '0' && n > 1) {
		return c.syntax("invalid number")
	}
	frac := false
	if c.pos < len(c.in) && c.in[c.pos] == '.' {
		c.pos++
		if c.digits() == 0 {
			return c.syntax("invalid number")
		}
		frac = true
	}
	if c.pos < len(c.in) && (c.in[c.pos] == 'e' || c.in[c.pos] == 'E') {
		c.pos++
		if c.pos < len(c.in) && (c.in[c.pos] == '+' || c.in[c.pos] == '-') {
			c.pos++
		}
		if c.digits() == 0 {
			return c.syntax("invalid number")
		}
		frac = true
	}
	tok := c.in[start:c.pos]
	if frac {
		return fmt.Errorf("can't canonicalize floating point number '%s'", tok)
	}
	if _, err := strconv.ParseInt(string(tok), 10, 64); err != nil {
		return fmt.Errorf("can't canonicalize number '%s': %w", tok, err)
	}
	c.out = append(c.out, tok...)
	return nil
}

// str reads a string token and returns its value. Without escapes and in
// valid UTF-8 the value is the text itself, returned without a copy;
// otherwise encoding/json unquotes it, so that escapes, invalid UTF-8 and
// lone surrogates become exactly what cjson (which decodes with
// encoding/json) sees.
func (c *canon) str() ([]byte, error) {
	start := c.pos
	c.pos++
	plain := true
	for {
		if c.pos >= len(c.in) {
			return nil, c.syntax("unterminated string")
		}
		b := c.in[c.pos]
		switch {
		case b == '"':
			c.pos++
			raw := c.in[start:c.pos]
			body := raw[1 : len(raw)-1]
			if plain && utf8.Valid(body) {
				return body, nil
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, fmt.Errorf("%w: string at offset %d: %v", ErrSyntax, start, err)
			}
			return []byte(s), nil
		case b == '\\':
			plain = false
			c.pos += 2
		case b < 0x20:
			return nil, c.syntax("control character in string")
		default:
			c.pos++
		}
	}
}

// writeString writes s quoted, escaping only `\` and `"`.
func (c *canon) writeString(s []byte) {
	c.out = append(c.out, '"')
	for {
		i := indexQuoteOrBackslash(s)
		if i < 0 {
			break
		}
		c.out = append(c.out, s[:i]...)
		c.out = append(c.out, '\\', s[i])
		s = s[i+1:]
	}
	c.out = append(c.out, s...)
	c.out = append(c.out, '"')
}

func indexQuoteOrBackslash(s []byte) int {
	for i, b := range s {
		if b == '"' || b == '\\' {
			return i
		}
	}
	return -1
}

func (c *canon) array(depth int) error {
	c.pos++
	c.out = append(c.out, '[')
	c.ws()
	if c.pos < len(c.in) && c.in[c.pos] == ']' {
		c.pos++
		c.out = append(c.out, ']')
		return nil
	}
	for {
		if err := c.value(depth + 1); err != nil {
			return err
		}
		c.ws()
		if c.pos >= len(c.in) {
			return c.syntax("unterminated array")
		}
		switch c.in[c.pos] {
		case ',':
			c.pos++
			c.out = append(c.out, ',')
		case ']':
			c.pos++
			c.out = append(c.out, ']')
			return nil
		default:
			return c.syntax("expected , or ] in array")
		}
	}
}

// object writes the members in the order they come and, only if that is
// not sorted by name, reorders them afterwards: the usual input (written
// by a canonicalising tool, or sorted as Python's json.dump(sort_keys=True)
// writes it) costs no sort and no second copy.
func (c *canon) object(depth int) error {
	c.pos++
	c.out = append(c.out, '{')
	base := len(c.members)
	start := len(c.out)
	sorted := true
	c.ws()
	if c.pos < len(c.in) && c.in[c.pos] == '}' {
		c.pos++
		c.out = append(c.out, '}')
		return nil
	}
	for {
		c.ws()
		if c.pos >= len(c.in) || c.in[c.pos] != '"' {
			return c.syntax("expected a member name")
		}
		name, err := c.str()
		if err != nil {
			return err
		}
		if n := len(c.members); n > base {
			c.out = append(c.out, ',')
			// Equal names (a duplicate) also take the slow path, which
			// keeps the last, as cjson's decode into a map does.
			if string(c.members[n-1].name) >= string(name) {
				sorted = false
			}
		}
		m := member{name: name, start: len(c.out)}
		c.writeString(name)
		c.out = append(c.out, ':')
		c.ws()
		if c.pos >= len(c.in) || c.in[c.pos] != ':' {
			return c.syntax("expected : after a member name")
		}
		c.pos++
		if err := c.value(depth + 1); err != nil {
			return err
		}
		m.end = len(c.out)
		c.members = append(c.members, m)
		c.ws()
		if c.pos >= len(c.in) {
			return c.syntax("unterminated object")
		}
		if c.in[c.pos] == '}' {
			c.pos++
			break
		}
		if c.in[c.pos] != ',' {
			return c.syntax("expected , or } in object")
		}
		c.pos++
	}
	if !sorted {
		c.reorder(base, start)
	}
	c.members = c.members[:base]
	c.out = append(c.out, '}')
	return nil
}

// reorder rewrites the members of the object whose encoding starts at
// start, sorted by name; of members with equal names the last is kept.
func (c *canon) reorder(base, start int) {
	ms := c.members[base:]
	// Names point into the input or into their own unquoted copies,
	// never into out, which is rewritten from a copy of its old text.
	old := slices.Clone(c.out[start:])
	for i := range ms {
		ms[i].start -= start
		ms[i].end -= start
	}
	slices.SortStableFunc(ms, func(a, b member) int {
		switch {
		case string(a.name) < string(b.name):
			return -1
		case string(a.name) > string(b.name):
			return 1
		}
		return 0
	})
	c.out = c.out[:start]
	for i, m := range ms {
		if i+1 < len(ms) && string(ms[i+1].name) == string(m.name) {
			continue // a later member of the same name wins
		}
		if len(c.out) > start {
			c.out = append(c.out, ',')
		}
		c.out = append(c.out, old[m.start:m.end]...)
	}
}

// digits skips a run of decimal digits and returns its length.
func (c *canon) digits() int {
	start := c.pos
	for c.pos < len(c.in) && c.in[c.pos] >= '0' && c.in[c.pos] <= '9' {
		c.pos++
	}
	return c.pos - start
}
