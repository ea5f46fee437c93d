package link

import (
	"encoding/json"
	"unicode/utf8"
)

// decodeArtifacts is the fast path for the "materials" and "products"
// members, which hold nearly all of a link: it decodes the usual shape,
// {"path": {"alg": "hex", ...}, ...}, in one pass, sharing one string per
// algorithm name. Anything else (null, other types, escapes it would have
// to unquote) makes it give up with ok=false, and Parse decodes the member
// with encoding/json, which also words the errors. The two agree on every
// input (FuzzDecodeArtifacts).
//
// It also makes validateArtifacts' checks (no empty path or algorithm
// name, hex digests, no two algorithm names differing only in case), so a
// map it returns needs no second walk; an artifact that fails them makes
// it decline, and validateArtifacts words the error.
//
// raw is a member Split has validated as JSON.
func decodeArtifacts(raw []byte) (a Artifacts, ok bool) {
	d := artifactDecoder{in: raw, algs: map[string]string{}}
	d.ws()
	if !d.byte('{') {
		return nil, false
	}
	// Sized from the text (an artifact takes about 100 bytes of it), so
	// that the map does not grow through its sizes one by one.
	a = make(Artifacts, min(len(raw)/128, 1<<20))
	d.ws()
	if d.byte('}') {
		return a, d.end()
	}
	for {
		d.ws()
		path, ok := d.str()
		if !ok {
			return nil, false
		}
		d.ws()
		if !d.byte(':') {
			return nil, false
		}
		d.ws()
		ds, ok := d.digestSet()
		if !ok || len(path) == 0 {
			return nil, false
		}
		a[string(path)] = ds // a repeated path: the last wins, as in encoding/json
		d.ws()
		if d.byte('}') {
			return a, d.end()
		}
		if !d.byte(',') {
			return nil, false
		}
	}
}

type artifactDecoder struct {
	in   []byte
	pos  int
	algs map[string]string
}

func (d *artifactDecoder) end() bool {
	d.ws()
	return d.pos == len(d.in)
}

func (d *artifactDecoder) ws() {
	for d.pos < len(d.in) {
		switch d.in[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *artifactDecoder) byte(b byte) bool {
	if d.pos < len(d.in) && d.in[d.pos] == b {
		d.pos++
		return true
	}
	return false
}

// str reads a string without escapes, in valid UTF-8: its text is its
// value.
func (d *artifactDecoder) str() ([]byte, bool) {
	if !d.byte('"') {
		return nil, false
	}
	start := d.pos
	for d.pos < len(d.in) {
		switch c := d.in[d.pos]; {
		case c == '"':
			s := d.in[start:d.pos]
			d.pos++
			return s, utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, false
		}
		d.pos++
	}
	return nil, false
}

func (d *artifactDecoder) digestSet() (DigestSet, bool) {
	if !d.byte('{') {
		return nil, false
	}
	ds := make(DigestSet, 1)
	d.ws()
	if d.byte('}') {
		return ds, true
	}
	for {
		d.ws()
		alg, ok := d.str()
		if !ok {
			return nil, false
		}
		d.ws()
		if !d.byte(':') {
			return nil, false
		}
		d.ws()
		hex, ok := d.str()
		if !ok || len(alg) == 0 || !isHexBytes(hex) {
			return nil, false
		}
		name, seen := d.algs[string(alg)]
		if !seen {
			name = string(alg)
			d.algs[name] = name
		}
		ds[name] = string(hex)
		d.ws()
		if d.byte('}') {
			// Two algorithm names that differ only in case are
			// validateArtifacts' to report.
			return ds, len(ds) < 2 || checkAlgorithmCase("", "", ds) == nil
		}
		if !d.byte(',') {
			return nil, false
		}
	}
}

// takeArtifacts decodes member name of f into *a, fast when it can, and
// reports whether it did (the map is then validated).
func takeArtifacts(f map[string]json.RawMessage, name string, a *Artifacts) bool {
	raw, present := f[name]
	if !present {
		return false
	}
	got, ok := decodeArtifacts(raw)
	if !ok {
		return false
	}
	*a = got
	delete(f, name)
	return true
}

func isHexBytes(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !hexDigit[c] {
			return false
		}
	}
	return true
}
