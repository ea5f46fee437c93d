package link

import (
	"encoding/json"
	"sync"
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
func decodeArtifacts(raw []byte, shared *DigestSets) (a Artifacts, ok bool) {
	d := artifactDecoder{in: raw, algs: map[string]string{}, shared: shared}
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
	in     []byte
	pos    int
	algs   map[string]string
	shared *DigestSets
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
	d.ws()
	if d.byte('}') {
		return make(DigestSet, 1), true
	}
	var ds DigestSet
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
		d.ws()
		end := d.byte('}')
		if end && ds == nil && d.shared != nil {
			// One algorithm, the usual set: shared with every equal set
			// of this verification.
			return d.shared.get(alg, hex), true
		}
		name, seen := d.algs[string(alg)]
		if !seen {
			name = string(alg)
			d.algs[name] = name
		}
		if ds == nil {
			ds = make(DigestSet, 1)
		}
		ds[name] = string(hex)
		if end {
			// Two algorithm names that differ only in case are
			// validateArtifacts' to report.
			return ds, len(ds) < 2 || checkAlgorithmCase("", "", ds) == nil
		}
		if !d.byte(',') {
			return nil, false
		}
	}
}

// DigestSets lets the links parsed for one verification share their equal
// one-algorithm digest sets: the products of one step are, artifact by
// artifact, the materials of the next, and a digest set is most of an
// artifact's memory. The links it is given to hold digest sets that other
// links hold too: treat them as read-only (replace an artifact's set, never
// change it in place). Safe for concurrent use; the zero value is ready.
type DigestSets struct {
	mu sync.Mutex
	// byAlg maps an algorithm name to the sets by their hex digest.
	byAlg map[string]map[string]DigestSet
}

func (t *DigestSets) get(alg, hex []byte) DigestSet {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byAlg == nil {
		t.byAlg = map[string]map[string]DigestSet{}
	}
	m, ok := t.byAlg[string(alg)]
	if !ok {
		m = map[string]DigestSet{}
		t.byAlg[string(alg)] = m
	}
	if ds, ok := m[string(hex)]; ok {
		return ds
	}
	h := string(hex)
	ds := DigestSet{string(alg): h}
	m[h] = ds
	return ds
}

// takeArtifacts decodes member name of f into *a, fast when it can, and
// reports whether it did (the map is then validated).
func takeArtifacts(f map[string]json.RawMessage, name string, a *Artifacts, shared *DigestSets) bool {
	raw, present := f[name]
	if !present {
		return false
	}
	got, ok := decodeArtifacts(raw, shared)
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
