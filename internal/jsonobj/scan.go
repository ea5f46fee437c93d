package jsonobj

import (
	"encoding/json"
	"unicode/utf8"
)

// This file is Split's fast path: one validating pass over the text that
// finds the members of the top-level object, instead of encoding/json's
// Decoder, which scans each member twice and copies through its buffer.
// It accepts only what the Decoder accepts; on anything it does not like
// it gives up, and Split runs the Decoder to report the error in its own
// words (FuzzSplitFast holds the two to the same answers).

// splitFast returns the members of the object in data, or ok=false.
func splitFast(data []byte, foldCheck, copyMembers bool) (out Fields, ok bool) {
	s := scanner{in: data}
	s.ws()
	if !s.byte('{') {
		return nil, false
	}
	out = Fields{}
	var folded caseSet
	s.ws()
	if s.byte('}') {
		s.ws()
		return out, s.pos == len(s.in)
	}
	for {
		s.ws()
		name, good := s.name()
		if !good {
			return nil, false
		}
		s.ws()
		if !s.byte(':') {
			return nil, false
		}
		s.ws()
		start := s.pos
		if !s.value(0) {
			return nil, false
		}
		if _, dup := out[name]; dup {
			return nil, false
		}
		if foldCheck {
			if _, clash := folded.add(name); clash {
				return nil, false
			}
		}
		if copyMembers {
			out[name] = append(json.RawMessage(nil), data[start:s.pos]...)
		} else {
			out[name] = data[start:s.pos:s.pos]
		}
		s.ws()
		if s.byte('}') {
			break
		}
		if !s.byte(',') {
			return nil, false
		}
	}
	s.ws()
	return out, s.pos == len(s.in)
}

// scanner validates JSON text as RFC 8259 (and encoding/json) define it.
type scanner struct {
	in  []byte
	pos int
}

// maxScanDepth is encoding/json's nesting limit.
const maxScanDepth = 10000

func (s *scanner) ws() {
	for s.pos < len(s.in) {
		switch s.in[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) byte(b byte) bool {
	if s.pos < len(s.in) && s.in[s.pos] == b {
		s.pos++
		return true
	}
	return false
}

// name reads a string and returns its value as encoding/json decodes it.
func (s *scanner) name() (string, bool) {
	start := s.pos
	plain, ok := s.str()
	if !ok {
		return "", false
	}
	body := s.in[start+1 : s.pos-1]
	if plain && utf8.Valid(body) {
		return string(body), true
	}
	var v string
	if err := json.Unmarshal(s.in[start:s.pos], &v); err != nil {
		return "", false
	}
	return v, true
}

// str skips a string, validating its escapes; plain reports that it has
// none.
func (s *scanner) str() (plain, ok bool) {
	if !s.byte('"') {
		return false, false
	}
	plain = true
	for s.pos < len(s.in) {
		b := s.in[s.pos]
		switch {
		case b == '"':
			s.pos++
			return plain, true
		case b == '\\':
			plain = false
			s.pos++
			if s.pos >= len(s.in) {
				return false, false
			}
			switch s.in[s.pos] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.pos++
			case 'u':
				if len(s.in)-s.pos < 5 {
					return false, false
				}
				for _, h := range s.in[s.pos+1 : s.pos+5] {
					if !isHexDigit(h) {
						return false, false
					}
				}
				s.pos += 5
			default:
				return false, false
			}
		case b < 0x20:
			return false, false
		default:
			s.pos++
		}
	}
	return false, false
}

func isHexDigit(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F'
}

func (s *scanner) value(depth int) bool {
	if depth > maxScanDepth || s.pos >= len(s.in) {
		return false
	}
	switch b := s.in[s.pos]; {
	case b == '"':
		_, ok := s.str()
		return ok
	case b == '{':
		s.pos++
		s.ws()
		if s.byte('}') {
			return true
		}
		for {
			s.ws()
			if _, ok := s.str(); !ok {
				return false
			}
			s.ws()
			if !s.byte(':') {
				return false
			}
			s.ws()
			if !s.value(depth + 1) {
				return false
			}
			s.ws()
			if s.byte('}') {
				return true
			}
			if !s.byte(',') {
				return false
			}
		}
	case b == '[':
		s.pos++
		s.ws()
		if s.byte(']') {
			return true
		}
		for {
			s.ws()
			if !s.value(depth + 1) {
				return false
			}
			s.ws()
			if s.byte(']') {
				return true
			}
			if !s.byte(',') {
				return false
			}
		}
	case b == 't':
		return s.literal("true")
	case b == 'f':
		return s.literal("false")
	case b == 'n':
		return s.literal("null")
	case b == '-' || b >= '0' && b <= '9':
		return s.number()
	}
	return false
}

func (s *scanner) literal(lit string) bool {
	if len(s.in)-s.pos >= len(lit) && string(s.in[s.pos:s.pos+len(lit)]) == lit {
		s.pos += len(lit)
		return true
	}
	return false
}

func (s *scanner) digits() int {
	n := 0
	for s.pos < len(s.in) && s.in[s.pos] >= '0' && s.in[s.pos] <= '9' {
		s.pos++
		n++
	}
	return n
}

func (s *scanner) number() bool {
	s.byte('-')
	if s.pos < len(s.in) && s.in[s.pos] == '0' {
		s.pos++
	} else if s.digits() == 0 {
		return false
	}
	if s.byte('.') && s.digits() == 0 {
		return false
	}
	if s.pos < len(s.in) && (s.in[s.pos] == 'e' || s.in[s.pos] == 'E') {
		s.pos++
		if !s.byte('+') {
			s.byte('-')
		}
		if s.digits() == 0 {
			return false
		}
	}
	return true
}
